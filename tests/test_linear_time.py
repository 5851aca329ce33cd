"""Every stage is linear in a document's length, lines, sections, sentences, goals and metrics.

Measured as work, not seconds: ``work_of`` counts the lines of Python that run in ``flows/``
(``sys.settrace`` line events: a loop's every iteration, a comprehension's every item), a
deterministic count for a given input and code. The shapes are the hostile ones that were
quadratic (a plan of short numbered lines, one long line of clauses, one paragraph of numbered
sentences) and one of many sections, each at 1x, 10x and 100x: ten times the input must cost
about ten times the work, where a quadratic step costs a hundred times. The work done in C is
counted apart where it can be: the characters extraction copies in slices and may scan with
find/rfind (``CopyCountingText``). The regex engine's own scans are not counted; every regex
search in the extractors is bounded to a clause, a sentence or a fixed window, or looked up in an
index (flows/extract/common.py).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from flows.extract import extract_all
from flows.ingest.raw_files import RawDoc
from flows.normalize.text import normalize_text
from flows.pipeline import process_document, warm_up
from flows.structure.sections import parse_sections

FLOWS = str(Path(__file__).resolve().parents[1] / "flows")
# 10x the input may cost at most this many times the work (linear, plus what is fixed per
# document shrinking in proportion); a quadratic step gives ~100.
MAX_RATIO = 12


def work_of(fn: Callable[..., Any], *args: Any, under: str = FLOWS) -> int:
    """Lines of Python run in files under ``under`` while ``fn(*args)`` runs."""
    count = 0

    def in_frame(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return in_frame

    def on_call(frame, event, arg):
        return in_frame if frame.f_code.co_filename.startswith(under) else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        fn(*args)
    finally:
        sys.settrace(previous)
    return count


class CopyCountingText(str):
    """A text that counts the characters its slices copy and its find/rfind calls may scan: the
    work a repair does outside the regex engine, deterministic."""

    work = 0

    def __getitem__(self, key):
        out = str.__getitem__(self, key)
        CopyCountingText.work += len(out)
        return out

    def _span(self, start, end):
        start = 0 if start is None else start
        end = len(self) if end is None else end
        CopyCountingText.work += max(0, end - start)

    def find(self, sub, start=None, end=None):
        self._span(start, end)
        return str.find(self, sub, start, end)

    def rfind(self, sub, start=None, end=None):
        self._span(start, end)
        return str.rfind(self, sub, start, end)


def numbered_lines(n: int) -> str:
    return "某省数字政府建设实施方案\n一、总体要求\n" + "".join(
        f"（{i}）加强组织领导。到2025年，实现政务服务事项{i % 100}%全程网办。\n" for i in range(1, n + 1))


def one_long_line(n: int) -> str:
    """One sentence of clauses: every deadline and value in one sentence and one paragraph."""
    return "某省数字政府建设实施方案\n一、总体要求\n" + "".join(
        f"加强组织领导，到2025年，实现政务服务事项{i % 100}%全程网办，" for i in range(n)) + "。\n"


def one_paragraph(n: int) -> str:
    """The numbered items run together: many sentences, one paragraph."""
    return "某省数字政府建设实施方案\n一、总体要求\n" + "".join(
        f"（{i}）加强组织领导。到2025年，实现政务服务事项{i % 100}%全程网办。" for i in range(1, n + 1)) + "\n"


def many_sections(n: int) -> str:
    """Headings two levels deep whose numbering starts again: three sections per item."""
    lines = ["某省数字政府建设实施方案"]
    for i in range(n):
        lines.append(f"{'一二三四五六七八九'[i % 9]}、第{i}部分任务")
        for j in "一二三":
            lines += [f"（{j}）加强第{j}项工作", f"到2025年，实现政务服务事项{i % 100}%全程网办。"]
    return "\n".join(lines) + "\n"


def document_work(text: str) -> int:
    data = text.encode("utf-8")
    raw = RawDoc("plan.txt", hashlib.sha256(data).hexdigest(), data)
    rows: dict[str, Any] = {}
    count = work_of(lambda: rows.update(process_document(raw)))
    assert not rows["rejects"] and rows["goals"], rows["rejects"]
    return count


def ratios(works: list[int]) -> list[float]:
    return [round(b / a, 1) for a, b in zip(works, works[1:])]


def _quadratic(n: int) -> int:
    return sum(1 for i in range(n) for j in range(i))


def test_the_counter_sees_a_quadratic_step():
    works = [work_of(_quadratic, n, under=__file__) for n in (20, 200)]
    assert ratios(works)[0] > 50


@pytest.mark.parametrize("shape, base", [(numbered_lines, 20), (one_long_line, 30), (one_paragraph, 20),
                                         (many_sections, 5)])
def test_a_document_costs_work_linear_in_its_size(shape, base):
    warm_up()  # the stages' tables load once per process: not this document's work
    works = [document_work(shape(base * k)) for k in (1, 10, 100)]
    assert all(r <= MAX_RATIO for r in ratios(works)), (works, ratios(works))


@pytest.mark.parametrize("shape, base", [(numbered_lines, 20), (one_long_line, 30), (one_paragraph, 20),
                                         (many_sections, 5)])
def test_extraction_copies_and_scans_text_linear_in_its_size(shape, base):
    """The work the line count misses: slices copied and find/rfind spans scanned, in C (a slice
    from a sentence's start for every deadline in it was quadratic in a long sentence)."""
    warm_up()
    works = []
    for k in (1, 10, 100):
        text = normalize_text(shape(base * k)).text
        sections = parse_sections("d", text)
        CopyCountingText.work = 0
        extract_all("d", CopyCountingText(text), sections)
        works.append(CopyCountingText.work)
    assert all(r <= MAX_RATIO for r in ratios(works)), (works, ratios(works))
