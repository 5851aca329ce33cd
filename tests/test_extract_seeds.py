"""Golden expectations on the seeds (issue 5), through the plain pipeline (``seed_rows``).

The table-of-contents test needs the section parser to mark 004's 目录 as `toc` (it does since
the structure branch landed); the rest hold on any section tree.
"""

from __future__ import annotations

import pytest

from flows.extract.common import SectionIndex
from flows.contract.schema import schema
from tests.conftest import seed_doc

EXTRACTED = ("goals", "metrics", "bandwidth_targets")


def rows_of(rows, table: str, prefix: str) -> list[dict]:
    doc_id = seed_doc(rows, prefix)["doc_id"]
    return [r for r in rows[table] if r["doc_id"] == doc_id]


def goal_years(rows, prefix: str) -> set[int]:
    return {g["target_year"] for g in rows_of(rows, "goals", prefix)}


def bandwidth(rows, prefix: str) -> list[tuple]:
    return sorted(((b["bandwidth_mbps"], b["admin_level"]) for b in rows_of(rows, "bandwidth_targets", prefix)),
                  key=lambda t: (-t[0], t[1] or ""))


def percent_metrics(rows, prefix: str) -> list[dict]:
    return [m for m in rows_of(rows, "metrics", prefix) if m["unit"] == "%"]


def test_000_goals_three_percent_metrics_no_bandwidth(seed_rows):
    assert goal_years(seed_rows, "000") == {2025, 2035}
    got = sorted((m["value"], m["indicator"], m["subject"]) for m in percent_metrics(seed_rows, "000"))
    assert got == [(90.0, "电子证照与纸质证照同步制发比例", None), (90.0, "移动办", "个人事项"),
                   (100.0, "全程网办", "一般政务服务事项")]
    assert bandwidth(seed_rows, "000") == []


def test_001_goals_and_four_bandwidth_rows(seed_rows):
    assert goal_years(seed_rows, "001") == {2025, 2035}
    assert bandwidth(seed_rows, "001") == [
        (10000, "prefecture"), (1000, "county"), (100, "township"), (100, "village")]


def test_002_goals_no_percent_metrics_no_bandwidth(seed_rows):
    assert goal_years(seed_rows, "002") == {2025, 2035}
    assert percent_metrics(seed_rows, "002") == []
    assert bandwidth(seed_rows, "002") == []


def test_003_goals_and_three_bandwidth_rows_none_for_villages(seed_rows):
    assert goal_years(seed_rows, "003") == {2025, 2035}
    assert bandwidth(seed_rows, "003") == [(10000, "prefecture"), (1000, "county"), (100, "township")]


def test_004_phase_and_milestone_years_bandwidth_and_metrics(seed_rows):
    assert goal_years(seed_rows, "004") == {2022, 2023, 2024, 2025}
    assert bandwidth(seed_rows, "004") == [(10000, None), (1000, "county")]
    metrics = rows_of(seed_rows, "metrics", "004")
    days = [m for m in metrics if (m["value"], m["unit"]) == (90.0, "天")]
    assert [(m["comparator"], m["is_target"]) for m in days] == [("<=", True)]
    assert "企业投资项目最多90天落地" in days[0]["source_text"]
    units = [m for m in metrics if (m["value"], m["unit"]) == (15000.0, "家")]
    assert [(m["comparator"], m["is_target"], m["value_text"]) for m in units] == [("~", False, "近1.5万家")]
    assert "接入单位近1.5万家" in units[0]["source_text"]


def test_004_phases_are_typed_with_their_spans(seed_rows):
    phases = {(g["start_year"], g["target_year"]) for g in rows_of(seed_rows, "goals", "004")
              if g["goal_type"] == "phase"}
    assert phases == {(2021, 2022), (2023, 2024), (2025, 2025)}


def test_004_each_phase_is_counted_once_not_again_from_the_table_of_contents(seed_rows):
    phases = [g for g in rows_of(seed_rows, "goals", "004") if g["goal_type"] == "phase"]
    assert len(phases) == 3


@pytest.mark.parametrize("table", EXTRACTED)
def test_rows_are_traceable_to_their_sentence_and_innermost_section(seed_rows, table):
    text_col = "statement" if table == "goals" else "source_text"
    for doc in seed_rows["documents"]:
        index = SectionIndex([s for s in seed_rows["sections"] if s["doc_id"] == doc["doc_id"]])
        for r in (r for r in seed_rows[table] if r["doc_id"] == doc["doc_id"]):
            assert r[text_col] == doc["text"][r["char_start"]:r["char_end"]]
            assert r["section_id"] == index.at(r["char_start"])["section_id"]


@pytest.mark.parametrize("table", (*EXTRACTED, "keywords"))
def test_rows_fit_the_contract(seed_rows, table):
    schema(table).table(seed_rows[table])  # types, nullability: raises on a violation
    key = schema(table).primary_key
    keys = [tuple(r[k] for k in key) for r in seed_rows[table]]
    assert len(keys) == len(set(keys))
    allowed = {c.name: set(c.allowed) for c in schema(table).columns if c.allowed}
    required = [c.name for c in schema(table).columns if not c.nullable]
    for r in seed_rows[table]:
        assert all(r[name] is not None for name in required), r
        for name, values in allowed.items():
            assert r[name] is None or r[name] in values, (name, r[name])


def test_every_document_has_keywords(seed_rows):
    for doc in seed_rows["documents"]:
        ranks = [k["rank"] for k in seed_rows["keywords"] if k["doc_id"] == doc["doc_id"]]
        assert ranks == list(range(1, 21))
