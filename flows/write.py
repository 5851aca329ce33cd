"""Write: stage a run's tables and publish them into OUT/ in one atomic step.

Layout of an output folder::

    OUT/<table>.parquet   -> .current/<table>.parquet   (relative symlinks, made once)
    OUT/_build.json       -> .current/_build.json       (row counts, input checksums, code version)
    OUT/.current          -> .builds/<build_id>         (swapped with one rename)
    OUT/.builds/<build_id>/

Publishing a build is a single ``rename`` of the ``.current`` link, so a reader (or a crash)
sees either every old table or every new one, never a mix. Builds that never became current are
stale staging and are removed by the next run (``clean_stale``).
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
    (build / BUILD_META).write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    _fsync(build / BUILD_META)


def publish(build: Path, out_dir: Path, table_names: list[str]) -> Path:
    """Make ``build`` the current build of ``out_dir`` atomically; returns its final path."""
    out_dir = Path(out_dir)
    final = build.with_name(build.name.removesuffix(".staging"))
    os.rename(build, final)
    _fsync_dir(final.parent)
    for name in [f"{t}.parquet" for t in table_names] + [BUILD_META]:
        link = out_dir / name
        if not (link.is_symlink() and os.readlink(link) == f"{CURRENT}/{name}"):
            tmp = out_dir / f".{name}.link"
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(f"{CURRENT}/{name}", tmp)
            os.replace(tmp, link)
    tmp = out_dir / f"{CURRENT}.tmp"
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(f"{BUILDS}/{final.name}", tmp)
    os.replace(tmp, out_dir / CURRENT)
    _fsync_dir(out_dir)
    return final


def current_build(out_dir: Path) -> Path | None:
    link = Path(out_dir) / CURRENT
    return link.resolve() if link.is_symlink() else None


def clean_stale(out_dir: Path, keep_previous: int = 1) -> list[Path]:
    """Remove builds that are not current: staging left by a killed run, and old builds."""
    builds_dir = Path(out_dir) / BUILDS
    if not builds_dir.is_dir():
        return []
    current = current_build(out_dir)
    done = [b for b in builds_dir.iterdir() if b.is_dir() and not b.name.endswith(".staging") and b != current]
    done.sort(key=lambda b: b.stat().st_mtime, reverse=True)
    stale = [b for b in builds_dir.iterdir() if b.name.endswith(".staging")] + done[keep_previous:]
    for b in stale:
        shutil.rmtree(b, ignore_errors=True)
    return stale


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
