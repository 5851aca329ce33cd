"""After validation: the documents a failed validation names are withheld (quarantined) until
what is left passes, and a build that lost too many of the published build's documents is
refused (already before processing when its raw files alone lose them). Plain functions:
validation is handed in (the flow's task)."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from flows.contract.schema import TABLES
from flows.gate import process as validator
from flows.gate.verdict import (
    MAX_QUARANTINED_COUNT,
    MAX_QUARANTINED_SHARE,
    BuildRefused,
    ValidationFailed,
    ValidationResult,
    quarantine_verdict,
    shrink_refusal,
    withhold_documents,
)
from flows.orchestration.stage_build import Validate
from flows.records import RawEntry
from flows.storage.cache import DocumentCache
from flows.storage.publish import current_build, new_build_dir, table_path
from flows.storage.staging import Staged, StagedTables


def quarantine_documents(staged: Staged, result: ValidationResult, out: Path, checked: list[str] | None,
                         staging: list[Path], validate: Validate, logger: logging.Logger | logging.LoggerAdapter,
                         max_share: float = MAX_QUARANTINED_SHARE, max_count: int = MAX_QUARANTINED_COUNT
                         ) -> tuple[ValidationResult, dict[str, dict[str, Any]], dict[str, str]]:
    """Withhold the documents a failed validation names (``gate.quarantine_verdict``) from the
    staged build, keeping their last published rows marked stale (``gate.withhold_documents``),
    and validate what is left, until it passes (a kept stale version may fail newer rules in
    turn: it is withheld too). ``staged`` then describes the new staging build (listed in
    ``staging``). Returns the passing result, the quarantine rejects by doc_id and the kept
    stale versions; raises ``ValidationFailed`` (nothing to publish) for a systemic failure."""
    quarantined: dict[str, dict[str, Any]] = {}
    stale: dict[str, str] = {}
    documents = staged.rows["documents"]
    while not result.success:
        failing = quarantine_verdict(result, documents, max_share, max_count)
        new = [d for d in failing if d not in quarantined and d not in stale]
        if not new:  # nothing left to withhold, yet it fails: not a matter of documents
            raise ValidationFailed(result, "the failures remain once their documents are withheld")
        withheld = withhold_documents(staged.build, new_build_dir(out), {d: failing[d] for d in new},
                                      staged.text_keys, current_build(out))
        staging.append(withheld.build)
        shutil.rmtree(staged.build, ignore_errors=True)
        quarantined.update(withheld.quarantined)
        # a kept version shares its doc_id with the quarantined new version of its file (a doc_id
        # names the document, not its bytes): it stays listed while it is kept
        stale = {**{d: f for d, f in stale.items() if d not in withheld.quarantined}, **withheld.stale}
        staged.build, staged.rows, staged.sources = withheld.build, withheld.rows, withheld.sources
        staged.text_keys, staged.rejected = withheld.text_keys, withheld.rejected
        for doc_id, row in withheld.quarantined.items():
            logger.warning("quarantined %s (doc_id %s): %s", row["source_file"], doc_id, row["detail"])
        files = len({row["source_file"] for row in quarantined.values()})
        if files > max_count and files > max_share * max(documents, 1):
            raise ValidationFailed(result, f"{files} of {documents} documents quarantined, more than "
                                           f"{max_share:.0%} and more than {max_count} (--max-quarantined)")
        # the rows of every document no published build validated under these rules, stale
        # versions included (their rules may have changed since)
        if checked is not None:
            checked = list(dict.fromkeys([*(d for d in checked if d not in quarantined), *stale]))
        validator.wait_docs()
        result = validate(StagedTables(staged.build, list(TABLES)), checked)
    return result, quarantined, stale


def refuse_shrink(published: pa.Table | None, documents: pa.Table, allow_shrink: bool) -> None:
    """Refuse a build whose ``documents`` (source_file, source_sha256) lose too many of the
    ``published`` build's (unless ``allow_shrink``): ``gate.shrink_refusal`` says why. The flow
    checks the raw files before processing (``raw_documents``: the staged build's documents come
    from them, rejected or quarantined ones only drop out, so a refusal there would come anyway,
    after processing and validating everything) and the staged build before publishing."""
    refusal = shrink_refusal(published, documents, allow_shrink)
    if refusal:
        raise BuildRefused(refusal)


def raw_documents(entries: list[RawEntry]) -> pa.Table:
    """source_file and source_sha256 of the usable raw files."""
    usable = [e for e in entries if e.reject is None]
    return pa.table({"source_file": pa.array([e.source_file for e in usable], pa.string()),
                     "source_sha256": pa.array([e.sha256 for e in usable], pa.string())})


def staged_documents(build: Path) -> pa.Table:
    """source_file and source_sha256 of a staged build's documents."""
    return pq.read_table(table_path(build, "documents"), columns=["source_file", "source_sha256"])


def published_documents(out: Path) -> pa.Table | None:
    """source_file and source_sha256 of the published build's documents (None: none readable)."""
    build = current_build(out)
    try:
        return None if build is None else staged_documents(build)
    except (OSError, pa.ArrowException):
        return None


def forget_quarantined(cache: DocumentCache, quarantined: dict[str, dict[str, Any]]) -> None:
    """Drop the quarantined documents' cached rows: processed again next run, like a changed document."""
    for row in quarantined.values():
        cache.path(row["source_sha256"], Path(row["source_file"]).suffix).unlink(missing_ok=True)
