"""Goals: statements with a deadline, and the year context other extractors read targets in.

What is a deadline (each form has invented-sentence tests in tests/test_extract_goals.py):
- ``到2025年，…`` / ``至2025年`` / ``到2025年底前`` / ``到2023年6月底`` (到/至 + a year);
- ``2025年底前`` / ``2025年前`` (a year + 前);
- ``到“十四五”末`` (十四五 → 2025, 十三五 → 2020, 十五五 → 2030);
- a phase: ``（一）补齐短板阶段（2021—2022年）`` (start_year 2021, target_year 2022), also 近期/中期/
  远期/第一步 and single-year phases ``深化拓展阶段（2025年）``.
What is not: a year naming a document (``2035年远景目标纲要``, anything inside 《》), a period
(``2021年至2025年``, ``规划期（2021—2025年）``), a date with a day (``2023年4月12日印发``,
``有效期至2028年4月12日``), a report of the past (``截至2022年底``, ``到2020年，全省已…`` or any
deadline under a 发展现状/发展基础 heading), text outside the plan proper (see common.py), and
table rows (a task breakdown table's ``2023年底前`` cells are task deadlines, not goal statements).

goal_type: ``phase`` for phases; ``overall`` for a deadline that opens its sentence in a 目标
section and is not a step of a chain (到2025年，… / 到2035年，…: the headline, near and long term);
``milestone`` for the rest: chains (``到2023年，…；到2024年，…；到2025年，…``, or three or more dated
steps in one paragraph) and deadlines of a single task or domain.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

from flows.budget import CHECK_EVERY, check
from flows.extract.common import Document, SectionIndex, enclosing
from flows.patterns.numerals import cn_int
from flows.patterns.plan_periods import FIVE_YEAR_PLAN, five_year_plan_end
from flows.structure.metadata import title_period

_CN_DIGIT = "〇○零一二三四五六七八九"
YEAR = rf"19\d\d|20\d\d|二[{_CN_DIGIT}]{{3}}"  # each alternative starts with a literal: the engine scans for them
_OPEN_Q, _CLOSE_Q = "[“\"「『‘']?", "[”\"」』’']?"

_YEAR_MENTION = re.compile(rf"(?P<year>{YEAR})\s*年")
# 到/至 right before the year, but not 截至/截止到/有效期至 (reports, validity) nor a period's 2021年至
_TO_BEFORE = re.compile(r"(?:到|至)\s*$")
_NOT_TO_BEFORE = re.compile(r"(?:截至|截止到?|有效期至|期限至)\s*$|[\d年]\s*(?:到|至)\s*$")
_TO_TAIL = re.compile(
    r"(?:\s*(?P<month>\d{1,2}|[一二三四五六七八九十]{1,3})\s*月(?:份)?)?"
    r"(?P<day>\s*\d{1,2}\s*日)?(?:\s*(?:年?底|年?末))?(?:\s*前)?"
)
_BEFORE_TAIL = re.compile(r"(?:\s*\d{1,2}\s*月)?\s*(?:年?底|年?末)?\s*前(?![后三两几])")
_FIVE_YEAR_END = re.compile(
    rf"(?:到|至)\s*{_OPEN_Q}{FIVE_YEAR_PLAN.pattern}{_CLOSE_Q}\s*(?:规划)?\s*(?:期末|末期|时期末|末|收官之年)"
)
_PHASE_WORD = (
    r"(?:[^\s，。；,;：:（(）)]{0,12}?阶段|近期|中期|远期|第[一二三四五六七八九十]步"
    r"|起步期|攻坚期|提升期|完善期|巩固期|推广期|试点期|深化期|拓展期|成熟期)"
)
_PHASE_YEARS = re.compile(
    rf"[（(]\s*(?P<y1>{YEAR})\s*年?(?:\s*[—–\-－~～至到]+\s*(?P<y2>{YEAR})\s*年?)?\s*[）)]"
)
_PHASE_NAMED = re.compile(rf"(?P<word>{_PHASE_WORD})\s*(?:目标)?\s*$")
# A phase heading starts its line: a label and a few words at most before the phase word.
_LINE_LEAD = re.compile(r"[\s#*>]*(?:[（(]?[一二三四五六七八九十\d]{1,3}[）)、.．]\s*)?")
# Words that may stand before a deadline that still opens its sentence.
_LEAD_WORDS = re.compile(
    r"[\s—\-－•·*#>]*(?:[（(]?[一二三四五六七八九十\d]{1,3}[）)、.．]\s*)?"
    r"(?:力争|争取|预计|计划|目标是|总体目标是|主要目标是)?[，,：:\s]*$"
)
_PAST = re.compile(r"已(?!有|经?建成的|建的)|已经")
_GOAL_HEADING = re.compile(r"目标")
_SENTENCE_END = re.compile(r"[。；;！？!?\n]")


@dataclass(frozen=True)
class Deadline:
    start: int
    end: int
    target_year: int
    start_year: int | None
    phase: bool
    relative: bool = False  # 年底前, 年内, 6月底前: the year is the plan's own (see plan_year)
    rule: str = "year_before"  # the rule that found it: goals.extractor (schemas/goals.yaml)


# Deadlines an annual plan writes without a year (年底前, 年内, 年末前, 6月底前, 三季度末前), not
# after a number, a year or a word that makes them another year's or every year's (3年内 is a
# duration, 2024年底前 a deadline of its own, 每年底前 a routine, 上年底 the past).
_RELATIVE = re.compile(
    r"(?<![\d〇○零一二三四五六七八九十两几年度季每上去前明次当该同历近半数多整])"
    r"(?:(?:本|今)?年(?:底|末)前?|(?:本|今)?年内(?![容外部])"
    r"|(?:1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])\s*月(?:份)?(?:底|末)?前"
    r"|[一二三四1-4]\s*季度(?:末|底)?前)"
)
# An annual plan's title: one year, then a plan's genre (2024年数字政府建设工作要点).
_ANNUAL_TITLE = re.compile(
    r"[^\n\d]{0,30}?(?P<year>(?:19|20)\d\d)\s*年度?(?![\d—–\-－~～至到])[^\n\d]{0,40}?"
    r"(?:工作要点|要点|工作计划|行动计划|计划|工作方案|实施方案|方案|任务清单|清单|工作安排|安排)"
)
_DATE_LINE = re.compile(r"((?:19|20)\d\d)\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")


def _head_lines(doc: Document) -> list[str]:
    """The first lines of the preamble (or of the text), where a title stands."""
    head = [r for r in doc.index.rows if r.get("kind") == "preamble"]
    head_end = head[0]["char_end"] if head else min(len(doc.text), 400)
    return doc.text[:head_end].splitlines()[:12]


def plan_year(doc: Document) -> int | None:
    """The year an annual plan is for: its title's (2024年数字政府建设工作要点, one year only), else
    the year it is dated (the last date of its signature or preamble). None when neither says."""
    text = doc.text
    for line in _head_lines(doc):
        line = line.strip().lstrip("#").strip()
        m = _ANNUAL_TITLE.match(line)
        if m and len(_YEAR_MENTION.findall(line)) == 1:
            return int(m.group("year"))
    for r in doc.index.rows:
        if r.get("kind") in ("signature", "preamble"):
            dated = _DATE_LINE.findall(text, r["char_start"], r["char_end"])
            if dated:
                return int(dated[-1])
    return None


def _relative_deadlines(doc: Document, covered: list[tuple[int, int]]) -> list[Deadline]:
    """年底前 / 年内 / 6月底前 of an annual plan, dated by the plan's own year (``relative``)."""
    if not _RELATIVE.search(doc.text):
        return []
    year = plan_year(doc)
    if year is None:
        return []
    return [Deadline(m.start(), m.end(), year, None, False, relative=True, rule="plan_year_relative")
            for m in _RELATIVE.finditer(doc.text)
            if not enclosing(covered, m.start()) and not _names_a_document(doc.text, m.start(), m.end())]


def year_value(text: str) -> int:
    """2025 or 二〇二五 as an int."""
    return cn_int(text)


def find_deadlines(doc: Document) -> list[Deadline]:
    """Every deadline and phase in the plan proper, in text order, past reports excluded."""
    text, index = doc.text, doc.index
    found: list[Deadline] = []
    for m in _PHASE_YEARS.finditer(text):
        line_start = doc.line_start(m.start())
        named = _PHASE_NAMED.search(text, max(line_start, m.start() - 20), m.start())
        if not named or "规划期" in named.group("word"):
            continue
        lead = _LINE_LEAD.match(text, line_start).end()
        if named.start() - lead > 12:
            continue
        y1 = year_value(m.group("y1"))
        y2 = year_value(m.group("y2")) if m.group("y2") else y1
        if y2 >= y1:
            found.append(Deadline(named.start(), m.end(), y2, y1, True, rule="phase_years"))
    for m in _FIVE_YEAR_END.finditer(text):
        found.append(Deadline(m.start(), m.end(), five_year_plan_end(m["ordinal"]), None, False,
                              rule="five_year_plan_end"))
    covered = _union([(d.start, d.end) for d in found])  # phases and 十四五末 hold their years
    for k, m in enumerate(_YEAR_MENTION.finditer(text)):
        if not k % CHECK_EVERY:
            check()
        if enclosing(covered, m.start()):
            continue
        pre = text[max(0, m.start() - 6):m.start()]
        to = _TO_BEFORE.search(pre)
        if to and not _NOT_TO_BEFORE.search(pre):
            tail = _TO_TAIL.match(text, m.end())
            if tail.group("day"):
                continue  # a date to the day is an event or a validity, not a deadline
            start, end = m.start() - (len(pre) - to.start()), tail.end()
        else:
            if pre.endswith(("到", "至")) or (pre and pre[-1].isdigit()):
                continue
            tail = _BEFORE_TAIL.match(text, m.end())
            if not tail:
                continue
            start, end = m.start(), tail.end()
        if _names_a_document(text, start, end):
            continue
        found.append(Deadline(start, end, year_value(m.group("year")), None, False,
                              rule="to_year" if to and not _NOT_TO_BEFORE.search(pre) else "year_before"))
    found += _relative_deadlines(doc, _union([(d.start, d.end) for d in found]))
    found.sort(key=lambda d: d.start)
    tables = [(t.start, t.end) for t in doc.tables]
    return [
        d for d in found
        if 1990 <= d.target_year <= 2100 and index.extracted(d.start) and not index.reports_past(d.start)
        and (d.phase or not _reports_past(text, d)) and not enclosing(tables, d.start)
    ]


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans covering the same offsets as ``spans``."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _names_a_document(text: str, start: int, end: int) -> bool:
    """A year inside 《…》 or in 2035年远景目标 names a document, not a deadline."""
    if re.match(r"\s*(?:年)?\s*远景目标", text[end:end + 8]):
        return True
    opened = text.rfind("《", max(0, start - 80), start)
    return opened >= 0 and text.find("》", opened, start) < 0


def _reports_past(text: str, d: Deadline) -> bool:
    """到2020年底，全省已建成… reports what was done by then."""
    window = d.end + 60
    sentence_end = _SENTENCE_END.search(text, d.end, window)
    return bool(_PAST.search(text, d.end, sentence_end.start() if sentence_end else window))


def _leads_sentence(text: str, sentence_start: int, d: Deadline) -> bool:
    return bool(_LEAD_WORDS.fullmatch(text, sentence_start, d.start))


def extract_goals(doc_id: str, doc: Document) -> list[dict[str, Any]]:
    text = doc.text
    index = doc.index
    context = doc.goal_context
    rows = []
    for i, d in enumerate(context.deadlines):
        if not i % CHECK_EVERY:
            check()
        para = doc.paragraph_at(d.start) or (d.start, d.end)
        sent = doc.sentence_at(d.start) or para
        leading = _leads_sentence(text, sent[0], d)
        if d.phase:
            goal_type = "phase"
            start, end = _phase_statement(text, index, para)
        else:
            headings = " ".join((r.get("heading") or "")[:20] for r in index.chain(d.start)[:2])
            in_goal_section = bool(_GOAL_HEADING.search(headings))
            chained = _in_chain(context, sent, para)
            goal_type = "overall" if (leading and in_goal_section and not chained) else "milestone"
            start, end = _statement(context, sent, para, i, leading)
        rows.append(dict(
            goal_id=f"{doc_id}-g{i:04d}", doc_id=doc_id, section_id=index.at(start)["section_id"],
            goal_type=goal_type, start_year=d.start_year, target_year=d.target_year,
            deadline_text=text[d.start:d.end].strip(), statement=text[start:end],
            char_start=start, char_end=end, extractor=d.rule,
        ))
    return rows


def _phase_statement(text: str, index: SectionIndex, para: tuple[int, int]) -> tuple[int, int]:
    """A phase heading governs its section's own text; a phase line in prose, its paragraph."""
    sec = index.at(para[0])
    if sec["char_start"] <= para[0] and not text[sec["char_start"]:para[0]].strip():
        end = index.own_text_end(sec)
        while end > para[0] and text[end - 1].isspace():
            end -= 1
        return para[0], max(end, para[1])
    return para


def _in_chain(context: GoalContext, sent: tuple[int, int], para: tuple[int, int]) -> bool:
    """Whether a deadline is one step of a chain: its paragraph dates three steps or more
    (2019年底前…。到2020年底前…。到2022年底前…), or it is linked by ；to another deadline
    (到2023年，…；到2024年，…). One or two deadlines opening their paragraph's sentences (到2025年…。
    到2035年…) are the plan's headline: near term and long term."""
    doc, text = context.doc, context.text
    if context.distinct_years(*para) >= 3:
        return True
    if text[sent[1] - 1] in "；;" and context.has_deadline(max(sent[1], para[0]), para[1]):
        return True
    before = doc.sentence_at(sent[0] - 1) if sent[0] >= 1 else None
    if before is None and sent[0] >= 2:
        before = doc.sentence_at(sent[0] - 2)
    return bool(before and text[before[1] - 1] in "；;"
                and context.has_deadline(max(before[0], para[0]), min(before[1], para[1])))


def _statement(context: GoalContext, sent: tuple[int, int], para: tuple[int, int], i: int,
               leading: bool) -> tuple[int, int]:
    """A deadline that opens its sentence governs the sentences up to the next deadline of its
    paragraph (or the paragraph's end); one inside a sentence governs its clauses up to the next
    deadline of that sentence. (Neighbouring deadlines are looked up by offset: a paragraph or a
    sentence may hold thousands.)"""
    doc, text, deadlines = context.doc, context.text, context.deadlines
    d = deadlines[i]
    start, end = sent
    lo, hi = context.indices(max(sent[0], para[0]), min(sent[1], para[1]))  # in the sentence
    next_in_sentence = bisect.bisect_right(context.starts, d.start, lo, hi)
    later = deadlines[next_in_sentence] if next_in_sentence < hi else None
    if leading and later is None:
        after, stop = context.indices(max(sent[1], para[0]), para[1])
        if after < stop:
            next_sentence = doc.sentence_at(deadlines[after].start)
            end = next_sentence[0] if next_sentence else deadlines[after].start
        else:
            end = para[1]
        while end > start and text[end - 1].isspace():
            end -= 1
        return start, max(end, sent[1])
    if later is not None:
        cut = max(text.rfind(c, d.end, later.start) for c in "，,")
        if cut > d.end:
            end = cut + 1
    previous = bisect.bisect_left(context.starts, d.start, lo, hi) - 1
    if previous >= lo:
        cut = max(text.rfind(c, deadlines[previous].end, d.start) for c in "，,")
        if cut >= 0:
            start = cut + 1
    return start, end


class GoalContext:
    """The deadlines of a document and the year a target stated at some offset is due.

    Every question is answered by bisecting the deadlines' offsets or from tables built once
    over the deadlines: a document may hold hundreds of thousands of deadlines and values, so
    nothing here scans the deadlines of a paragraph, sentence or section per question."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.text = doc.text
        self.index = doc.index
        self.deadlines = find_deadlines(doc)
        self.plan_end = title_period(_head_lines(doc))[1]
        self.starts = [d.start for d in self.deadlines]
        # the first deadline of the run of equal target years each deadline closes
        self._same_year_from: list[int] = []
        for i, d in enumerate(self.deadlines):
            same = i > 0 and self.deadlines[i - 1].target_year == d.target_year
            self._same_year_from.append(self._same_year_from[-1] if same else i)
        self._distinct_years: dict[tuple[int, int], int] = {}
        self._leading: list[int] = []  # deadlines opening their sentence
        self._colon: list[int] = []  # deadlines in a paragraph ending in ：
        self._phases: list[int] = []
        self._opening: list[int] = []  # deadlines opening their paragraph (到2025年，…)
        self._horizons: dict[tuple[str, int], Deadline | None] = {}
        for i, d in enumerate(self.deadlines):
            sent = doc.sentence_at(d.start)
            if _leads_sentence(self.text, sent[0] if sent else d.start, d):
                self._leading.append(i)
                opened = doc.paragraph_at(d.start)
                if opened and (sent is None or sent[0] == opened[0]) and not d.relative:
                    self._opening.append(i)
            p = doc.paragraph_at(d.start)
            if p and self.text[p[1] - 1] in "：:":
                self._colon.append(i)
            if d.phase:
                self._phases.append(i)

    def indices(self, start: int, end: int) -> tuple[int, int]:
        """The range of deadline indices that start in [start, end)."""
        return bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, max(start, end))

    def has_deadline(self, start: int, end: int) -> bool:
        lo, hi = self.indices(start, end)
        return lo < hi

    def distinct_years(self, start: int, end: int) -> int:
        """How many different target years the deadlines in [start, end) have (memoized: asked
        for every deadline of a paragraph)."""
        key = (start, end)
        if key not in self._distinct_years:
            lo, hi = self.indices(start, end)
            self._distinct_years[key] = len({d.target_year for d in self.deadlines[lo:hi]})
        return self._distinct_years[key]

    def _one_year(self, lo: int, hi: int) -> bool:
        return lo < hi and self._same_year_from[hi - 1] <= lo

    @staticmethod
    def _last(indices: list[int], lo: int, hi: int) -> int | None:
        """The last of sorted ``indices`` within [lo, hi)."""
        j = bisect.bisect_left(indices, hi) - 1
        return indices[j] if j >= 0 and indices[j] >= lo else None

    def year_at(self, offset: int) -> int | None:
        return self.year_source_at(offset)[0]

    def year_source_at(self, offset: int) -> tuple[int | None, str | None]:
        """The year a target stated at offset is due, and where it came from (metrics.
        target_year_source): the sentence (its nearest deadline), else the paragraph (a deadline
        opening one of its sentences), else the sections around it (a phase heading; a deadline
        in an enclosing section's introduction; an introduction ending in ：that precedes it; a
        deadline opening an earlier paragraph of its own section, the goal whose sub-paragraphs
        detail it: 到2025年，… then ——政务服务…95%), else the end of the plan's own period when
        its title names one (document), else (None, None). A relative deadline (年底前) gives the
        plan's own year with the source ``plan_year``."""
        if not self.deadlines:
            return (self.plan_end, "document") if self.plan_end is not None else (None, None)
        sent = self.doc.sentence_at(offset) or (offset, offset + 1)
        lo, hi = self.indices(*sent)
        if lo < hi:
            before = bisect.bisect_right(self.starts, offset, lo, hi) - 1
            return self._dated(before if before >= lo else lo, "sentence")
        para = self.doc.paragraph_at(offset) or sent
        leading = self._last(self._leading, *self.indices(para[0], offset))
        if leading is not None:
            return self._dated(leading, "paragraph")
        for depth, sec in enumerate(self.index.chain(offset)):
            intro_end = self.index.own_text_end(sec)
            lo, hi = self.indices(sec["char_start"], min(intro_end, offset))
            if depth > 0 and self._one_year(lo, hi):
                return self._dated(lo, "section")
            if depth == 0:
                # the last deadline of the introduction in a paragraph ending in ：, or a phase
                # whose paragraph opens the section
                found = [self._last(self._colon, lo, hi)]
                opening = self.doc.paragraph_at(sec["char_start"])
                if opening and opening[0] == sec["char_start"]:
                    found.append(self._last(self._phases, lo, min(hi, self.indices(*opening)[1])))
                found = [i for i in found if i is not None]
                if found:
                    return self._dated(max(found), "section")
                # else the last goal opening an earlier paragraph of the section
                earlier = self._last(self._opening, lo, min(hi, self.indices(sec["char_start"], para[0])[1]))
                if earlier is not None:
                    return self._dated(earlier, "section")
        if self.plan_end is not None:
            return self.plan_end, "document"  # the plan's own period: 规划（2023—2025年）
        return None, None

    def _dated(self, i: int, source: str) -> tuple[int, str]:
        d = self.deadlines[i]
        return d.target_year, ("plan_year" if d.relative else source)

    def horizon(self, offset: int) -> int | None:
        """The plan horizon a table at offset sits under: the nearest year of the goals opening a
        paragraph of its section, or of the sections around it (到2025年 rather than the 2035
        vision stated after it); None when no such goal precedes it."""
        for sec in self.index.chain(offset):
            lo, hi = self.indices(sec["char_start"], min(self.index.own_text_end(sec), offset))
            key = (sec["section_id"], hi)
            if key not in self._horizons:  # (asked for every row of a table)
                a, b = bisect.bisect_left(self._opening, lo), bisect.bisect_left(self._opening, hi)
                self._horizons[key] = min((self.deadlines[i] for i in self._opening[a:b]),
                                          key=lambda d: d.target_year, default=None)
            if self._horizons[key] is not None:
                return self._horizons[key].target_year
        return None
