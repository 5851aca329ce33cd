"""The output folder read as a whole (issue 25, item 5): a `**/*.parquet` glob over it, in DuckDB
(which descends into dot-folders) and in Python (which does not), sees each published table once
and each release's once, never a build's files or internals; each table reads cleanly with pandas
and DuckDB by its path."""

from __future__ import annotations

import glob
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from flows.publishing.release import release
from flows.contract.schema import PUBLISHED_TABLES
from flows.storage.publish import BUILD_SUFFIX, BUILDS, CURRENT, current_build
from tests.conftest import RAW
from tests.test_release import V1, make_checkout


@pytest.fixture(scope="module")
def released_output(seed_build, tmp_path_factory):
    """A copy of the shared flow build's output folder (links kept), released once."""
    out, _ = seed_build
    root = tmp_path_factory.mktemp("layout")
    copy = root / "curated"
    shutil.copytree(out, copy, symlinks=True)
    release(V1, out_dir=copy, raw_dir=RAW, repo=make_checkout(root))
    return copy


def _sql(query: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(query).fetchall()


def _duckdb_glob(folder: Path) -> list[str]:
    return [row[0] for row in _sql(f"select file from glob('{folder}/**/*.parquet')")]


def test_the_build_internals_are_there_but_no_glob_sees_them(released_output):
    out = released_output
    build = current_build(out)
    assert build.parent == out / BUILDS and (out / CURRENT).is_symlink()
    assert {p.name for p in build.iterdir()} >= {f"documents{BUILD_SUFFIX}", f".text_keys{BUILD_SUFFIX}"}
    for found in (_duckdb_glob(out), glob.glob(f"{out}/**/*.parquet", recursive=True)):
        relative = [Path(f).relative_to(out).as_posix() for f in found]
        assert not [f for f in relative if f.startswith(".") or "/." in f], relative
        # each table once at the top, once in the release (and changes.parquet there)
        tables = Counter(Path(f).stem for f in relative)
        assert {t: tables[t] for t in PUBLISHED_TABLES} == {t: 2 for t in PUBLISHED_TABLES}, tables
        assert set(tables) == set(PUBLISHED_TABLES) | {"changes"}


def test_duckdb_reads_each_table_once_per_folder_through_a_glob(released_output):
    out = released_output
    for table in ("documents", "metrics"):
        ((counted,),) = _sql(f"select count(*) from read_parquet('{out}/**/{table}.parquet')")
        assert counted == 2 * pq.read_metadata(out / f"{table}.parquet").num_rows > 0
    # every top-level table, globbed in one go, with its file name
    rows = _sql(f"select filename, count(*) from read_parquet('{out}/*.parquet', filename=true, "
                "union_by_name=true) group by filename")
    assert {Path(f).stem: n for f, n in rows} == {t: pq.read_metadata(out / f"{t}.parquet").num_rows
                                                   for t in PUBLISHED_TABLES
                                                   if pq.read_metadata(out / f"{t}.parquet").num_rows}


def test_pandas_reads_each_table_and_says_why_not_the_folder(released_output):
    out = released_output
    for table in PUBLISHED_TABLES:
        frame = pd.read_parquet(out / f"{table}.parquet")
        assert len(frame) == pq.read_metadata(out / f"{table}.parquet").num_rows, table
        assert len(pd.read_parquet(out / "releases" / V1 / f"{table}.parquet")) == len(frame), table
