"""Comparison views: indicators, targets, coverage and the wide targets table."""

from __future__ import annotations

import datetime as dt

from flows.compare.views import coverage_rows, derived_id, indicator_rows, shared_targets, target_rows, targets_wide
from flows.compare.indicators import load_catalog

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


def bandwidth(bid, doc_id, mbps, label, level, sentence, start, ind="auto", year=None):
    prefix = {"prefecture": "egov_network_bandwidth_prefecture", "county": "egov_network_bandwidth_county"}
    return {"bandwidth_id": bid, "doc_id": doc_id, "admin_level": level, "bandwidth_mbps": mbps, "bandwidth_label": label,
            "target_year": year, "char_start": start, "source_text": sentence,
            "indicator_id": prefix.get(level) if ind == "auto" else ind}


FUJIAN = "省市两级核心纵向骨干网络，网络带宽升级至40G（可平滑演进到100G）。"
BANDWIDTH = [
    bandwidth("b1", "d1", 10000, "万兆", "prefecture", "电子政务外网万兆到市、千兆到县。", 30),
    bandwidth("b2", "d1", 1000, "千兆", "county", "电子政务外网万兆到市、千兆到县。", 30),
    bandwidth("b3", "d2", 100000, "100G", "prefecture", FUJIAN, 7),  # the evolution, listed first
    bandwidth("b4", "d2", 40000, "40G", "prefecture", FUJIAN, 7),    # the target, stated first
    bandwidth("b5", "d3", 1000, "千兆", "county", "各级横向网通过千兆以上链路带宽接入。", 3),
    bandwidth("b6", "d3", 10000, "万兆", None, "建设万兆骨干网。", 1, ind=None),  # no level: no target
]


def test_bandwidth_targets_are_targets_in_mbps_with_the_level_as_subject():
    rows = [r for r in target_rows(CATALOG, METRICS, DOCS, BANDWIDTH) if r["unit"] == "Mbit/s"]
    got = [(r["jurisdiction"], r["indicator_id"], r["subject"], r["value"], r["comparator"], r["bandwidth_id"],
            r["metric_id"], r["metrics"]) for r in rows]
    assert got == [
        ("贵州省", "egov_network_bandwidth_county", "county", 1000, "=", "b2", None, 1),
        ("云南省", "egov_network_bandwidth_county", "county", 1000, ">=", "b5", None, 1),  # 千兆以上: a floor
        ("河北省", "egov_network_bandwidth_prefecture", "prefecture", 40000, "=", "b4", None, 2),
        ("贵州省", "egov_network_bandwidth_prefecture", "prefecture", 10000, "=", "b1", None, 1),
    ]
    assert all(r["source_text"] for r in rows)
    by_id = {r["indicator_id"]: r for r in indicator_rows(CATALOG, METRICS, DOCS, BANDWIDTH)}
    assert (by_id["egov_network_bandwidth_prefecture"]["metrics"], by_id["egov_network_bandwidth_prefecture"]["jurisdictions"]) == (3, 2)
    assert by_id["egov_network_bandwidth_county"]["admin_level"] == "county"
    shared = shared_targets(target_rows(CATALOG, METRICS, DOCS, BANDWIDTH))
    assert [s[0] for s in shared] == ["full_online_processing"]  # bandwidth: two jurisdictions each


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
    from flows.compare.views import contract_violations
    from flows.contract.schema import schema

    ts = schema("targets")
    rows = target_rows(CATALOG, METRICS, DOCS)
    assert contract_violations(ts, ts.table(rows)) == []
    broken = [dict(rows[0], comparator="≈"), dict(rows[1], target_id=rows[0]["target_id"], value=None)]
    problems = contract_violations(ts, ts.table(broken))
    assert any("comparator" in p for p in problems)
    assert any("value: 1 nulls" in p for p in problems)
    assert any("duplicate target_id" in p for p in problems)


def test_a_build_publishes_the_views_and_validate_checks_them(seed_build):
    import pyarrow.parquet as pq

    from flows.contract.schema import DERIVED_TABLES, PUBLISHED_TABLES, TABLES

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
    bandwidth_ids = set(pq.read_table(out / "bandwidth_targets.parquet", columns=["bandwidth_id"]).column(0).to_pylist())
    assert targets and all((t["metric_id"] is None) != (t["bandwidth_id"] is None) for t in targets)
    assert {t["metric_id"] for t in targets} - {None} <= metric_ids
    assert {t["bandwidth_id"] for t in targets} - {None} <= bandwidth_ids
    assert {t["unit"] for t in targets if t["bandwidth_id"]} == {"Mbit/s"}
    national = [c for c in pq.read_table(out / "coverage.parquet").to_pylist() if c["admin_level"] == "national"]
    assert national and all(c["jurisdiction"] == "全国" for c in national)


def test_a_null_in_a_nullable_column_with_allowed_values_is_no_violation():
    from flows.compare.views import contract_violations
    from flows.contract.schema import schema

    ts = schema("indicators")
    rows = indicator_rows(CATALOG, METRICS, DOCS)
    assert any(r["admin_level"] is None for r in rows) and any(r["admin_level"] for r in rows)
    assert contract_violations(ts, ts.table(rows)) == []
    assert any("admin_level" in p for p in contract_violations(ts, ts.table([dict(rows[0], admin_level="city")])))
