"""One document through every stage, as plain functions on plain data.

``process_document`` is what the Prefect tasks call, in batches; tests call it directly.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from flows.extract import extract_all
from flows.ingest import RawDoc, Rejected
from flows.metadata import extract_metadata
from flows.normalize import normalize_bytes
from flows.schema import TABLES
from flows.structure import parse_sections

Rows = dict[str, list[dict[str, Any]]]


def empty_rows() -> Rows:
    return {t: [] for t in TABLES}


def reject_row(source_file: str, sha256: str | None, reason: str, detail: str) -> dict[str, Any]:
    return dict(source_file=source_file, source_sha256=sha256, reason=reason, detail=detail)


def process_document(raw: RawDoc) -> Rows:
    """All rows one raw document contributes; a failure becomes a `rejects` row, never a crash."""
    out = empty_rows()
    try:
        norm = normalize_bytes(raw.data, raw.source_file)
        doc_id = raw.doc_id
        sections = parse_sections(doc_id, norm.text)
        meta = extract_metadata(norm.text, sections, norm.meta)
        out["documents"].append(dict(
            doc_id=doc_id, source_file=raw.source_file, source_sha256=raw.sha256,
            source_bytes=len(raw.data), raw_encoding=norm.raw_encoding, script=norm.script,
            repairs=json.dumps([r.__dict__ for r in norm.repairs], ensure_ascii=False),
            unrecoverable_spans=norm.unrecoverable_spans, duplicate_of=None, text=norm.text,
            **meta,
        ))
        out["repairs"] = [
            dict(doc_id=doc_id, kind=r.kind, count=r.count, examples=r.examples) for r in norm.repairs
        ]
        out["attachments"] = [
            dict(attachment_id=f"{doc_id}-a{i:03d}", doc_id=doc_id, **a)
            for i, a in enumerate(norm.attachments)
        ]
        out["sections"] = sections
        for table, rows in extract_all(doc_id, norm.text, sections).items():
            out[table] = rows
    except Rejected as exc:
        out = empty_rows()
        out["rejects"].append(reject_row(raw.source_file, raw.sha256, exc.reason, exc.detail))
    except Exception as exc:  # a bug on one document must not stop the run: record it loudly
        out = empty_rows()
        detail = f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=-3).strip()}"
        out["rejects"].append(reject_row(raw.source_file, raw.sha256, "error", detail[:2000]))
    return out


def merge(parts: list[Rows]) -> Rows:
    out = empty_rows()
    for part in parts:
        for table, rows in part.items():
            out[table].extend(rows)
    return out



def mark_duplicates(rows: Rows) -> Rows:
    """Count every document once.

    A byte-identical copy shares its original's doc_id: the first file (by path) keeps it and
    each copy becomes a `rejects` row (reason `duplicate`). A copy with different bytes but the
    same normalized text (say a traditional-script copy) keeps its documents row with
    `duplicate_of` set, and its derived rows are dropped.
    """
    docs = sorted(rows["documents"], key=lambda d: d["source_file"])
    kept: dict[str, dict[str, Any]] = {}
    first_by_text: dict[str, str] = {}
    rejects = list(rows["rejects"])
    for doc in docs:
        if doc["doc_id"] in kept:
            original = kept[doc["doc_id"]]["source_file"]
            rejects.append(reject_row(doc["source_file"], doc["source_sha256"], "duplicate",
                                      f"byte-identical to {original} (doc_id {doc['doc_id']})"))
            continue
        kept[doc["doc_id"]] = doc
        original_id = first_by_text.setdefault(doc["text"], doc["doc_id"])
        if original_id != doc["doc_id"]:
            doc["duplicate_of"] = original_id
    dup_ids = {d["doc_id"] for d in kept.values() if d.get("duplicate_of")}
    out: Rows = {}
    for table, table_rows in rows.items():
        if table in ("documents", "rejects"):
            continue
        seen, unique = set(), []
        for r in table_rows:
            if r.get("doc_id") in dup_ids:
                continue
            key = tuple(sorted((k, str(v)) for k, v in r.items()))
            if key not in seen:  # rows of a byte-identical copy are identical: keep one
                seen.add(key)
                unique.append(r)
        out[table] = unique
    out["documents"] = list(kept.values())
    out["rejects"] = rejects
    return out
