"""The publishing gate's decisions, as plain functions the flow only wires.

- ``quarantine_verdict``: which documents a failed validation withholds, or why nothing may be
  published (a systemic rule failed, or too many documents failed: ``--max-quarantined``);
- ``withhold_documents``: a staged build without those documents (each becomes a ``rejects``
  row, reason ``quarantined``), keeping their last published rows marked stale;
- ``shrink_refusal``: a build with no documents, or one that loses too many of the published
  build's documents, is refused before it replaces the published one;
- the exit codes of ``digigov run``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.contract.dictionary import md_text
from flows.contract.schema import TABLES, schema

# Exit codes of ``digigov run`` (README, Operations): what a scheduler can act on.
EXIT_PUBLISHED = 0  # published, every document passed
EXIT_CRASHED = 1  # an unexpected error (Python's own code for an uncaught exception)
EXIT_QUARANTINED = 3  # published, but some documents were quarantined (see rejects)
EXIT_REFUSED = 4  # nothing published: systemic failure, empty or shrunken build, unsafe output folder, locked
OUTCOMES = {EXIT_PUBLISHED: "published", EXIT_QUARANTINED: "published_with_quarantined",
            EXIT_REFUSED: "refused", EXIT_CRASHED: "crashed"}

# The build is refused when the quarantined documents exceed both this share of the build's
# documents and this count: a handful of odd files in a small folder never blocks it, a
# systematic breakage that only shows document by document does.
MAX_QUARANTINED_SHARE = 0.05
MAX_QUARANTINED_COUNT = 3
# A build that loses more than this share of the published build's documents is refused
# (``--allow-shrink`` accepts it): an unmounted or half-copied raw folder looks like this.
MAX_SHRINK_SHARE = 0.2

QUARANTINED = "quarantined"


class BuildRefused(RuntimeError):
    """Nothing was published, on purpose: the message says why (one line or a short list)."""


def parse_share(text: str) -> float:
    """``5%`` or ``0.05`` as a share between 0 and 1."""
    value = text.strip()
    try:
        share = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise ValueError(f"not a share: {text!r} (e.g. 5% or 0.05)") from None
    if not 0 <= share <= 1:
        raise ValueError(f"not a share between 0% and 100%: {text!r}")
    return share


def quarantine_verdict(result: ValidationResult, documents: int, max_share: float = MAX_QUARANTINED_SHARE,
                       max_count: int = MAX_QUARANTINED_COUNT) -> dict[str, list[str]]:
    """The documents a failed validation quarantines (doc_id -> what each failed), from
    ``result.document_failures``; raises ``ValidationFailed`` (a ``BuildRefused``) when the
    failure is systemic: a systemic rule failed, or the failing documents exceed both
    ``max_share`` of the build's ``documents`` and ``max_count``."""

    if result.systemic:
        raise ValidationFailed(result)
    failing = result.document_failures
    if not failing and not result.success:  # failures, yet none names a document: systemic
        raise ValidationFailed(result)
    if len(failing) > max_count and len(failing) > max_share * max(documents, 1):
        raise ValidationFailed(result, f"{len(failing)} of {documents} documents failed document-level rules, "
                                       f"more than {max_share:.0%} and more than {max_count}: the failure is "
                                       "taken to be systemic (--max-quarantined)")
    return {doc_id: list(details) for doc_id, details in failing.items()}


@dataclass
class Withheld:
    """A staged build with documents withheld (``withhold_documents``)."""

    build: Path
    rows: dict[str, int]
    sources: dict[str, str]  # source_file -> source_sha256 of the documents table
    text_keys: dict[str, str]
    rejected: pa.Table
    quarantined: dict[str, dict[str, Any]] = field(default_factory=dict)  # doc_id -> its reject row
    stale: dict[str, str] = field(default_factory=dict)  # doc_id of a kept earlier version -> source_file


def withhold_documents(build: Path, into: Path, quarantine: dict[str, list[str]], text_keys: dict[str, str],
                       published: Path | None = None, now: dt.datetime | None = None) -> Withheld:
    """Stage ``build`` again into the empty folder ``into`` without the ``quarantine``d documents.

    Each quarantined document (and any document marked a duplicate of one: it has the same
    text) loses all its rows and gets one ``rejects`` row, reason ``quarantined``, whose detail
    lists what it failed. Where the ``published`` build holds an earlier version of the same
    raw file (same source_file, a document of its own, not a duplicate), its rows are kept,
    marked stale in ``documents`` (``stale_since``: kept from the first run that kept it;
    ``stale_reason``); an earlier version that is itself quarantined is not kept. One table is
    held at a time. ``text_keys`` are the staged build's (doc_id -> key id, ``pipeline.duplicate_key``)."""
    from flows.storage.publish import table_path

    now = now or dt.datetime.now(dt.timezone.utc)
    into = Path(into)
    docs = pq.read_table(table_path(build, "documents"),
                         columns=["doc_id", "source_file", "source_sha256", "duplicate_of"]).to_pylist()
    by_id = {d["doc_id"]: d for d in docs}
    withheld = {d: list(quarantine[d]) for d in quarantine if d in by_id}
    for d in docs:  # a duplicate of a quarantined document holds the same text
        if d["duplicate_of"] in withheld and d["doc_id"] not in withheld:
            original = by_id[d["duplicate_of"]]
            withheld[d["doc_id"]] = [f"same normalized text as the quarantined {original['source_file']}"]
    # an earlier version of a withheld file, unless it is in this build already (then it is
    # either kept as it is or withheld now: a stale version that fails in turn is not kept)
    # (the new version of a file shares its doc_id with the earlier one: the doc_id names the document)
    stale, stale_keys = _earlier_versions(published, {by_id[d]["source_file"] for d in withheld},
                                          set(by_id) - set(withheld), {by_id[d]["source_sha256"] for d in withheld})
    reasons = {by_id[d]["source_file"]: f"its new version (sha256 {by_id[d]['source_sha256'][:12]}…) was quarantined: "
               + "; ".join(details) for d, details in withheld.items()}
    rejects = pq.read_table(table_path(build, "rejects")).to_pylist()
    rejected = _quarantine_rejects(rejects, {d: (by_id[d], details) for d, details in withheld.items()},
                                   set(stale.values()))

    from flows.storage.publish import TableAppender, table_file, write_table
    from flows.storage.staging import in_document_order, path_ordered_doc_ids

    drop = pa.array(sorted(withheld), pa.string())
    keep_stale = pa.array(sorted(stale), pa.string())
    appender = TableAppender(into, {n: schema(n).arrow_schema() for n in TABLES if n != "rejects"})
    order = None
    sources: dict[str, str] = {}
    for name in ("documents", *(n for n in TABLES if n not in ("documents", "rejects"))):
        table = pq.read_table(table_path(build, name), memory_map=True)
        table = table.filter(pc.invert(pc.is_in(table.column("doc_id"), value_set=drop)))
        if len(stale):
            earlier = pq.read_table(table_path(published, name), memory_map=True)
            earlier = earlier.filter(pc.is_in(earlier.column("doc_id"), value_set=keep_stale))
            if name == "documents":
                earlier = _marked_stale(earlier, reasons, now)
            table = pa.concat_tables([table, earlier.cast(table.schema)])
        if name == "documents":
            files = sorted(set(table.column("source_file").to_pylist()))
            order = path_ordered_doc_ids(table, files)
            sources = dict(zip(table.column("source_file").to_pylist(), table.column("source_sha256").to_pylist()))
        table = in_document_order(table, order)
        appender.write(name, table)
        del table
    rows = appender.close()
    table = schema("rejects").table(rejects)
    table = table.take(pc.sort_indices(table, [("source_file", "ascending")]))
    write_table(table, into / table_file("rejects"))
    rows["rejects"] = table.num_rows
    keys = {d: k for d, k in text_keys.items() if d not in withheld}
    keys.update(stale_keys)
    return Withheld(into, {n: rows[n] for n in TABLES}, sources, keys, table, quarantined=rejected, stale=stale)


def _quarantine_rejects(rejects: list[dict[str, Any]], withheld: dict[str, tuple[dict[str, Any], list[str]]],
                        kept: set[str]) -> dict[str, dict[str, Any]]:
    """Add one ``quarantined`` row per withheld document to ``rejects`` (in place), by its file:
    a file with a row already (its new version quarantined earlier, and now its kept earlier
    version fails too) gets the new details added to that row. Returns doc_id -> its row."""
    by_file = {r["source_file"]: r for r in rejects}
    out = {}
    for doc_id, (doc, details) in withheld.items():
        row = by_file.get(doc["source_file"])
        if row is None:
            tail = ("; its last published version is kept, marked stale in documents" if doc["source_file"] in kept
                    else "; no earlier version of it is published")
            row = dict(source_file=doc["source_file"], source_sha256=doc["source_sha256"], reason=QUARANTINED,
                       detail="; ".join(details) + tail)
            rejects.append(row)
            by_file[doc["source_file"]] = row
        else:
            row["detail"] += (f"; its last published version (doc_id {doc_id}) fails too and is withheld: "
                              + "; ".join(details))
        out[doc_id] = row
    return out


def _earlier_versions(published: Path | None, files: set[str], present: set[str],
                      withheld_sha256: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The published documents that are an earlier version of these raw ``files`` and may be
    kept (a document of its own, not a duplicate, not ``present`` in the new build, not the very
    bytes withheld now): {doc_id: source_file}, and their key ids {doc_id: key id}."""
    if published is None or not files or not _same_layout(Path(published)):
        return {}, {}
    from flows.storage.publish import table_path
    from flows.storage.reuse import TEXT_KEYS

    docs = pq.read_table(table_path(published, "documents"),
                         columns=["doc_id", "source_file", "source_sha256", "duplicate_of"]).to_pylist()
    try:
        keys = pq.read_table(Path(published) / TEXT_KEYS)
        text_keys = dict(zip(keys.column("doc_id").to_pylist(), keys.column("text_sha256").to_pylist()))
    except (OSError, pa.ArrowException):
        text_keys = {}
    stale = {d["doc_id"]: d["source_file"] for d in docs
             if d["source_file"] in files and d["duplicate_of"] is None and d["doc_id"] not in present
             and d["source_sha256"] not in withheld_sha256}
    return stale, {d: text_keys[d] for d in stale if d in text_keys}


def _same_layout(build: Path) -> bool:
    """Whether a build's tables have this code's columns and types (else its rows cannot be kept)."""
    from flows.storage.publish import table_path

    try:
        return all([(f.name, f.type) for f in pq.read_schema(table_path(build, n))]
                   == [(f.name, f.type) for f in schema(n).bare_schema] for n in TABLES)
    except (OSError, pa.ArrowException):
        return False


def _marked_stale(documents: pa.Table, reasons: dict[str, str], now: dt.datetime) -> pa.Table:
    """documents rows with ``stale_since`` (kept where set: the first run that kept them) and
    ``stale_reason`` (this run's) set."""
    since_type = schema("documents").arrow_schema().field("stale_since").type
    since = pc.fill_null(documents.column("stale_since"), pa.scalar(now, since_type))
    reason = pa.array([reasons.get(f) for f in documents.column("source_file").to_pylist()], pa.string())
    for name, values in (("stale_since", since), ("stale_reason", reason)):
        i = documents.schema.get_field_index(name)
        documents = documents.set_column(i, documents.schema.field(i), values)
    return documents


def shrink_refusal(published: pa.Table | None, staged: pa.Table, allow_shrink: bool = False,
                   max_share: float = MAX_SHRINK_SHARE) -> str | None:
    """Why a staged build must not replace the published one, or None.

    ``published``/``staged``: their documents' source_file and source_sha256. A build with no
    documents is always refused. A published document is lost when neither its file nor its
    bytes are in the new build (a renamed file or a new version of a file is not lost); losing
    more than ``max_share`` of them is refused unless ``allow_shrink``."""
    if staged.num_rows == 0:
        return ("the build has no documents (is the raw folder empty, unmounted or unreadable?); "
                "the published tables are kept")
    if published is None or published.num_rows == 0 or allow_shrink:
        return None
    files = pc.is_in(published.column("source_file"), value_set=staged.column("source_file").combine_chunks())
    sha = pc.is_in(published.column("source_sha256"), value_set=staged.column("source_sha256").combine_chunks())
    lost = published.num_rows - pc.sum(pc.cast(pc.or_(files, sha), pa.int64())).as_py()
    if lost > max_share * published.num_rows:
        return (f"the build loses {lost} of the published build's {published.num_rows} documents "
                f"(more than {max_share:.0%}); the published tables are kept. If the raw folder really "
                "shrank, run again with --allow-shrink")
    return None


@dataclass
class ValidationResult:
    success: bool
    failures: list[str] = field(default_factory=list)
    expectations: int = 0
    suites: dict[str, int] = field(default_factory=dict)  # expectations per suite
    failed: dict[str, int] = field(default_factory=dict)  # failed expectations per suite
    seconds: float = 0.0
    docs_index: Path | None = None
    # documents whose rows the row-level suites checked; None = all (see validate_tables)
    checked_documents: int | None = None
    documents: int = 0
    # the failures that no document explains (``expectations.RULE_LEVELS``): nothing is published
    systemic: list[str] = field(default_factory=list)
    # the documents that failed a document-level rule: doc_id -> what failed (rule, table,
    # column, offending value), one line per failing row (``SHOWN_VALUES`` per rule at most)
    document_failures: dict[str, list[str]] = field(default_factory=dict)

    def markdown(self) -> str:
        """A summary for a Prefect artifact: suites, expectations, failures."""
        verdict = "passed" if self.success else f"**FAILED** ({len(self.failures)} expectations)"
        scope = "" if self.checked_documents is None else (
            f" Row-level suites checked the rows of the {self.checked_documents} new or changed documents; "
            f"the other {self.documents - self.checked_documents} passed the same suites in the previous "
            f"build (same code); suites over whole tables (`.keys`, `documents.integrity`, "
            f"`documents.row_counts`) checked every row.")
        lines = [f"# Validation {verdict}", "",
                 f"{len(self.suites)} suites, {self.expectations} expectations, {self.seconds:.1f} s.{scope}", "",
                 "| suite | expectations | failed |", "|---|---:|---:|"]
        lines += [f"| {name} | {n} | {self.failed.get(name, 0)} |" for name, n in self.suites.items()]
        if self.failures:
            lines += ["", "## Failures", ""] + [f"- {md_text(f)}" for f in self.failures]  # they quote raw text
        if self.document_failures:
            lines += ["", f"## Documents failing document-level rules ({len(self.document_failures)})", ""]
            lines += [f"- {md_text(doc)}: {'; '.join(md_text(d) for d in details)}"
                      for doc, details in sorted(self.document_failures.items())]
        if self.docs_index:
            lines += ["", f"Data Docs: `{self.docs_index}`"]
        return "\n".join(lines)


class ValidationFailed(BuildRefused):
    def __init__(self, result: ValidationResult, why: str | None = None):
        docs = f"\nData Docs: {result.docs_index}" if result.docs_index else ""
        why = f"\n{why}" if why else ""
        super().__init__("validation failed:\n" + "\n".join(f"  - {f}" for f in result.failures) + why + docs)
        self.result = result
