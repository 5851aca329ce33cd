"""Irregular heading numbering as parse_issues rows: the headings ``parse_sections`` kept as
written although their number skips, repeats or goes back at their level."""

from __future__ import annotations

from typing import Any

from flows.contract.issues import issue


# The flags of irregular numbering (``_Tree.add_heading``) as parse_issues kinds.
_NUMBERING_ISSUES = {
    "numbering_gap": ("heading_numbering_gap", "the heading's number skips one at its level"),
    "numbering_repeat": ("heading_numbering_repeat", "the heading repeats the number before it at its level"),
    "numbering_backwards": ("heading_numbering_backwards", "the heading's number goes back at its level"),
    "numbering_not_from_one": ("heading_numbering_not_from_one", "the first heading at its level is not number 1"),
}


def heading_issues(sections: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """parse_issues rows for the headings ``parse_sections`` kept with irregular numbering, each
    about the heading's line."""
    out = []
    for row in sections:
        for flag in row.get("flags") or ():
            if flag in _NUMBERING_ISSUES:
                kind, message = _NUMBERING_ISSUES[flag]
                start = row["char_start"]
                end = text.find("\n", start)
                out.append(issue("structure", kind, f"{message} ({row['label']})", text, start,
                                 min(row["char_end"], len(text) if end < 0 else end)))
    return out
