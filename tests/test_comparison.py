"""Comparison views: indicators, targets, coverage and the wide targets table."""

from __future__ import annotations

import datetime as dt

from flows.comparison import coverage_rows, derived_id, indicator_rows, shared_targets, target_rows, targets_wide
from flows.indicators import load_catalog

CATALOG = load_catalog()


def doc(doc_id, jurisdiction, code, start=None, end=None, issued=None, duplicate_of=None):
    return {"doc_id": doc_id, "jurisdiction": jurisdiction, "admin_code": code, "admin_level": "province",
            "province_en": None, "title": f"{jurisdiction}方案", "plan_start_year": start, "plan_end_year": end,
            "issue_date": issued, "duplicate_of": duplicate_of}


def metric(mid, doc_id, ind, value, year, start, subject=None, is_target=True, unit="%", comparator="="):
    return {"metric_id": mid, "doc_id": doc_id, "indicator_id": ind, "subject": subject, "value": value,
            "value_max": None, "unit": unit, "comparator": comparator, "target_year": year,
            "is_target": is_target, "char_start": start, "source_text": f"句{mid}"}


DOCS = [doc("d1", "贵州省", "520000", 2023, 2025), doc("d2", "河北省", "130000", issued=dt.date(2023, 4, 12)),
        doc("d3", "云南省", "530000", 2023, 2025), doc("d4", "云南省", "530000", 2023, 2025, duplicate_of="d3")]
METRICS = [
    metric("m1", "d1", "full_online_processing", 100, 2025, 50),
    metric("m2", "d1", "full_online_processing", 100, 2025, 10),   # stated twice: the first counts
    metric("m3", "d2", "full_online_processing", 90, 2025, 5, comparator=">="),
    metric("m4", "d3", "full_online_processing", 95, 2024, 5),
    metric("m5", "d3", "mobile_processing", 80, 2025, 9),
    metric("m6", "d3", "mobile_processing", 60, None, 12, is_target=False),  # a baseline
    metric("m7", "d4", "mobile_processing", 80, 2025, 9),               # a duplicate document's
    metric("m8", "d1", None, 3, 2025, 99, unit="个"),                    # unmapped
]


def test_targets_one_row_per_document_indicator_subject_year():
    rows = target_rows(CATALOG, METRICS, DOCS)
    keys = [(r["doc_id"], r["indicator_id"], r["target_year"]) for r in rows]
    assert keys == [("d2", "full_online_processing", 2025), ("d1", "full_online_processing", 2025),
                    ("d3", "full_online_processing", 2024), ("d3", "mobile_processing", 2025)]
    first = rows[1]
    assert (first["metric_id"], first["metrics"], first["jurisdiction"], first["name_en"]) == (
        "m2", 2, "贵州省", "Services fully handled online")
    assert rows[0]["comparator"] == ">="


def test_target_ids_come_from_content():
    a = target_rows(CATALOG, METRICS, DOCS)
    b = target_rows(CATALOG, list(reversed(METRICS)), list(reversed(DOCS)))
    assert [r["target_id"] for r in a] == [r["target_id"] for r in b]
    assert len({r["target_id"] for r in a}) == len(a)
    assert derived_id("t", "d1", 2025) == derived_id("t", "d1", 2025) != derived_id("t", "d1", 2024)


def test_indicator_counts():
    rows = {r["indicator_id"]: r for r in indicator_rows(CATALOG, METRICS, DOCS)}
    assert len(rows) == len(CATALOG.indicators)
    assert (rows["full_online_processing"]["metrics"], rows["full_online_processing"]["jurisdictions"]) == (4, 3)
    assert (rows["mobile_processing"]["metrics"], rows["mobile_processing"]["jurisdictions"]) == (2, 1)
    assert rows["e_seal_coverage"]["metrics"] == 0


def test_coverage_years_of_each_plan():
    rows = coverage_rows(DOCS)
    got = [(r["jurisdiction"], r["year"], r["doc_id"]) for r in rows]
    assert got == [("河北省", 2023, "d2"), ("贵州省", 2023, "d1"), ("贵州省", 2024, "d1"), ("贵州省", 2025, "d1"),
                   ("云南省", 2023, "d3"), ("云南省", 2024, "d3"), ("云南省", 2025, "d3")]  # in code order


def test_coverage_of_a_plan_without_period_or_date_is_empty():
    assert coverage_rows([doc("x", "贵州省", "520000")]) == []
    assert [r["year"] for r in coverage_rows([doc("x", "贵州省", "520000", end=2025)])] == [2025]


def test_wide_table_and_shared_targets():
    targets = target_rows(CATALOG, METRICS, DOCS)
    header, rows = targets_wide(targets)
    assert header == ["indicator_id", "name_zh", "name_en", "河北省", "贵州省", "云南省"]
    assert rows[0][:3] == ["full_online_processing", "全程网办率", "Services fully handled online"]
    assert rows[0][3:] == [">=90% (2025)", "100% (2025)", "95% (2024)"]
    assert rows[1][3:] == ["", "", "80% (2025)"]
    shared = shared_targets(targets)
    assert [s[0] for s in shared] == ["full_online_processing"]


def test_contract_violations_name_nulls_outside_values_and_duplicate_keys():
    from flows.comparison import contract_violations
    from flows.schema import schema

    ts = schema("targets")
    rows = target_rows(CATALOG, METRICS, DOCS)
    assert contract_violations(ts, ts.table(rows)) == []
    broken = [dict(rows[0], comparator="≈"), dict(rows[1], target_id=rows[0]["target_id"], metric_id=None)]
    problems = contract_violations(ts, ts.table(broken))
    assert any("comparator" in p for p in problems)
    assert any("metric_id: 1 nulls" in p for p in problems)
    assert any("duplicate target_id" in p for p in problems)


def test_a_build_publishes_the_views_and_validate_checks_them(seed_build):
    import pyarrow.parquet as pq

    from flows.schema import DERIVED_TABLES, PUBLISHED_TABLES, TABLES

    out, summary = seed_build
    assert set(DERIVED_TABLES) == {"indicators", "targets", "coverage"} and not set(DERIVED_TABLES) & set(TABLES)
    for name in PUBLISHED_TABLES:
        assert (out / f"{name}.parquet").is_file(), name
    indicators = pq.read_table(out / "indicators.parquet").to_pylist()
    assert len(indicators) == len(CATALOG.indicators) == summary["rows"]["indicators"]
    by_id = {r["indicator_id"]: r for r in indicators}
    assert by_id["full_online_processing"]["jurisdictions"] >= 3
    targets = pq.read_table(out / "targets.parquet").to_pylist()
    metric_ids = set(pq.read_table(out / "metrics.parquet", columns=["metric_id"]).column(0).to_pylist())
    assert targets and {t["metric_id"] for t in targets} <= metric_ids
    national = [c for c in pq.read_table(out / "coverage.parquet").to_pylist() if c["admin_level"] == "national"]
    assert national and all(c["jurisdiction"] == "全国" for c in national)
