"""Bandwidth between two tiers, planned evolutions, networks with no tier and rural households
(issue 23), on invented sentences."""

from __future__ import annotations

import pytest

from flows.extract.bandwidth import extract_bandwidth_targets
from flows.extract import read_document
from flows.contract.schema import schema
from tests.test_extract_common import build_sections

LEVELS = set(next(c for c in schema("bandwidth_targets").columns if c.name == "admin_level_upper").allowed)


def tiers(sentence: str) -> list[tuple]:
    text = "二、主要任务\n" + sentence + "\n"
    rows = extract_bandwidth_targets("t", read_document(text, build_sections(text)))
    for r in rows:
        assert r["source_text"] == text[r["char_start"]:r["char_end"]]
        assert r["admin_level_upper"] is None or (r["admin_level_upper"] in LEVELS and r["admin_level"])
    return [(r["bandwidth_mbps"], r["admin_level"], r["admin_level_upper"]) for r in rows]


@pytest.mark.parametrize("sentence, want", [
    ("实现省、市电子政务骨干线路带宽达到万兆，市、县电子政务骨干线路带宽达到千兆。",
     [(10000, "prefecture", "province"), (1000, "county", "prefecture")]),
    ("建设省市两级核心纵向骨干网络，网络带宽升级至40G。", [(40000, "prefecture", "province")]),
    ("推动县、乡骨干链路带宽提升到1000M。", [(1000, "township", "county")]),
    ("市县两级政务外网带宽达到10G，乡村两级接入带宽达到百兆。",
     [(10000, "county", "prefecture"), (100, "village", "township")]),
])
def test_a_link_between_two_tiers_has_a_lower_and_an_upper_end(sentence, want):
    assert tiers(sentence) == want


@pytest.mark.parametrize("sentence, want", [
    ("建设省市两级核心纵向骨干网络，网络带宽升级至40G（可平滑演进到100G）。",
     [(40000, "prefecture", "province"), (100000, "prefecture", "province")]),
    ("省、市骨干线路带宽达到万兆（预留扩展至十万兆能力）。",
     [(10000, "prefecture", "province"), (100000, "prefecture", "province")]),
    ("核心链路带宽达到10G（远期升级到100G）。", [(10000, None, None), (100000, None, None)]),
])
def test_a_planned_evolution_is_a_row_of_its_own_for_the_same_link(sentence, want):
    assert tiers(sentence) == want


@pytest.mark.parametrize("sentence", [
    "构建形成多中心、高可用体系架构，核心链路达到100G承载能力。",
    "建设省、市、县三级横向接入网络，各级横向网通过20G以上链路带宽接入纵向骨干网络。",
    "升级互联网出口带宽至40G。",
])
def test_a_network_with_no_tier_or_every_tier_has_none(sentence):
    assert [lower for _, lower, _ in tiers(sentence)] == [None]


@pytest.mark.parametrize("sentence, mbps", [
    ("2025年年底前，80%以上的农村家庭具备千兆接入能力。", 1000),
    ("推动千兆光网向有需求的农村地区延伸。", 1000),
    ("乡村学校百兆宽带接入全覆盖。", 100),
])
def test_rural_households_and_areas_are_the_village_tier(sentence, mbps):
    assert tiers(sentence) == [(mbps, "village", None)]


def test_levels_a_bandwidth_reaches_keep_one_row_each_and_no_upper_end():
    assert tiers("打造万兆到省市、千兆到县区的全光网络。") == [
        (10000, "province", None), (10000, "prefecture", None), (1000, "county", None)]
    assert tiers("城乡居民宽带接入能力持续提升。") == []  # no bandwidth, no row
