"""The Prefect flow ``build_dataset``: raw/ → curated/ (ingest → normalize → structure → extract
→ validate → write). Tasks are thin: they call the plain stage functions in batches.

Work is split into batches of documents (one task per batch, not per document) that run on
the flow's task runner: a process pool over the machine's cores from the CLI, Dask with
``--runner dask``. A document whose raw bytes and processing code are unchanged since an earlier
run is not processed again: its rows come from the per-document cache (``flows/cache.py``).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from flows import __version__, progress, validator
from flows.cache import CachedDocument, DocumentCache, rules_fingerprint
from flows.gate import (EXIT_PUBLISHED, EXIT_QUARANTINED, EXIT_REFUSED, MAX_QUARANTINED_COUNT, MAX_QUARANTINED_SHARE,
                        OUTCOMES, BuildRefused, quarantine_verdict, shrink_refusal, withhold_documents)
from flows.ingest import RawDoc, Rejected, discover, read_raw, relative_name
from flows.memory import collect_cycles, freeze_startup_objects
from flows.budget import DEFAULT_DOC_TIMEOUT
from flows.pipeline import (DuplicateRoles, copy_reject, duplicate_key, duplicate_roles, process_document, reject_row, timed,
                            warm_up)
from flows.previous import TEXT_KEYS, PreviousBuild, load_previous, reused_rows, take_rows, write_text_keys
from flows.comparison import write_derived_tables
from flows.schema import TABLES, schema
from flows.validate import (DOCS_DIR, StagedTables, ValidationFailed, ValidationResult, mark_staging_failed,
                            return_freed_memory)
from flows.write import (LOCK, Checksums, TableAppender, UnsafeOutput, claim_output_folder, clean_stale, current_build,
                         new_build_dir, publish, table_file, table_path, write_meta, write_table)

DEFAULT_BATCH_SIZE = 200  # documents to process per task, at most; cached documents cost far less
CACHE_HITS_PER_DOCUMENT = 20  # a cache hit costs ~1/20 of processing a document (measured)
MAX_BATCH_DOCUMENTS = 500
MAX_BATCH_BYTES = 32 * 2**20  # of raw files per batch: a batch's rows are held whole in its worker
# Below this many documents to process, batches run in the flow's own process: starting worker
# processes (seconds each: every worker imports Prefect and the stages) would cost more than
# loading cached documents serially (~0.2 ms each).
IN_PROCESS_MAX_MISSES = 20
# Processed documents whose rows are held, as Python objects, to be turned into Arrow together
# (a few MB); conversion per document cost ~2.5 ms a document more (CachedDocument.from_many).
ARROW_DOCUMENTS = 50
LOCK_WAIT_SECONDS = 10.0
# BatchResult.timings besides the stages' wall seconds: the batch's CPU seconds (its thread's),
# and the process's one-time warm-up (``pipeline.warm_up``: ~0.5 s in each new worker)
CPU_TIMING, WARM_UP_TIMING = "cpu", "warm_up"
IO_RETRIES = dict(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=1), retry_jitter_factor=0.5)
# A task that hangs (a stalled network mount, a worker stuck in a library) fails after these
# instead of holding the output folder's lock and the schedule for good: each is many times what
# the task takes on 10,000 documents (a batch holds at most 32 MB of raw files).
TIMEOUT_SECONDS = {"scan": 3600, "batch": 1800, "validate": 3600, "publish": 600}


class RunLocked(BuildRefused):
    """Another run holds the output folder: this one touched nothing."""


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


def scan_folder(raw_dir: Path) -> list[RawEntry]:
    """Every raw file under ``raw_dir`` hashed (``scan_raw``), then a reject for each folder
    that cannot be read and each link to a folder that loops (``discover``)."""
    problems: list[tuple[str, Rejected]] = []
    entries = scan_raw(raw_dir, discover(raw_dir, problems))
    return entries + [RawEntry(name, reject=reject_row(name, None, exc.reason, exc.detail)) for name, exc in problems]


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


def process_entries(raw_dir: Path, entries: list[RawEntry], cache: DocumentCache | None,
                    doc_timeout: float | None = DEFAULT_DOC_TIMEOUT) -> BatchResult:
    """Rows of a batch of scanned raw files as Arrow tables: cached tables where the cache has
    them, ``process_document`` otherwise (plain function; the task wraps it), each document
    within ``doc_timeout`` seconds. Processed documents are turned into Arrow ``ARROW_DOCUMENTS``
    at a time (``CachedDocument.from_many``); every part still goes in in path order."""
    timings: dict[str, float] = {}
    cpu_started = time.thread_time()
    parts: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
    doc_keys: list[tuple[str, str, str]] = []
    processed = cached = 0
    pending: list[tuple[RawEntry, dict[str, list[dict[str, Any]]], str | None]] = []

    def add(entry: RawEntry, doc: CachedDocument) -> None:
        for name, table in doc.tables.items():
            parts[name].append(table)
        if doc.text_key is not None and "documents" in doc.tables:
            doc_keys.extend((entry.source_file, d, doc.text_key) for d in doc.tables["documents"].column("doc_id").to_pylist())

    def flush() -> None:
        with timed(timings, "arrow"):
            docs = CachedDocument.from_many([(rows, text_key) for _, rows, text_key in pending])
        for (entry, rows, _), doc in zip(pending, docs):
            # an `error` or `timeout` reject may be the machine's (memory, disk, a busy CPU), not
            # the document's: retry it next run
            if cache is not None and not any(r["reason"] in ("error", "timeout") for r in rows["rejects"]):
                with timed(timings, "cache_store"):
                    cache.put(entry.sha256, entry.suffix, doc)
            add(entry, doc)
        pending.clear()

    for entry in entries:
        doc = None
        if cache is not None and entry.cached:
            with timed(timings, "cache_load"):
                doc = cache.get(entry.sha256, entry.suffix, entry.source_file)
        if doc is not None:
            flush()
            add(entry, doc)
            cached += 1
            continue
        with timed(timings, "read"):
            raw = _reread(raw_dir, entry)
        if isinstance(raw, dict):
            flush()
            parts["rejects"].append(schema("rejects").table([raw], bare=True))
            continue
        rows = process_document(raw, timings, doc_timeout)
        with timed(timings, "arrow"):
            text_key = duplicate_key(rows["documents"][0]) if rows["documents"] else None
        pending.append((entry, rows, text_key))
        processed += 1
        if len(pending) >= ARROW_DOCUMENTS:
            flush()
    flush()
    with timed(timings, "arrow"):
        tables = {name: _with_schema(name, parts[name]) for name in TABLES}
    # the CPU time of all of the above (the stages' timings are wall time: a busy machine inflates them)
    timings[CPU_TIMING] = time.thread_time() - cpu_started
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
    """Every table in memory, from the batches and the rows ``reused`` from the previous build
    (see ``merge_table``; with ``order``, source files in path order, rows follow it). The
    flow stages a run one table at a time instead (``stage_merged``)."""
    _, duplicate_of = duplicate_roles([*reused_keys, *(k for r in results for k in r.doc_keys)])
    tables: dict[str, pa.Table] = {}
    doc_ids = None
    for name in MERGE_ORDER:
        tables[name] = merge_table(name, _parts_of(name, (reused or {}).pop(name, None), results), duplicate_of,
                                   extra_rejects, doc_ids)
        if name == "documents" and order is not None:
            doc_ids = path_ordered_doc_ids(tables[name], order)
            tables[name] = in_document_order(tables[name], doc_ids)
    return {name: tables[name] for name in TABLES}


# documents first: their order (by path) decides the order of every other table's rows
MERGE_ORDER = ("documents", *(n for n in TABLES if n != "documents"))
STAGING_WRITERS = 2  # tables ``stage_merged`` writes at once
# the order in which ``stage_merged`` writes the tables' files (rejects when the rest are closed)
STAGING_ORDER = (*(n for n in MERGE_ORDER if n != "rejects"), "rejects")


def _parts_of(name: str, reused: pa.Table | None, results: list[BatchResult]) -> list[pa.Table]:
    """A table's parts: the previous build's reused rows, then each batch's (taken from the
    batch, so that it holds them no longer)."""
    return [t for t in [reused, *(r.tables.pop(name, None) for r in results)] if t is not None]


def merge_table(name: str, parts: list[pa.Table], duplicate_of: dict[str, str],
                extra_rejects: list[dict[str, Any]], doc_ids: pa.Array | None = None) -> pa.Table:
    """One table of a run from its parts (the previous build's reused rows, then the batches'):
    documents with the same document_key as an earlier one get ``duplicate_of`` and
    contribute no derived rows; with ``doc_ids`` (documents in path order), rows follow them
    (``in_document_order``); rejects, with ``extra_rejects``, are sorted by source file.

    Parts are filtered one by one before they are concatenated (zero-copy), so memory never
    holds a second copy of the table (sections alone carry the full text once more)."""
    table = pa.concat_tables([schema(name).table([]), *(_without_duplicates(name, p, duplicate_of) for p in parts)])
    if name == "rejects":
        return _sorted_rejects(pa.concat_tables([table, schema(name).table(extra_rejects)]))
    return table if doc_ids is None else in_document_order(table, doc_ids)


def path_ordered_doc_ids(documents: pa.Table, order: list[str]) -> pa.Array:
    """The documents' doc_ids by their source file's place in ``order``."""
    place = pc.index_in(documents.column("source_file"), value_set=pa.array(order, pa.string()))
    return documents.column("doc_id").take(pc.sort_indices(place)).combine_chunks()


def in_document_order(table: pa.Table, doc_ids: pa.Array) -> pa.Table:
    """Rows by their document's place in ``doc_ids`` (stable within a document), so a run that
    reuses the previous build's rows gives the very tables a full run gives. Already in order
    (a full run): the table itself; a few runs of rows moved: zero-copy slices (``take_rows``)."""
    if "doc_id" not in table.column_names or table.num_rows < 2:
        return table
    position = pc.index_in(table.column("doc_id"), value_set=doc_ids)
    if pc.all(pc.greater_equal(position.slice(1), position.slice(0, table.num_rows - 1))).as_py():
        return table
    keys = pa.table({"p": position, "i": pa.array(range(table.num_rows), pa.int64())})
    return take_rows(table, pc.sort_indices(keys, [("p", "ascending"), ("i", "ascending")]))


def stage_merged(results: list[BatchResult], extra_rejects: list[dict[str, Any]], reads: Iterator[tuple[str, pa.Table]],
                 reused_keys: list[tuple[str, str, str]], order: list[str], build: Path,
                 timings: dict[str, float] | None = None,
                 on_staged: Callable[[str], None] = lambda name: None) -> Staged:
    """Write a run that reuses rows of the published build into the staging folder ``build``,
    one table at a time (``MERGE_ORDER``): ``reads`` gives each table's reused rows, the
    batches' rows for it are added (``merge_table``), in path order, and the merged table is
    written on a thread while the next is merged, then let go: this process holds at most
    ``STAGING_WRITERS`` merged tables (and the next one's reused rows), not all."""
    keys = [*reused_keys, *(k for r in results for k in r.doc_keys)]
    _, duplicate_of = duplicate_roles(keys)
    staged = Staged(build, {d: k for _, d, k in keys})
    for r in results:
        staged.add_counts(r)
    appender = TableAppender(build, {n: schema(n).arrow_schema() for n in TABLES if n != "rejects"})
    doc_ids = None
    timings_lock = threading.Lock()

    def write(name: str, table: pa.Table) -> None:
        started = time.perf_counter()
        appender.write(name, table)
        on_staged(name)
        del table
        return_freed_memory()
        with timings_lock:
            if timings is not None:
                timings["write"] = timings.get("write", 0.0) + time.perf_counter() - started

    # Parquet encoding releases the GIL: a table is written while the next is merged (and
    # another read, ``reads``); at most STAGING_WRITERS merged tables wait for their writer
    with ThreadPoolExecutor(STAGING_WRITERS, thread_name_prefix="stage-write") as writers:
        pending: list[Future] = []
        for name, reused in reads:
            with timed(timings, "assemble"):
                table = merge_table(name, _parts_of(name, reused, results), duplicate_of, extra_rejects, doc_ids)
                del reused
                if name == "documents":
                    doc_ids = path_ordered_doc_ids(table, order)
                    table = in_document_order(table, doc_ids)
                    staged.sources = dict(zip(table.column("source_file").to_pylist(), table.column("source_sha256").to_pylist()))
            if name == "rejects":
                staged.rejected = table
            else:
                pending.append(writers.submit(write, name, table))
            del table
            while sum(not f.done() for f in pending) >= STAGING_WRITERS:
                wait(pending, return_when=FIRST_COMPLETED)
            for f in pending:
                if f.done():
                    f.result()  # a failed write stops the staging now
        for f in pending:
            f.result()
    _close_staged(staged, appender)
    on_staged("rejects")
    return staged


class StagingProgress:
    """Which tables of a staging build a thread has written so far: ``wait(name)`` blocks until
    the table's file is complete, and raises if staging failed instead."""

    def __init__(self) -> None:
        self._done: set[str] = set()
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def staged(self, name: str) -> None:
        with self._changed:
            self._done.add(name)
            self._changed.notify_all()

    def failed(self, error: BaseException) -> None:
        with self._changed:
            self._error = error
            self._changed.notify_all()

    def wait(self, name: str) -> None:
        with self._changed:
            self._changed.wait_for(lambda: name in self._done or self._error is not None)
            if name not in self._done:
                raise RuntimeError(f"staging the build failed before {name}: {self._error}") from self._error


def _staging_failed(progress_: StagingProgress, build: Path, error: BaseException) -> None:
    """Stop a validation waiting on the staging build, in this process or the validation process."""
    progress_.failed(error)
    try:
        mark_staging_failed(build, error)
    except OSError:  # the validation process cannot be told: it is let go instead
        validator.stop(kill=True)


class ReusedReads:
    """Each table's reused rows of the published build (``reused_rows``), in ``MERGE_ORDER``,
    read on a thread one table ahead of the caller: Parquet decoding releases the GIL, so the
    first read overlaps with the batches and each next one with merging and writing this one,
    while memory holds at most two tables' reused rows."""

    def __init__(self, previous: PreviousBuild, reuse: dict[str, str]):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="reuse")
        self._read = lambda name: _timed_call(reused_rows, previous, name, reuse)
        self._names = iter(MERGE_ORDER)
        self._next = self._submit()
        self.seconds = 0.0  # reading, on the thread
        self.waited = 0.0  # the caller waiting for a read

    def _submit(self):
        name = next(self._names, None)
        return None if name is None else (name, self._pool.submit(self._read, name))

    def __iter__(self) -> Iterator[tuple[str, pa.Table]]:
        try:
            while self._next is not None:
                (name, future), self._next = self._next, None
                started = time.perf_counter()
                table, seconds = future.result()
                self.waited += time.perf_counter() - started
                self.seconds += seconds
                del future  # it holds the table too
                self._next = self._submit()
                yield name, table
                del table
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Let go of reads that will not be used (a table being read is dropped when done)."""
        self._next = None
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class EarlyReuse:
    """What a head start found to reuse: the published build and its first reads."""

    previous: PreviousBuild
    fingerprint: str  # the code fingerprint it was loaded for
    reuse: dict[str, str]
    reads: ReusedReads | None


class HeadStart:
    """A run's first steps, begun on a thread before its flow can start (``digigov run``, while
    the embedded server starts: ~3-10 s, in which the CLI's process has nothing else to do).

    It scans the raw folder, then, unless ``full_refresh``, loads the published build of the
    same code and starts reading its reused rows (``ReusedReads``: the first table, the
    documents with their texts, is the longest read). The flow takes them once it holds the
    output folder's lock (``take_head_start``), only if no other run published a build since the
    head start began (else the raw folder may have changed for it too): the scan as its scan
    task's result, so the run sees the raw folder as it was when the command started; the reads
    if the flow reuses exactly the same documents of that build. Otherwise the flow does that
    work itself. Nothing is written before the lock."""

    def __init__(self, raw_dir: Path | str, out_dir: Path | str, full_refresh: bool = False):
        self.raw, self.out = Path(raw_dir).resolve(), Path(out_dir).resolve()
        self.full_refresh = full_refresh
        self.published_then = current_build(self.out)  # before anything is scanned
        self.entries: Future = Future()  # list[RawEntry]
        self.early: Future = Future()  # EarlyReuse | None
        self.scan_seconds = 0.0
        self._closed = False
        threading.Thread(target=self._run, name="head-start", daemon=True).start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            entries = scan_folder(self.raw)
        except BaseException as exc:  # noqa: BLE001 (the flow's own scan reports it)
            self.entries.set_exception(exc)
            self.early.set_result(None)
            return
        self.scan_seconds = time.perf_counter() - started
        self.entries.set_result(entries)
        early = None
        try:
            if not self.full_refresh and self.raw.is_dir():
                from flows.cache import code_fingerprint

                fingerprint = code_fingerprint()
                previous = load_previous(self.out, fingerprint)
                if previous is not None and not self._closed:
                    unique, _ = _split_copies([e for e in entries if not e.reject])
                    _, reuse = _split_reused(unique, previous)
                    early = EarlyReuse(previous, fingerprint, reuse, ReusedReads(previous, reuse) if reuse else None)
        except Exception:  # noqa: BLE001 (an unreadable build: the flow finds out under its lock)
            early = None
        self.early.set_result(early)
        if self._closed and early is not None and early.reads is not None:  # let go meanwhile
            early.reads.close()

    def reuse_for(self, previous: PreviousBuild | None, reuse: dict[str, str]) -> ReusedReads | None:
        """The head start's reads if they are of ``previous`` (the build the flow loaded under
        its lock) and of the same documents; None otherwise (and they are let go)."""
        early = self.early.result()
        if early is None or early.reads is None:
            return None
        if previous is not None and early.previous.path == previous.path and early.reuse == reuse:
            return early.reads
        early.reads.close()
        return None

    def published(self, fingerprint: str) -> PreviousBuild | None:
        """The published build the head start loaded for ``fingerprint`` (builds are never
        changed once published: only replaced, which ``take_head_start`` checks)."""
        early = self.early.result()
        return early.previous if early is not None and early.fingerprint == fingerprint else None

    def close(self) -> None:
        self._closed = True
        early = self.early.result() if self.early.done() else None
        if early is not None and early.reads is not None:
            early.reads.close()


_head_start: HeadStart | None = None


def begin_head_start(raw_dir: Path | str, out_dir: Path | str, full_refresh: bool = False) -> HeadStart:
    """Start the next run's first steps now (see ``HeadStart``); its flow takes them."""
    global _head_start
    if _head_start is not None:
        _head_start.close()
    _head_start = HeadStart(raw_dir, out_dir, full_refresh)
    return _head_start


def take_head_start(raw: Path, out: Path, full_refresh: bool) -> HeadStart | None:
    """The head start begun for this run (same folders, same refresh), once, while the build it
    began under is still the published one (call it holding the lock); any other is let go."""
    global _head_start
    head, _head_start = _head_start, None
    if head is None:
        return None
    if ((head.raw, head.out, head.full_refresh) != (Path(raw).resolve(), Path(out).resolve(), full_refresh)
            or current_build(head.out) != head.published_then):
        head.close()
        return None
    return head


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
    freeze_startup_objects()  # the worker's imports: out of every later collection (flows/memory.py)
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

    # in the validation process ``digigov run`` started, if any (flows/validator.py); every row
    # checked: the cross-table frames are derived in a helper process meanwhile
    result = validator.validate(tables, docs_dir, checked_docs=checked_docs, helper=checked_docs is None)
    create_markdown_artifact(result.markdown(), key="validation", description="Great Expectations results")
    get_run_logger().info("validation: %d suites, %d expectations, %d failed, %.1f s",
                          len(result.suites), result.expectations, len(result.failures), result.seconds)
    return result


def _timed_call(fn, *args) -> tuple[Any, float]:
    started = time.perf_counter()
    return fn(*args), time.perf_counter() - started


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

    Documents that fail a document-level rule are quarantined (``flows/gate.py``): withheld,
    the rest published (summary ``outcome`` ``published_with_quarantined``). ``BuildRefused``
    is raised, and nothing published, for a systemic failure (a systemic rule, or more
    quarantined documents than both ``max_quarantined`` of them and ``max_quarantined_count``),
    a build without documents or one that loses too many of the published build's documents
    (unless ``allow_shrink``), an unsafe output folder, or another run holding the folder.
    """
    logger = get_run_logger()
    freeze_startup_objects()  # see flows/memory.py
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
    documents with the same document_key as an earlier one get ``duplicate_of`` and
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
    staged.rejected = _sorted_rejects(pa.concat_tables(rejects))
    _close_staged(staged, appender)
    return staged


def _close_staged(staged: Staged, appender: TableAppender) -> None:
    """Finish the staging build's table files and write its rejects (``staged.rejected``)."""
    staged.rows = appender.close()
    staged.rows["rejects"] = staged.rejected.num_rows
    write_table(staged.rejected, staged.build / table_file("rejects"))
    staged.rows = {name: staged.rows[name] for name in TABLES}


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
    # the rows kept are mostly a few runs (a table of the published build less a few
    # documents'): zero-copy slices, where a filter would copy the whole table
    return take_rows(table, pc.indices_nonzero(pc.invert(pc.is_in(ids, value_set=dup_ids))))


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
# flow run ends while that thread sleeps in whole seconds: 0.5-1 s at the end of every run.
OWN_SERVER_SETTINGS = {"flows.heartbeat_frequency": None}


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
