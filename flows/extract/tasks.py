"""Extraction of tasks (filled in by the extraction issue)."""

from __future__ import annotations

from typing import Any


def extract_tasks(doc_id: str, text: str, sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return []
