"""The fast forms of normalization helpers compute exactly what their plain definitions say."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.normalize.encoding import _common_chars, commonness
from flows.normalize.repairs import RepairLog
from flows.normalize.script import _changed_characters, _char_classes, _distinct, phrase_pattern
from flows.normalize.text import _sub

PHRASES = ["资料", "资料库", "数位", "数位化", "程式", "程式设计", "网路", "矽", "𨱏", "软体"]
ALPHABET = "资料库数位化程式设计网路矽𨱏软体的和𠀀a "


def _plain_commonness(text: str) -> float:
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 1.0
    punct = sum(1 for c in wide if 0x3000 <= ord(c) <= 0x303F or 0xFF00 <= ord(c) <= 0xFFEF
                or 0x2010 <= ord(c) <= 0x2027)
    pua = sum(1 for c in wide if 0xE000 <= ord(c) <= 0xF8FF)
    return (sum(1 for c in wide if c in _common_chars()) + punct - 3 * pua) / len(wide)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("数字政府々〇，。「」ＡＢ①\ue000\uf8ffé abc\x01龘𠀀—…")), max_size=40))
def test_commonness_is_its_definition(text):
    assert commonness(text) == _plain_commonness(text)


def test_commonness_counts_everyday_punctuation_twice_like_the_definition():
    assert commonness("々々") == _plain_commonness("々々") == 2.0  # 々 is both everyday and punctuation
    assert commonness("\ue000数") == _plain_commonness("\ue000数") == -1.0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_phrase_pattern_matches_the_longest_phrase_leftmost(text):
    plain = re.compile("|".join(map(re.escape, sorted(PHRASES, key=len, reverse=True))))
    for look_ahead in (True, False):
        found = [m.span() for m in phrase_pattern(PHRASES, look_ahead).finditer(text)]
        assert found == [m.span() for m in plain.finditer(text)]


@given(st.text(alphabet="的资資料料𠀀a", max_size=30), st.text(alphabet="的资資料料𠀀a", max_size=30))
def test_changed_characters_counts_differing_positions(a, b):
    expected = sum(x != y for x, y in zip(a, b)) if len(a) == len(b) else 1
    assert _changed_characters(a, b) == expected


def test_distinct_traditional_characters_include_ones_beyond_the_bmp():
    trad, simp = _char_classes()
    astral = next(c for c in trad[0] if ord(c) > 0xFFFF)
    assert _distinct(f"資料資{astral}{astral}𠀀abc", trad) == len({"資", astral} & trad[0]) + ("料" in trad[0])
    assert _distinct("资料资料", trad) == 0 and _distinct("资料资料", simp) == 1


def test_template_substitution_records_only_real_changes():
    pattern = re.compile(r"^(#{1,6} )?[(（][ ]*([一二三]+)[ ]*[)）]", re.M)
    repairs = RepairLog()
    assert _sub(pattern, r"\1（\2）", "（一）甲\n（二）乙", "heading_label", repairs) == "（一）甲\n（二）乙"
    assert repairs.count("heading_label") == 0  # canonical labels: nothing to record
    text = "（一）甲\n(二)乙\n## ( 三 )丙"
    new = _sub(pattern, r"\1（\2）", text, "heading_label", repairs)
    assert new == "（一）甲\n（二）乙\n## （三）丙"
    assert repairs.count("heading_label") == 2
    assert pattern.sub(lambda m: m.expand(r"\1（\2）"), text) == new


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=list("#（()）一二12.．、,， \n政a“"), max_size=40))
def test_label_rules_find_the_same_matches_after_a_newline(text):
    from flows.normalize.text import _LABEL_RULES, _after_newline

    for pattern, repl, _ in _LABEL_RULES:
        # a match at the newline before a line start is the match at that line start
        fast = [(m.start(), m.end() - 1, m.groups()) for m in _after_newline(pattern).finditer("\n" + text)]
        plain = [(m.start(), m.end(), m.groups()) for m in pattern.finditer(text)]
        assert fast == plain
        assert _after_newline(pattern).sub("\n" + repl, "\n" + text) == "\n" + pattern.sub(repl, text)


def test_joinable_shortcut_agrees_with_the_rules():
    from flows.normalize.text import _CLOSERS, HEADING_LABEL, _joinable

    assert not any(HEADING_LABEL.match(c + "一、x") for c in _CLOSERS)  # what the shortcut relies on
    assert _joinable("这是一句。", "》的通知", None) and _joinable("这是一句。", "，继续", None)
    assert not _joinable("这是一句。", "下一句", None) and not _joinable("# 标题。", "，继续", None)
    assert not _joinable("| a | b |。", "，继续", None)


def test_t2s_maps_characters_beyond_the_bmp_and_keeps_unmapped_ones():
    from flows.normalize.script import opencc_table, t2s

    astral = {k: v for k, v in opencc_table("TSCharacters.txt").items() if len(k) == 1 and ord(k) > 0xFFFF and k != v}
    assert astral  # OpenCC maps some: the list table must reach them
    k, v = next(iter(astral.items()))
    assert t2s(f"資料{k}𠀀\U0010FFFF") == f"资料{v}𠀀\U0010FFFF"
    assert t2s("資\ud800料") == "资\ud800料"  # a lone surrogate (undecodable input) goes through as is


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=list("資料庫數位軟體說明资料库数位软体说明的和𠀀𨱏a\n\ud800é"), max_size=60))
def test_character_counts_are_their_definitions(text):
    from flows.normalize.script import _outside_gb2312

    for classes in _char_classes():
        assert _distinct(text, classes) == len(set(text) & classes[0])
    assert _outside_gb2312(text) == len(text) - len(text.encode("gb2312", errors="ignore").decode("gb2312"))


def _plain_infer(cands, before, after, doc):
    from flows.normalize.mojibake import DOC_EVIDENCE, _jieba_stats, _t2s_chars

    words, table = _jieba_stats()[1], _t2s_chars()

    def plausible(p):
        han = sum(1 for ch in p if "\u4e00" <= ch <= "\u9fff")
        if han == 2:
            return "".join(table.get(c, c) for c in p) in words
        return han == 1 and any(ch.isdigit() for ch in p)

    scored = []
    for c in cands:
        ok = [p for p in (before + c, c + after) if len(p) == 2 and not p.isspace() and plausible(p) and not p.isascii()]
        if ok:
            scored.append((sum(doc.count(p) for p in ok), c))
    scored.sort(reverse=True)
    if not scored:
        return None
    second = scored[1][0] if len(scored) > 1 else 0
    return scored[0][1] if scored[0][0] >= 2 and scored[0][0] >= DOC_EVIDENCE * second else None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("政务服数字化据 2a（")), min_size=1, max_size=6),
       st.sampled_from(["", "政", "务", "2", " ", "a"]), st.sampled_from(["", "务", "据", "3", " "]),
       st.text(alphabet="政务服数字据化2 a", max_size=40))
def test_infer_is_its_definition(cands, before, after, doc):
    from flows.normalize.mojibake import _infer

    assert _infer(cands, before, after, doc) == _plain_infer(cands, before, after, doc)


class _Everything:
    def __contains__(self, item):
        return True


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["#", "## ", "-", "- ", "*", "**", "_", "__", "|", ">", " ", "　", "文字",
                                          "附件：1.表", "![图](a.png)", "[办法](b.pdf)", "1.", "---", "•"]),
                         max_size=5).map("".join), max_size=8))
def test_strip_markdown_shortcut_changes_nothing(lines):
    import flows.normalize.markdown as wrappers

    def run():
        repairs, attachments = RepairLog(), []
        out = wrappers.strip_markdown(list(lines), repairs, attachments)
        return out, [r.__dict__ for r in repairs.as_list()], attachments
    fast = run()
    saved = wrappers._MD_LINE_STARTS
    wrappers._MD_LINE_STARTS = _Everything()  # every line takes the full rules
    try:
        assert run() == fast
    finally:
        wrappers._MD_LINE_STARTS = saved


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["(", ")", "（", "）", "a", "政", "\n", "x" * 150]), max_size=12).map("".join))
def test_paren_pairs_are_the_plain_pairs_with_a_half_width_bracket(text):
    from flows.normalize.text import _PAREN_PAIR

    plain = re.compile(r"([(（])([^()（）\n]{0,200})([)）])")
    expected = [(m.span(), m.groups()) for m in plain.finditer(text) if (m.group(1), m.group(3)) != ("（", "）")]
    assert [(m.span(), m.groups()) for m in _PAREN_PAIR.finditer(text)] == expected
