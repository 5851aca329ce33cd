"""Goals: statements with a deadline (到2025年，…)."""

from __future__ import annotations

import re
from typing import Any

from flows.extract.common import SectionIndex, sentences

_DEADLINE = re.compile(r"(?:到|至)\s*(20\d\d)\s*年(?:底|末)?")


def extract_goals(doc_id: str, text: str, sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    index = SectionIndex(sections)
    rows = []
    for s, e in sentences(text):
        for m in _DEADLINE.finditer(text, s, e):
            sec = index.at(s)
            rows.append(dict(
                goal_id=f"{doc_id}-g{len(rows):04d}", doc_id=doc_id, section_id=sec["section_id"],
                goal_type="overall", start_year=None, target_year=int(m.group(1)),
                deadline_text=m.group(0), statement=text[s:e], char_start=s, char_end=e,
            ))
    return rows
