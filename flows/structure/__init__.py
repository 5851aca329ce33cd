"""Structure: the section tree of a normalized text and the document's metadata."""

from __future__ import annotations

from flows.budget import stage, timed
from flows.compare.jurisdictions import jurisdiction_of
from flows.contract.ids import document_key
from flows.records import NormalizedDoc, StructuredDoc
from flows.structure.metadata import extract_metadata
from flows.structure.sections import parse_sections


def structure(doc: NormalizedDoc, timings: dict[str, float] | None = None) -> StructuredDoc:
    """The structure stage: a normalized document's sections, metadata and document_key.
    ``timings`` (the benchmark's) gets the sections' and the metadata's seconds apart."""
    with timed(timings, "structure"), stage("structure"):
        sections = parse_sections(doc.handle, doc.text)
    with timed(timings, "metadata"), stage("metadata"):
        meta = extract_metadata(doc.text, sections, doc.meta)
        meta.update(jurisdiction_of(meta["province"], meta["admin_level"], meta["issuer"], meta["title"]).columns())
    key = document_key(meta["issuer"], meta["doc_number"], meta["title"], meta["issue_date"], doc.text)
    structured = StructuredDoc(doc, sections, meta, key)
    doc_id = structured.doc_id
    for s in sections:  # parsed under the file's handle, before the key (hence the doc_id) was known
        s["doc_id"] = doc_id
    return structured
