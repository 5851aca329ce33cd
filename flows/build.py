"""The Prefect flow ``build_dataset``: raw/ → curated/ (ingest → normalize → structure → extract
→ validate → write). Tasks are thin: they call the plain stage functions in batches.

Work is split into batches of documents (one task per batch, not per document) that run on
the flow's task runner: a process pool over the machine's cores from the CLI, Dask with
``--runner dask``. A document whose raw bytes and processing code are unchanged since an earlier
run is not processed again: its rows come from the per-document cache (``flows/storage/cache.py``).
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from flows import __version__
from flows.budget import DEFAULT_DOC_TIMEOUT
from flows.compare.views import write_derived_tables
from flows.contract.schema import TABLES
from flows.gate import process as validator
from flows.gate.run import DOCS_DIR
from flows.gate.verdict import (
    EXIT_PUBLISHED,
    EXIT_QUARANTINED,
    EXIT_REFUSED,
    MAX_QUARANTINED_COUNT,
    MAX_QUARANTINED_SHARE,
    OUTCOMES,
    BuildRefused,
    ValidationFailed,
    ValidationResult,
    quarantine_verdict,
    shrink_refusal,
    withhold_documents,
)
from flows.orchestration.batches import (
    DEFAULT_BATCH_SIZE,
    IN_PROCESS_MAX_MISSES,
    WARM_UP_TIMING,
    _split_copies,
    _split_reused,
    plan_batches,
    process_entries,
    scan_folder,
)
from flows.orchestration.head_start import HeadStart, take_head_start
from flows.pipeline import timed, warm_up
from flows.records import BatchResult, RawEntry
from flows.storage.cache import DocumentCache, rules_fingerprint
from flows.storage.publish import (
    LOCK,
    LOCK_WAIT_SECONDS,
    Checksums,
    UnsafeOutput,
    claim_output_folder,
    clean_stale,
    current_build,
    new_build_dir,
    publish,
    table_file,
    table_path,
    write_meta,
)
from flows.storage.reuse import TEXT_KEYS, load_previous, write_text_keys
from flows.storage.staging import (
    MERGE_ORDER,
    ReusedReads,
    Staged,
    StagedTables,
    StagingProgress,
    _staging_failed,
    stage_merged,
    stream_batches,
)
from flows.tooling import progress
from flows.tooling.memory import freeze_startup_objects

IO_RETRIES = dict(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=1), retry_jitter_factor=0.5)
# A task that hangs (a stalled network mount, a worker stuck in a library) fails after these
# instead of holding the output folder's lock and the schedule for good: each is many times what
# the task takes on 10,000 documents (a batch holds at most 32 MB of raw files).
TIMEOUT_SECONDS = {"scan": 3600, "batch": 1800, "validate": 3600, "publish": 600}


class RunLocked(BuildRefused):
    """Another run holds the output folder: this one touched nothing."""


# the order in which ``stage_merged`` writes the tables' files (rejects when the rest are closed)
STAGING_ORDER = (*(n for n in MERGE_ORDER if n != "rejects"), "rejects")


@task(name="scan-raw", cache_policy=NO_CACHE, timeout_seconds=TIMEOUT_SECONDS["scan"], **IO_RETRIES)
def scan_task(raw_dir: Path, head: HeadStart | None = None) -> list[RawEntry]:
    """Find the raw files and hash them (one task: each task run costs API calls); the scan a
    head start began before the flow, when there is one."""
    if head is not None:
        try:
            entries = head.entries.result()
        except Exception as exc:  # noqa: BLE001 (scanned here again: an error raises from here)
            get_run_logger().info("the scan begun before the flow failed (%s): scanning again", exc)
        else:
            get_run_logger().info("%d raw files scanned in %.2f s before the flow started (while the "
                                  "server started)", len(entries), head.scan_seconds)
            return entries
    return scan_folder(raw_dir)


@task(name="process-batch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2,
      timeout_seconds=TIMEOUT_SECONDS["batch"])
def process_batch_task(raw_dir: Path, entries: list[RawEntry], out_dir: Path | None, fingerprint: str,
                       doc_timeout: float | None = DEFAULT_DOC_TIMEOUT) -> BatchResult:
    freeze_startup_objects()  # the worker's imports: out of every later collection (flows/tooling/memory.py)
    pa.default_memory_pool().release_unused()  # a long-lived worker returns the last batch's memory
    cache = DocumentCache(out_dir, fingerprint) if out_dir is not None else None
    # once per process, before the first document it processes: its start-up, timed on its own
    warm = warm_up() if any(not e.cached and not e.reject for e in entries) else 0.0
    result = process_entries(raw_dir, entries, cache, doc_timeout)
    if warm:
        result.timings[WARM_UP_TIMING] = warm
    return result


@task(name="validate", cache_policy=NO_CACHE, timeout_seconds=TIMEOUT_SECONDS["validate"])
def validate_task(tables: Mapping[str, Any], docs_dir: Path, checked_docs: list[str] | None = None) -> ValidationResult:
    from prefect.artifacts import create_markdown_artifact

    # in the validation process ``digigov run`` started, if any (flows/gate/process.py); every row
    # checked: the cross-table frames are derived in a helper process meanwhile
    result = validator.validate(tables, docs_dir, checked_docs=checked_docs, helper=checked_docs is None)
    create_markdown_artifact(result.markdown(), key="validation", description="Great Expectations results")
    get_run_logger().info("validation: %d suites, %d expectations, %d failed, %.1f s",
                          len(result.suites), result.expectations, len(result.failures), result.seconds)
    return result


def _peak_rss_mb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


@task(name="publish", cache_policy=NO_CACHE, timeout_seconds=TIMEOUT_SECONDS["publish"], **IO_RETRIES)
def publish_task(build: Path, out_dir: Path, names: list[str]) -> str:
    return str(publish(build, out_dir, names))


def acquire_lock(out: Path, wait_seconds: float | None = None) -> FileLock:
    """The output folder's run lock; a second run waits ``wait_seconds`` then refuses clearly.

    An OS-level lock (flock): a run killed with SIGKILL releases it with its process."""
    wait_seconds = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    lock = FileLock(out / LOCK)
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout:
        raise RunLocked(
            f"another digigov run is writing to {out} (it holds {out / LOCK}); waited "
            f"{wait_seconds:.0f} s and gave up without touching anything. Run again when it has finished."
        ) from None
    return lock


@flow(name="build_dataset", log_prints=True)
def build_dataset(raw_dir: str = "raw", out_dir: str = "curated", batch_size: int = DEFAULT_BATCH_SIZE,
                  full_refresh: bool = False, serial_up_to: int = IN_PROCESS_MAX_MISSES,
                  doc_timeout: float | None = DEFAULT_DOC_TIMEOUT,
                  max_quarantined: float = MAX_QUARANTINED_SHARE, max_quarantined_count: int = MAX_QUARANTINED_COUNT,
                  allow_shrink: bool = False) -> dict[str, Any]:
    """Build every table from the raw folder and publish them into ``out_dir`` atomically.
    A document still processing after ``doc_timeout`` seconds is rejected as ``timeout``.

    Documents unchanged since an earlier run (same raw sha256, same code fingerprint) reuse
    their cached rows unless ``full_refresh``. When at most ``serial_up_to`` documents need
    processing, the batches run in the flow's process instead of on the task runner.

    Documents that fail a document-level rule are quarantined (``flows/gate/verdict.py``): withheld,
    the rest published (summary ``outcome`` ``published_with_quarantined``). ``BuildRefused``
    is raised, and nothing published, for a systemic failure (a systemic rule, or more
    quarantined documents than both ``max_quarantined`` of them and ``max_quarantined_count``),
    a build without documents or one that loses too many of the published build's documents
    (unless ``allow_shrink``), an unsafe output folder, or another run holding the folder.
    """
    logger = get_run_logger()
    freeze_startup_objects()  # see flows/tooling/memory.py
    started = time.perf_counter()
    timings: dict[str, float] = {}
    raw, out = Path(raw_dir).resolve(), Path(out_dir).resolve()
    try:
        if not raw.is_dir():
            raise BuildRefused(f"raw folder {raw} does not exist or is not a folder")
        try:
            out = claim_output_folder(out, raw)
        except UnsafeOutput as exc:
            raise BuildRefused(str(exc)) from None
        lock = acquire_lock(out)
    except BuildRefused as exc:
        _publish_refusal(exc, out)
        raise
    staging_builds: list[Path] = []  # of this run, removed when it is refused
    checksums: Checksums | None = None
    try:
        for stale in clean_stale(out):
            logger.info("removed stale build %s", stale.name)
        cache = DocumentCache(out)
        head = take_head_start(raw, out, full_refresh)  # begun by ``digigov run`` before the flow
        with timed(timings, "scan"):
            entries = scan_task(raw, head)
        rejects = [e.reject for e in entries if e.reject]
        if len(rejects) == len(entries):  # refused now: nothing to process, validate or publish
            raise BuildRefused(f"the build would have no documents: the raw folder {raw} holds no usable plan files "
                               f"({len(entries)} found, {len(rejects)} rejected; is it empty, unmounted or "
                               "unreadable?); the published tables are kept")
        unique, copies = _split_copies([e for e in entries if not e.reject])
        rejects += copies
        order = [e.source_file for e in unique]
        previous = None
        not_reused: list[str] = []  # why the published build's rows are not reused, if they are not
        if not full_refresh:
            previous = ((head and head.published(cache.fingerprint))
                        or load_previous(out, cache.fingerprint, not_reused))
            for why in not_reused:
                logger.warning(why)
        unique, reuse = _split_reused(unique, previous)
        if not full_refresh:
            unique = [RawEntry(e.source_file, e.sha256, e.size, cached=cache.has(e.sha256, e.suffix)) for e in unique]
        n_cached = sum(e.cached for e in unique)
        logger.info("%d raw files under %s: %d to process, %d cached, %d unchanged in the published build, "
                    "%d rejected before processing",
                    len(entries), raw, len(unique) - n_cached, n_cached, len(reuse), len(rejects))
        # the published build's rows are read on a thread, the first table's while the batches run
        reads = (head and head.reuse_for(previous, reuse)) or (ReusedReads(previous, reuse) if reuse else None)

        # shown on the terminal or in the log, and as a progress artifact in the Prefect UI
        bar = progress.ArtifactProgress(progress.current(lambda: progress.LineProgress(logger.info)))
        bar.start(len(unique))
        in_process = len(unique) - n_cached <= serial_up_to
        plan = plan_batches(unique, batch_size, 1 if in_process else os.cpu_count() or 1)
        batches = iter_batches(raw, out, cache.fingerprint, plan, in_process, bar, doc_timeout)
        base_meta = {"code_version": __version__, "code_fingerprint": cache.fingerprint,
                     "rules_fingerprint": rules_fingerprint(), "raw_dir": str(raw),
                     "documents_in": len(entries), "reused": len(reuse), "full_refresh": full_refresh}
        peaks: dict[str, int] = {}
        result = None  # of validation, when it runs while the build is staged
        if not reuse:
            # Nothing to merge from the published build: each batch's rows go straight into
            # the staging build's files as the batch comes back, so this process never holds
            # more than a batch; validation then reads the files back one table at a time.
            staging_builds.append(new_build_dir(out))
            with timed(timings, "batches"):
                staged = stream_batches(batches, rejects, staging_builds[-1])
            checksums = Checksums(staged.build)  # taken on a thread while the build is validated
            checksums.add(*(table_file(n) for n in TABLES))
            bar.finish()
            peaks["batches"] = _peak_rss_mb()
            checked = None
        else:
            with timed(timings, "batches"):
                results = list(batches)
            bar.finish()
            peaks["batches"] = _peak_rss_mb()
            reused_keys = [(f, d, previous.text_keys[d]) for d, f in reuse.items()]
            # documents whose rows no published build validated: every one when the rules
            # changed since the published build was validated
            same_rules = previous.rules_fingerprint == rules_fingerprint()
            checked = [d for r in results for _, d, _ in r.doc_keys] if same_rules else None
            # one table at a time: the published build's reused rows and the batches' merged,
            # written and let go (only the row groups holding checked documents are read back
            # for the row-level suites). With few documents to check, a thread stages while
            # this one validates each table as soon as its file is complete (documents first:
            # Parquet encoding releases the GIL, GX holds it); when every row is checked, the
            # build is staged first, lest a whole table be read back while another is merged.
            build, progress_ = new_build_dir(out), StagingProgress()
            staging_builds.append(build)
            checksums = Checksums(build)  # each table's file, on a thread, once it is staged

            def table_staged(name: str) -> None:
                progress_.staged(name)
                checksums.add(table_file(name))

            args = (results, rejects, iter(reads), reused_keys, order, build, timings, table_staged)
            del results
            if checked is None:
                staged = stage_merged(*args)
            else:
                with ThreadPoolExecutor(1, thread_name_prefix="stage") as pool:
                    staging = pool.submit(stage_merged, *args)
                    staging.add_done_callback(lambda f: f.exception() and _staging_failed(progress_, build, f.exception()))
                    try:
                        with timed(timings, "validate"):
                            result = validate_task(StagedTables(build, STAGING_ORDER, ready=progress_.wait), out / DOCS_DIR, checked)
                    finally:  # a staging error is the run's error (validation only waited on it)
                        staged = staging.result()
            del args
            timings["reuse"], timings["reuse_read"] = reads.waited, reads.seconds
        names = list(TABLES)
        if result is None:
            with timed(timings, "validate"):
                result = validate_task(StagedTables(staged.build, names), out / DOCS_DIR, checked)
        peaks["validate"] = _peak_rss_mb()
        quarantined, stale = {}, {}
        if not result.success:
            with timed(timings, "quarantine"):
                result, quarantined, stale = quarantine_documents(
                    staged, result, out, checked, staging_builds, max_quarantined, max_quarantined_count)
        published_docs = _published_documents(out)
        refusal = shrink_refusal(published_docs, pq.read_table(table_path(staged.build, "documents"),
                                                               columns=["source_file", "source_sha256"]),
                                 allow_shrink)
        if refusal:
            raise BuildRefused(refusal)
        outcome = EXIT_QUARANTINED if quarantined else EXIT_PUBLISHED
        with timed(timings, "derive"):
            derived = write_derived_tables(staged.build)
        names += list(derived)
        staged.rows.update(derived)
        with timed(timings, "write"):
            write_text_keys(staged.build, staged.text_keys)
            if checksums.build != staged.build:  # staged again without the quarantined documents
                checksums.close()
                checksums = Checksums(staged.build)
            sums, stats = checksums.collect([*(table_file(n) for n in names), TEXT_KEYS])
            write_meta(staged.build, {**base_meta, **staged.meta(), "outcome": OUTCOMES[outcome], "exit_code": outcome,
                                      "quarantined": {r["source_file"]: r["detail"] for r in quarantined.values()},
                                      "stale": sorted(stale.values()), "checksums": sums, "file_stats": stats})
        build = staged.build
        counts, rejected = staged.rows, staged.rejected
        with timed(timings, "publish"):
            publish_task(build, out, names)
        staging_builds.clear()
        for row in quarantined.values():  # processed again next run, like a changed document
            cache.path(row["source_sha256"], Path(row["source_file"]).suffix).unlink(missing_ok=True)
        cache.prune()
        timings["flow"] = time.perf_counter() - started
        summary = {
            "outcome": OUTCOMES[outcome],
            "exit_code": outcome,
            "quarantined": [{"source_file": f, "detail": d}
                            for f, d in {r["source_file"]: r["detail"] for r in quarantined.values()}.items()],
            "stale": sorted(stale.values()),
            "not_reused": not_reused,
            "documents": counts["documents"],
            "documents_in": len(entries),
            "rejected": counts["rejects"],
            "processed": staged.processed,
            "cached": staged.cached,
            "reused": len(reuse),
            "rows": counts,
            "seconds": round(timings["flow"], 2),
            "timings": {k: round(v, 3) for k, v in {**timings, **{f"stage:{k}": v for k, v in staged.stage_seconds.items()}}.items()},
            "batches": len(plan),
            "peak_rss_mb": peaks,  # of the flow's process, after each step: what memory goes to
            # documents whose rows the row-level suites checked (None: all of them)
            "validation": {"success": result.success, "expectations": result.expectations,
                           "checked_documents": result.checked_documents},
            "out_dir": str(out),
        }
        _publish_artifacts(summary, rejected)
        logger.info("built %s", {k: v for k, v in summary.items() if k != "timings"})
        validator.wait_docs()  # written by the validation process meanwhile, if there is one
        return summary
    except BuildRefused as exc:
        if checksums is not None:
            checksums.close()
        for build in staging_builds:
            shutil.rmtree(build, ignore_errors=True)
        validator.wait_docs()  # a failed validation's Data Docs name the failures
        _publish_refusal(exc, out)
        raise
    finally:
        lock.release()


def quarantine_documents(staged: Staged, result: ValidationResult, out: Path, checked: list[str] | None,
                         staging: list[Path], max_share: float = MAX_QUARANTINED_SHARE,
                         max_count: int = MAX_QUARANTINED_COUNT
                         ) -> tuple[ValidationResult, dict[str, dict[str, Any]], dict[str, str]]:
    """Withhold the documents a failed validation names (``gate.quarantine_verdict``) from the
    staged build, keeping their last published rows marked stale (``gate.withhold_documents``),
    and validate what is left, until it passes (a kept stale version may fail newer rules in
    turn: it is withheld too). ``staged`` then describes the new staging build. Returns the
    passing result, the quarantine rejects by doc_id and the kept stale versions; raises
    ``ValidationFailed`` (nothing to publish) for a systemic failure."""
    logger = get_run_logger()
    quarantined: dict[str, dict[str, Any]] = {}
    stale: dict[str, str] = {}
    documents = staged.rows["documents"]
    while not result.success:
        failing = quarantine_verdict(result, documents, max_share, max_count)
        new = [d for d in failing if d not in quarantined and d not in stale]
        if not new:  # nothing left to withhold, yet it fails: not a matter of documents
            raise ValidationFailed(result, "the failures remain once their documents are withheld")
        withheld = withhold_documents(staged.build, new_build_dir(out), {d: failing[d] for d in new},
                                      staged.text_keys, current_build(out))
        staging.append(withheld.build)
        shutil.rmtree(staged.build, ignore_errors=True)
        quarantined.update(withheld.quarantined)
        stale = {d: f for d, f in {**stale, **withheld.stale}.items() if d not in quarantined}
        staged.build, staged.rows, staged.sources = withheld.build, withheld.rows, withheld.sources
        staged.text_keys, staged.rejected = withheld.text_keys, withheld.rejected
        for doc_id, row in withheld.quarantined.items():
            logger.warning("quarantined %s (doc_id %s): %s", row["source_file"], doc_id, row["detail"])
        files = len({row["source_file"] for row in quarantined.values()})
        if files > max_count and files > max_share * max(documents, 1):
            raise ValidationFailed(result, f"{files} of {documents} documents quarantined, more than "
                                           f"{max_share:.0%} and more than {max_count} (--max-quarantined)")
        # the rows of every document no published build validated under these rules, stale
        # versions included (their rules may have changed since)
        if checked is not None:
            checked = [d for d in checked if d not in quarantined] + list(stale)
        validator.wait_docs()
        result = validate_task(StagedTables(staged.build, list(TABLES)), out / DOCS_DIR, checked)
    return result, quarantined, stale


def _published_documents(out: Path) -> pa.Table | None:
    """source_file and source_sha256 of the published build's documents (None: none readable)."""
    build = current_build(out)
    try:
        return None if build is None else pq.read_table(table_path(build, "documents"),
                                                         columns=["source_file", "source_sha256"])
    except (OSError, pa.ArrowException):
        return None


def _publish_refusal(exc: BaseException, out: Path) -> None:
    """The build-summary artifact of a run that published nothing, and why."""
    from prefect.artifacts import create_markdown_artifact

    try:
        create_markdown_artifact(
            key="build-summary", description="digigov build summary",
            markdown=(f"# digigov build REFUSED (exit code {EXIT_REFUSED})\n\nNothing was published; the tables in "
                      f"`{out}` are as they were.\n\n```\n{str(exc)[:5000]}\n```\n"))
    except Exception as error:  # noqa: BLE001 (the refusal is what the run reports, not this)
        get_run_logger().warning("build-summary artifact not written: %s", error)


def iter_batches(raw: Path, out: Path, fingerprint: str, plan: list[list[RawEntry]], in_process: bool,
                 bar: progress.Progress, doc_timeout: float | None = DEFAULT_DOC_TIMEOUT) -> Iterator[BatchResult]:
    """Every batch's result, in plan order, as it is ready: from the task runner, or (few
    documents to process) from direct task calls in this process."""
    if in_process:
        for b in plan:
            yield process_batch_task(raw, b, out, fingerprint, doc_timeout)
            bar.advance(len(b))
        return
    futures = [process_batch_task.submit(raw, b, out, fingerprint, doc_timeout) for b in plan]
    for i in range(len(futures)):
        # In submission order, letting go of each future once read: a process-pool future keeps
        # its pickled result alive, which would double the memory of the tables.
        future, futures[i] = futures[i], None
        result = future.result()
        del future
        bar.advance(len(plan[i]))
        yield result


def _publish_artifacts(summary: dict[str, Any], rejects: pa.Table) -> None:
    """A markdown summary and a table of rejects on the flow run (Prefect UI → Artifacts)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    rows = "\n".join(f"| {name} | {n} |" for name, n in summary["rows"].items())
    validation = "passed" if summary["validation"]["success"] else "FAILED"
    quarantined = "".join(f"- `{q['source_file']}`: {q['detail'][:500]}\n" for q in summary["quarantined"])
    create_markdown_artifact(
        key="build-summary",
        description="digigov build summary",
        markdown=(
            f"# digigov build: {summary['outcome']} (exit code {summary['exit_code']})\n\n"
            + (f"## Quarantined documents ({len(summary['quarantined'])})\n\nWithheld from the build; "
               f"their last published versions kept, marked stale: {len(summary['stale'])}.\n\n{quarantined}\n"
               if quarantined else "")
            + "".join(f"- {why}\n" for why in summary["not_reused"])
            + f"- documents in: **{summary['documents_in']}** (processed {summary['processed']}, "
            f"from cache {summary['cached']}, unchanged in the published build {summary['reused']}, "
            f"rejected {summary['rejected']})\n"
            f"- documents table: {summary['documents']} rows\n"
            f"- validation: **{validation}** ({summary['validation']['expectations']} checks)\n"
            f"- {summary['seconds']} s, {summary['batches']} batches → `{summary['out_dir']}`\n\n"
            f"| table | rows |\n|---|---|\n{rows}\n"
        ),
    )
    create_table_artifact(
        key="build-rejects",
        description="raw files that were rejected, with the reason",
        table=[{"source_file": r["source_file"], "reason": r["reason"], "detail": (r["detail"] or "")[:300]}
               for r in rejects.to_pylist()] or [{"source_file": "", "reason": "", "detail": "no rejects"}],
    )


def task_runner(kind: str = "local", workers: int | None = None, dask_address: str | None = None):
    """The task runner for ``--runner``: ``local`` = a process pool over the machine's cores,
    ``threads`` = one process (debugging), ``dask`` = an existing Dask cluster at
    ``dask_address`` or a local one."""
    workers = workers or os.cpu_count() or 1
    if kind == "local":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=workers)
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"unknown runner {kind!r} (local, threads or dask)")


# Settings of a run whose API is a server this process started (it stops with this process):
# no flow-run heartbeats. They let a lasting server's services mark a run crashed once its
# process is gone; this server is gone with it. And Prefect joins the heartbeat thread as the
# flow run ends while that thread sleeps in whole seconds, a wait at the end of every run.
OWN_SERVER_SETTINGS = {"flows.heartbeat_frequency": None}


@contextmanager
def api_server() -> Iterator[str]:
    """The Prefect API this process and its worker processes report to.

    With no ``PREFECT_API_URL`` configured Prefect starts an embedded server per *process*; a
    process pool or a local Dask cluster would then start one server per worker (seconds each,
    and the runs split across them). So start the embedded server once here (or use the one the
    CLI started early, ``flows/orchestration/embedded_server.py``) and hand its URL to the workers through the
    environment.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.orchestration import embedded_server
    embedded_server.wait_ready()
    if PREFECT_API_URL.value():
        if embedded_server.started():
            with temporary_settings(updates=OWN_SERVER_SETTINGS):
                yield PREFECT_API_URL.value()
        else:  # a server of its own, with its own services
            yield PREFECT_API_URL.value()
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the same instance Prefect's own client would start
    server.start(timeout=120)  # stopped at exit by Prefect, after its log and event workers drain
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url, **OWN_SERVER_SETTINGS}):
            yield server.api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)


def run_build(raw_dir: str, out_dir: str, *, runner: str = "local", workers: int | None = None,
              dask_address: str | None = None, **params: Any) -> dict[str, Any]:
    """``build_dataset`` on the chosen task runner (what the CLI calls)."""
    flow_ = build_dataset.with_options(task_runner=task_runner(runner, workers, dask_address))
    with api_server():
        return flow_(raw_dir=raw_dir, out_dir=out_dir, **params)


@flow(name="scheduled_build", log_prints=True)
def scheduled_build(raw_dir: str = "raw", out_dir: str = "curated", runner: str = "local",
                    workers: int | None = None, dask_address: str | None = None,
                    full_refresh: bool = False, max_quarantined: float = MAX_QUARANTINED_SHARE,
                    allow_shrink: bool = False) -> dict[str, Any]:
    """``build_dataset`` on a task runner chosen by parameter: the entry point of deployments
    (``digigov serve``, ``prefect.yaml``), whose runs load the flow by name and so cannot be
    handed a task runner object."""
    flow_ = build_dataset.with_options(task_runner=task_runner(runner, workers, dask_address))
    return flow_(raw_dir=raw_dir, out_dir=out_dir, full_refresh=full_refresh, max_quarantined=max_quarantined,
                 allow_shrink=allow_shrink)
