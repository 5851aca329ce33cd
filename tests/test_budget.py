"""The per-document budget: a document past ``--doc-timeout`` is a `timeout` reject naming its
stage, the other documents of its batch are kept, and the long loops check the budget.

No test waits for a clock: ``flows.budget.clock`` is replaced by a clock the test moves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from flows import budget
from flows.extract import EXTRACTORS
from flows.ingest.raw_files import RawDoc
from flows.orchestration.batches import process_entries, scan_raw
from flows.pipeline import process_document, warm_up
from flows.storage.cache import DocumentCache
from tests.test_linear_time import numbered_lines

PLAN = "某省数字政府建设方案\n一、总体要求\n到2025年，政务服务事项全程网办率达到90%。\n"
SLOW_MARK = "慢速文档"


class StepClock:
    """A clock that moves only when told to (``advance``) and counts how often it is read."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = StepClock()
    monkeypatch.setattr(budget, "clock", c)
    return c


def raw_doc(text: str, name: str = "plan.txt") -> RawDoc:
    data = text.encode("utf-8")
    return RawDoc(name, hashlib.sha256(data).hexdigest(), data)


def slow_goals(clock: StepClock, seconds: float):
    """A goals extractor that spends ``seconds`` on a document holding SLOW_MARK, checking the
    budget as the real loops do."""
    real = EXTRACTORS["goals"]

    def goals(doc_id, doc):
        if SLOW_MARK in doc.text:
            for _ in range(10):
                clock.now += seconds / 10
                budget.check()
        return real(doc_id, doc)
    return goals


def test_a_document_past_its_budget_is_a_timeout_reject_naming_its_stage(clock, monkeypatch):
    monkeypatch.setitem(EXTRACTORS, "goals", slow_goals(clock, 300))
    rows = process_document(raw_doc(PLAN + SLOW_MARK + "\n"), doc_timeout=120)
    (reject,) = rows["rejects"]
    assert reject["reason"] == "timeout"
    assert "stage extract:goals" in reject["detail"] and "120 s budget" in reject["detail"]
    assert not rows["documents"] and not rows["goals"]


def test_within_its_budget_a_document_is_processed(clock, monkeypatch):
    monkeypatch.setitem(EXTRACTORS, "goals", slow_goals(clock, 100))
    rows = process_document(raw_doc(PLAN + SLOW_MARK + "\n"), doc_timeout=120)
    assert not rows["rejects"] and rows["documents"] and rows["goals"]
    assert process_document(raw_doc(PLAN + SLOW_MARK + "\n"), doc_timeout=None)["documents"]


def test_the_stage_boundaries_check_the_budget(clock, monkeypatch):
    import flows.structure as structure

    real = structure.parse_sections

    def slow_structure(doc_id, text):
        clock.now += 500  # no check inside: the end of the stage catches it
        return real(doc_id, text)
    monkeypatch.setattr(structure, "parse_sections", slow_structure)
    (reject,) = process_document(raw_doc(PLAN), doc_timeout=120)["rejects"]
    assert reject["reason"] == "timeout" and "stage structure" in reject["detail"]


def test_the_other_documents_of_the_batch_are_kept(clock, monkeypatch, tmp_path: Path):
    monkeypatch.setitem(EXTRACTORS, "goals", slow_goals(clock, 300))
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, text in [("a.txt", PLAN.replace("某省", "甲省")), ("b.txt", PLAN + SLOW_MARK + "\n"),
                       ("c.txt", PLAN.replace("某省", "丙省"))]:
        (raw / name).write_text(text, encoding="utf-8")
    entries = scan_raw(raw, sorted(raw.iterdir()))
    cache = DocumentCache(tmp_path / "out", "fingerprint")
    result = process_entries(raw, entries, cache, doc_timeout=120)
    documents = result.tables["documents"].column("source_file").to_pylist()
    rejects = result.tables["rejects"].to_pylist()
    assert documents == ["a.txt", "c.txt"]
    assert [(r["source_file"], r["reason"]) for r in rejects] == [("b.txt", "timeout")]
    assert result.tables["goals"].num_rows == 2
    # a timeout may be the machine's (a busy CPU): it is not cached, the next run tries again
    assert not cache.has(entries[1].sha256, ".txt") and cache.has(entries[0].sha256, ".txt")


def test_the_long_loops_check_the_budget(clock):
    """Each stage checks the budget as it goes, not only at its end: on a plan of numbered
    lines the clock is read in proportion to its lines, deadlines and values."""
    warm_up()
    reads = []
    for n in (1000, 4000):
        clock.reads = 0
        rows = process_document(raw_doc(numbered_lines(n)), doc_timeout=120)
        assert not rows["rejects"]
        reads.append(clock.reads)
    # a check every budget.CHECK_EVERY steps of each loop over lines, deadlines and values
    assert reads[1] - reads[0] >= 3 * (4000 - 1000) // budget.CHECK_EVERY


def test_a_budget_is_per_thread():
    import threading

    seen = []
    with budget.budget(0):
        thread = threading.Thread(target=lambda: seen.append(budget.check()))
        thread.start()
        thread.join()
    assert seen == [None]  # another thread's document has no budget of this one's


def test_digigov_run_threads_the_doc_timeout_to_the_flow(monkeypatch):
    import flows.build
    from flows import cli
    from flows.orchestration.run_lock import RunLocked
    got = {}

    def run_build(raw, out, **params):
        got.update(params)
        raise RunLocked("stopped by the test before any run")
    monkeypatch.setattr(flows.build, "run_build", run_build)
    monkeypatch.setattr("flows.orchestration.embedded_server.start", lambda: None)
    monkeypatch.setattr("flows.orchestration.embedded_server.starting", lambda: False)
    monkeypatch.setattr("flows.gate.process.start", lambda: None)
    monkeypatch.setattr("flows.gate.process.stop", lambda: None)
    from flows.gate.verdict import EXIT_REFUSED

    assert cli.main(["run", "--raw", "raw", "--out", "/nonexistent/out", "--doc-timeout", "7.5"]) == EXIT_REFUSED
    assert got["doc_timeout"] == 7.5
    assert cli.build_parser().parse_args(["run"]).doc_timeout == budget.DEFAULT_DOC_TIMEOUT == 120
