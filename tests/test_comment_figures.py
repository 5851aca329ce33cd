"""Comments say why; measured figures live in docs/performance.md, each with its command and date.

A figure in a comment goes stale the day the code or the machine changes (a commit once did
nothing but refresh them). Only comments and docstrings are read, so no code can match."""

import ast
import io
import re
import tokenize

from tests.conftest import ROOT

# A quantity with a unit of time or size ("0.6 s", "1.4 → 0.6 ms", "~3 µs", "370 MB"), an
# approximate count ("~350,000 objects") or a "(measured" note; "t2s" is no figure (no digit
# starts it after a letter).
FIGURE = re.compile(r"(?<![\w.])~?\d[\d,.]*(?:\s?[-–]\s?\d[\d,.]*)?\s?(?:ms|µs|s|KB|MB|GB)\b|~\d|\(measured\b")
# The few left are settings or facts, not measurements: a batch's byte limit, a plausible plan
# size, a pipe's buffer, the benchmark's sampling interval.
MAX_FIGURE_LINES = 5


def comment_and_docstring_lines(source: str) -> list[tuple[int, str]]:
    lines = [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines += [(first.lineno + i, line) for i, line in enumerate(first.value.value.splitlines())]
    return lines


def figure_lines(package) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{n}: {text.strip()}"
            for path in sorted(package.rglob("*.py"))
            for n, text in comment_and_docstring_lines(path.read_text(encoding="utf-8"))
            if FIGURE.search(text)]


def test_the_pattern_tells_measured_figures_from_words_and_names():
    figures = ["# ~0.6 s of each validation", "took 1.4 → 0.6 ms per document", "(~350,000 objects)",
               "~3 µs a character", "costs 370 MB", "# a hit costs 1/20 of a document (measured)", "0.5-1 s at the end"]
    words = ["OpenCC t2s tables", "a measured duration is no indicator", "12345热线", "IPv6 and 5G",
             "flows/gate/run.py", "2025年", "f1 score", "stage:cpu in seconds"]
    assert all(FIGURE.search(text) for text in figures)
    assert not any(FIGURE.search(text) for text in words)


def test_comments_reads_comments_and_docstrings_only():
    source = '"""Module: ~2 s."""\nx = "~9 s"  # ~1 s\n\ndef f():\n    """~3 ms."""\n    return "~4 s"\n'
    assert [n for n, text in comment_and_docstring_lines(source) if FIGURE.search(text)] == [2, 1, 5]


def test_at_most_five_comment_lines_in_flows_carry_figures():
    found = figure_lines(ROOT / "flows")
    assert len(found) <= MAX_FIGURE_LINES, "move these figures to docs/performance.md:\n" + "\n".join(found)
