"""Tasks with assigned units: who leads, who is responsible, who supports.

Three written forms are read:

* an assignment in brackets after the task, ``（牵头单位：省发展改革委、省政府办公厅，责任单位：
  省统计局，各市政府）`` (any order of roles, half- or full-width brackets and colons);
* assignment lines of their own, ``牵头单位：省大数据局`` / ``责任单位：…`` (consecutive lines
  make one task);
* a task-breakdown table (Markdown or ``|``-separated) whose header names a 牵头/责任/配合 column.

A deadline in the assignment (``完成时限：2025年底``) is kept as written. Roles: 牵头单位/部门 → lead_units; 责任/主责单位/部门 → responsible_units; 配合/参与/协办/协同/
支持单位/部门 → supporting_units. Unit lists are split on 、，,；; as written (``有关市、县政府``
becomes two entries: the text does not say more).
"""

from __future__ import annotations

import re
from typing import Any

from flows.budget import CHECK_EVERY, check
from flows.extract.common import Document

_ROLE_WORDS = {"牵头": "lead_units", "主责": "responsible_units", "责任": "responsible_units",
               "配合": "supporting_units", "参与": "supporting_units", "协办": "supporting_units",
               "协同": "supporting_units", "支持": "supporting_units"}
_FIELD_KEY = re.compile(
    r"(?:(?P<role>牵头|主责|责任|配合|参与|协办|协同|支持)(?:单位|部门)|完成时限|完成时间|时间节点|时限要求|时限)\s*[：:]\s*"
)
_BRACKET_ROLE = re.compile(r"[（(]\s*(?=(?:牵头|主责|责任|配合|参与|协办|协同|支持)(?:单位|部门)\s*[：:])")
_LINE_ROLE = re.compile(r"^[ \t\u3000]*(?=(?:牵头|主责|责任|配合|参与|协办|协同|支持)(?:单位|部门)\s*[：:])", re.M)
_TITLE_SENTENCE = re.compile(r"[ \t\u3000]*([^。，,；;：:\n（(]{2,25})。")
_UNIT_SPLIT = re.compile(r"[、，,；;]")
_MAX_ASSIGNMENT = 600
_ROLE_COLUMN = re.compile(r"^(?:(牵头|主责|责任|配合|参与|协办|协同|支持)(?:单位|部门)?|完成时限|完成时间|时间节点|时限)$")
_TASK_COLUMN = re.compile(r"任务|措施|事项|工作|内容|举措|项目")


def _units(s: str) -> list[str]:
    """`A、B等，C。` → [A, B, C] (a closing 等 "and others" is not part of a unit's name)."""
    units = (x.strip(" \t\r\n\u3000。.") for x in _UNIT_SPLIT.split(s))
    return [u[:-1] if u.endswith("等") and len(u) > 2 else u for u in units if u]


def _roles(inner: str) -> dict[str, Any]:
    """Units per role and the deadline in an assignment like `牵头单位：A、B，责任单位：C。完成时限：…`."""
    out: dict[str, Any] = {"lead_units": [], "responsible_units": [], "supporting_units": [], "deadline": None}
    keys = list(_FIELD_KEY.finditer(inner))
    for k, nxt in zip(keys, keys[1:] + [None]):
        value = inner[k.end():nxt.start() if nxt else len(inner)]
        if k.group("role"):
            out[_ROLE_WORDS[k.group("role")]] += _units(value.split("。")[0])
        else:
            out["deadline"] = value.strip(" \t\u3000。；;，,") or None
    return out


def _closing(text: str, start: int) -> int:
    """Offset just past the bracket that closes the one at `start` (or the line's end)."""
    depth = 0
    limit = min(len(text), start + _MAX_ASSIGNMENT)
    for i in range(start, limit):
        ch = text[i]
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth -= 1
            if depth == 0:
                return i + 1
        elif ch == "\n":
            return i
    return limit


def _assignments(text: str) -> list[tuple[int, int, int, int]]:
    """(start, end, inner start, inner end) of every bracketed or line-form assignment."""
    spans = []
    for m in _BRACKET_ROLE.finditer(text):
        end = _closing(text, m.start())
        inner_end = end - 1 if text[end - 1:end] in "）)" else end
        spans.append((m.start(), end, m.end(), inner_end))
    pos = 0
    for m in _LINE_ROLE.finditer(text):
        if m.start() < pos:
            continue
        start = end = m.end()
        while True:  # consecutive role lines are one assignment
            nl = text.find("\n", end)
            end = len(text) if nl < 0 else nl
            nxt = _LINE_ROLE.match(text, end + 1) if nl >= 0 else None
            if not nxt:
                break
            end = nxt.end()
        spans.append((start, end, start, end))
        pos = end
    return sorted(spans)


def _table_rows(text: str) -> list[dict[str, Any]]:
    """Rows of task tables whose header has a 牵头/责任/配合 column."""
    out = []
    header: tuple[int, dict[int, str]] | None = None  # (task column, role per column)
    pos = 0
    for line in text.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        body = line.strip()
        if "|" not in body:
            header = None
            continue
        cells = [c.strip() for c in body.strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) or not c for c in cells):
            continue
        roles = {i: _ROLE_WORDS[m.group(1)] if m.group(1) else "deadline" for i, c in enumerate(cells)
                 if (m := _ROLE_COLUMN.match(c))}
        if roles:
            task = next((i for i, c in enumerate(cells) if i not in roles and _TASK_COLUMN.search(c)), None)
            header = (task, roles) if task is not None else None
            continue
        if header is None or len(cells) <= max(header[1]) or not any(
                r != "deadline" for r in header[1].values()):
            continue
        row: dict[str, Any] = {"lead_units": [], "responsible_units": [], "supporting_units": [],
                               "deadline": None}
        for i, role in header[1].items():
            if role == "deadline":
                row[role] = cells[i] or None
            else:
                row[role] += _units(cells[i])
        if not any(row[r] for r in ("lead_units", "responsible_units", "supporting_units")):
            continue
        row.update(heading=cells[header[0]] or None,
                   char_start=start + len(line) - len(line.lstrip()), char_end=start + len(line.rstrip()))
        out.append(row)
    return out


def _paragraph_title(doc: Document, at: int, section: dict[str, Any]) -> str | None:
    """`建设省级大数据中心。建设集…（责任单位：…）`: a paragraph led by a short title sentence of
    its own, below its section's heading, names its task better than the section heading."""
    text = doc.text
    line_start = doc.line_start(at)
    if section["char_start"] >= line_start:
        return None  # the assignment sits on the section's own heading line
    m = _TITLE_SENTENCE.match(text, line_start, at)
    return m.group(1) if m else None


def extract_tasks(doc_id: str, doc: Document) -> list[dict[str, Any]]:
    text = doc.text
    index = doc.index if doc.sections else None
    found: list[dict[str, Any]] = []
    for k, (start, end, inner_start, inner_end) in enumerate(_assignments(text)):
        if not k % CHECK_EVERY:
            check()
        roles = _roles(text[inner_start:inner_end])
        if not any(roles[r] for r in ("lead_units", "responsible_units", "supporting_units")):
            continue
        form = "bracket_roles" if inner_start > start else "role_lines"
        found.append(dict(char_start=start, char_end=end, heading=None, extractor=form, **roles))
    found += [dict(t, extractor="task_table") for t in _table_rows(text)]
    rows = []
    for i, t in enumerate(sorted(found, key=lambda r: r["char_start"])):
        section = index.at(t["char_start"]) if index else None
        if section is None:
            continue
        heading = t["heading"] or _paragraph_title(doc, t["char_start"], section) or section.get("heading")
        rows.append(dict(
            task_id=f"{doc_id}-t{i:04d}", doc_id=doc_id, section_id=section["section_id"],
            heading=heading, lead_units=t["lead_units"], responsible_units=t["responsible_units"],
            supporting_units=t["supporting_units"], deadline=t["deadline"], source_text=text[t["char_start"]:t["char_end"]],
            char_start=t["char_start"], char_end=t["char_end"], extractor=t["extractor"],
        ))
    return rows
