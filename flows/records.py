"""The records a run hands from stage to stage, defined in one place.

Every stage is a function from the previous stage's record to its own (flows/pipeline.py
composes them):

    ingest     a raw file (the scan's RawEntry) → RawDoc        flows.ingest.raw_files.read_raw
    normalize  RawDoc → NormalizedDoc                           flows.normalize.normalize
    structure  NormalizedDoc → StructuredDoc                    flows.structure.structure
    extract    StructuredDoc → Rows (goals, metrics, …)         flows.extract.extract
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from flows.contract.ids import document_id, file_document_id

if TYPE_CHECKING:
    from flows.normalize.repairs import Repair

Meta = dict[str, Any]
Attachments = list[dict[str, Any]]
# rows per table name, as a stage hands them on (flows/contract/schema.py TABLES)
Rows = dict[str, list[dict[str, Any]]]


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


@dataclass(frozen=True)
class RawDoc:
    """One raw file's bytes, read."""

    source_file: str  # path relative to the raw root, with forward slashes
    sha256: str
    data: bytes

    @property
    def handle(self) -> str:
        """The file's name in logs and positional row handles until the document has its doc_id
        (which comes from its document_key, known once it is structured: StructuredDoc.doc_id)."""
        return self.sha256[:16]


@dataclass
class NormalizedDoc:
    """One document's clean simplified-Chinese text and what normalizing it found."""

    text: str
    raw_encoding: str
    script: str  # simplified | traditional | traditional_tw
    repairs: list[Repair] = field(default_factory=list)
    # What wrappers said about the document (front matter, header form, web metadata box,
    # encyclopedia fact box): keys listed in flows/normalize/page_wrappers.py. Read by the metadata stage.
    meta: Meta = field(default_factory=dict)
    attachments: Attachments = field(default_factory=list)  # kind, name, uri
    unrecoverable_spans: int = 0
    # the raw file it comes from (None for a text normalized on its own, as tests do)
    raw: RawDoc | None = None

    @property
    def handle(self) -> str:
        assert self.raw is not None, "a NormalizedDoc of no raw file has no handle"
        return self.raw.handle


@dataclass
class StructuredDoc:
    """One normalized document with its section rows, its metadata (documents columns, the
    jurisdiction's included) and its document_key (flows/contract/ids.py)."""

    normalized: NormalizedDoc
    sections: list[dict[str, Any]]
    metadata: Meta
    document_key: str

    @property
    def doc_id(self) -> str:
        """This file's doc_id (flows/contract/ids.py ``file_document_id``): the run's staging
        renames it to the key's ``document_id`` when the file is its key's original."""
        assert self.normalized.raw is not None, "a StructuredDoc of no raw file has no doc_id"
        return file_document_id(document_id(self.document_key), self.normalized.raw.sha256)

    @property
    def text(self) -> str:
        return self.normalized.text


@dataclass
class BatchResult:
    tables: dict[str, pa.Table]
    # (source_file, doc_id, key id, raw sha256) per documents row, for duplicates
    # (pipeline.DuplicateRoles; the doc_id is the file's, as processing gave it)
    doc_keys: list[tuple[str, str, str, str]]
    processed: int = 0
    cached: int = 0
    timings: dict[str, float] = field(default_factory=dict)

