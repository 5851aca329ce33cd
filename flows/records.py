"""The records a run hands from stage to stage, defined in one place."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class RawEntry:
    """One raw file as the scan saw it: its content hash, or why it cannot be used."""

    source_file: str
    sha256: str | None = None
    size: int = 0
    reject: dict[str, Any] | None = None
    cached: bool = False

    @property
    def suffix(self) -> str:
        return Path(self.source_file).suffix.lower()


@dataclass
class BatchResult:
    tables: dict[str, pa.Table]
    # (source_file, doc_id, sha256 of the normalized text) per documents row, for duplicates
    doc_keys: list[tuple[str, str, str]]
    processed: int = 0
    cached: int = 0
    timings: dict[str, float] = field(default_factory=dict)


Meta = dict[str, Any]
Attachments = list[dict[str, Any]]
