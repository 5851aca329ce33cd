"""Helpers shared by the extractors: sections by offset, sentence spans."""

from __future__ import annotations

import bisect
import re
from typing import Any, Iterator

_SENTENCE_END = re.compile(r"[。；;！？!?\n]")


def sentences(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) spans of sentences in text[start:end], trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        yield from _trimmed(text, pos, m.end())
        pos = m.end()
    if pos < end:
        yield from _trimmed(text, pos, end)


def _trimmed(text: str, s: int, e: int) -> Iterator[tuple[int, int]]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        yield s, e


class SectionIndex:
    """Finds the innermost section that contains an offset."""

    def __init__(self, sections: list[dict[str, Any]]):
        self._rows = sorted(sections, key=lambda r: (r["char_start"], -r["char_end"]))
        self._starts = [r["char_start"] for r in self._rows]

    def at(self, offset: int) -> dict[str, Any]:
        i = bisect.bisect_right(self._starts, offset) - 1
        while i > 0:
            row = self._rows[i]
            if row["char_start"] <= offset < row["char_end"]:
                return row
            i -= 1
        return self._rows[max(i, 0)]
