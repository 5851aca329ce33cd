"""Script decision and conversion: simplified untouched, t2s for traditional, Taiwan phrasing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.gate.rules import unnormalized_text_regex
from flows.normalize.text import normalize_text
from flows.normalize.repairs import RepairLog
from flows.normalize.script import detect_script, opencc_table, t2s, to_simplified, traditional_only_chars, tw_phrase_table
from tests.conftest import SEEDS

MAINLAND_TRAD = ("關於加強數字政府建設的實施意見。推進檔案數字化，完善審批程序，加強信息共享，"
                 "建設網絡安全體系，提升數據庫管理水平，優化營商環境，強化監測預警指標。")
TAIWAN_TRAD = ("關於加強數位政府建設的實施意見。將數位技術廣泛套用於政府管理，建設基礎資料庫，"
               "完善網路安全，推動智慧型化應用，實現流程最佳化，加強巨觀經濟分析，加快網際網路+政務服務。"
               "推進檔案數位化，完善審批程序，強化監測預警指標。")
SIMPLIFIED = "关于加强数字政府建设的实施意见。推进档案数字化，完善审批程序，加强信息共享，建设网络安全体系。"


def test_simplified_text_is_not_converted_and_costs_no_repair():
    repairs = RepairLog()
    text, script = to_simplified(SIMPLIFIED, repairs)
    assert (text, script) == (SIMPLIFIED, "simplified")
    assert not repairs.by_kind


def test_plain_traditional_gets_t2s_only():
    repairs = RepairLog()
    text, script = to_simplified(MAINLAND_TRAD, repairs)
    assert script == "traditional"
    for word in ("档案", "程序", "信息", "网络", "数据库", "指标"):
        assert word in text
    assert repairs.count("script_conversion") > 0
    assert repairs.count("tw_phrasing") == 0
    assert repairs.by_kind["script_conversion"].examples


def test_taiwan_phrasing_is_reversed_without_damaging_mainland_words():
    repairs = RepairLog()
    text, script = to_simplified(TAIWAN_TRAD, repairs)
    assert script == "traditional_tw"
    for gone in ("数位", "套用", "资料库", "网路", "智慧型", "最佳化", "巨观", "网际网路"):
        assert gone not in text
    for kept in ("数字政府", "应用", "数据库", "网络安全", "智能化", "优化", "宏观经济", "互联网+政务服务",
                 "档案数字化", "审批程序", "预警指标"):
        assert kept in text
    assert repairs.count("tw_phrasing") >= 8


def test_taiwan_reversal_never_touches_simplified_or_mainland_traditional():
    assert "档案" in to_simplified(MAINLAND_TRAD, RepairLog())[0]
    text, _ = to_simplified(SIMPLIFIED + "推进智慧城市建设，开展数据整合与文件管理。", RepairLog())
    assert "智慧城市" in text and "整合" in text and "文件管理" in text


def test_a_few_traditional_characters_do_not_make_a_text_traditional():
    text = SIMPLIFIED + "乾隆年間的檔案。"
    assert detect_script(text)[0] == "simplified"


def test_fast_t2s_matches_opencc():
    import opencc

    sample = MAINLAND_TRAD + TAIWAN_TRAD + "一目瞭然，乾坤，不瞭解，著作，著力，髮型，頭髮，發展。"
    assert t2s(sample) == opencc.OpenCC("t2s").convert(sample)


@pytest.mark.parametrize("tw,mainland", [("套用", "应用"), ("巨观", "宏观"), ("回响", "响应"),
                                         ("数位", "数字"), ("资料库", "数据库"), ("网路", "网络"),
                                         ("网际网路", "互联网"), ("智慧型", "智能"), ("最佳化", "优化")])
def test_domain_phrase_table(tw, mainland):
    table, _, _ = tw_phrase_table()
    assert table[tw] == mainland


@pytest.mark.parametrize("protected", ["档案", "程序", "指标", "智慧", "整合", "执行", "文件", "效能"])
def test_harmful_opencc_entries_are_dropped(protected):
    table, _, _ = tw_phrase_table()
    assert protected not in table


def test_script_conversion_is_recorded_with_examples():
    result = normalize_text(TAIWAN_TRAD)
    kinds = {r.kind: r for r in result.repairs}
    assert result.script == "traditional_tw"
    assert kinds["script_conversion"].count >= 30
    assert any("→" in e for e in kinds["tw_phrasing"].examples)


# --- one table for the normalizer and the gate ----------------------------------------------
# What the gate calls traditional (flows.gate.rules.unnormalized_text_regex) the normalizer
# converts in every text, a simplified one included; what a simplified text may use (a character
# t2s keeps in a phrase, a simplified form of its own, a GB2312 character) neither flags nor
# converts.

PLAN = (
    "某省数字政府建设方案\n一、总体要求\n到2025年，政务服务事项全程网办率达到90%，"
    "数据共享能力全面提升，网络安全保障体系基本完善。\n二、主要任务\n"
)
GATE = re.compile(unnormalized_text_regex())
TRADITIONAL = sorted(traditional_only_chars())
# characters t2s's character table changes that a simplified text may use
SIMPLIFIED_TOO = sorted({t for t, s in opencc_table("TSCharacters.txt").items() if len(t) == 1 and t != s}
                        - set(TRADITIONAL))


def test_traditional_words_in_a_simplified_plan_are_converted():
    doc = normalize_text(PLAN + "（一）持續优化营商环境。\n（二）推進数字化改革，落實安全责任。\n")
    assert doc.script == "simplified"
    assert "（一）持续优化营商环境。\n（二）推进数字化改革，落实安全责任。" in doc.text
    assert not GATE.search(doc.text)
    (conversion,) = [r for r in doc.repairs if r.kind == "script_conversion"]
    assert conversion.count == 3


def test_a_variant_the_gate_accepts_is_kept():
    # 苧 is the simplified form of 薴 in OpenCC's tables (while t2s maps it to 苎): a simplified
    # text may use it, so neither the gate nor the normalizer touches it
    doc = normalize_text(PLAN + "推进苧麻产业数字化。\n")
    assert "苧麻" in doc.text and not GATE.search(doc.text)


def test_characters_a_simplified_text_uses_are_not_mangled():
    text = PLAN + "弘扬乾隆时期的档案文化，显著提升醣类检测能力，甯波同志牵头。\n"
    doc = normalize_text(text)
    assert "乾隆" in doc.text and "显著" in doc.text and "醣类" in doc.text and "甯波" in doc.text
    assert not GATE.search(doc.text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(TRADITIONAL), min_size=1, max_size=8))
def test_whatever_the_gate_calls_traditional_the_normalizer_converts(chars):
    doc = normalize_text(PLAN + "（一）加强" + "".join(chars) + "建设。\n")
    assert not GATE.search(doc.text), [c for c in chars if c in doc.text]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(SIMPLIFIED_TOO), min_size=1, max_size=3))
def test_whatever_the_gate_accepts_the_normalizer_keeps_in_a_simplified_text(chars):
    inserted = "".join(chars)
    doc = normalize_text(PLAN + "（一）加强" + inserted + "建设。\n")
    assert not GATE.search(doc.text)
    assert inserted in doc.text or doc.script != "simplified"


def test_a_traditional_copy_of_a_gb_mojibake_plan_leaves_no_traditional_character():
    """Seed 002 is a traditional plan with GBK text decoded one byte off. In its traditional
    copy some runs repair only on the second pass, after the script conversion: their headings
    came back in traditional script (持續优化) in an otherwise simplified text."""
    from flows.tooling.bench import _to_traditional

    (seed,) = [p for p in SEEDS if p.name.startswith("002")]
    copy = _to_traditional(seed.read_text(encoding="utf-8"))
    doc = normalize_text(copy)
    assert doc.script == "traditional"
    assert not GATE.findall(doc.text)


def test_a_later_pass_over_a_traditional_document_converts_with_phrases():
    """A run a later pass repairs (see the test above) comes back in the script of its bytes; in
    a document an earlier pass found traditional it is converted with t2s's phrases too."""
    repaired = SIMPLIFIED + "（一）保持環境乾淨整潔。"
    text, script = to_simplified(repaired, RepairLog(), known_script="traditional")
    assert script == "simplified" and text.endswith("（一）保持环境干净整洁。")
    # in a simplified document only the traditional-only characters change (乾 may be simplified)
    text, _ = to_simplified(repaired, RepairLog())
    assert text.endswith("（一）保持环境乾净整洁。")
