"""Document metadata from each source, on invented texts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.patterns.dates import parse_date
from flows.patterns.doc_number import canonical_doc_number
from flows.structure.metadata import admin_level, extract_metadata, issuer_from_number, province_of_url
from flows.contract.schema import schema
from flows.structure.sections import parse_sections


def meta_of(text: str, meta: dict | None = None) -> dict:
    out = extract_metadata(text, parse_sections("d", text), meta or {})
    documents = schema("documents")
    assert set(out) <= set(documents.column_names)
    for name in ("admin_level", "issue_date_source"):
        assert out[name] is None or out[name] in documents.column(name).allowed
    return out


def test_plain_web_copy_with_a_metadata_box():
    text = ("某省人民政府办公厅关于印发某省数据条例的通知\n"
            "索引号：11520000/2023-00012\n发文字号：黔府办发[2023]7号\n成文日期：2023年05月06日\n发布日期：2023-05-10\n"
            "各市人民政府：\n现将《某省数据条例实施方案》印发给你们。\n一、总体要求\n正文。\n")
    m = meta_of(text)
    assert m["doc_number"] == "黔府办发〔2023〕7号"
    assert m["issuer"] == "贵州省人民政府办公厅" and m["province"] == "贵州省" and m["admin_level"] == "province"
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2023, 5, 6), "metadata_box")
    assert m["notice_title"] == "某省人民政府办公厅关于印发某省数据条例的通知"
    assert m["title"] == "某省数据条例"


def test_metadata_box_as_a_table_with_a_doubled_number_suffix():
    text = ("甘肃省人民政府办公厅关于印发甘肃省 数字政府建设总体规划(2021—2025)的通知\n"
            "索引号 | 620702074/2022-00035 | 发文字号 | 甘政办发〔2021〕113号号 |\n生成日期 | 2022-05-13 13:29:50 |\n"
            "各市人民政府：\n现印发给你们。\n甘肃省人民政府办公厅\n2021年12月22日\n一、发展基础\n正文\n")
    m = meta_of(text)
    assert m["doc_number"] == "甘政办发〔2021〕113号"
    assert m["title"] == "甘肃省数字政府建设总体规划(2021—2025)"
    assert (m["plan_start_year"], m["plan_end_year"]) == (2021, 2025)
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2021, 12, 22), "signature")
    assert m["issuer"] == "甘肃省人民政府办公厅" and m["metadata_flags"] == []


def test_front_matter_meta_and_a_source_url_on_another_provinces_site():
    text = "为贯彻落实《国务院关于加强数字政府建设的指导意见》（国发〔2022〕14号）精神，制定本方案。\n一、总体要求\n正文\n"
    meta = {"title": "云南省数字政府建设总体方案", "subtitle": "云政发〔2023〕8号",
            "date": dt.datetime(2023, 3, 2), "author": "云南省人民政府办公厅厅", "unit": "云南省",
            "source": "https://www.shanxi.gov.cn/zfxxgk/t20240111_9481487.shtml"}
    m = meta_of(text, meta)
    assert m["title"] == "云南省数字政府建设总体方案" and m["doc_number"] == "云政发〔2023〕8号"
    assert m["issuer"] == "云南省人民政府" and m["province"] == "云南省"
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2023, 3, 2), "front_matter")
    assert m["source_url"] == meta["source"]
    assert m["metadata_flags"] == ["issuer_differs_from_wrapper", "source_url_province_mismatch"]


@pytest.mark.parametrize("url, flagged", [
    ("https://www.yn.gov.cn/zwgk/a.html", False), ("http://www.gov.cn/zhengce/b.htm", False),
    ("https://www.hangzhou.gov.cn/c.html", False), ("https://www.gd.gov.cn/d.html", True),
])
def test_source_url_flag_only_on_a_known_other_province(url, flagged):
    m = meta_of("一、总体要求\n", {"title": "某方案", "doc_number": "云政发〔2023〕8号", "source_url": url})
    assert ("source_url_province_mismatch" in m["metadata_flags"]) is flagged


def test_normalized_meta_keys_from_the_normalization_stage():
    meta = {"notice_title": "河南省人民政府关于印发河南省数字政府建设方案的通知", "doc_number": "豫政〔2022〕30号",
            "written_date": "2022-08-01", "publish_date": "2022-08-05", "source_url": "https://www.henan.gov.cn/x.html",
            "publisher": "河南省人民政府办公厅"}
    m = meta_of("一、总体要求\n正文\n", meta)
    assert m["title"] == "河南省数字政府建设方案" and m["notice_title"] == meta["notice_title"]
    assert m["issuer"] == "河南省人民政府" and m["province"] == "河南省"
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2022, 8, 1), "metadata_box")
    assert m["metadata_flags"] == []  # a publisher (the site's office) is not compared with the issuer


def test_a_city_plan_gets_its_province_from_the_text():
    text = ("杭州市人民政府关于印发杭州市数字政府建设“十四五”规划的通知\n杭政函〔2021〕50号\n各区、县（市）人民政府：\n"
            "为贯彻落实浙江省数字化改革部署，现将规划印发给你们。\n杭州市人民政府\n2021年9月8日\n"
            "一、发展基础\n浙江省数字政府建设走在前列。\n")
    m = meta_of(text)
    assert m["issuer"] == "杭州市人民政府" and m["admin_level"] == "prefecture"
    assert m["province"] == "浙江省" and "province_from_text" in m["metadata_flags"]
    assert m["doc_number"] == "杭政函〔2021〕50号"
    assert (m["plan_start_year"], m["plan_end_year"]) == (2021, 2025)


def test_a_city_number_prefix_is_not_read_as_a_province():
    text = "宁政发〔2022〕9号\n江苏省南京市数字政府建设方案\n一、总体要求\n南京市人民政府\n2022年3月1日\n"
    m = meta_of(text)
    assert m["issuer"] == "南京市人民政府" and m["province"] == "江苏省" and m["admin_level"] == "prefecture"


def test_a_state_council_document():
    text = ("国务院关于加强数字政府建设的指导意见\n国发〔2022〕14号\n各省、自治区、直辖市人民政府：\n"
            "一、总体要求\n贵州省、浙江省等地先行先试。\n国务院\n2022年6月6日\n（此件公开发布）\n")
    m = meta_of(text)
    assert m["issuer"] == "国务院" and m["admin_level"] == "national" and m["province"] is None
    assert m["doc_number"] == "国发〔2022〕14号" and m["title"] == "国务院关于加强数字政府建设的指导意见"
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2022, 6, 6), "signature")
    assert m["metadata_flags"] == []


def test_a_general_office_number_without_signature():
    m = meta_of("国务院办公厅关于印发全国一体化政务大数据体系建设指南的通知\n国办函〔2022〕102号\n一、总体要求\n")
    assert (m["issuer"], m["admin_level"], m["province"]) == ("国务院办公厅", "national", None)
    assert m["title"] == "全国一体化政务大数据体系建设指南"


def test_numbers_cited_in_running_text_are_not_the_documents_number():
    text = "各市人民政府：\n为贯彻落实《国务院关于加强数字政府建设的指导意见》（国发〔2022〕14号），提出如下意见。\n一、总体要求\n"
    m = meta_of(text)
    assert m["doc_number"] is None and m["title"] is None and "title_not_found" in m["metadata_flags"]


def test_a_notice_title_wrapped_over_lines_and_a_short_signature():
    text = ("省人民政府印发贵州省关于加强\n\n数字政府建设实施方案的通知\n\n黔府发〔2023〕21号\n各市人民政府：\n"
            "现将《贵州省关于加强数字政府建设实施方案》印发给你们。\n省人民政府\n2023年12月27日\n"
            "贵州省关于加强数字政府建设实施方案\n一、总体要求\n")
    m = meta_of(text)
    assert m["notice_title"] == "省人民政府印发贵州省关于加强数字政府建设实施方案的通知"
    assert m["title"] == "贵州省关于加强数字政府建设实施方案"
    assert m["issuer"] == "贵州省人民政府" and m["province"] == "贵州省"


def test_title_line_of_an_opinion_without_notice():
    text = ("河北省人民政府关于加强数字政府建设的实施意见\n冀政发〔2023〕3号\n各市人民政府：\n一、总体要求\n"
            "正文。\n河北省人民政府\n二〇二三年四月十二日\n")
    m = meta_of(text)
    assert m["title"] == "河北省人民政府关于加强数字政府建设的实施意见" and m["notice_title"] is None
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2023, 4, 12), "signature")
    assert m["issuer"] == "河北省人民政府" and m["doc_number"] == "冀政发〔2023〕3号"


def test_signature_and_number_that_disagree_are_flagged():
    text = "甘政办发〔2021〕113号\n一、总体要求\n正文\n甘肃省人民政府\n2021年12月22日\n"
    m = meta_of(text)
    assert m["issuer"] == "甘肃省人民政府" and "issuer_conflict" in m["metadata_flags"]


def test_dates_that_disagree_are_flagged_and_the_signature_wins():
    text = "一、总体要求\n正文\n某省人民政府\n2023年1月5日\n"
    m = meta_of(text, {"date": "2023-02-01", "doc_number": "鲁政发〔2023〕1号"})
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2023, 1, 5), "signature")
    assert "issue_date_conflict" in m["metadata_flags"]


def test_date_from_the_text_and_from_a_publish_date():
    m = meta_of("某意见由河北省人民政府于2023年4月12日印发实施。\n一、总体要求\n")
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2023, 4, 12), "text")
    m = meta_of("发布日期：2023-05-10\n一、总体要求\n")
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2023, 5, 10), "metadata_box")
    assert "issue_date_is_publish_date" in m["metadata_flags"]


@pytest.mark.parametrize("text, period", [
    ("某省数字政府建设规划（2021—2025年）\n一、总体要求\n", (2021, 2025)),
    ("某省数字政府建设规划(2022-2025)\n一、总体要求\n", (2022, 2025)),
    ("某省数字政府建设规划\n规划期限为2021-2025年。\n一、总体要求\n", (2021, 2025)),
    ("某省“十四五”数字政府建设规划\n一、总体要求\n", (2021, 2025)),
    ("某省数字政府建设方案\n到2025年，基本建成。\n一、总体要求\n", (None, None)),
    ("某省数字政府建设方案\n一、总体要求\n（一）补齐短板阶段（2021—2022年）\n", (None, None)),
])
def test_plan_period(text, period):
    m = meta_of(text)
    assert (m["plan_start_year"], m["plan_end_year"]) == period


@pytest.mark.parametrize("raw, number", [
    ("黔府发〔2023〕21号", "黔府发〔2023〕21号"), ("冀政发[2023]3号", "冀政发〔2023〕3号"),
    ("甘政办发(2021)113号号", "甘政办发〔2021〕113号"), ("云政发［2023］8号", "云政发〔2023〕8号"),
    ("国办发〔2022〕 第 102 号", "国办发〔2022〕102号"), ("桂政发【2022】40号", "桂政发〔2022〕40号"),
    ("no number here", None), ("2023年12月27日", None),
])
def test_doc_number_normalization(raw, number):
    assert canonical_doc_number(raw) == number


@pytest.mark.parametrize("number, issuer, province", [
    ("黔府发〔2023〕21号", "贵州省人民政府", "贵州省"), ("冀政发〔2023〕3号", "河北省人民政府", "河北省"),
    ("桂政办发〔2022〕1号", "广西壮族自治区人民政府办公厅", "广西壮族自治区"),
    ("滇政发〔2022〕1号", "云南省人民政府", "云南省"), ("陇政办发〔2022〕1号", "甘肃省人民政府办公厅", "甘肃省"),
    ("粤府〔2021〕9号", "广东省人民政府", "广东省"), ("内政发〔2021〕9号", "内蒙古自治区人民政府", "内蒙古自治区"),
    ("国发〔2022〕14号", "国务院", "national"), ("国办发〔2022〕1号", "国务院办公厅", "national"),
    ("杭政函〔2021〕50号", None, None), ("冀发〔2021〕1号", None, None),
])
def test_issuer_from_number_prefix(number, issuer, province):
    assert issuer_from_number(number) == (issuer, province)


@pytest.mark.parametrize("issuer, level", [
    ("国务院", "national"), ("国务院办公厅", "national"), ("国家发展改革委", "national"),
    ("贵州省人民政府", "province"), ("广西壮族自治区人民政府办公厅", "province"), ("北京市人民政府", "province"),
    ("贵州省大数据发展管理局", "province"), ("河北省市场监督管理局", "province"),
    ("杭州市人民政府", "prefecture"), ("浙江省杭州市人民政府", "prefecture"),
    ("黔东南苗族侗族自治州人民政府", "prefecture"), ("阿拉善盟行政公署", None),
    ("北京市海淀区人民政府", "county"), ("浙江省杭州市余杭区人民政府", "county"), ("某某县人民政府", "county"),
    ("", None), (None, None),
])
def test_admin_level(issuer, level):
    assert admin_level(issuer) == level


@pytest.mark.parametrize("url, province", [
    ("https://www.shanxi.gov.cn/a", "山西省"), ("https://www.shaanxi.gov.cn/a", "陕西省"),
    ("http://zfxxgk.guizhou.gov.cn/a", "贵州省"), ("http://www.gxzf.gov.cn/a", "广西壮族自治区"),
    ("http://www.gov.cn/zhengce", "national"), ("https://www.hangzhou.gov.cn/", None),
    ("https://example.com/a", None), (None, None),
])
def test_province_of_url(url, province):
    assert province_of_url(url) == province


@pytest.mark.parametrize("value, date", [
    ("2023-03-02 00:00:00", dt.date(2023, 3, 2)), (dt.datetime(2023, 3, 2, 8), dt.date(2023, 3, 2)),
    (dt.date(2021, 1, 1), dt.date(2021, 1, 1)), ("2023年12月27日", dt.date(2023, 12, 27)),
    ("二〇二三年十二月二十七日", dt.date(2023, 12, 27)), ("2023/2/30", None), ("", None), (None, None),
])
def test_parse_date(value, date):
    assert parse_date(value) == date


def test_a_web_page_publisher_is_not_the_issuer_and_box_dates_say_so():
    meta = {"publisher": "政务服务管理局", "doc_number": "甘政办发〔2021〕113号", "date": "2021-12-22", "page_kind": "web"}
    m = meta_of("一、总体要求\n", meta)
    assert m["issuer"] == "甘肃省人民政府办公厅" and m["metadata_flags"] == ["title_not_found"]
    assert (m["issue_date"], m["issue_date_source"]) == (dt.date(2021, 12, 22), "metadata_box")
    m = meta_of("一、总体要求\n", {"publisher": "某某市大数据局", "date": "2021-12-22",
                                  "front_matter": {"date": "2021-12-22"}})
    assert m["issuer"] == "某某市大数据局" and m["issue_date_source"] == "front_matter"


def test_joint_party_and_government_issuers():
    text = "一、总体要求\n正文\n中共湖南省委办公厅\n湖南省人民政府办公厅\n2022年3月1日\n"
    m = meta_of(text, {"doc_number": "湘办发〔2022〕5号"})
    assert m["issuer"] == "中共湖南省委办公厅、湖南省人民政府办公厅"
    assert (m["province"], m["admin_level"]) == ("湖南省", "province")
    assert admin_level("中共贵州省委办公厅") == "province" and admin_level("中共中央办公厅") == "national"


_META_VALUES = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.dates(),
                         st.sampled_from(["2023-03-02 00:00:00", "黔府发〔2023〕21号", "https://www.gd.gov.cn/a",
                                          "国务院办公厅", "省人民政府", "web", "encyclopedia"]))
_SNIPPETS = st.sampled_from(["关于印发", "的通知", "《", "》", "国发〔2022〕14号", "发文字号：", "成文日期：", "2023年1月5日",
                             "二〇二三年", "某省人民政府", "一、总体要求", "（2021—2025年）", "\n", "十四五", "索引号 | ",
                             "https://www.yn.gov.cn/x", "来源：", "中共", "、", "自治区", "市", "县"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_SNIPPETS, st.text(max_size=10)), max_size=40).map("".join),
       st.dictionaries(st.sampled_from(["title", "doc_number", "subtitle", "date", "written_date", "publish_date",
                                        "author", "unit", "issuer", "publisher", "source", "source_url",
                                        "notice_title", "page_kind"]), _META_VALUES, max_size=6))
def test_metadata_never_crashes_and_keeps_its_contract(text, meta):
    m = meta_of(text, meta)
    assert m["doc_number"] is None or re.fullmatch(schema("documents").column("doc_number").pattern, m["doc_number"])
    assert m["issue_date"] is None or m["issue_date_source"] is not None
    assert isinstance(m["metadata_flags"], list)


@pytest.mark.parametrize("signed, meta, notice, want", [
    # a metadata box's 发布机构 spells out the signature's 省府
    ("省府办公厅", {"publisher": "某江省人民政府办公厅", "page_kind": "web"}, "", "某江省人民政府办公厅"),
    # the notice line names the body in full
    ("某某市政府办公室", {}, "某某市人民政府办公室关于印发某某市数字政府行动计划的通知\n", "某某市人民政府办公室"),
    # a box's 发文机关 field, the signature abbreviating 人民政府 to 政府
    ("湖南省政府", {"issuer": "湖南省人民政府"}, "", "湖南省人民政府"),
])
def test_a_signatures_abbreviation_gives_way_to_the_full_name(signed, meta, notice, want):
    text = f"{notice}各有关单位：\n现将方案印发给你们。\n{signed}\n2024年3月1日\n某某数字政府建设方案\n一、总体要求\n正文。\n"
    assert meta_of(text, meta)["issuer"] == want


def test_a_box_publisher_naming_another_body_does_not_replace_the_signature():
    text = "各有关单位：\n现将方案印发给你们。\n某江省发展改革委\n2024年3月1日\n一、总体要求\n正文。\n"
    m = meta_of(text, {"publisher": "某江省人民政府办公厅", "page_kind": "web"})
    assert m["issuer"] == "某江省发展改革委"
    # nor does a longer name of a different kind of body (厅 is not 府)
    text = "各有关单位：\n现将方案印发给你们。\n某江省人民政府\n2024年3月1日\n一、总体要求\n正文。\n"
    assert meta_of(text, {"publisher": "某江省人民政府办公厅", "page_kind": "web"})["issuer"] == "某江省人民政府"
