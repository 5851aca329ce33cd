"""Stable identities: a document's ``document_key`` and every derived row's id.

A sequence number shifts whenever an extractor finds one row more earlier in the text, and a
hash of the raw bytes changes when a file is re-encoded or re-wrapped. So:

- ``document_key`` names the document, not the file: issuer + 发文字号 where the document has a
  number, else its title + issue date, else a hash of its text; each part normalized
  (``normalize_part``) so that a GBK copy or a copy inside a web page gets the same key.
- A row id is a short hash of (document_key, table, the row's normalized content, its ordinal
  among the document's rows of that table with the same content). The content is what
  identifies the fact (``ID_CONTENT``), never an offset. A section's content includes its
  parent's id, so a heading's id is its path.
- ``doc_id`` names the document too: ``document_id(document_key)``, so editing a value in the
  text, re-encoding the file or wrapping it in a web page keeps it, and a release diff names
  only the rows that changed. Only a change of the key's fields (issuer and number, or title and
  date, or, for a document with neither, its text) gives a new doc_id.
- Documents with the same key are duplicates (``pipeline.duplicate_key``): the original (first
  by path) gets ``document_id(key)`` and keeps its rows; each other one keeps only its documents
  row, with ``duplicate_of`` set and its own id ``file_document_id(key id, raw sha256)``.
  Byte-identical files are one file: the first by path is kept, the others are rejects.

Processing a document cannot know whether another file shares its key, so every document
leaves processing (and lives in the per-document cache) under its file id; the run's staging,
once it has seen every document's key, renames each original's rows to its key id
(``pipeline.DuplicateRoles``). The published build's rows already carry final ids.

Extractors and ``parse_sections`` give rows positional handles; ``assign_row_ids`` replaces
them (and every reference to a section) once per document, so no extractor computes an id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

# The columns whose values identify a row's fact, per table with a row id. Offsets, flags and
# source sentences are left out: they move when the text around the fact changes.
ID_CONTENT: dict[str, tuple[str, tuple[str, ...]]] = {
    "sections": ("section_id", ("parent_id", "kind", "label", "heading")),
    "goals": ("goal_id", ("statement",)),
    "metrics": ("metric_id", ("indicator", "subject", "value", "value_max", "unit", "comparator", "target_year")),
    "bandwidth_targets": ("bandwidth_id", ("network", "bandwidth_mbps", "admin_level", "admin_level_upper",
                                           "target_year")),
    "tasks": ("task_id", ("source_text",)),
    "attachments": ("attachment_id", ("kind", "name", "uri")),
    "parse_issues": ("issue_id", ("stage", "kind", "message", "text")),
}
ID_HEX_DIGITS = 16

# Full-width brackets and their variants (〔2023〕, [2023], 【2023】, （2023）) all become ( ).
_BRACKETS = str.maketrans({c: "(" for c in "〔[【〖（﹝(<《"} | {c: ")" for c in "〕]】〗）﹞)>》"})
_SPACE = re.compile(r"\s+")


def normalize_part(value: Any) -> str:
    """One part of a key or of a row's content as comparable text: NFKC (full-width digits and
    letters become ASCII), brackets unified, all whitespace dropped, ASCII lower case. ``None``
    becomes the empty string."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).translate(_BRACKETS)
    return _SPACE.sub("", text).lower()


def document_key(issuer: str | None, doc_number: str | None, title: str | None,
                 issue_date: Any, text: str) -> str:
    """The document's identity: ``number:<issuer>|<doc_number>`` when it has a 发文字号,
    else ``title:<title>|<issue date>`` when it has both, else ``text:<hash of the text>``."""
    if doc_number:
        return f"number:{normalize_part(issuer)}|{normalize_part(doc_number)}"
    if title and issue_date:
        return f"title:{normalize_part(title)}|{normalize_part(issue_date)}"
    return f"text:{_digest(normalize_part(text))}"


def document_id(document_key: str) -> str:
    """The doc_id of the document with this key (of its original, when files share the key)."""
    return _digest("document\x1f" + document_key)


def file_document_id(key_id: str, raw_sha256: str) -> str:
    """The doc_id of one raw file of the document whose ``document_id`` is ``key_id``: what
    processing gives every document, and what a duplicate (a file that is not the original of
    its key) keeps. Byte-identical files share it."""
    return _digest(f"{key_id}\x1f{raw_sha256}")


def row_id(document_key: str, table: str, content: tuple[Any, ...], ordinal: int) -> str:
    """The id of the ``ordinal``-th row (from 0) of ``table`` with this content in the document."""
    return _digest("\x1f".join([document_key, table, *map(normalize_part, content), str(ordinal)]))


def assign_row_ids(document_key: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Replace the positional ids of one document's rows (every table of ``ID_CONTENT``) with
    ``row_id``s, in place, and point every ``section_id`` / ``parent_id`` at the new section ids.
    Sections go first: the other tables' content does not include their section (a fact keeps
    its id when the headings around it change), but their reference to it must follow."""
    new_section = _assign(document_key, "sections", rows.get("sections", []))
    for table in ID_CONTENT:
        if table == "sections":
            continue
        for r in rows.get(table, []):
            if r.get("section_id") is not None:
                r["section_id"] = new_section[r["section_id"]]
        _assign(document_key, table, rows.get(table, []))


def _assign(document_key: str, table: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Ids for ``rows`` in their order; returns {old id: new id}. A section's parent comes before
    it, so its ``parent_id`` is already the new one when its content is read."""
    id_column, columns = ID_CONTENT[table]
    seen: dict[tuple[Any, ...], int] = {}
    renamed: dict[str, str] = {}
    for r in rows:
        if table == "sections" and r.get("parent_id") is not None:
            r["parent_id"] = renamed[r["parent_id"]]
        content = tuple(r.get(c) for c in columns)
        ordinal = seen[content] = seen.get(content, -1) + 1
        new = row_id(document_key, table, content, ordinal)
        if r.get(id_column) is not None:
            renamed[r[id_column]] = new
        r[id_column] = new
    return renamed


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=ID_HEX_DIGITS // 2).hexdigest()
