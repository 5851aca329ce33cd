"""The flow's steps as plain functions, without a Prefect server: the run's plan, staging in its
two modes (streamed; merged with the published build's reused rows, validated meanwhile on a
thread) and the API server a run reports to."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.contract.schema import TABLES
from flows.gate.verdict import BuildRefused, ValidationResult
from flows.orchestration.batches import plan_batches, plan_run, process_entries, refuse_without_documents, scan_folder
from flows.orchestration.head_start import published_build, reused_reads
from flows.orchestration.quarantine import quarantine_documents
from flows.orchestration.stage_build import STAGING_ORDER, StagingArea, stage_build
from flows.orchestration.summary import run_meta, write_build_meta
from flows.storage.cache import DocumentCache
from flows.storage.publish import publish, table_path
from tests.test_cache import plan


class Validation:
    """A stand-in for the validation task: reads every table it is handed (waiting, as the
    real one does, for each file to be staged) and records what it was asked to check."""

    def __init__(self):
        self.calls: list[tuple[list[str], list[str] | None, str]] = []

    def __call__(self, tables, checked):
        read = [name for name in tables if tables[name] is not None]
        self.calls.append((read, checked, threading.current_thread().name))
        return ValidationResult(success=True)


def build_plainly(raw: Path, out: Path, rules: str = "rules", full_refresh: bool = False):
    """One run of the flow's steps up to publishing (no derived tables, no server)."""
    cache = DocumentCache(out)
    entries = scan_folder(raw)
    refuse_without_documents(entries, raw)
    previous, not_reused = published_build(None, out, cache.fingerprint, full_refresh)
    run = plan_run(entries, previous, None if full_refresh else cache)
    reads = reused_reads(None, previous, run.reuse)
    batches = (process_entries(raw, b, cache) for b in plan_batches(run.unique, 2))
    area, validate, done = StagingArea(out), Validation(), []
    staged, result, checked = stage_build(batches, run, previous, reads, area, validate, rules, {},
                                          lambda: done.append(True))
    assert result.success and done == [True]
    write_build_meta(staged, area, list(TABLES), run_meta(raw, run, cache.fingerprint, rules, full_refresh), {}, {})
    publish(staged.build, out, list(TABLES))
    area.published()
    return run, checked, validate.calls


def tables(out: Path) -> dict:
    return {t: pq.read_table(out / f"{t}.parquet") for t in TABLES}


@pytest.fixture
def raw(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(5):
        (raw / f"{i}.txt").write_text(plan(i), encoding="utf-8")
    (raw / "copy.txt").write_text(plan(0), encoding="utf-8")  # byte-identical to 0.txt
    return raw


def test_the_run_plan_splits_copies_reused_and_cached_documents(raw, tmp_path):
    out = tmp_path / "out"
    run, checked, calls = build_plainly(raw, out)
    assert [e.source_file for e in run.unique] == ["0.txt", "1.txt", "2.txt", "3.txt", "4.txt"]
    assert [r["source_file"] for r in run.rejects] == ["copy.txt"] and run.reuse == {}
    # nothing to reuse: streamed, then every row validated once the build is staged
    assert checked is None and calls == [(list(TABLES), None, "MainThread")]

    (raw / "5.txt").write_text(plan(5), encoding="utf-8")
    again = plan_run(scan_folder(raw), published_build(None, out, DocumentCache(out).fingerprint, False)[0],
                     DocumentCache(out))
    assert [e.source_file for e in again.unique] == ["5.txt"] and again.to_process == 1
    assert sorted(again.reuse.values()) == ["0.txt", "1.txt", "2.txt", "3.txt", "4.txt"]
    assert again.describe(raw).endswith("1 to process, 0 cached, 5 unchanged in the published build, "
                                        "1 rejected before processing")
    refresh = plan_run(scan_folder(raw), None, None)  # a full refresh: no reuse, no cache
    assert len(refresh.unique) == 6 and refresh.cached == 0 and refresh.reuse == {}


def test_a_raw_folder_without_a_usable_file_is_refused_before_anything_runs(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "empty.txt").write_bytes(b"")
    with pytest.raises(BuildRefused, match="no usable plan files"):
        refuse_without_documents(scan_folder(raw), raw)
    with pytest.raises(BuildRefused, match="0 found"):
        refuse_without_documents([], raw)


def test_merged_staging_validates_the_new_documents_meanwhile_and_stages_what_a_full_build_stages(raw, tmp_path):
    out = tmp_path / "out"
    build_plainly(raw, out)
    (raw / "5.txt").write_text(plan(5), encoding="utf-8")
    (raw / "2.txt").write_text(plan(22), encoding="utf-8")  # changed

    run, checked, calls = build_plainly(raw, out)
    assert len(run.reuse) == 4 and len(checked) == 2  # the new and the changed document
    [(read, asked, thread)] = calls
    assert asked == checked and thread == "MainThread" and read == list(STAGING_ORDER)  # staged on a thread
    full, _, _ = build_plainly(raw, tmp_path / "full", full_refresh=True)
    assert full.reuse == {}
    for name, table in tables(out).items():
        assert table.equals(tables(tmp_path / "full")[name]), name

    # other validation rules than the published build's: merged first, every row validated after
    (raw / "6.txt").write_text(plan(6), encoding="utf-8")
    run, checked, calls = build_plainly(raw, out, rules="other rules")
    assert len(run.reuse) == 6 and checked is None and calls == [(list(TABLES), None, "MainThread")]


def test_a_document_failing_a_document_level_rule_is_withheld_and_the_rest_validated_again(raw, tmp_path):
    import logging

    out = tmp_path / "out"
    out.mkdir()
    cache, entries = DocumentCache(out), scan_folder(raw)
    run = plan_run(entries, None, cache)
    area = StagingArea(out)
    staged, _, _ = stage_build((process_entries(raw, b, cache) for b in plan_batches(run.unique, 2)), run, None, None,
                               area, Validation(), "rules", {})
    doc_ids = pq.read_table(table_path(staged.build, "documents"), columns=["doc_id", "source_file"]).to_pylist()
    failing = next(d["doc_id"] for d in doc_ids if d["source_file"] == "3.txt")
    failed = ValidationResult(success=False, failures=["goals.target_year = 2500"],
                              document_failures={failing: ["goals.target_year = 2500"]})
    again = Validation()
    result, quarantined, stale = quarantine_documents(staged, failed, out, None, area.builds, again,
                                                      logging.getLogger("test"), max_share=0.5, max_count=1)
    assert result.success and list(quarantined) == [failing] and stale == {}
    assert quarantined[failing]["source_file"] == "3.txt" and quarantined[failing]["reason"] == "quarantined"
    assert staged.rows["documents"] == 4 and "3.txt" not in staged.sources
    assert [(read, checked) for read, checked, _ in again.calls] == [(list(TABLES), None)]
    assert len(area.builds) == 2 and not area.builds[0].exists()  # the first staging build was let go
    area.discard()


def test_a_refused_run_leaves_no_staging_build(raw, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    area = StagingArea(out)
    builds = [area.new_build(), area.new_build()]
    assert all(b.is_dir() for b in builds)
    area.discard()
    assert not any(b.exists() for b in builds)


def test_a_run_without_an_api_uses_the_embedded_server_once_and_sends_no_heartbeats(monkeypatch):
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from flows.orchestration import embedded_server
    from flows.orchestration.runners import api_server

    started = []

    def start():
        started.append(True)
        monkeypatch.setattr(embedded_server, "_server", object())
        return "http://127.0.0.1:1/api"

    monkeypatch.setattr(embedded_server, "_server", None)
    monkeypatch.setattr(embedded_server, "start", start)
    monkeypatch.setattr(embedded_server, "wait_ready", lambda: None)
    with temporary_settings({PREFECT_API_URL: None}):
        with api_server() as url:
            assert url == "http://127.0.0.1:1/api" and PREFECT_API_URL.value() == url
            assert get_current_settings().flows.heartbeat_frequency is None
    assert started == [True]
