"""Golden document metadata of the seeds (plain pipeline, `seed_rows`)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import seed_doc

GOLDEN = {
    "000": dict(province="贵州省", issuer="贵州省人民政府", doc_number="黔府发〔2023〕21号",
                issue_date=dt.date(2023, 12, 27), script="simplified", title="贵州省关于加强数字政府建设实施方案"),
    "001": dict(province="河北省", issuer="河北省人民政府", doc_number="冀政发〔2023〕3号",
                issue_date=dt.date(2023, 4, 12), script="traditional_tw",
                title="河北省人民政府关于加强数字政府建设的实施意见"),
    "002": dict(province="广西壮族自治区", issuer="广西壮族自治区人民政府", doc_number=None,
                issue_date=dt.date(2022, 11, 30), script="traditional", title=None),
    "003": dict(province="云南省", issuer="云南省人民政府", doc_number="云政发〔2023〕8号",
                issue_date=dt.date(2023, 3, 2), script="simplified", title="云南省数字政府建设总体方案"),
    "004": dict(province="甘肃省", issuer="甘肃省人民政府办公厅", doc_number="甘政办发〔2021〕113号",
                issue_date=dt.date(2021, 12, 22), script="simplified", title="甘肃省数字政府建设总体规划"),
}


@pytest.mark.parametrize("prefix", sorted(GOLDEN))
@pytest.mark.parametrize("field", ["province", "issuer", "doc_number", "issue_date", "script"])
def test_seed_metadata(seed_rows, prefix, field):
    assert seed_doc(seed_rows, prefix)[field] == GOLDEN[prefix][field]


@pytest.mark.parametrize("prefix", sorted(GOLDEN))
def test_seed_title(seed_rows, prefix):
    doc, title = seed_doc(seed_rows, prefix), GOLDEN[prefix]["title"]
    if title is None:  # the text has none: left null, and said so
        assert doc["title"] is None and "title_not_found" in doc["metadata_flags"]
    else:
        assert title in doc["title"]


def test_seed_admin_levels_and_date_sources(seed_rows):
    docs = {p: seed_doc(seed_rows, p) for p in GOLDEN}
    assert {d["admin_level"] for d in docs.values()} == {"province"}
    assert {p: d["issue_date_source"] for p, d in docs.items()} == {
        "000": "signature", "001": "signature", "002": "signature", "003": "front_matter", "004": "signature"}


def test_seed_notices_and_plan_period(seed_rows):
    assert seed_doc(seed_rows, "000")["notice_title"] == "省人民政府印发贵州省关于加强数字政府建设实施方案的通知"
    gansu = seed_doc(seed_rows, "004")
    assert gansu["notice_title"].startswith("甘肃省人民政府办公厅关于印发甘肃省数字政府建设总体规划")
    assert (gansu["plan_start_year"], gansu["plan_end_year"]) == (2021, 2025)
    assert seed_doc(seed_rows, "001")["notice_title"] is None


def test_seed_003_source_url_is_flagged(seed_rows):
    doc = seed_doc(seed_rows, "003")
    assert doc["source_url"].startswith("https://www.shanxi.gov.cn/")
    assert "source_url_province_mismatch" in doc["metadata_flags"]
    for prefix in ("000", "001", "002", "004"):
        assert "source_url_province_mismatch" not in seed_doc(seed_rows, prefix)["metadata_flags"]
