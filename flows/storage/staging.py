"""Staging: a run's batch results merged into whole tables in document order and written to the
build folder as they arrive, while the validation reads each table once its file is complete."""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.contract.schema import TABLES, schema
from flows.gate import process as validator
from flows.gate.frames import checked_rows, slice_rows
from flows.pipeline import DuplicateRoles, duplicate_roles, timed
from flows.records import BatchResult
from flows.storage.publish import TableAppender, table_file, table_path, write_table
from flows.storage.reuse import PreviousBuild, reused_rows, take_rows
from flows.tooling.memory import collect_cycles, return_freed_memory


def _with_schema(name: str, parts: list[pa.Table]) -> pa.Table:
    """One contiguous table with the contract's schema (descriptions included) from bare parts."""
    if not parts:
        return schema(name).table([])
    combined = pa.concat_tables(parts).combine_chunks()
    return pa.Table.from_arrays(combined.columns, schema=schema(name).arrow_schema())


def assemble(results: list[BatchResult], extra_rejects: list[dict[str, Any]],
             reused: dict[str, pa.Table] | None = None, reused_keys: list[tuple[str, str, str]] = (),
             order: list[str] | None = None) -> dict[str, pa.Table]:
    """Every table in memory, from the batches and the rows ``reused`` from the previous build
    (see ``merge_table``; with ``order``, source files in path order, rows follow it). The
    flow stages a run one table at a time instead (``stage_merged``)."""
    final_ids = FinalIds.of(duplicate_roles([*reused_keys, *(k for r in results for k in r.doc_keys)]))
    tables: dict[str, pa.Table] = {}
    doc_ids = None
    for name in MERGE_ORDER:
        tables[name] = merge_table(name, _parts_of(name, (reused or {}).pop(name, None), results), final_ids,
                                   extra_rejects, doc_ids)
        if name == "documents" and order is not None:
            doc_ids = path_ordered_doc_ids(tables[name], order)
            tables[name] = in_document_order(tables[name], doc_ids)
    return {name: tables[name] for name in TABLES}


# documents first: their order (by path) decides the order of every other table's rows
MERGE_ORDER = ("documents", *(n for n in TABLES if n != "documents"))


STAGING_WRITERS = 2  # tables ``stage_merged`` writes at once


def _parts_of(name: str, reused: pa.Table | None, results: list[BatchResult]) -> list[pa.Table]:
    """A table's parts: the previous build's reused rows, then each batch's (taken from the
    batch, so that it holds them no longer)."""
    return [t for t in [reused, *(r.tables.pop(name, None) for r in results)] if t is not None]


def merge_table(name: str, parts: list[pa.Table], final_ids: FinalIds,
                extra_rejects: list[dict[str, Any]], doc_ids: pa.Array | None = None) -> pa.Table:
    """One table of a run from its parts (the previous build's reused rows, then the batches'):
    every doc_id becomes final and documents with the same document_key as an earlier one get
    ``duplicate_of`` and contribute no derived rows (``final_ids``); with ``doc_ids``
    (documents in path order), rows follow them (``in_document_order``); rejects, with ``extra_rejects``, are sorted by source file.

    Parts are filtered one by one before they are concatenated (zero-copy), so memory never
    holds a second copy of the table (sections alone carry the full text once more)."""
    table = pa.concat_tables([schema(name).table([]), *(final_ids.apply(name, p) for p in parts)])
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
    roles = duplicate_roles(keys)
    final_ids = FinalIds.of(roles)
    staged = Staged(build, {roles.final(d): k for _, d, k, _ in keys})
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
                table = merge_table(name, _parts_of(name, reused, results), final_ids, extra_rejects, doc_ids)
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


def _timed_call(fn, *args) -> tuple[Any, float]:
    started = time.perf_counter()
    return fn(*args), time.perf_counter() - started


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
    every doc_id becomes final and documents with the same document_key as an earlier one get
    ``duplicate_of`` and contribute no derived rows, as in ``assemble``; rejects are sorted by
    source file."""
    names = [n for n in TABLES if n != "rejects"]
    appender = TableAppender(build, {n: schema(n).arrow_schema() for n in names})
    roles = DuplicateRoles()
    staged = Staged(build)
    rejects = [schema("rejects").table(extra_rejects)]
    for result in batches:
        roles.add(result.doc_keys)
        final_ids = FinalIds.of(roles, [d for _, d, _, _ in result.doc_keys])
        staged.text_keys.update((roles.final(d), k) for _, d, k, _ in result.doc_keys)
        staged.add_counts(result)
        for name, table in result.tables.items():
            if name == "rejects":
                rejects.append(table)
                continue
            table = final_ids.apply(name, table)
            if name == "documents":
                staged.sources.update(zip(table.column("source_file").to_pylist(), table.column("source_sha256").to_pylist()))
            appender.append(name, table)
        result.tables.clear()
        del result
        collect_cycles()  # Prefect's futures hold the batch's pickled result in a cycle (flows/tooling/memory.py)
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


@dataclass
class FinalIds:
    """What ``DuplicateRoles`` decided, as Arrow arrays to apply to each part of a table
    (a batch's, the published build's reused rows)."""

    renamed_from: pa.Array
    renamed_to: pa.Array
    dropped: pa.Array
    duplicate_of: dict[str, str]

    @classmethod
    def of(cls, roles: DuplicateRoles, doc_ids: Iterable[str] | None = None) -> FinalIds:
        """The roles' renames and drops, of the documents ``doc_ids`` names only (a batch's:
        the roles of earlier batches do not concern its rows), else of all."""
        renamed = roles.renamed if doc_ids is None else {d: roles.renamed[d] for d in doc_ids if d in roles.renamed}
        dropped = roles.dropped if doc_ids is None else roles.dropped.intersection(doc_ids)
        return cls(pa.array(list(renamed), pa.string()), pa.array(list(renamed.values()), pa.string()),
                   pa.array(sorted(dropped), pa.string()), roles.duplicate_of)

    def apply(self, name: str, table: pa.Table) -> pa.Table:
        """A table's part with its doc_ids final: the derived rows of duplicates dropped, the
        others' doc_id renamed, ``duplicate_of`` set on the documents rows."""
        if name == "rejects" or "doc_id" not in table.column_names or table.num_rows == 0:
            return table
        if name != "documents" and len(self.dropped):
            hit = pc.is_in(table.column("doc_id"), value_set=self.dropped)
            if pc.any(hit).as_py():
                # the rows kept are mostly a few runs (a table of the published build less a few
                # documents'): zero-copy slices, where a filter would copy the whole table
                table = take_rows(table, pc.indices_nonzero(pc.invert(hit)))
        if len(self.renamed_from) and table.num_rows:
            ids = table.column("doc_id")
            at = pc.index_in(ids, value_set=self.renamed_from)
            if at.null_count < len(at):
                i = table.schema.get_field_index("doc_id")
                table = table.set_column(i, table.schema.field(i), pc.coalesce(pc.take(self.renamed_to, at), ids))
        if name == "documents" and self.duplicate_of:
            marked = [self.duplicate_of.get(d) for d in table.column("doc_id").to_pylist()]
            i = table.schema.get_field_index("duplicate_of")
            table = table.set_column(i, table.schema.field(i), pa.array(marked, pa.string()))
        return table


def _sorted_rejects(rejects: pa.Table) -> pa.Table:
    return rejects.take(pc.sort_indices(rejects, [("source_file", "ascending")]))


class StagedTables(Mapping):
    """The tables of a folder of Parquet files, read when a suite needs them and let go after.

    Validation holds one table (and its frame) at a time instead of all of them: a table by
    name reads it whole; ``select`` reads just the columns a cross-table check looks up and,
    given the checked documents (an incremental run), just the row groups that hold their rows
    (found from the doc_id column alone); ``text_lengths`` reads a text a row group at a time."""

    def __init__(self, folder: Path, names: Iterable[str], ready: Callable[[str], None] | None = None):
        """``ready`` (a build being staged while it is validated): blocks until a table's file
        is complete; every name is then taken to come."""
        self.folder = Path(folder)
        self.names = list(names) if ready else [n for n in names if table_path(self.folder, n).exists()]
        self.complete = ready is None  # every file written: another process may read them too
        self._ready = ready or _written
        # per table: (the checked documents, the row groups holding their rows)
        self._groups: dict[str, tuple[pa.Array, list[int]]] = {}

    def nbytes(self) -> int:
        """The size of the tables' files (a complete staging: every file written)."""
        return sum(table_path(self.folder, n).stat().st_size for n in self.names)

    def portable(self) -> StagedTables:
        """The same tables for another process: a build still being staged is waited for by
        its files (``FilesWritten``) instead of this process's own signal."""
        if self.complete:
            return self
        return StagedTables(self.folder, self.names, ready=FilesWritten(self.folder))

    def __getitem__(self, name: str) -> pa.Table:
        if name not in self.names:
            raise KeyError(name)
        self._ready(name)
        return pq.read_table(table_path(self.folder, name), memory_map=True)

    def __contains__(self, name: object) -> bool:
        return name in self.names  # Mapping's own would read the table

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def _file(self, name: str) -> pq.ParquetFile:
        if name not in self.names:
            raise KeyError(name)
        self._ready(name)
        return pq.ParquetFile(table_path(self.folder, name), memory_map=True)

    def select(self, name: str, columns: list[str], checked_docs: pa.Array | None = None) -> pa.Table | None:
        """These columns (those that exist) of a table; with ``checked_docs``, only the rows of
        those documents (every row when the table has no doc_id)."""
        if name not in self.names:
            return None
        file = self._file(name)
        columns = [c for c in columns if c in file.schema_arrow.names]
        if checked_docs is None or "doc_id" not in file.schema_arrow.names:
            return file.read(columns=columns)
        parts = [part.select(columns) for part in self._checked_groups(name, file, checked_docs, columns)]
        return pa.concat_tables(parts) if parts else file.schema_arrow.empty_table().select(columns)

    def _checked_groups(self, name: str, file: pq.ParquetFile, checked_docs: pa.Array,
                        columns: list[str] | None = None) -> Iterator[pa.Table]:
        """The rows of the checked documents, a row group at a time, from the row groups that
        hold any (the others are never decoded beyond their doc_id column)."""
        read = None if columns is None else list(dict.fromkeys([*columns, "doc_id"]))
        for i in self._groups_holding(name, file, checked_docs):
            yield checked_rows(file.read_row_group(i, columns=read), checked_docs)

    def _groups_holding(self, name: str, file: pq.ParquetFile, checked_docs: pa.Array) -> list[int]:
        """The row groups of a file that hold a row of the checked documents; remembered for
        the validation's checked documents (several suites read the same table)."""
        hit = self._groups.get(name)
        if hit is not None and hit[0] is checked_docs:
            return hit[1]
        groups = [i for i in range(file.metadata.num_row_groups)
                  if pc.any(pc.is_in(file.read_row_group(i, columns=["doc_id"]).column("doc_id"),
                                     value_set=checked_docs)).as_py()]
        self._groups[name] = (checked_docs, groups)
        return groups

    def num_rows(self, name: str) -> int:
        self._ready(name)
        return pq.read_metadata(table_path(self.folder, name)).num_rows

    def text_lengths(self, name: str, columns: list[str], text: str) -> pa.Table | None:
        """These columns of a table and ``text_length``, the length in characters of its
        ``text`` column, read a row group at a time (a text is never held whole)."""
        if name not in self.names:
            return None
        file = self._file(name)
        columns = [c for c in columns if c in file.schema_arrow.names]
        parts = []
        for i in range(file.metadata.num_row_groups):
            group = file.read_row_group(i, columns=[*columns, text])
            parts.append(group.select(columns).append_column("text_length", pc.utf8_length(group.column(text))))
            del group
        if not parts:
            empty = file.schema_arrow.empty_table()
            return empty.select(columns).append_column("text_length", pc.utf8_length(empty.column(text)))
        return pa.concat_tables(parts)

    def row_slices(self, name: str, max_bytes: int, checked_docs: pa.Array | None = None) -> Iterator[pa.Table]:
        """The table in slices of about ``max_bytes`` (decoded), read one at a time; with
        ``checked_docs``, only the rows of those documents, from the row groups holding any.
        Always at least one slice (empty when no row is asked)."""
        file = self._file(name)
        schema = file.schema_arrow
        if checked_docs is not None and "doc_id" in schema.names:
            batches = self._gathered(self._checked_groups(name, file, checked_docs), max_bytes)
        else:
            meta = file.metadata
            decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            step = slice_rows(meta.num_rows, decoded, max_bytes)
            batches = (pa.Table.from_batches([b], schema=schema) for b in file.iter_batches(batch_size=step))
        empty = True
        for table in batches:
            empty = False
            yield table
        if empty:
            yield schema.empty_table()

    @staticmethod
    def _gathered(parts: Iterator[pa.Table], max_bytes: int) -> Iterator[pa.Table]:
        """Consecutive non-empty parts joined up to about ``max_bytes``."""
        held: list[pa.Table] = []
        for part in parts:
            if part.num_rows == 0:
                continue
            if held and sum(t.nbytes for t in held) + part.nbytes > max_bytes:
                yield pa.concat_tables(held)
                held = []
            held.append(part)
        if held:
            yield pa.concat_tables(held)


def _written(name: str) -> None:
    """Every file of a complete build is written: nothing to wait for."""


STAGING_FAILED = ".staging-failed"  # in a staging build: why staging it stopped
_POLL_SECONDS = 0.02


class FilesWritten:
    """Blocks until a table's file of a staging build exists (the writer renames each file into
    place when it is complete, ``flows/storage/publish.py``); raises when the writer marked the build
    failed (``mark_staging_failed``) or, in another process, when that writer's process is gone.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.owner = os.getpid()  # the process that stages the build

    def __call__(self, name: str) -> None:
        failed = self.folder / STAGING_FAILED
        while not table_path(self.folder, name).exists():  # a build's name, or a plain .parquet
            if failed.exists():
                reason = failed.read_text(encoding="utf-8", errors="replace").strip()
                raise RuntimeError(f"staging the build failed before {name}: {reason}")
            if not self._owner_alive():
                raise RuntimeError(f"the run staging {self.folder} is gone before {name} was written")
            time.sleep(_POLL_SECONDS)

    def _owner_alive(self) -> bool:
        """The staging process, or (the validation process's fork) its grandchild's, still runs."""
        if self.owner in (os.getpid(), os.getppid()):
            return True
        try:
            os.kill(self.owner, 0)  # no signal: whether the process exists
        except ProcessLookupError:
            return False
        except OSError:  # it exists, as another user's
            return True
        try:  # a process that died but is not yet reaped (a zombie) exists too
            with open(f"/proc/{self.owner}/stat", "rb") as f:
                return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except (OSError, IndexError):  # no /proc here
            return True


def mark_staging_failed(folder: Path, error: BaseException) -> None:
    """Tell a validation waiting on a staging build's files (``FilesWritten``) that they will not come."""
    tmp = Path(folder) / f"{STAGING_FAILED}.tmp"
    tmp.write_text(f"{type(error).__name__}: {error}\n", encoding="utf-8")
    os.replace(tmp, Path(folder) / STAGING_FAILED)
