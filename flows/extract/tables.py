"""Indicator tables: ``序号 | 类别 | 主要指标 | 单位 | 基期值 | 目标值 | 属性`` as pipe or tab tables.

One metric per (indicator row, value column). Columns are recognised by their header words: the
indicator column (…指标…), an optional category (类别/领域), unit (单位), and value columns —
target (目标值/预期值/2025年…) or base (基期值/现状值/基准值…; of several year columns without
an explicit base column, the earliest is the base when it is at least three years before the
latest). A row under a merged category cell has one cell fewer: the category of the row above
fills in. The unit comes from the cell (90%), the unit column, or brackets in the indicator name
(``网上可办率（%）``, ``培训人数（万名）`` → 名 with 万 folded into the value). A row whose value or
unit cannot be read is left out and logged, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flows.contract.issues import issue
from flows.extract.numbers import (
    ARABIC, COMPARATOR_AFTER, COMPARATOR_BEFORE, COMPARATOR_SYMBOL, MULTIPLIER, UNITS, alternation,
    measure, number,
)
from flows.patterns.plan_periods import FIVE_YEAR_PLAN, five_year_plan_end

if TYPE_CHECKING:
    from flows.extract.goals import GoalContext


_SEPARATOR_ROW = re.compile(r"^[\s|:：\-—–]*$")
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_UNIT_TEXT = re.compile(rf"^(?P<mult>{MULTIPLIER})?(?P<unit>{_UNIT_ALT})$")
_BRACKET_UNIT = re.compile(r"[（(]\s*([^（()）]{1,6}?)\s*[)）]\s*$")
_CELL_BEFORE = {**COMPARATOR_SYMBOL, **COMPARATOR_BEFORE}
_CELL = re.compile(
    rf"^\s*(?P<pre>{alternation(_CELL_BEFORE)})?\s*"
    rf"(?P<num>{ARABIC})(?P<mult>{MULTIPLIER})?"
    rf"(?:\s*[—–\-－~～至]\s*(?P<num2>{ARABIC})(?P<mult2>{MULTIPLIER})?)?"
    rf"\s*(?P<unit>{_UNIT_ALT})?\s*(?P<post>{alternation(COMPARATOR_AFTER)})?\s*$"
)
_INDICATOR_HEAD = re.compile(r"指标")
_NOT_INDICATOR_HEAD = re.compile(r"属性|性质|类型|类别|值|单位|序号")
_CATEGORY_HEAD = re.compile(r"^(?:类别|领域|类型|分类|维度|一级指标|指标类别|方面)$")
_UNIT_HEAD = re.compile(r"单位")
_BASE_HEAD = re.compile(r"基期|现状|基准|基线|当前|现值|基数|实际")
_TARGET_HEAD = re.compile(r"目标|预期|期末|规划值")
_YEAR = re.compile(r"((?:19|20)\d\d)")


@dataclass
class Table:
    start: int
    end: int
    header: list[str]
    rows: list[tuple[int, int, list[str]]] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    if "|" in line:
        line = line.strip()
        if line.startswith("|"):
            line = line[1:]
        if line.endswith("|"):
            line = line[:-1]
        return [c.strip() for c in line.split("|")]
    return [c.strip() for c in line.split("\t")]


def _is_table_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("|") or stripped.count("|") >= 2 or stripped.count("\t") >= 2


def find_tables(text: str) -> list[Table]:
    """Runs of at least two pipe- or tab-separated lines, header first, separator rows dropped."""
    tables: list[Table] = []
    current: Table | None = None
    pos = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\n"))
        pos += len(line)
        if not _is_table_line(line):
            if current and current.rows:
                tables.append(current)
            current = None
            continue
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if _SEPARATOR_ROW.match(line):
            continue
        if current is None:
            current = Table(start, end, _cells(line))
        else:
            current.rows.append((start, end, _cells(line)))
            current.end = end
    if current and current.rows:
        tables.append(current)
    return tables


@dataclass
class _Columns:
    indicator: int
    category: int | None
    unit: int | None
    values: list[tuple[int, bool, int | None]]  # (column, is_target, year)


def _columns(header: list[str]) -> _Columns | None:
    category = next((i for i, h in enumerate(header) if _CATEGORY_HEAD.match(h)), None)
    # the finest indicator column: 二级指标 rather than 一级指标 (a category)
    indicator = next((i for i, h in reversed(list(enumerate(header)))
                      if i != category and _INDICATOR_HEAD.search(h) and not _NOT_INDICATOR_HEAD.search(h)), None)
    if indicator is None:
        return None
    unit = next((i for i, h in enumerate(header) if _UNIT_HEAD.search(h)), None)
    values = []
    for i, h in enumerate(header):
        if i in (indicator, category, unit):
            continue
        year_m = _YEAR.search(h)
        year = int(year_m.group(1)) if year_m else None
        five = FIVE_YEAR_PLAN.search(h)
        if year is None and five:
            year = five_year_plan_end(five.group(1))
        if _BASE_HEAD.search(h):
            values.append((i, False, year))
        elif _TARGET_HEAD.search(h) or year is not None:
            values.append((i, True, year))
    years = [y for _, t, y in values if t and y is not None]
    if not any(not t for _, t, _ in values) and len(years) >= 2 and min(years) <= max(years) - 3:
        values = [(i, not (y == min(years)), y) for i, t, y in values]
    return _Columns(indicator, category, unit, values) if values else None


def _unit_of(text: str) -> tuple[str, float] | None:
    m = _UNIT_TEXT.match(text.strip().replace("％", "%"))
    if not m:
        return None
    scale = {"万": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "千万": 1e7, "万亿": 1e12}.get(m.group("mult") or "", 1.0)
    written = m.group("unit")
    if written in ("万元", "亿元", "万亿元"):
        scale *= {"万元": 1e4, "亿元": 1e8, "万亿元": 1e12}[written]
    return UNITS[written], scale


def table_metrics(table: Table, text: str, context: GoalContext,
                  issues: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Metric rows (without ids) of one indicator table; [] for a table that is not one. What it
    skips goes to ``issues`` (parse_issues rows), when given."""
    issues = [] if issues is None else issues
    cols = _columns(table.header)
    if cols is None:
        return []
    caption_year = _caption_year(text, table.start)
    rows: list[dict[str, Any]] = []
    category = None
    width = len(table.header)
    for start, end, cells in table.rows:
        if len(cells) == width - 1 and cols.category is not None:
            cells = cells[:cols.category] + [category or ""] + cells[cols.category:]
        if len(cells) != width:
            issues.append(issue("extract", "table_row_unread",
                                f"indicator table row with {len(cells)} cells under a {width}-column header: skipped",
                                text, start, end))
            continue
        if cols.category is not None and cells[cols.category]:
            category = cells[cols.category]
        name = cells[cols.indicator]
        bracket = _BRACKET_UNIT.search(name)
        indicator = name[:bracket.start()].strip() if bracket else name.strip()
        if not indicator:
            continue
        row_unit = _unit_of(cells[cols.unit]) if cols.unit is not None else None
        if row_unit is None and bracket:
            row_unit = _unit_of(bracket.group(1))
        for col, is_target, year in cols.values:
            cell = cells[col]
            m = _CELL.match(cell)
            if not m:
                if cell.strip(" -—–/"):
                    issues.append(_cell_issue("table_value_unread", f"value of {indicator!r} not read: skipped",
                                              cell, text, start, end))
                continue
            unit = _unit_of(m.group("unit")) if m.group("unit") else row_unit
            if unit is None:
                issues.append(_cell_issue("table_value_without_unit",
                                          f"value of {indicator!r} has no unit in its cell, row or header: skipped",
                                          cell, text, start, end))
                continue
            unit_name, scale = unit
            mult = m.group("mult") or m.group("mult2")
            value = number(m.group("num"), mult)
            value_max = number(m.group("num2"), m.group("mult2") or m.group("mult")) if m.group("num2") else None
            if value is None or (value_max is not None and value_max <= value):
                continue
            comparator = "="
            if m.group("pre"):
                comparator = _CELL_BEFORE[m.group("pre")]
            if m.group("post"):
                comparator = COMPARATOR_AFTER[m.group("post")]
            target_year, year_source = None, None
            if is_target:
                target_year, year_source = _target_year(year or caption_year, context, start)
            rows.append(dict(
                metric_id=None, doc_id=None, section_id=context.index.at(start)["section_id"],
                indicator=indicator, subject=None, value=value * scale,
                value_max=None if value_max is None else value_max * scale, unit=unit_name,
                comparator=comparator, measure=measure("", unit_name, indicator),
                target_year=target_year, target_year_source=year_source, is_target=is_target,
                value_text=cell, source_text=text[start:end], char_start=start, char_end=end,
                extractor="indicator_table",
            ))
    return rows


def _cell_issue(kind: str, message: str, cell: str, text: str, start: int, end: int) -> dict[str, Any]:
    """An issue about one cell of the row ``text[start:end]`` (the row where the cell is not found
    as written, say after a category cell was filled in)."""
    at = text.find(cell, start, end) if cell else -1
    return issue("extract", kind, message, text, *((at, at + len(cell)) if at >= 0 else (start, end)))


def _target_year(written: int | None, context: GoalContext, start: int) -> tuple[int | None, str | None]:
    """A target column's year: its header's or the caption's, else the plan horizon the table
    sits under (到2025年，… opening its section, with a 目标值 column), else what the goal context
    says of the row."""
    if written:
        return written, "table"
    horizon = context.horizon(start)
    if horizon is not None:
        return horizon, "table"
    return context.year_source_at(start)


def _caption_year(text: str, table_start: int) -> int | None:
    """A year in the caption line just above a table (表1 “十四五”主要指标 / 2025年主要指标)."""
    line_end = text.rfind("\n", 0, table_start)
    caption = text[text.rfind("\n", 0, max(line_end, 0)) + 1:max(line_end, 0)] if line_end > 0 else ""
    if len(caption) > 60 or re.search(r"[。；;，,]", caption):
        return None  # a sentence of prose above the table, not its caption
    years = [int(y) for y in _YEAR.findall(caption)]
    if years:
        return max(years)  # 主要指标（2021—2025年）: the end of the span
    five = FIVE_YEAR_PLAN.search(caption)
    return five_year_plan_end(five.group(1)) if five else None
