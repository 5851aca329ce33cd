"""Write: stage a run's tables and publish them into OUT/ in one atomic step.

Layout of an output folder::

    OUT/<table>.parquet   -> .current/<table>.pqt       (relative symlinks, made once)
    OUT/_build.json       -> .current/_build.json       (row counts, input checksums, code version)
    OUT/.current          -> .builds/<build_id>         (swapped with one rename)
    OUT/.previous         -> .builds/<build_id>         (the build that was current before)
    OUT/.builds/<build_id>/<table>.pqt                  (Parquet files named for no glob)

A build's Parquet files end in ``.pqt``, not ``.parquet``: a glob over the output folder
(``read_parquet('OUT/**/*.parquet')`` in DuckDB, which descends into dot-folders, or Python's
``glob(recursive=True)``, which does not) then sees each published table once, through its link,
never a build's copy or its internals (``.text_keys.pqt``); DuckDB follows no folder link
(``.current``, ``.previous``). ``table_path`` still reads a folder of ``<table>.parquet`` files
(a build written before, a release, a test's folder).

Publishing a build is a single ``rename`` of the ``.current`` link, so a reader (or a crash)
sees either every old table or every new one, never a mix. Every file is fsynced before the
swap and every directory after its entries change, so after a power cut ``.current`` never
points at a half-written build. Builds that are neither current nor previous (staging of a
killed run, or a finished build killed before its swap) are removed by the next run
(``clean_stale``), as are temporary links left between steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from flows.ingest.raw_files import OUTPUT_MARKER, is_output_folder

BUILDS = ".builds"
CURRENT = ".current"
PREVIOUS = ".previous"
BUILD_META = "_build.json"
LOCK = ".lock"  # the run lock (``flows/build.py``): a folder holding only it is digigov's
# How long a run or a release waits for another one's lock (the run lock, the releases lock)
# before it gives up: long enough for a publish's renames, short enough to report a busy folder.
LOCK_WAIT_SECONDS = 10.0
BUILD_SUFFIX = ".pqt"  # a build's Parquet files (see above)


def table_file(name: str) -> str:
    """The name of table ``name``'s Parquet file in a build."""
    return f"{name}{BUILD_SUFFIX}"


def table_path(folder: Path | str, name: str) -> Path:
    """Table ``name``'s Parquet file in ``folder``: a build's, or else a ``<name>.parquet`` there
    (a build of an earlier layout, a release folder), or the build's name when neither exists."""
    built = Path(folder) / table_file(name)
    plain = Path(folder) / f"{name}.parquet"
    return plain if not built.exists() and plain.exists() else built


def new_build_dir(out_dir: Path) -> Path:
    build = Path(out_dir) / BUILDS / f"{uuid.uuid4().hex[:12]}.staging"
    build.mkdir(parents=True)
    return build


def write_table(table: pa.Table, path: Path) -> None:
    """Write through pyarrow so field descriptions survive in the Parquet metadata."""
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    _fsync(tmp)
    os.replace(tmp, path)


def write_build(tables: dict[str, pa.Table], build: Path, meta: dict[str, Any]) -> None:
    for name, table in tables.items():
        write_table(table, build / table_file(name))
    write_meta(build, meta)


def write_meta(build: Path, meta: dict[str, Any]) -> None:
    (build / BUILD_META).write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    _fsync(build / BUILD_META)
    _fsync_dir(build)


ROW_GROUP_BYTES = 16 * 2**20  # parts are gathered to about this size before they are written


class TableAppender:
    """The Parquet files of a staging build, written a part at a time as batches arrive.

    A run then never holds a whole table: parts of a table are gathered up to
    ``ROW_GROUP_BYTES`` and written as a row group. Files are written under a temporary name,
    fsynced and renamed on ``close``, as ``write_table`` does."""

    def __init__(self, build: Path, schemas: dict[str, pa.Schema]):
        self.build, self.schemas = Path(build), schemas
        self.rows = {name: 0 for name in schemas}
        self._parts: dict[str, list[pa.Table]] = {name: [] for name in schemas}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._finished: set[str] = set()

    def append(self, name: str, table: pa.Table) -> None:
        if name in self._finished:
            raise ValueError(f"{name}.parquet is already finished")
        # a large table (a whole table merged in memory) goes in slices of about a row group:
        # a copy of one slice is held at a time, and row groups stay small to read back
        step = max(1, table.num_rows * ROW_GROUP_BYTES // max(1, table.nbytes))
        for at in range(0, table.num_rows, step):
            part = table.slice(at, step)
            # A part may be a view into a larger buffer, e.g. the pickled result of a batch that
            # holds all its tables: buffering the view would keep that whole buffer alive until
            # the table's next flush (never, for a small table), so the buffered part is a copy.
            self._parts[name].append(part.take(pa.array(range(part.num_rows), pa.int64())))
            self.rows[name] += part.num_rows
            if sum(t.nbytes for t in self._parts[name]) >= ROW_GROUP_BYTES:
                self._flush(name)

    def write(self, name: str, table: pa.Table) -> None:
        """A whole table at once, and its file finished: written as it is, in row groups of
        about ``ROW_GROUP_BYTES`` (no part is copied: the caller holds the table meanwhile)."""
        if name in self._finished or self._parts[name] or name in self._writers:
            raise ValueError(f"{name}.parquet is already being written")
        if table.num_rows:
            step = max(1, table.num_rows * ROW_GROUP_BYTES // max(1, table.nbytes))
            writer = self._writers[name] = pq.ParquetWriter(self._tmp(name), self.schemas[name], compression="zstd")
            writer.write_table(table, row_group_size=step)
            self.rows[name] += table.num_rows
        self.finish(name)

    def _flush(self, name: str) -> None:
        parts, self._parts[name] = self._parts[name], []
        if not parts:
            return
        writer = self._writers.get(name)
        if writer is None:
            writer = self._writers[name] = pq.ParquetWriter(self._tmp(name), self.schemas[name], compression="zstd")
        writer.write_table(pa.concat_tables(parts).combine_chunks(), row_group_size=2**20)

    def _tmp(self, name: str) -> Path:
        return self.build / f"{table_file(name)}.tmp"

    def finish(self, name: str) -> None:
        """Write what is left of a table and finish its file (nothing more can be appended)."""
        if name in self._finished:
            return
        self._flush(name)
        if name not in self._writers:  # no rows at all: an empty file with the schema
            pq.write_table(self.schemas[name].empty_table(), self._tmp(name), compression="zstd")
        else:
            self._writers.pop(name).close()
        _fsync(self._tmp(name))
        os.replace(self._tmp(name), self.build / table_file(name))
        self._finished.add(name)

    def close(self) -> dict[str, int]:
        """Finish every file; returns rows per table."""
        for name in self.schemas:
            self.finish(name)
        return dict(self.rows)


def publish(build: Path, out_dir: Path, table_names: list[str]) -> Path:
    """Make ``build`` the current build of ``out_dir`` atomically; returns its final path.

    Safe to call again after it failed at any step (a retry of the publish task): a build
    already renamed is taken as it is, one already current is left so."""
    out_dir = Path(out_dir)
    final = build.with_name(build.name.removesuffix(".staging"))
    if current_build(out_dir) == final.resolve():
        return final  # published by an earlier attempt
    if not (final.is_dir() and not build.exists()):  # renamed by an earlier attempt: go on from there
        os.rename(build, final)
    _fsync_dir(final.parent)  # the rename must be on disk before a link points at the new name
    links = {f"{t}.parquet": table_path(final, t).name for t in table_names} | {BUILD_META: BUILD_META}
    for name, target in links.items():
        link = out_dir / name
        if not (link.is_symlink() and os.readlink(link) == f"{CURRENT}/{target}"):
            _swap_link(out_dir, name, f"{CURRENT}/{target}")
    previous = current_build(out_dir)
    if previous is not None:  # before the swap: a crash in between leaves previous == current
        _swap_link(out_dir, PREVIOUS, f"{BUILDS}/{previous.name}")
    _swap_link(out_dir, CURRENT, f"{BUILDS}/{final.name}")
    _fsync_dir(out_dir)
    return final


def _swap_link(out_dir: Path, name: str, target: str) -> None:
    """Point ``out_dir/name`` at ``target`` in one rename (a symlink cannot be retargeted in place)."""
    tmp = out_dir / f"{'' if name.startswith('.') else '.'}{name}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, out_dir / name)


def current_build(out_dir: Path) -> Path | None:
    return _link_target(Path(out_dir) / CURRENT)


def file_checksums(build: Path, names: list[str]) -> dict[str, str]:
    """sha256 of each of these files of a build (``_build.json`` records them at publishing, so
    that a later run reuses published rows only while their bytes are still the published ones)."""
    out = {}
    for name in names:
        h = hashlib.sha256()
        with open(Path(build) / name, "rb") as f:
            while chunk := f.read(4 * 2**20):
                h.update(chunk)  # hashlib lets go of the GIL for large chunks
        out[name] = h.hexdigest()
    return out


def file_stats(build: Path, names: list[str]) -> dict[str, list[int]]:
    """(size, modification time, change time, inode) of each file: while they are what they were
    when its checksum was taken, its bytes are too (any write to a file, or a new file in its
    place, changes its change time, which no user can set), so it needs no hashing again."""
    out = {}
    for name in names:
        st = os.stat(Path(build) / name)
        out[name] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    return out


def changed_files(build: Path, checksums: dict[str, str] | None, stats: dict[str, list[int]] | None = None) -> list[str]:
    """The files of a build whose bytes no longer match ``checksums`` (missing counts as
    changed); a file whose ``stats`` (``file_stats``) are unchanged is not read. When no
    checksums were recorded: ``_build.json``, as a build that cannot be checked."""
    if not checksums:
        return [f"{BUILD_META} (it records no checksums: built before they were recorded)"]
    changed = []
    for name, expected in sorted(checksums.items()):
        try:
            if stats and file_stats(build, [name])[name] == stats.get(name):
                continue
            actual = file_checksums(build, [name])[name]
        except OSError:
            actual = None
        if actual != expected:
            changed.append(name)
    return changed


class Checksums:
    """``file_checksums`` and ``file_stats`` of a build's files, taken on a thread as each file is
    complete (while the build is validated) and collected before it is published."""

    def __init__(self, build: Path):
        from concurrent.futures import ThreadPoolExecutor

        self.build = Path(build)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="checksum")
        self._taken: dict[str, Any] = {}

    def add(self, *names: str) -> None:
        for name in names:
            if name not in self._taken:
                self._taken[name] = self._pool.submit(self._take, name)

    def _take(self, name: str) -> tuple[str, list[int]]:
        return file_checksums(self.build, [name])[name], file_stats(self.build, [name])[name]

    def collect(self, names: list[str]) -> tuple[dict[str, str], dict[str, list[int]]]:
        """(checksums, stats) of ``names`` (those not added yet are taken now)."""
        self.add(*names)
        try:
            taken = {name: self._taken[name].result() for name in names}
        finally:
            self._pool.shutdown(wait=True)
        return {n: t[0] for n, t in taken.items()}, {n: t[1] for n, t in taken.items()}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# The output folder: only one digigov made, and never one the raw files live in (or around)



# A placeholder that keeps an empty folder in git (the repository's own curated/) is not content.
_NOT_CONTENT = frozenset({LOCK, ".gitkeep", ".keep"})


class UnsafeOutput(Exception):
    """An output folder ``digigov run`` must not write into; the message says why, in a line."""


def check_output_folder(out_dir: Path, raw_dir: Path) -> None:
    """Raise ``UnsafeOutput`` unless ``out_dir`` may receive a build of ``raw_dir``: it is not
    ``/`` or the home folder, neither folder lies inside the other, it is a folder (or can be
    made one) that this user can write, and it is empty or a digigov output folder (its marker,
    or a build published before the marker existed: ``.current`` and ``_build.json``)."""
    out, raw = Path(out_dir).expanduser().resolve(), Path(raw_dir).expanduser().resolve()
    if out == Path(out.anchor):
        raise UnsafeOutput(f"output folder {out} is the file system's root")
    if out == Path.home().resolve():
        raise UnsafeOutput(f"output folder {out} is the home folder")
    if out == raw:
        raise UnsafeOutput(f"output folder {out} is the raw folder")
    if out.is_relative_to(raw):
        raise UnsafeOutput(f"output folder {out} is inside the raw folder {raw} (its files would be read as plans)")
    if raw.is_relative_to(out):
        raise UnsafeOutput(f"raw folder {raw} is inside the output folder {out}")
    if out.exists() and not out.is_dir():
        raise UnsafeOutput(f"output folder {out} is a file, not a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UnsafeOutput(f"output folder {out} cannot be made: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UnsafeOutput(f"output folder {out} is not writable ({existing} does not let this user write)")
    if out.is_dir() and not is_output_folder(out) and any(p.name not in _NOT_CONTENT for p in out.iterdir()):
        raise UnsafeOutput(f"output folder {out} is not empty and not a digigov output folder "
                           f"(no {OUTPUT_MARKER}); choose an empty or new folder")


def claim_output_folder(out_dir: Path, raw_dir: Path) -> Path:
    """``check_output_folder``, then make the folder if needed and mark it as digigov's (an
    output folder from before the marker existed gets it now). Returns it, resolved."""
    check_output_folder(out_dir, raw_dir)
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    marker = out / OUTPUT_MARKER
    if not marker.is_file():
        marker.write_text("This folder is written by `digigov run`; it only writes into folders holding this file.\n",
                          encoding="utf-8")
    return out



def clean_stale(out_dir: Path) -> list[Path]:
    """Remove builds that are neither current nor previous (staging of a killed run, a finished
    build killed before its swap, older builds) and temporary links left between steps."""
    out_dir = Path(out_dir)
    builds_dir = out_dir / BUILDS
    keep = {b for b in (current_build(out_dir), _link_target(out_dir / PREVIOUS)) if b is not None}
    stale = [b for b in builds_dir.iterdir() if b.resolve() not in keep] if builds_dir.is_dir() else []
    for b in stale:
        shutil.rmtree(b, ignore_errors=True) if b.is_dir() and not b.is_symlink() else b.unlink()
    for tmp in out_dir.glob(".*.tmp"):
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink()
    return stale


def _link_target(link: Path) -> Path | None:
    return link.resolve() if link.is_symlink() else None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # some filesystems refuse fsync on directories; the rename is still atomic
        pass
