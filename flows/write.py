"""Write: stage a run's tables and publish them into OUT/ in one atomic step.

Layout of an output folder::

    OUT/<table>.parquet   -> .current/<table>.parquet   (relative symlinks, made once)
    OUT/_build.json       -> .current/_build.json       (row counts, input checksums, code version)
    OUT/.current          -> .builds/<build_id>         (swapped with one rename)
    OUT/.previous         -> .builds/<build_id>         (the build that was current before)
    OUT/.builds/<build_id>/

Publishing a build is a single ``rename`` of the ``.current`` link, so a reader (or a crash)
sees either every old table or every new one, never a mix. Every file is fsynced before the
swap and every directory after its entries change, so after a power cut ``.current`` never
points at a half-written build. Builds that are neither current nor previous (staging of a
killed run, or a finished build killed before its swap) are removed by the next run
(``clean_stale``), as are temporary links left between steps.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BUILDS = ".builds"
CURRENT = ".current"
PREVIOUS = ".previous"
BUILD_META = "_build.json"


def new_build_dir(out_dir: Path) -> Path:
    build = Path(out_dir) / BUILDS / f"{uuid.uuid4().hex[:12]}.staging"
    build.mkdir(parents=True)
    return build


def write_table(table: pa.Table, path: Path) -> None:
    """Write through pyarrow so field descriptions survive in the Parquet metadata."""
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    _fsync(tmp)
    os.replace(tmp, path)


def write_build(tables: dict[str, pa.Table], build: Path, meta: dict[str, Any]) -> None:
    for name, table in tables.items():
        write_table(table, build / f"{name}.parquet")
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
        return self.build / f"{name}.parquet.tmp"

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
        os.replace(self._tmp(name), self.build / f"{name}.parquet")
        self._finished.add(name)

    def close(self) -> dict[str, int]:
        """Finish every file; returns rows per table."""
        for name in self.schemas:
            self.finish(name)
        return dict(self.rows)


def publish(build: Path, out_dir: Path, table_names: list[str]) -> Path:
    """Make ``build`` the current build of ``out_dir`` atomically; returns its final path."""
    out_dir = Path(out_dir)
    final = build.with_name(build.name.removesuffix(".staging"))
    os.rename(build, final)
    _fsync_dir(final.parent)  # the rename must be on disk before a link points at the new name
    for name in [f"{t}.parquet" for t in table_names] + [BUILD_META]:
        link = out_dir / name
        if not (link.is_symlink() and os.readlink(link) == f"{CURRENT}/{name}"):
            _swap_link(out_dir, name, f"{CURRENT}/{name}")
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
