"""Bandwidth targets on invented sentences: levels, lists, networks, labels and the negatives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.extract.bandwidth import extract_bandwidth_targets
from flows.extract import read_document
from tests.test_extract_common import build_sections


def bandwidth(text: str, kinds: dict[str, str] | None = None) -> list[dict]:
    rows = extract_bandwidth_targets("t", read_document(text, build_sections(text, kinds)))
    for r in rows:
        assert r["source_text"] == text[r["char_start"]:r["char_end"]]
    return rows


def levels(text: str) -> list[tuple]:
    return [(r["bandwidth_mbps"], r["admin_level"], r["admin_level_text"]) for r in bandwidth("二、任务\n" + text)]


def test_one_row_per_bandwidth_and_level():
    assert levels("实现纵向骨干网万兆到市、千兆到县、百兆到乡、村，横向覆盖省、市、县机关单位。") == [
        (10000, "prefecture", "市"), (1000, "county", "县"), (100, "township", "乡"), (100, "village", "村")]


def test_repeated_city_among_counties_is_county_level_and_no_row_without_bandwidth():
    assert levels("逐步实现万兆到州、市，千兆到县、市、区，百兆到乡镇、街道全覆盖，村、社区按需接入。") == [
        (10000, "prefecture", "州、市"), (1000, "county", "县、市、区"), (100, "township", "乡镇、街道")]


@pytest.mark.parametrize("sentence, expected", [
    ("电子政务外网实现万兆到盟市、千兆到旗县。", [(10000, "prefecture", "盟市"), (1000, "county", "旗县")]),
    ("政务外网千兆到苏木乡镇、百兆到嘎查村。", [(1000, "township", "苏木乡镇"), (100, "village", "嘎查村")]),
    ("骨干网络万兆到地区，千兆到县级市。", [(10000, "prefecture", "地区"), (1000, "county", "县级市")]),
    ("建设省到市10G、市到县1G的政务外网骨干链路。", [(10000, "prefecture", "市"), (1000, "county", "县")]),
    ("省到市骨干链路带宽达到10Gbps，市到县达到1Gbps，县到乡镇不低于100Mbps。",
     [(10000, "prefecture", "市"), (1000, "county", "县"), (100, "township", "乡镇")]),
    ("电子政务外网省级骨干带宽提升至100G，城域网接入带宽不低于100Mbps。", [(100000, None, None), (100, None, None)]),
    ("政务外网出口带宽达到40Gbps。", [(40000, None, None)]),
    ("建设万兆骨干网、推进千兆网覆盖到县。", [(10000, None, None), (1000, "county", "县")]),
    ("推动电子政务外网千兆光纤网络延伸到行政村。", [(1000, "village", "行政村")]),
    ("政务外网万兆到省直部门，千兆到街道（乡镇）。", [(10000, None, None), (1000, "township", "街道（乡镇）")]),
])
def test_levels_labels_and_units(sentence, expected):
    assert levels(sentence) == expected


@pytest.mark.parametrize("sentence, mbps", [
    ("政务外网省级骨干带宽提升至20G。", 20000), ("政务外网出口带宽达到40G。", 40000),
    ("城域网接入带宽达到5000M。", 5000), ("骨干网链路带宽提升至100G。", 100000),
    ("政务外网出口带宽达到2.5G。", 2500), ("政务外网骨干带宽达到50G。", 50000),
    ("政务外网出口带宽扩容至800G。", 800000), ("乡镇政务外网接入带宽不低于20M。", 20),
])
def test_any_speed_in_a_network_unit(sentence, mbps):
    (row,) = bandwidth("二、任务\n" + sentence)
    assert row["bandwidth_mbps"] == mbps


@pytest.mark.parametrize("sentence", [
    "推动政务外网4G、5G、6G网络覆盖到村。",  # mobile generations
    "政务外网出口带宽达到0M。",  # no speed
    "政务外网出口带宽达到5000G。",  # 5 Tbit/s: a misread unit, beyond any link
])
def test_no_speed_outside_the_network_range(sentence):
    assert bandwidth("二、任务\n" + sentence) == []


def test_network_names_and_labels():
    rows = bandwidth("二、任务\n提升电子政务外网频宽，实现纵向骨干网万兆到市、千兆到县。建设万兆骨干网。推进10G城域网建设。")
    assert [(r["network"], r["bandwidth_label"]) for r in rows] == [
        ("纵向骨干网", "万兆"), ("纵向骨干网", "千兆"), ("骨干网", "万兆"), ("城域网", "10G")]


def test_target_year_from_the_sentence():
    (row,) = bandwidth("二、任务\n到2024年，电子政务外网千兆到县。")
    assert row["target_year"] == 2024


@pytest.mark.parametrize("sentence", [
    "建设技术先进的5G无线政务网络，推动4G、5G网络覆盖到村。",
    "村、社区按需接入电子政务外网。",
    "推动千兆城市建设，打造数字经济新高地。",  # no network in the sentence: a city programme
    "加快IPv6改造，推进IPV4/IPV6双栈网络。",
    "政务外网接入单位近1.5万家。",
    "加快“双千兆”网络建设，推进千兆城市创建，提升5G网络覆盖。",
])
def test_not_bandwidth(sentence):
    assert bandwidth("二、任务\n" + sentence) == []


def test_no_bandwidth_from_interpretation():
    text = "一、任务\n实现政务外网万兆到市。\n二、政策解读\n《意见》提出政务外网万兆到市。"
    assert [r["section_id"] for r in bandwidth(text, {"解读": "interpretation"})] == ["t-0001"]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("万千百兆到市县区乡镇村社区、，。网10G5MbpsIPv6州旗盟至省骨干\n")), max_size=60))
def test_bandwidth_never_crashes(text):
    for r in extract_bandwidth_targets("t", read_document(text, build_sections(text))):
        assert r["source_text"] == text[r["char_start"]:r["char_end"]]
        assert r["bandwidth_mbps"] > 0
        assert r["admin_level"] in (None, "province", "prefecture", "county", "township", "village")
