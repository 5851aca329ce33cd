"""``digigov run`` begins a run's scan and its reads of the published build before the flow can
start (``HeadStart``, while the embedded server starts). The flow takes them only when they are
still right under its lock; the tables never depend on whether it did."""

from __future__ import annotations

import threading

import pyarrow.parquet as pq
import pytest

import flows.orchestration.batches as batches_mod
from flows.contract.schema import TABLES
from flows.ingest.raw_files import discover
from flows.orchestration.batches import scan_raw
from flows.orchestration.head_start import HeadStart, begin_head_start, take_head_start
from flows.storage.staging import ReusedReads
from tests.conftest import copy_build, copy_seeds
from tests.test_cache import plan


@pytest.fixture
def raw(tmp_path):
    return copy_seeds(tmp_path / "raw")


def test_the_head_start_scans_what_the_flow_would(raw, tmp_path):
    head = HeadStart(raw, tmp_path / "out")
    assert head.entries.result(timeout=60) == scan_raw(raw, discover(raw))
    assert head.early.result(timeout=60) is None  # nothing published yet: nothing to reuse
    assert head.scan_seconds > 0


def test_a_head_start_is_taken_once_and_only_for_its_own_run(raw, tmp_path):
    out = tmp_path / "out"
    begin_head_start(raw, out)
    assert take_head_start(raw, out, full_refresh=True) is None  # another run's: let go
    assert take_head_start(raw, out, full_refresh=False) is None  # and gone
    head = begin_head_start(raw, out)
    assert take_head_start(raw.resolve(), out.resolve(), False) is head
    assert take_head_start(raw, out, False) is None


def _tables(out):
    return {t: pq.read_table(out / f"{t}.parquet") for t in TABLES}


def _change(raw, n: int) -> None:
    (raw / "new.txt").write_text(plan(n), encoding="utf-8")


@pytest.mark.e2e
def test_a_head_start_is_used_while_still_right_and_let_go_once_stale_and_the_tables_never_differ(
        seeds_published, raw, tmp_path, monkeypatch):
    from flows.build import build_dataset

    out = copy_build(seeds_published[0], tmp_path / "out")  # a build of the five seeds
    _change(raw, 7)
    made_on: list[str] = []
    init = ReusedReads.__init__

    def recording_init(self, *args):
        made_on.append(threading.current_thread().name)
        init(self, *args)

    monkeypatch.setattr(ReusedReads, "__init__", recording_init)
    flow_scans: list[str] = []
    scan = batches_mod.scan_raw
    monkeypatch.setattr("flows.orchestration.batches.scan_raw", lambda *a: flow_scans.append(threading.current_thread().name) or scan(*a))
    head = begin_head_start(raw, out)
    head.early.result(timeout=60)
    summary = build_dataset(raw_dir=str(raw), out_dir=str(out))
    assert (summary["processed"], summary["reused"]) == (1, 5)
    assert flow_scans == ["head-start"] and made_on == ["head-start"]  # the flow scanned and read nothing again
    with_head_start = _tables(out)

    # Another run publishes in between (a head start reads without the lock, and the raw folder
    # may have changed for that run too): the flow scans again, loads the new published build
    # and reads its rows itself; the stale reads are let go.
    stale = HeadStart(raw, out)
    early = stale.early.result(timeout=60)
    assert early is not None and early.reads is not None
    full = build_dataset(raw_dir=str(raw), out_dir=str(out), full_refresh=True)  # the run in between
    assert full["processed"] == 6 and full["rows"] == summary["rows"]
    a = _tables(out)
    assert all(a[t].equals(with_head_start[t]) for t in TABLES)  # the head start changed no row
    _change(raw, 8)
    closed = []
    monkeypatch.setattr(early.reads, "close", lambda: closed.append(True))
    monkeypatch.setattr("flows.orchestration.head_start._head_start", stale)
    summary = build_dataset(raw_dir=str(raw), out_dir=str(out))
    assert (summary["processed"], summary["reused"]) == (1, 5) and closed == [True]
    full = build_dataset(raw_dir=str(raw), out_dir=str(tmp_path / "full"), full_refresh=True)
    a, b = _tables(out), _tables(tmp_path / "full")
    assert all(a[t].equals(b[t]) for t in TABLES)


@pytest.mark.e2e
def test_a_failed_head_start_scan_is_done_again_by_the_flow(seeds_published, raw, tmp_path, monkeypatch):
    from flows.build import build_dataset

    out = copy_build(seeds_published[0], tmp_path / "out")

    scan = batches_mod.scan_raw

    def failing_on_the_head_start(*args):
        if threading.current_thread().name == "head-start":
            raise OSError("disk hiccup")
        return scan(*args)

    monkeypatch.setattr("flows.orchestration.batches.scan_raw", failing_on_the_head_start)
    head = begin_head_start(raw, out)
    with pytest.raises(OSError):
        head.entries.result(timeout=60)
    summary = build_dataset(raw_dir=str(raw), out_dir=str(out))
    assert summary["documents_in"] == len(discover(raw)) and summary["rejected"] == 0
    assert summary["reused"] == 5  # the flow's own scan found the published build's documents
