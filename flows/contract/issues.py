"""A row of ``parse_issues`` (schemas/parse_issues.yaml): what a stage saw but could not place.

Stages collect issues in a list they are handed (or return them), never in module state:
``pipeline.document_rows`` gives each its ``doc_id`` and ``flows/contract/ids.py`` its id.
"""

from __future__ import annotations

from typing import Any

ISSUE_TEXT_CHARS = 200  # long enough to read the issue, short enough not to copy whole tables


def issue(stage: str, kind: str, message: str, text: str, char_start: int, char_end: int) -> dict[str, Any]:
    """One issue about ``text[char_start:char_end]`` (``text`` is the document's normalized text)."""
    return dict(issue_id=None, doc_id=None, stage=stage, kind=kind, message=message,
                text=text[char_start:min(char_end, char_start + ISSUE_TEXT_CHARS)],
                char_start=char_start, char_end=char_end)


def document_issue(stage: str, kind: str, message: str, text: str) -> dict[str, Any]:
    """An issue about the whole document (no one place in its text)."""
    return dict(issue_id=None, doc_id=None, stage=stage, kind=kind, message=message, text="",
                char_start=0, char_end=len(text))
