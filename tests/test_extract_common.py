"""Shared helpers of the extractors (flows/extract/common.py) and the section builder the
extractor tests use for invented texts."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.extract import EXTRACTORS, extract_all
from flows.extract.common import EXTRACTED_KINDS, MAX_SENTENCE, Document, SectionIndex, paragraphs, sentences

_HEADING = re.compile(
    r"^(?:#+\s*)?(?:(?P<l1>[一二三四五六七八九十]+)、|[（(](?P<l2>[一二三四五六七八九十]+)[）)]|(?P<l3>\d+)[.．])\s*(?P<h>.+)$",
    re.M,
)


def build_sections(text: str, kinds: dict[str, str] | None = None, doc_id: str = "t") -> list[dict]:
    """Section rows for an invented text: a preamble, then one section per heading line (一、 /
    （一） / 1.), nested by level; ``kinds`` maps a heading word to a section kind (toc ...)."""
    kinds = kinds or {}
    heads = []
    for m in _HEADING.finditer(text):
        level = 1 if m.group("l1") else 2 if m.group("l2") else 3
        heads.append((m.start(), level, m.group("h").strip()))
    first = heads[0][0] if heads else len(text)
    rows = [dict(section_id=f"{doc_id}-0000", doc_id=doc_id, parent_id=None, level=0, heading=None,
                 kind="preamble", char_start=0, char_end=first)]
    stack: list[tuple[int, str]] = []
    for i, (start, level, heading) in enumerate(heads, 1):
        while stack and stack[-1][0] >= level:
            stack.pop()
        end = next((s for s, lv, _ in heads[i:] if lv <= level), len(text))
        kind = next((k for word, k in kinds.items() if word in heading), None)
        parent = stack[-1][1] if stack else None
        if kind is None:
            kind = next((r["kind"] for r in rows if r["section_id"] == parent), "body") if parent else "body"
        sid = f"{doc_id}-{i:04d}"
        rows.append(dict(section_id=sid, doc_id=doc_id, parent_id=parent, level=level, heading=heading,
                         kind=kind, char_start=start, char_end=end))
        stack.append((level, sid))
    return rows


def test_sentences_and_paragraphs_cut_on_both_widths():
    text = "到2025年，实现A；B达90%。\nC,D;E"
    assert [text[s:e] for s, e in sentences(text)] == ["到2025年，实现A；", "B达90%。", "C,D;", "E"]
    assert [text[s:e] for s, e in paragraphs(text)] == ["到2025年，实现A；B达90%。", "C,D;E"]


def test_an_overlong_sentence_is_cut_at_its_clause_marks():
    clauses = "".join(f"实现第{i}项任务，" for i in range(400))  # ~3,600 characters, no end mark
    text = "前言。" + clauses + "完成。后记。"
    spans = list(sentences(text))
    pieces = [text[s:e] for s, e in spans]
    assert pieces[0] == "前言。" and pieces[-1] == "后记。"
    assert "".join(pieces[1:-1]) == clauses + "完成。"  # nothing lost, nothing repeated
    assert all(e - s <= MAX_SENTENCE for s, e in spans)
    assert all(p.endswith("，") for p in pieces[1:-2])  # cut after a clause mark
    # without any mark the cut falls every MAX_SENTENCE characters
    bare = "数" * (2 * MAX_SENTENCE + 10) + "。"
    assert [e - s for s, e in sentences(bare)] == [MAX_SENTENCE, MAX_SENTENCE, 11]


def test_section_index_innermost_and_kinds():
    text = "前言\n一、总体要求\n（一）发展现状\n已建成A。\n（二）主要目标\n到2025年，B。\n二、目录\n三、解读\n到2025年"
    secs = build_sections(text, {"目录": "toc", "解读": "interpretation"})
    index = SectionIndex(secs)
    at = text.index("已建成")
    assert index.at(at)["heading"] == "发展现状"
    assert [r["heading"] for r in index.chain(at)] == ["发展现状", "总体要求"]
    assert index.reports_past(at)
    assert not index.reports_past(text.index("到2025年"))  # 主要目标 under 总体要求
    assert index.extracted(text.index("已建成"))
    assert not index.extracted(text.index("二、目录") + 3)
    assert not index.extracted(len(text) - 2)
    # answered per stretch between section bounds: the same as asking the chain at every offset
    for offset in range(-1, len(text) + 2):
        assert index.extracted(offset) == all(r.get("kind", "body") in EXTRACTED_KINDS for r in index.chain(offset))


def test_report_heading_that_also_announces_goals_is_not_a_report():
    text = "一、发展现状和总体要求\n（一）主要目标\n到2025年，A。"
    index = SectionIndex(build_sections(text))
    assert not index.reports_past(text.index("到2025年"))


def test_extract_all_hands_one_document_to_every_extractor(monkeypatch):
    text = "一、主要目标\n到2025年，A达到90%。\n| 指标 | 2025年 |\n| --- | --- |\n| 网办率（%） | 95 |\n"
    secs = build_sections(text)
    seen: list[Document] = []
    for table, extractor in list(EXTRACTORS.items()):
        monkeypatch.setitem(EXTRACTORS, table, lambda doc_id, doc, real=extractor: seen.append(doc) or real(doc_id, doc))
    rows = extract_all("t", text, secs)
    assert len(seen) == len(EXTRACTORS) and all(doc is seen[0] for doc in seen)
    doc = seen[0]
    assert (doc.text, doc.sections) == (text, secs)
    assert [t.start for t in doc.tables] == [text.index("| 指标")]
    assert [d.target_year for d in doc.goal_context.deadlines] == [2025]
    assert rows["goals"] and rows["metrics"]
    # a second document gets a Document of its own: nothing carries over between documents
    extract_all("u", text, build_sections(text))
    assert seen[-1] is not doc


def _plain_spans(text: str, ends: str, start: int, end: int) -> list[tuple[int, int]]:
    """The definition: cut text[start:end] after every end mark, strip each piece (str.isspace)."""
    spans, pos = [], start
    for i in range(start, end + 1):
        if i == end or text[i] in ends:
            s, e = pos, min(i + 1, end)
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                spans.append((s, e))
            pos = i + 1
    return spans


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="数字a1 \t\r\n\x0b\u3000\xa0\x1c。；;！？!?，.", max_size=40), st.data())
def test_sentence_and_paragraph_spans_are_their_definition(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert list(sentences(text, start, end)) == _plain_spans(text, "。；;！？!?\n", start, end)
    assert list(paragraphs(text, start, end)) == _plain_spans(text, "\n", start, end)
    assert list(sentences(text)) == _plain_spans(text, "。；;！？!?\n", 0, len(text))
