"""The Prefect flow ``build_dataset``: raw/ → curated/ (ingest → normalize → structure → extract
→ validate → write). Tasks are thin: they call the plain stage functions in batches.

Work is split into batches of documents (one task per batch, not per document) that run on
the flow's task runner: a process pool over the machine's cores from the CLI, Dask with
``--runner dask``. A document whose raw bytes and processing code are unchanged since an earlier
run is not processed again: its rows come from the per-document cache (``flows/cache.py``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc
from filelock import FileLock, Timeout
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from flows import __version__, progress
from flows.cache import CachedDocument, DocumentCache, rules_fingerprint
from flows.ingest import RawDoc, Rejected, discover, read_raw, relative_name
from flows.memory import collect_cycles, freeze_startup_objects
from flows.pipeline import DuplicateRoles, copy_reject, duplicate_roles, process_document, reject_row, timed
from flows.previous import PreviousBuild, load_previous, reused_tables, take_rows, write_text_keys
from flows.schema import TABLES, schema
from flows.validate import DOCS_DIR, StagedTables, ValidationFailed, ValidationResult, return_freed_memory, validate_tables
from flows.write import TableAppender, clean_stale, new_build_dir, publish, write_build, write_meta, write_table

DEFAULT_BATCH_SIZE = 200  # documents to process per task, at most; cached documents cost far less
CACHE_HITS_PER_DOCUMENT = 20  # a cache hit costs ~1/20 of processing a document (measured)
MAX_BATCH_DOCUMENTS = 500
MAX_BATCH_BYTES = 32 * 2**20  # of raw files per batch: a batch's rows are held whole in its worker
# Below this many documents to process, batches run in the flow's own process: starting worker
# processes (seconds each: every worker imports Prefect and the stages) would cost more than
# loading cached documents serially (~0.2 ms each).
IN_PROCESS_MAX_MISSES = 20
LOCK_WAIT_SECONDS = 10.0
# Up to this share of the documents to check, validation runs on the tables in memory; beyond
# it, on the staged Parquet one table at a time (memory for one table instead of all).
FEW_CHECKED = 0.1
IO_RETRIES = dict(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=1), retry_jitter_factor=0.5)


class RunLocked(RuntimeError):
    pass


@dataclass(frozen=True)
class RawEntry:
    """One raw file as the scan saw it: its content hash, or why it cannot be used."""

    source_file: str
    sha256: str | None = None
    size: int = 0
    reject: dict[str, Any] | None = None
    cached: bool = False

    @property
    def suffix(self) -> str:
        return Path(self.source_file).suffix.lower()


@dataclass
class BatchResult:
    tables: dict[str, pa.Table]
    # (source_file, doc_id, sha256 of the normalized text) per documents row, for duplicates
    doc_keys: list[tuple[str, str, str]]
    processed: int = 0
    cached: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def scan_raw(raw_dir: Path, paths: list[Path]) -> list[RawEntry]:
    """Hash every raw file (or record why it is rejected); reads one file at a time.
    (Threads measured slower here: 3.6 s against 2.1 s for 10,000 files.)"""
    entries = []
    for path in paths:
        name = relative_name(raw_dir, path)
        try:
            raw = read_raw(raw_dir, path)
        except Rejected as exc:
            entries.append(RawEntry(name, reject=reject_row(name, None, exc.reason, exc.detail)))
            continue
        entries.append(RawEntry(name, sha256=raw.sha256, size=len(raw.data)))
    return entries


def process_entries(raw_dir: Path, entries: list[RawEntry], cache: DocumentCache | None) -> BatchResult:
    """Rows of a batch of scanned raw files as Arrow tables: cached tables where the cache has
    them, ``process_document`` otherwise (plain function; the task wraps it)."""
    timings: dict[str, float] = {}
    parts: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
    doc_keys: list[tuple[str, str, str]] = []
    processed = cached = 0
    for entry in entries:
        doc = None
        if cache is not None and entry.cached:
            with timed(timings, "cache_load"):
                doc = cache.get(entry.sha256, entry.suffix, entry.source_file)
        if doc is None:
            with timed(timings, "read"):
                raw = _reread(raw_dir, entry)
            if isinstance(raw, dict):
                parts["rejects"].append(schema("rejects").table([raw], bare=True))
                continue
            rows = process_document(raw, timings)
            with timed(timings, "arrow"):
                text_key = hashlib.sha256(rows["documents"][0]["text"].encode()).hexdigest() if rows["documents"] else None
                doc = CachedDocument.from_rows(rows, text_key)
            # an `error` reject may be the machine's (memory, disk), not the document's: retry it next run
            if cache is not None and not any(r["reason"] == "error" for r in rows["rejects"]):
                with timed(timings, "cache_store"):
                    cache.put(entry.sha256, entry.suffix, doc)
            processed += 1
        else:
            cached += 1
        for name, table in doc.tables.items():
            parts[name].append(table)
        if doc.text_key is not None and "documents" in doc.tables:
            doc_keys.extend((entry.source_file, d, doc.text_key) for d in doc.tables["documents"].column("doc_id").to_pylist())
    with timed(timings, "arrow"):
        tables = {name: _with_schema(name, parts[name]) for name in TABLES}
    return BatchResult(tables, doc_keys, processed, cached, timings)


def _with_schema(name: str, parts: list[pa.Table]) -> pa.Table:
    """One contiguous table with the contract's schema (descriptions included) from bare parts."""
    if not parts:
        return schema(name).table([])
    combined = pa.concat_tables(parts).combine_chunks()
    return pa.Table.from_arrays(combined.columns, schema=schema(name).arrow_schema())


def _reread(raw_dir: Path, entry: RawEntry) -> RawDoc | dict[str, Any]:
    try:
        raw = read_raw(raw_dir, raw_dir / entry.source_file)
    except Rejected as exc:
        return reject_row(entry.source_file, None, exc.reason, exc.detail)
    if raw.sha256 != entry.sha256:  # changed between the scan and now: the next run takes it
        return reject_row(entry.source_file, raw.sha256, "unreadable",
                          "the file changed while the run was reading it; it is read again next run")
    return raw


def plan_batches(entries: list[RawEntry], batch_size: int, parallelism: int = 1) -> list[list[RawEntry]]:
    """Consecutive batches (path order, so tables come out in a stable order) of about equal cost.

    A batch costs at most about ``batch_size`` documents to process (a cache hit counts 1/20),
    ``MAX_BATCH_DOCUMENTS`` documents and ``MAX_BATCH_BYTES`` of raw files; the number of
    batches is a multiple of ``parallelism``, at least two per worker when there are enough
    documents, so that the workers finish together instead of one waiting on the last batch.
    Each task run costs Prefect ~0.1-0.3 s of CPU (API calls, states, events), so batches are
    as large as those bounds allow."""
    if not entries:
        return []
    costs = [1 if e.cached else CACHE_HITS_PER_DOCUMENT for e in entries]
    total = sum(costs)
    k = max(-(-total // (max(1, batch_size) * CACHE_HITS_PER_DOCUMENT)),
            -(-len(entries) // MAX_BATCH_DOCUMENTS),
            -(-sum(e.size or 0 for e in entries) // MAX_BATCH_BYTES))
    if len(entries) >= 2 * parallelism:
        k = max(k, 2 * parallelism)
    k = min(len(entries), -(-k // parallelism) * parallelism)
    out: list[list[RawEntry]] = []
    current: list[RawEntry] = []
    done = 0
    for entry, cost in zip(entries, costs):
        current.append(entry)
        done += cost
        # cumulative thresholds: rounding never piles up into a last, short or long, batch
        if done * k >= total * (len(out) + 1) and len(out) < k - 1:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def assemble(results: list[BatchResult], extra_rejects: list[dict[str, Any]],
             reused: dict[str, pa.Table] | None = None, reused_keys: list[tuple[str, str, str]] = (),
             order: list[str] | None = None) -> dict[str, pa.Table]:
    """One table per name from the batches and the rows ``reused`` from the previous build;
    documents with the same normalized text as an earlier one get ``duplicate_of`` and
    contribute no derived rows. With ``order`` (source files in path order), rows follow it.

    Parts are filtered one by one before they are concatenated (zero-copy), so memory never
    holds a second copy of a whole table (sections alone carry the full text once more)."""
    _, duplicate_of = duplicate_roles([*reused_keys, *(k for r in results for k in r.doc_keys)])
    parts: dict[str, list[pa.Table]] = {name: [schema(name).table([])] for name in TABLES}
    for tables in [reused or {}] + [r.tables for r in results]:
        for name, table in tables.items():
            parts[name].append(_without_duplicates(name, table, duplicate_of))
        tables.clear()  # the parts list holds them now; let the batch's own references go
    parts["rejects"].append(schema("rejects").table(extra_rejects))
    tables = {name: pa.concat_tables(p) for name, p in parts.items()}
    parts.clear()  # reordering below copies a table: its parts must not outlive it
    if order is not None:
        _in_path_order(tables, order)
    tables["rejects"] = _sorted_rejects(tables["rejects"])
    return tables


def _in_path_order(tables: dict[str, pa.Table], order: list[str]) -> None:
    """Rows by their document's place in ``order`` (stable within a document), so a run that
    reuses the previous build's rows gives the very tables a full run gives. In place, one
    table at a time, so at most one table is held twice."""
    docs = tables["documents"]
    place = pc.index_in(docs.column("source_file"), value_set=pa.array(order, pa.string()))
    doc_ids = docs.column("doc_id").take(pc.sort_indices(place))
    for name in list(tables):
        table = tables[name]
        if "doc_id" not in table.column_names or table.num_rows < 2:
            continue
        position = pc.index_in(table.column("doc_id"), value_set=doc_ids)
        if pc.all(pc.greater_equal(position.slice(1), position.slice(0, table.num_rows - 1))).as_py():
            continue  # already in order (a full run): no copy
        keys = pa.table({"p": position, "i": pa.array(range(table.num_rows), pa.int64())})
        tables[name] = take_rows(table, pc.sort_indices(keys, [("p", "ascending"), ("i", "ascending")]))
        del table


@task(name="scan-raw", cache_policy=NO_CACHE, **IO_RETRIES)
def scan_task(raw_dir: Path) -> list[RawEntry]:
    """Find the raw files and hash them (one task: each task run costs API calls)."""
    return scan_raw(raw_dir, discover(raw_dir))


@task(name="process-batch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def process_batch_task(raw_dir: Path, entries: list[RawEntry], out_dir: Path | None, fingerprint: str) -> BatchResult:
    freeze_startup_objects()  # the worker's imports: out of every later collection (flows/memory.py)
    pa.default_memory_pool().release_unused()  # a long-lived worker returns the last batch's memory
    cache = DocumentCache(out_dir, fingerprint) if out_dir is not None else None
    return process_entries(raw_dir, entries, cache)


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(tables: Mapping[str, Any], docs_dir: Path, checked_docs: list[str] | None = None) -> ValidationResult:
    from prefect.artifacts import create_markdown_artifact

    result = validate_tables(tables, docs_dir, checked_docs=checked_docs)
    create_markdown_artifact(result.markdown(), key="validation", description="Great Expectations results")
    get_run_logger().info("validation: %d suites, %d expectations, %d failed, %.1f s",
                          len(result.suites), result.expectations, len(result.failures), result.seconds)
    return result


@task(name="stage", cache_policy=NO_CACHE, **IO_RETRIES)
def stage_task(tables: dict[str, pa.Table], out_dir: Path, meta: dict[str, Any], text_keys: dict[str, str]) -> Path:
    """Write a build into a new staging folder of ``out_dir`` (not visible until published)."""
    build = new_build_dir(out_dir)
    write_build(tables, build, meta)
    write_text_keys(build, text_keys)
    return build


def _timed_call(fn, *args) -> tuple[Any, float]:
    started = time.perf_counter()
    return fn(*args), time.perf_counter() - started


def _peak_rss_mb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


@task(name="publish", cache_policy=NO_CACHE, **IO_RETRIES)
def publish_task(build: Path, out_dir: Path, names: list[str]) -> str:
    return str(publish(build, out_dir, names))


def acquire_lock(out: Path, wait_seconds: float | None = None) -> FileLock:
    """The output folder's run lock; a second run waits ``wait_seconds`` then refuses clearly.

    An OS-level lock (flock): a run killed with SIGKILL releases it with its process."""
    wait_seconds = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    lock = FileLock(out / ".lock")
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout:
        raise RunLocked(
            f"another digigov run is writing to {out} (it holds {out / '.lock'}); waited "
            f"{wait_seconds:.0f} s and gave up without touching anything. Run again when it has finished."
        ) from None
    return lock


@flow(name="build_dataset", log_prints=True)
def build_dataset(raw_dir: str = "raw", out_dir: str = "curated", batch_size: int = DEFAULT_BATCH_SIZE,
                  full_refresh: bool = False, serial_up_to: int = IN_PROCESS_MAX_MISSES) -> dict[str, Any]:
    """Build every table from the raw folder and publish them into ``out_dir`` atomically.

    Documents unchanged since an earlier run (same raw sha256, same code fingerprint) reuse
    their cached rows unless ``full_refresh``. When at most ``serial_up_to`` documents need
    processing, the batches run in the flow's process instead of on the task runner.
    """
    logger = get_run_logger()
    freeze_startup_objects()  # see flows/memory.py
    started = time.perf_counter()
    timings: dict[str, float] = {}
    raw, out = Path(raw_dir).resolve(), Path(out_dir).resolve()
    if not raw.is_dir():
        raise FileNotFoundError(f"raw folder {raw} does not exist")
    out.mkdir(parents=True, exist_ok=True)
    lock = acquire_lock(out)
    try:
        for stale in clean_stale(out):
            logger.info("removed stale build %s", stale.name)
        cache = DocumentCache(out)
        with timed(timings, "scan"):
            entries = scan_task(raw)
        rejects = [e.reject for e in entries if e.reject]
        unique, copies = _split_copies([e for e in entries if not e.reject])
        rejects += copies
        order = [e.source_file for e in unique]
        previous = None if full_refresh else load_previous(out, cache.fingerprint)
        unique, reuse = _split_reused(unique, previous)
        if not full_refresh:
            unique = [RawEntry(e.source_file, e.sha256, e.size, cached=cache.has(e.sha256, e.suffix)) for e in unique]
        n_cached = sum(e.cached for e in unique)
        logger.info("%d raw files under %s: %d to process, %d cached, %d unchanged in the published build, "
                    "%d rejected before processing",
                    len(entries), raw, len(unique) - n_cached, n_cached, len(reuse), len(rejects))
        # the published build's rows are read on a thread while the batches run: Parquet
        # decoding releases the GIL, so it overlaps with processing the changed documents
        reading = None
        if reuse:
            pool = ThreadPoolExecutor(1, thread_name_prefix="reuse")
            reading = pool.submit(_timed_call, reused_tables, previous, reuse)
            pool.shutdown(wait=False)  # the thread ends with the read; the batches do not wait

        bar = progress.current(lambda: progress.LineProgress(logger.info))
        bar.start(len(unique))
        in_process = len(unique) - n_cached <= serial_up_to
        plan = plan_batches(unique, batch_size, 1 if in_process else os.cpu_count() or 1)
        batches = iter_batches(raw, out, cache.fingerprint, plan, in_process, bar)
        base_meta = {"code_version": __version__, "code_fingerprint": cache.fingerprint,
                     "rules_fingerprint": rules_fingerprint(), "raw_dir": str(raw),
                     "documents_in": len(entries), "reused": len(reuse), "full_refresh": full_refresh}
        peaks: dict[str, int] = {}
        if not reuse:
            # Nothing to merge from the published build: each batch's rows go straight into
            # the staging build's files as the batch comes back, so this process never holds
            # more than a batch; validation then reads the files back one table at a time.
            with timed(timings, "batches"):
                staged = stream_batches(batches, rejects, new_build_dir(out))
            bar.finish()
            peaks["batches"] = _peak_rss_mb()
            with timed(timings, "write"):
                write_text_keys(staged.build, staged.text_keys)
                write_meta(staged.build, {**base_meta, **staged.meta()})
            build, names, checked = staged.build, list(TABLES), None
            with timed(timings, "validate"):
                result = validate_task(StagedTables(build, names), out / DOCS_DIR, checked)
        else:
            with timed(timings, "batches"):
                results = list(batches)
            bar.finish()
            with timed(timings, "reuse"):  # the time the run waited for the read, not the read's
                reused, timings["reuse_read"] = reading.result()
            pa.default_memory_pool().release_unused()  # the unfiltered tables read
            reused_keys = [(f, d, previous.text_keys[d]) for d, f in reuse.items()]
            peaks["batches"] = _peak_rss_mb()
            # documents whose rows no published build validated: every one when the rules
            # changed since the published build was validated
            same_rules = previous.rules_fingerprint == rules_fingerprint()
            checked = [d for r in results for _, d, _ in r.doc_keys] if same_rules else None
            text_keys = {d: k for _, d, k in [*reused_keys, *(k for r in results for k in r.doc_keys)]}
            staged = Staged(None, text_keys)
            for r in results:
                staged.add_counts(r)
            with timed(timings, "assemble"):
                tables = assemble(results, rejects, reused, reused_keys, order)
            peaks["assemble"] = _peak_rss_mb()
            staged.rows = {name: t.num_rows for name, t in tables.items()}
            docs = tables["documents"]
            staged.sources = dict(zip(docs.column("source_file").to_pylist(), docs.column("source_sha256").to_pylist()))
            staged.rejected = tables["rejects"]
            meta, names = {**base_meta, **staged.meta()}, list(tables)
            del docs
            # With few documents to check (an incremental run) the suites look at a few rows and
            # the keys: the tables in memory serve them while a thread writes the staging build
            # (pyarrow writes without the GIL). Otherwise the build is staged first and the tables
            # let go: validation reads them back one table at a time.
            if checked is not None and len(checked) <= FEW_CHECKED * max(1, staged.rows["documents"]):
                with ThreadPoolExecutor(1) as pool:
                    staging = pool.submit(_timed_call, stage_task.fn, tables, out, meta, text_keys)
                    with timed(timings, "validate"):
                        result = validate_task(tables, out / DOCS_DIR, checked)
                    try:
                        build, timings["write"] = staging.result()
                    except OSError as exc:  # disk, permissions: stage again as a task, with retries
                        logger.warning("staging the build failed (%s); staging it again", exc)
                        with timed(timings, "write"):
                            build = stage_task(tables, out, meta, text_keys)
                tables.clear()
            else:
                with timed(timings, "write"):
                    build = stage_task(tables, out, meta, text_keys)
                tables.clear()
                pa.default_memory_pool().release_unused()
                peaks["write"] = _peak_rss_mb()
                with timed(timings, "validate"):
                    result = validate_task(StagedTables(build, names), out / DOCS_DIR, checked)
        peaks["validate"] = _peak_rss_mb()
        counts, rejected = staged.rows, staged.rejected
        if not result.success:
            shutil.rmtree(build, ignore_errors=True)
            raise ValidationFailed(result)
        with timed(timings, "publish"):
            publish_task(build, out, names)
        cache.prune()
        timings["flow"] = time.perf_counter() - started
        summary = {
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
        return summary
    finally:
        lock.release()


def iter_batches(raw: Path, out: Path, fingerprint: str, plan: list[list[RawEntry]], in_process: bool,
                 bar: progress.Progress) -> Iterator[BatchResult]:
    """Every batch's result, in plan order, as it is ready: from the task runner, or (few
    documents to process) from direct task calls in this process."""
    if in_process:
        for b in plan:
            yield process_batch_task(raw, b, out, fingerprint)
            bar.advance(len(b))
        return
    futures = [process_batch_task.submit(raw, b, out, fingerprint) for b in plan]
    for i in range(len(futures)):
        # In submission order, letting go of each future once read: a process-pool future keeps
        # its pickled result alive, which would double the memory of the tables.
        future, futures[i] = futures[i], None
        result = future.result()
        del future
        bar.advance(len(plan[i]))
        yield result


@dataclass
class Staged:
    """What a run's batches add up to: the staging build (once written), rows per table,
    the documents' sources and text keys, the rejects, and the batches' counts and timings."""

    build: Path | None
    text_keys: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    rejected: pa.Table | None = None
    processed: int = 0
    cached: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def add_counts(self, result: BatchResult) -> None:
        self.processed += result.processed
        self.cached += result.cached
        for stage, seconds in result.timings.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds

    def meta(self) -> dict[str, Any]:
        return {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "row_counts": self.rows,
                "processed": self.processed, "cached": self.cached, "sources": self.sources}


def stream_batches(batches: Iterator[BatchResult], extra_rejects: list[dict[str, Any]], build: Path) -> Staged:
    """Write the batches' rows into the staging folder ``build`` as they come (path order):
    documents with the same normalized text as an earlier one get ``duplicate_of`` and
    contribute no derived rows, as in ``assemble``; rejects are sorted by source file."""
    names = [n for n in TABLES if n != "rejects"]
    appender = TableAppender(build, {n: schema(n).arrow_schema() for n in names})
    roles = DuplicateRoles()
    staged = Staged(build)
    rejects = [schema("rejects").table(extra_rejects)]
    for result in batches:
        roles.add(result.doc_keys)
        staged.text_keys.update((d, k) for _, d, k in result.doc_keys)
        staged.add_counts(result)
        for name, table in result.tables.items():
            if name == "rejects":
                rejects.append(table)
                continue
            table = _without_duplicates(name, table, roles.duplicate_of)
            if name == "documents":
                staged.sources.update(zip(table.column("source_file").to_pylist(), table.column("source_sha256").to_pylist()))
            appender.append(name, table)
        result.tables.clear()
        del result
        collect_cycles()  # Prefect's futures hold the batch's pickled result in a cycle (flows/memory.py)
        return_freed_memory()  # the batch arrived as pickled bytes: without a trim, RSS only grows
    staged.rows = appender.close()
    staged.rejected = _sorted_rejects(pa.concat_tables(rejects))
    staged.rows["rejects"] = staged.rejected.num_rows
    write_table(staged.rejected, build / "rejects.parquet")
    staged.rows = {name: staged.rows[name] for name in TABLES}
    return staged


def _without_duplicates(name: str, table: pa.Table, duplicate_of: dict[str, str]) -> pa.Table:
    """A table's part with ``duplicate_of`` set on duplicate documents and their derived rows dropped."""
    if not duplicate_of or name == "rejects" or "doc_id" not in table.column_names or table.num_rows == 0:
        return table
    ids = table.column("doc_id")
    if name == "documents":
        marked = [duplicate_of.get(d) for d in ids.to_pylist()]
        i = table.schema.get_field_index("duplicate_of")
        return table.set_column(i, table.schema.field(i), pa.array(marked, pa.string()))
    dup_ids = pa.array(list(duplicate_of), pa.string())
    return table.filter(pc.invert(pc.is_in(ids, value_set=dup_ids)))


def _sorted_rejects(rejects: pa.Table) -> pa.Table:
    return rejects.take(pc.sort_indices(rejects, [("source_file", "ascending")]))


def _split_reused(entries: list[RawEntry], previous: PreviousBuild | None) -> tuple[list[RawEntry], dict[str, str]]:
    """(entries to process or load from the cache, {doc_id: source_file} of the documents whose
    rows the previous build holds)."""
    if previous is None:
        return entries, {}
    rest, reuse = [], {}
    for e in entries:
        doc_id = previous.doc_ids.get((e.sha256, e.suffix))
        if doc_id is not None and doc_id not in reuse:
            reuse[doc_id] = e.source_file
        else:
            rest.append(e)
    return rest, reuse


def _split_copies(entries: list[RawEntry]) -> tuple[list[RawEntry], list[dict[str, Any]]]:
    """Byte-identical files are processed once: the first by path; the others become rejects."""
    first: dict[str, RawEntry] = {}
    unique, copies = [], []
    for e in entries:  # entries are in path order
        if e.sha256 in first:
            copies.append(copy_reject(e.source_file, e.sha256, first[e.sha256].source_file))
        else:
            first[e.sha256] = e
            unique.append(e)
    return unique, copies


def _publish_artifacts(summary: dict[str, Any], rejects: pa.Table) -> None:
    """A markdown summary and a table of rejects on the flow run (Prefect UI → Artifacts)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    rows = "\n".join(f"| {name} | {n} |" for name, n in summary["rows"].items())
    validation = "passed" if summary["validation"]["success"] else "FAILED"
    create_markdown_artifact(
        key="build-summary",
        description="digigov build summary",
        markdown=(
            f"# digigov build\n\n"
            f"- documents in: **{summary['documents_in']}** (processed {summary['processed']}, "
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


@contextmanager
def api_server() -> Iterator[str]:
    """The Prefect API this process and its worker processes report to.

    With no ``PREFECT_API_URL`` configured Prefect starts an embedded server per *process*; a
    process pool or a local Dask cluster would then start one server per worker (seconds each,
    and the runs split across them). So start the embedded server once here (or use the one the
    CLI started early, ``flows/embedded_server.py``) and hand its URL to the workers through the
    environment.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import embedded_server

    embedded_server.wait_ready()
    if PREFECT_API_URL.value():
        yield PREFECT_API_URL.value()
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the same instance Prefect's own client would start
    server.start(timeout=120)  # stopped at exit by Prefect, after its log and event workers drain
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
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
                    full_refresh: bool = False) -> dict[str, Any]:
    """``build_dataset`` on a task runner chosen by parameter: the entry point of deployments
    (``digigov serve``, ``prefect.yaml``), whose runs load the flow by name and so cannot be
    handed a task runner object."""
    flow_ = build_dataset.with_options(task_runner=task_runner(runner, workers, dask_address))
    return flow_(raw_dir=raw_dir, out_dir=out_dir, full_refresh=full_refresh)
