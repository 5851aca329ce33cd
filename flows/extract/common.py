"""Helpers shared by the extractors: sections by offset, sentence and clause spans, which text counts.

Every extractor reads the same normalized text with the same section rows; the helpers here decide
once which parts of a document are the plan proper (see ``EXTRACTED_KINDS``) and carve it into
paragraphs, sentences and clauses with exact offsets. Punctuation may come half- or full-width
(normalization canonicalizes it, but extractors must not depend on that), so every class below
lists both forms.
"""

from __future__ import annotations

import bisect
import re
import sys
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

if TYPE_CHECKING:
    from flows.extract.goals import GoalContext
    from flows.extract.tables import Table

# A sentence runs to its end mark (included) or to a line end; a paragraph is a line. Each is
# matched whole, trimmed of surrounding whitespace (``\s`` of a str pattern is ``str.isspace``):
# from its first non-space character to its non-space end mark, or to its last non-space
# character. One match per span instead of a Python loop over every split and blank.
_SENTENCE = re.compile(r"[^\s。；;！？!?](?:[^。；;！？!?\n]*[^\s。；;！？!?])?(?:[^\S\n]*[。；;！？!?])?|[。；;！？!?]")
_PARAGRAPH = re.compile(r"\S(?:[^\n]*\S)?")
# A clause ends at a comma-like mark too; 、 is not one (it separates the items of one list).
CLAUSE_END = "，,；;。！？!?：:\n"

# Section kinds whose text is the plan proper. Not extracted: `toc` (a table of contents repeats
# headings), `interpretation` (an appended 解读 restates the plan's targets: extracting it would
# count them twice), `signature` and `boilerplate` (issuer lines, page furniture).
EXTRACTED_KINDS = frozenset({"preamble", "body", "attachment"})

# Headings of sections that report the past (发展现状, 发展基础, 工作成效, “十三五”回顾 ...): a number
# there is a baseline or an achievement, a year there is not a goal.
_REPORT_HEADING = re.compile(
    r"(?:“?十[一二三四五]五”?(?:期间|时期|以来)?)?(?:发展|工作|建设|现有|已有|前期|取得的|主要)*"
    r"(?:现状|基础(?:条件)?|成效|成就|进展|回顾|成绩)"
    r"(?:(?:与|和|及|、)(?:发展|面临的?)?(?:形势|环境|挑战|问题|机遇|存在的?问题|现状|基础))*"
)
# ... a heading that is one of those titles and nothing else (夯实网络基础 is a task, and
# 一、发展现状和总体要求 holds the goals).
_FORWARD_HEADING = re.compile(r"目标|要求|任务|思路|原则|举措|措施|路径|重点|方向")


# A run of prose this long without an end mark is no sentence (no plan writes one; the longest in
# the seeds and corpus is under 400 characters): it is cut at its clause marks into pieces of at
# most this length, so that a row quoting its sentence (metrics.source_text) stays short and a
# document's rows grow with its length, not with its length times its values.
MAX_SENTENCE = 1000
_PIECE_END = re.compile(r"[，,：:、]")


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) spans of sentences in text[start:end], trimmed of surrounding whitespace."""
    spans = list(map(re.Match.span, _SENTENCE.finditer(text, start, len(text) if end is None else end)))
    if any(e - s > MAX_SENTENCE for s, e in spans):
        return [piece for s, e in spans for piece in ([(s, e)] if e - s <= MAX_SENTENCE else _pieces(text, s, e))]
    return spans


def _pieces(text: str, s: int, e: int) -> Iterator[tuple[int, int]]:
    """An overlong sentence cut after its last clause mark within MAX_SENTENCE characters (if
    that is past half of them, else at MAX_SENTENCE), each piece trimmed of whitespace."""
    while e - s > MAX_SENTENCE:
        limit = s + MAX_SENTENCE
        last = None
        for last in _PIECE_END.finditer(text, s + MAX_SENTENCE // 2, limit):
            pass
        cut = last.end() if last else limit
        piece_end = cut
        while piece_end > s and text[piece_end - 1].isspace():
            piece_end -= 1
        if piece_end > s:
            yield s, piece_end
        s = cut
        while s < e and text[s].isspace():
            s += 1
    if s < e:
        yield s, e


def paragraphs(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) spans of the non-empty lines of text[start:end], trimmed."""
    return map(re.Match.span, _PARAGRAPH.finditer(text, start, len(text) if end is None else end))


def enclosing(spans: list[tuple[int, int]], offset: int) -> tuple[int, int] | None:
    """The span of a sorted, non-overlapping list that contains offset, if any."""
    i = bisect.bisect_right(spans, (offset, float("inf"))) - 1
    if i >= 0 and spans[i][0] <= offset < spans[i][1]:
        return spans[i]
    return None


class SectionIndex:
    """Finds the innermost section that contains an offset, and what that section is."""

    def __init__(self, sections: list[dict[str, Any]]):
        self._rows = sorted(sections, key=lambda r: (r["char_start"], -r["char_end"]))
        self._starts = [r["char_start"] for r in self._rows]
        self._by_id = {r["section_id"]: r for r in self._rows}
        # every start and end: between two of them, the innermost section is the same
        self._bounds = sorted({r["char_start"] for r in self._rows} | {r["char_end"] for r in self._rows})
        self._extracted: dict[int, bool] = {}  # by the number of bounds up to the offset
        self._reports_past: dict[str, bool] = {}

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The section rows in text order."""
        return self._rows

    def at(self, offset: int) -> dict[str, Any]:
        i = bisect.bisect_right(self._starts, offset) - 1
        while i > 0:
            row = self._rows[i]
            if row["char_start"] <= offset < row["char_end"]:
                return row
            i -= 1
        return self._rows[max(i, 0)]

    def chain(self, offset: int) -> list[dict[str, Any]]:
        """The innermost section at offset, then its parent, up to the top level."""
        out = [self.at(offset)]
        while out[-1].get("parent_id") and out[-1]["parent_id"] in self._by_id and len(out) < 10:
            out.append(self._by_id[out[-1]["parent_id"]])
        return out

    def extracted(self, offset: int) -> bool:
        """Whether the text at offset is the plan proper (see EXTRACTED_KINDS). Asked for every
        sentence: answered once per stretch between two section bounds."""
        k = bisect.bisect_right(self._bounds, offset)
        known = self._extracted.get(k)
        if known is None:
            known = self._extracted[k] = all(r.get("kind", "body") in EXTRACTED_KINDS for r in self.chain(offset))
        return known

    def reports_past(self, offset: int) -> bool:
        """Whether the text at offset sits under a heading that reports results (发展现状 ...)."""
        row = self.at(offset)
        sid = row["section_id"]
        if sid not in self._reports_past:
            self._reports_past[sid] = any(
                _REPORT_HEADING.fullmatch(title.rstrip("。.：:； ")) and not _FORWARD_HEADING.search(title)
                for title in map(_heading_title, self.chain(offset))
            )
        return self._reports_past[sid]

    def own_text_end(self, row: dict[str, Any]) -> int:
        """Where a section's own text ends: at its first sub-section, else at its end."""
        i = bisect.bisect_right(self._starts, row["char_start"])
        for later in self._rows[i:]:
            if later["char_start"] >= row["char_end"]:
                break
            if later.get("parent_id") == row["section_id"]:
                return later["char_start"]
        return row["char_end"]

def _heading_title(row: dict[str, Any]) -> str:
    """A heading's title part: a run-in heading (（一）发展基础。近年来……) is cut at its first stop."""
    heading = (row.get("heading") or "").strip()
    m = re.match(r"[^。.：:；;，,]{1,30}[。.：:]", heading)
    return m.group(0) if m else heading[:30]




class Document:
    """One document as every extractor sees it: text, sections (and their index), sentences,
    paragraphs, tables and the goal context. ``extract_all`` builds one per document
    (``flows.extract.read_document``) and hands it to every extractor.

    The goal context is built from the document itself (its deadlines need the sentences and
    tables), by ``goal_context_of``: this module holds what every extractor shares and imports
    none of them.
    """

    def __init__(self, text: str, sections: list[dict[str, Any]], tables: list[Table],
                 goal_context_of: Callable[[Document], GoalContext]):
        self.text = text
        self.sections = sections
        self.index = SectionIndex(sections)
        self.sentences = sentences(text)
        self.paragraphs = list(paragraphs(text))
        self._sentence_starts = [s for s, _ in self.sentences]
        self.tables = tables
        self.goal_context = goal_context_of(self)
        # parse_issues rows the extractors saw on this document (flows/contract/issues.py)
        self.issues: list[dict[str, Any]] = []

    def sentence_at(self, offset: int) -> tuple[int, int] | None:
        i = bisect.bisect_right(self._sentence_starts, offset) - 1
        if i >= 0 and self.sentences[i][0] <= offset < self.sentences[i][1]:
            return self.sentences[i]
        return None

    def paragraph_at(self, offset: int) -> tuple[int, int] | None:
        return enclosing(self.paragraphs, offset)

    @cached_property
    def _code_points(self) -> np.ndarray:
        return np.frombuffer(self.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)

    def _offsets_of(self, chars: str) -> list[int]:
        """Offsets of every occurrence of any of ``chars``, in order (one lookup per code point,
        in C: a Python step per mark costs more on an ordinary plan)."""
        return np.flatnonzero(_membership(chars)[self._code_points]).tolist()

    @cached_property
    def _clause_bounds(self) -> list[int]:
        return self._offsets_of(CLAUSE_END)

    @cached_property
    def _line_ends(self) -> list[int]:
        return self._offsets_of("\n")

    @cached_property
    def _title_marks(self) -> tuple[list[int], list[int]]:
        marks = self._offsets_of("《》")
        return [i for i in marks if self.text[i] == "《"], [i for i in marks if self.text[i] == "》"]

    def clause(self, pos: int, start: int, end: int) -> tuple[int, int]:
        """The clause around pos within text[start:end] (CLAUSE_END marks bound it), looked up
        in the document's clause marks: scanning back and forth from every value costs the
        length of its sentence each time, quadratic in a sentence that runs for megabytes."""
        bounds = self._clause_bounds
        i = bisect.bisect_left(bounds, pos)
        c0 = bounds[i - 1] + 1 if i > 0 and bounds[i - 1] >= start else start
        c1 = bounds[i] if i < len(bounds) and bounds[i] < end else end
        return c0, c1

    def line_start(self, pos: int) -> int:
        """Offset of the start of the line holding pos."""
        ends = self._line_ends
        i = bisect.bisect_left(ends, pos)
        return ends[i - 1] + 1 if i > 0 else 0

    def in_title(self, start: int, pos: int) -> bool:
        """Whether pos sits inside a 《title》 opened at or after start."""
        opens, closes = self._title_marks
        i = bisect.bisect_left(opens, pos)
        if i == 0 or opens[i - 1] < start:
            return False
        j = bisect.bisect_left(closes, opens[i - 1])
        return not (j < len(closes) and closes[j] < pos)


@cache
def _membership(chars: str) -> np.ndarray:
    """Whether each code point is one of ``chars``."""
    table = np.zeros(sys.maxunicode + 1, dtype=bool)
    table[[ord(c) for c in chars]] = True
    return table
