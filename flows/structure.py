"""Structure: the section tree of a normalized text (GB/T 9704 heading levels)."""

from __future__ import annotations

import re
from typing import Any

_CN_NUM = "一二三四五六七八九十"
_HEADING = [
    (1, re.compile(rf"^\s*(?:#+\s*)?([{_CN_NUM}]+)、\s*(.+)$")),
    (2, re.compile(rf"^\s*(?:#+\s*)?[（(]([{_CN_NUM}]+)[）)]\s*(.+)$")),
    (3, re.compile(r"^\s*(\d+)[.．、]\s*(\D.*)$")),
    (4, re.compile(r"^\s*[（(](\d+)[）)]\s*(.+)$")),
]


def _cn_int(s: str) -> int:
    import cn2an

    return int(cn2an.cn2an(s, "smart")) if not s.isdigit() else int(s)


def _label(level: int, ordinal_text: str) -> str:
    return {1: f"{ordinal_text}、", 2: f"（{ordinal_text}）", 3: f"{ordinal_text}.", 4: f"（{ordinal_text}）"}[level]


def parse_sections(doc_id: str, text: str) -> list[dict[str, Any]]:
    """One row per section; the first row is the preamble (the text before the first heading)."""
    heads = []
    pos = 0
    for line in text.splitlines(keepends=True):
        for level, rx in _HEADING:
            m = rx.match(line.rstrip("\n"))
            if m:
                heads.append((pos, level, m.group(1), m.group(2).strip()))
                break
        pos += len(line)
    rows: list[dict[str, Any]] = []
    first = heads[0][0] if heads else len(text)
    rows.append(
        dict(section_id=f"{doc_id}-0000", doc_id=doc_id, parent_id=None, level=0, label=None,
             ordinal=None, heading=None, kind="preamble", text=text[:first].strip(),
             char_start=0, char_end=first)
    )
    stack: list[tuple[int, str]] = []  # (level, section_id)
    for i, (start, level, num, heading) in enumerate(heads, 1):
        end_own = heads[i][0] if i < len(heads) else len(text)
        while stack and stack[-1][0] >= level:
            stack.pop()
        sid = f"{doc_id}-{i:04d}"
        rows.append(
            dict(section_id=sid, doc_id=doc_id, parent_id=stack[-1][1] if stack else None,
                 level=level, label=_label(level, num), ordinal=_cn_int(num), heading=heading,
                 kind="body", text=text[start:end_own].split("\n", 1)[-1].strip(),
                 char_start=start, char_end=end_own)
        )
        stack.append((level, sid))
    # a section ends where the next section of its level or above begins
    for j, row in enumerate(rows[1:], 1):
        end = len(text)
        for later in rows[j + 1:]:
            if later["level"] <= row["level"]:
                end = later["char_start"]
                break
        row["char_end"] = end
    return rows
