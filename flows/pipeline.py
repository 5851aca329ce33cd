"""One document through every stage, as plain functions on plain data.

``process_document`` is what the Prefect tasks call, in batches; tests call it directly.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from typing import Any

from flows.budget import DocumentTimeout, budget, stage, timed  # noqa: F401 (timed: the flow's timer too)
from flows.contract.ids import assign_row_ids, document_id, file_document_id
from flows.contract.schema import TABLES, schema
from flows.extract import extract
from flows.ingest.raw_files import Rejected
from flows.normalize import normalize
from flows.records import RawDoc, Rows, StructuredDoc
from flows.structure import structure
from flows.structure.heading_issues import heading_issues
from flows.normalize.web_pages import wrapper_issues


def empty_rows() -> Rows:
    return {t: [] for t in TABLES}


def reject_row(source_file: str, sha256: str | None, reason: str, detail: str) -> dict[str, Any]:
    return dict(source_file=source_file, source_sha256=sha256, reason=reason, detail=detail)


# A short plan in traditional script with a deadline, a percentage and a bandwidth ladder: the
# stages load their tables (segmentation lexicon, HMM, OpenCC, IDF weights) on the first document.
WARM_UP_TEXT = "數位政府建設方案\n一、總體要求\n到2025年，政務服務事項全程網辦率達到90%，實現萬兆到市、千兆到縣，新增一百二十項應用。\n"
_warmed_up = False


def warm_up() -> float:
    """Process ``WARM_UP_TEXT`` once per process, so that the stages' tables are loaded before
    the first real document: a process's fixed start-up cost, not that document's.
    Returns the seconds it took (0.0 once done)."""
    global _warmed_up
    if _warmed_up:
        return 0.0
    started = time.perf_counter()
    data = WARM_UP_TEXT.encode("utf-8")
    process_document(RawDoc("warm-up.txt", hashlib.sha256(data).hexdigest(), data))
    _warmed_up = True
    return time.perf_counter() - started


def process_document(raw: RawDoc, timings: dict[str, float] | None = None,
                     doc_timeout: float | None = None) -> Rows:
    """All rows one raw document contributes; a failure becomes a `rejects` row, never a crash.

    ``timings``, when given, accumulates seconds per stage (normalize, structure, metadata,
    extract) for the benchmark. A document still in its stages after ``doc_timeout`` seconds
    becomes a `timeout` reject naming the stage (flows/budget.py).
    """
    try:
        with budget(doc_timeout):
            out = document_rows(raw, timings)
    except DocumentTimeout as exc:
        out = empty_rows()
        out["rejects"].append(reject_row(raw.source_file, raw.sha256, "timeout", f"{exc} (--doc-timeout)"))
    except Rejected as exc:
        out = empty_rows()
        out["rejects"].append(reject_row(raw.source_file, raw.sha256, exc.reason, exc.detail))
    except Exception as exc:  # a bug on one document must not stop the run: record it loudly
        out = empty_rows()
        detail = f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=-3).strip()}"
        out["rejects"].append(reject_row(raw.source_file, raw.sha256, "error", detail[:2000]))
    return out


def document_rows(raw: RawDoc, timings: dict[str, float] | None) -> Rows:
    """Every stage on one document, each named for the budget (see process_document):
    RawDoc → NormalizedDoc → StructuredDoc → rows (flows/records.py)."""
    with timed(timings, "normalize"), stage("normalize"):
        normalized = normalize(raw)
    structured = structure(normalized, timings)
    out = empty_rows()
    out.update(structured_rows(structured))
    with timed(timings, "extract"):
        out.update(extract(structured))
        out["parse_issues"] = document_issues(structured, out["parse_issues"])
        assign_row_ids(structured.document_key, out)  # the stages' positional ids become stable ones (flows/contract/ids.py)
    return out


def structured_rows(doc: StructuredDoc) -> Rows:
    """The rows of what normalize and structure found: documents, repairs, attachments, sections."""
    norm, raw, doc_id = doc.normalized, doc.normalized.raw, doc.doc_id
    return {
        "documents": [dict(
            doc_id=doc_id, document_key=doc.document_key, source_file=raw.source_file, source_sha256=raw.sha256,
            source_bytes=len(raw.data), raw_encoding=norm.raw_encoding, script=norm.script,
            repairs=json.dumps([r.__dict__ for r in norm.repairs], ensure_ascii=False),
            unrecoverable_spans=norm.unrecoverable_spans, duplicate_of=None, text=norm.text,
            **doc.metadata,
        )],
        "repairs": [dict(doc_id=doc_id, kind=r.kind, count=r.count, examples=r.examples) for r in norm.repairs],
        "attachments": [dict(attachment_id=f"{doc_id}-a{i:03d}", doc_id=doc_id, **a)
                        for i, a in enumerate(norm.attachments)],
        "sections": doc.sections,
    }


def document_issues(doc: StructuredDoc, extract_issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The document's parse_issues rows, stage by stage: wrappers normalize did not take off,
    irregular heading numbering, then what the extractors could not place."""
    norm = doc.normalized
    issues = (wrapper_issues(norm.text, {r.kind for r in norm.repairs}) + heading_issues(doc.sections, norm.text)
              + extract_issues)
    doc_id = doc.doc_id
    return [dict(i, doc_id=doc_id) for i in issues]


def merge(parts: list[Rows]) -> Rows:
    out = empty_rows()
    for part in parts:
        for table, rows in part.items():
            out[table].extend(rows)
    return out


def duplicate_roles(docs: list[tuple[str, str, str, str]]) -> DuplicateRoles:
    """Decide which documents count, and each one's final doc_id, from (source_file, doc_id as
    its rows carry it, key id (``duplicate_key``), raw sha256) tuples: see ``DuplicateRoles``.
    "First" is by source_file, so the answer does not depend on batch order."""
    roles = DuplicateRoles()
    roles.add(docs)
    return roles


class DuplicateRoles:
    """Which documents count and what their doc_id is (flows/contract/ids.py), decided a batch at
    a time for batches that come in source_file order (each batch's files after the previous
    batch's): the answer is the same as for all documents at once, because "first" only looks back.

    - ``copies``: source_file of a byte-identical copy (the same doc_id as an earlier file:
      both the file's id) -> source_file of the kept file; the copy is not a document.
    - the first file with a key is its original: its doc_id becomes the key id
      (``document_id``); every later one is a duplicate: it keeps its file id, its
      documents row gets ``duplicate_of`` (the key id) and its other rows are dropped.
    - ``renamed``: doc_id as the rows carry it -> final doc_id, where they differ: a processed
      original (file id -> key id), or a published original that a new file with the same key
      and an earlier path made a duplicate (key id -> file id);
    - ``dropped``: doc_ids (as the rows carry them) of duplicates, whose derived rows go;
    - ``duplicate_of``: final doc_id of a duplicate -> final doc_id of its original.
    A doc_id is renamed once, in the part (a batch, the published build's reused rows) that
    holds it: parts never share one (processing gives file ids, the published build key ids).
    """

    def __init__(self) -> None:
        self.copies: dict[str, str] = {}
        self.duplicate_of: dict[str, str] = {}
        self.renamed: dict[str, str] = {}
        self.dropped: set[str] = set()
        self._kept_file: dict[str, str] = {}
        self._has_original: set[str] = set()
        self._last_file = ""

    def add(self, docs: list[tuple[str, str, str, str]]) -> None:
        for source_file, doc_id, key_id, sha256 in sorted(docs):
            if source_file < self._last_file:
                raise ValueError(f"{source_file} comes before {self._last_file}, already decided")
            self._last_file = source_file
            if doc_id in self._kept_file:
                self.copies[source_file] = self._kept_file[doc_id]
                continue
            self._kept_file[doc_id] = source_file
            if key_id not in self._has_original:
                self._has_original.add(key_id)
                final = key_id
            else:
                final = file_document_id(key_id, sha256)
                self.duplicate_of[final] = key_id
                self.dropped.add(doc_id)
            if final != doc_id:
                self.renamed[doc_id] = final

    def final(self, doc_id: str) -> str:
        """The final doc_id of the document whose rows carry ``doc_id``."""
        return self.renamed.get(doc_id, doc_id)


def duplicate_key(document: dict[str, Any]) -> str:
    """What makes two documents duplicates: the same ``document_key``, as its key id (the
    original's doc_id, ``ids.document_id``). Two files with one key would otherwise publish rows
    with the same ids."""
    return document_id(document["document_key"])


def copy_reject(source_file: str, sha256: str, original_file: str) -> dict[str, Any]:
    return reject_row(source_file, sha256, "duplicate", f"byte-identical to {original_file} (sha256 {sha256[:16]}…)")


def mark_duplicates(rows: Rows) -> Rows:
    """Count every document once and give it its final doc_id (plain-rows version of the flow's
    table-level step; ``DuplicateRoles``): rows as processing gives them, of many documents.

    A byte-identical copy shares its original's (file) doc_id: the first file (by path) keeps
    it and each copy becomes a `rejects` row (reason `duplicate`). A copy with different bytes
    but the same document_key (say a traditional-script or GBK copy) keeps its documents row
    with `duplicate_of` set, and its derived rows are dropped.
    """
    docs = rows["documents"]
    roles = duplicate_roles([(d["source_file"], d["doc_id"], duplicate_key(d), d["source_sha256"]) for d in docs])
    by_file = {d["source_file"]: d for d in docs}
    rejects = list(rows["rejects"]) + [
        copy_reject(f, by_file[f]["source_sha256"], original) for f, original in sorted(roles.copies.items())
    ]
    kept = {}
    for d in sorted(docs, key=lambda d: d["source_file"]):
        if d["source_file"] not in roles.copies:
            final = roles.final(d["doc_id"])
            kept[final] = dict(d, doc_id=final, duplicate_of=roles.duplicate_of.get(final))
    out: Rows = {}
    for table, table_rows in rows.items():
        if table in ("documents", "rejects"):
            continue
        # rows of a byte-identical copy repeat the original's rows, primary key included
        key_cols = schema(table).primary_key or tuple(schema(table).column_names)
        seen: set[tuple] = set()
        unique = []
        for r in table_rows:
            if r.get("doc_id") in roles.dropped:
                continue
            if "doc_id" in r:
                r = dict(r, doc_id=roles.final(r["doc_id"]))
            key = tuple(_hashable(r.get(c)) for c in key_cols)
            if key not in seen:
                seen.add(key)
                unique.append(r)
        out[table] = unique
    out["documents"] = list(kept.values())
    out["rejects"] = rejects
    return out


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
