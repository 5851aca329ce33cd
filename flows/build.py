"""The Prefect flow ``build_dataset``: raw/ → curated/ (ingest → normalize → structure → extract
→ validate → write). The flow only wires: each step is a plain function of its own module
(``flows/orchestration``, ``flows/storage``, ``flows/gate``) that tests call without a server;
the tasks here add Prefect's retries, timeouts and logs to the steps that need them.

Work is split into batches of documents (one task per batch, not per document) that run on
the flow's task runner: a process pool over the machine's cores from the CLI, Dask with
``--runner dask``. A document whose raw bytes and processing code are unchanged since an earlier
run is not processed again: its rows come from the per-document cache (``flows/storage/cache.py``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from flows.budget import DEFAULT_DOC_TIMEOUT
from flows.compare.views import write_derived_tables
from flows.contract.schema import TABLES
from flows.gate import process as validator
from flows.gate.run import DOCS_DIR
from flows.gate.verdict import (
    MAX_QUARANTINED_COUNT,
    MAX_QUARANTINED_SHARE,
    BuildRefused,
    ValidationResult,
)
from flows.orchestration.batches import (
    DEFAULT_BATCH_SIZE,
    IN_PROCESS_MAX_MISSES,
    WARM_UP_TIMING,
    plan_batches,
    plan_run,
    process_entries,
    refuse_without_documents,
    scan_folder,
)
from flows.orchestration.head_start import HeadStart, published_build, reused_reads, take_head_start
from flows.orchestration.quarantine import (
    forget_quarantined,
    published_documents,
    quarantine_documents,
    raw_documents,
    refuse_shrink,
    staged_documents,
)
from flows.orchestration.run_lock import claim_run
from flows.orchestration.runners import api_server, task_runner
from flows.orchestration.stage_build import StagingArea, stage_build
from flows.orchestration.summary import (
    build_summary,
    peak_rss_mb,
    publish_artifacts,
    publish_refusal,
    run_meta,
    write_build_meta,
)
from flows.pipeline import timed, warm_up
from flows.records import BatchResult, RawEntry
from flows.storage.cache import DocumentCache, rules_fingerprint
from flows.storage.publish import clean_stale, publish
from flows.tooling import progress
from flows.tooling.memory import freeze_startup_objects

IO_RETRIES = dict(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=1), retry_jitter_factor=0.5)
# A task that hangs (a stalled network mount, a worker stuck in a library) fails after these
# instead of holding the output folder's lock and the schedule for good: each is many times what
# the task takes on 10,000 documents (a batch holds at most 32 MB of raw files).
TIMEOUT_SECONDS = {"scan": 3600, "batch": 1800, "validate": 3600, "publish": 600}


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


@task(name="publish", cache_policy=NO_CACHE, timeout_seconds=TIMEOUT_SECONDS["publish"], **IO_RETRIES)
def publish_task(build: Path, out_dir: Path, names: list[str]) -> str:
    return str(publish(build, out_dir, names))


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
    started, timings, peaks = time.perf_counter(), {}, {}
    raw, out = Path(raw_dir).resolve(), Path(out_dir).resolve()
    try:
        out, lock = claim_run(raw, out)
    except BuildRefused as exc:
        publish_refusal(exc, out, logger)
        raise
    area = StagingArea(out)  # this run's staging builds, removed when it is refused
    try:
        for stale_build in clean_stale(out):
            logger.info("removed stale build %s", stale_build.name)
        cache = DocumentCache(out)
        rules = rules_fingerprint()
        head = take_head_start(raw, out, full_refresh)  # begun by ``digigov run`` before the flow
        with timed(timings, "scan"):
            entries = scan_task(raw, head)
        refuse_without_documents(entries, raw)
        published_docs = published_documents(out)  # this run holds the folder: read once
        refuse_shrink(published_docs, raw_documents(entries), allow_shrink)
        previous, not_reused = published_build(head, out, cache.fingerprint, full_refresh)
        for why in not_reused:
            logger.warning(why)
        run = plan_run(entries, previous, None if full_refresh else cache)
        logger.info(run.describe(raw))
        reads = reused_reads(head, previous, run.reuse)  # on a thread, while the batches run

        # shown on the terminal or in the log, and as a progress artifact in the Prefect UI
        bar = progress.ArtifactProgress(progress.current(lambda: progress.LineProgress(logger.info)))
        bar.start(len(run.unique))
        in_process = run.to_process <= serial_up_to
        plan = plan_batches(run.unique, batch_size, 1 if in_process else os.cpu_count() or 1)
        batches = iter_batches(raw, out, cache.fingerprint, plan, in_process, bar, doc_timeout)

        def batches_done() -> None:
            bar.finish()
            peaks["batches"] = peak_rss_mb()

        def validate(tables: Mapping[str, Any], checked: list[str] | None) -> ValidationResult:
            return validate_task(tables, out / DOCS_DIR, checked)

        staged, result, checked = stage_build(batches, run, previous, reads, area, validate, rules, timings,
                                              batches_done)
        peaks["validate"] = peak_rss_mb()
        quarantined, stale = {}, {}
        if not result.success:
            with timed(timings, "quarantine"):
                result, quarantined, stale = quarantine_documents(
                    staged, result, out, checked, area.builds, validate, logger, max_quarantined, max_quarantined_count)
        refuse_shrink(published_docs, staged_documents(staged.build), allow_shrink)
        with timed(timings, "derive"):
            derived = write_derived_tables(staged.build)
        staged.rows.update(derived)
        names = [*TABLES, *derived]
        with timed(timings, "write"):
            write_build_meta(staged, area, names, run_meta(raw, run, cache.fingerprint, rules, full_refresh),
                             quarantined, stale)
        with timed(timings, "publish"):
            publish_task(staged.build, out, names)
        area.published()
        forget_quarantined(cache, quarantined)
        cache.prune()
        timings["flow"] = time.perf_counter() - started
        summary = build_summary(run, staged, result, quarantined, stale, not_reused, timings, len(plan), peaks, out)
        publish_artifacts(summary, staged.rejected)
        logger.info("built %s", {k: v for k, v in summary.items() if k != "timings"})
        validator.wait_docs()  # written by the validation process meanwhile, if there is one
        return summary
    except BuildRefused as exc:
        area.discard()
        validator.wait_docs()  # a failed validation's Data Docs name the failures
        publish_refusal(exc, out, logger)
        raise
    finally:
        lock.release()


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
