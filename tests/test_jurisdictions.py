"""Jurisdictions: GB/T 2260 codes, levels, English names and ISO codes of documents."""

from __future__ import annotations

import pycountry
import pytest

from flows.compare.jurisdictions import divisions, jurisdiction_of, province_english


def test_division_table_is_well_formed():
    rows = divisions()
    codes = [d.admin_code for d in rows]
    assert len(codes) == len(set(codes))
    provinces = [d for d in rows if d.level == "province"]
    assert len(provinces) == 34
    for d in rows:
        assert len(d.admin_code) == 6 and d.admin_code.isascii() and d.admin_code.isdigit()
        assert d.level in ("province", "prefecture")
        assert d.admin_code.startswith(d.province_code[:2])
    # every province's ISO code is a real ISO 3166-2 subdivision of China
    for d in provinces:
        assert d.iso_3166_2 and pycountry.subdivisions.get(code=d.iso_3166_2) is not None, d


@pytest.mark.parametrize("province, code, english, iso", [
    ("贵州省", "520000", "Guizhou", "CN-GZ"), ("河北省", "130000", "Hebei", "CN-HE"),
    ("广西壮族自治区", "450000", "Guangxi", "CN-GX"), ("云南省", "530000", "Yunnan", "CN-YN"),
    ("甘肃省", "620000", "Gansu", "CN-GS"), ("宁夏回族自治区", "640000", "Ningxia", "CN-NX"),
    ("新疆维吾尔自治区", "650000", "Xinjiang", "CN-XJ"), ("上海市", "310000", "Shanghai", "CN-SH"),
])
def test_provincial_documents(province, code, english, iso):
    j = jurisdiction_of(province, "province", f"{province}人民政府", f"{province}数字政府建设方案")
    assert (j.admin_code, j.admin_level, j.jurisdiction, j.province_en, j.iso_3166_2) == (
        code, "province", province, english, iso)


@pytest.mark.parametrize("province, level, issuer, title, code", [
    ("辽宁省", None, None, "大连市数字政府建设“十四五”行动方案", "210200"),
    ("辽宁省", "prefecture", "大连市人民政府", None, "210200"),
    ("广东省", None, "中共深圳市委办公厅", None, "440300"),
    ("四川省", "prefecture", "成都市人民政府办公厅", "关于印发方案的通知", "510100"),
    ("贵州省", None, None, "贵阳市数字政府工作要点", "520100"),
])
def test_prefecture_documents(province, level, issuer, title, code):
    j = jurisdiction_of(province, level, issuer, title)
    assert (j.admin_code, j.admin_level) == (code, "prefecture")


def test_a_provincial_issuer_is_not_read_as_its_capital():
    # the title begins with a prefecture's name, but the issuer is provincial
    j = jurisdiction_of("辽宁省", "province", "辽宁省人民政府", "沈阳市试点方案")
    assert j.admin_code == "210000"


def test_a_prefecture_of_another_province_is_not_taken():
    assert jurisdiction_of("辽宁省", None, None, "贵阳市数字政府工作要点").admin_code == "210000"


def test_national_documents():
    for issuer in ("国务院", "中共中央、国务院"):
        j = jurisdiction_of(None, "national", issuer)
        assert (j.admin_code, j.admin_level, j.jurisdiction, j.iso_3166_2) == (None, "national", "全国", "CN")


def test_unknown_province():
    j = jurisdiction_of(None, None, "某某委员会")
    assert (j.admin_code, j.province_en, j.iso_3166_2) == (None, None, None)


def test_english_names_drop_the_romanized_kind():
    assert [province_english(c) for c in ("CN-NM", "CN-HK", "CN-BJ", "CN-XZ")] == [
        "Nei Mongol", "Hong Kong", "Beijing", "Xizang"]
    assert province_english(None) is None
