"""What a run records and reports: the staged build's meta (``_build.json``), the summary the
flow returns, and its Prefect artifacts (Prefect UI → Artifacts)."""
from __future__ import annotations

import logging
import resource
from pathlib import Path
from typing import Any

import pyarrow as pa

from flows import __version__
from flows.gate.verdict import EXIT_PUBLISHED, EXIT_QUARANTINED, EXIT_REFUSED, OUTCOMES, ValidationResult
from flows.orchestration.batches import RunPlan
from flows.orchestration.stage_build import StagingArea
from flows.storage.publish import table_file, write_meta
from flows.storage.reuse import TEXT_KEYS, write_text_keys
from flows.storage.staging import Staged


def peak_rss_mb() -> int:
    """The peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def outcome_of(quarantined: dict[str, dict[str, Any]]) -> int:
    return EXIT_QUARANTINED if quarantined else EXIT_PUBLISHED


def _by_file(quarantined: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {r["source_file"]: r["detail"] for r in quarantined.values()}


def write_build_meta(staged: Staged, area: StagingArea, names: list[str], base_meta: dict[str, Any],
                     quarantined: dict[str, dict[str, Any]], stale: dict[str, str]) -> None:
    """The staged build's text keys and ``_build.json``: how it was built, its outcome, and the
    checksums and file stats of its tables."""
    write_text_keys(staged.build, staged.text_keys)
    checksums = area.checksums_of(staged.build)
    sums, stats = checksums.collect([*(table_file(n) for n in names), TEXT_KEYS])
    outcome = outcome_of(quarantined)
    write_meta(staged.build, {**base_meta, **staged.meta(), "outcome": OUTCOMES[outcome], "exit_code": outcome,
                              "quarantined": _by_file(quarantined), "stale": sorted(stale.values()),
                              "checksums": sums, "file_stats": stats})


def build_summary(run: RunPlan, staged: Staged, result: ValidationResult, quarantined: dict[str, dict[str, Any]],
                  stale: dict[str, str], not_reused: list[str], timings: dict[str, float], batches: int,
                  peaks: dict[str, int], out: Path) -> dict[str, Any]:
    """The summary of a published build that the flow returns (and ``digigov run`` prints)."""
    outcome = outcome_of(quarantined)
    return {
        "outcome": OUTCOMES[outcome],
        "exit_code": outcome,
        "quarantined": [{"source_file": f, "detail": d} for f, d in _by_file(quarantined).items()],
        "stale": sorted(stale.values()),
        "not_reused": not_reused,
        "documents": staged.rows["documents"],
        "documents_in": len(run.entries),
        "rejected": staged.rows["rejects"],
        "processed": staged.processed,
        "cached": staged.cached,
        "reused": len(run.reuse),
        "rows": staged.rows,
        "seconds": round(timings["flow"], 2),
        "timings": {k: round(v, 3) for k, v in {**timings, **{f"stage:{k}": v for k, v in staged.stage_seconds.items()}}.items()},
        "batches": batches,
        "peak_rss_mb": peaks,  # of the flow's process, after each step: what memory goes to
        # documents whose rows the row-level suites checked (None: all of them)
        "validation": {"success": result.success, "expectations": result.expectations,
                       "checked_documents": result.checked_documents},
        "out_dir": str(out),
    }


def publish_artifacts(summary: dict[str, Any], rejects: pa.Table) -> None:
    """A markdown summary and a table of rejects on the flow run (Prefect UI → Artifacts)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    rows = "\n".join(f"| {name} | {n} |" for name, n in summary["rows"].items())
    validation = "passed" if summary["validation"]["success"] else "FAILED"
    quarantined = "".join(f"- `{q['source_file']}`: {q['detail'][:500]}\n" for q in summary["quarantined"])
    create_markdown_artifact(
        key="build-summary",
        description="digigov build summary",
        markdown=(
            f"# digigov build: {summary['outcome']} (exit code {summary['exit_code']})\n\n"
            + (f"## Quarantined documents ({len(summary['quarantined'])})\n\nWithheld from the build; "
               f"their last published versions kept, marked stale: {len(summary['stale'])}.\n\n{quarantined}\n"
               if quarantined else "")
            + "".join(f"- {why}\n" for why in summary["not_reused"])
            + f"- documents in: **{summary['documents_in']}** (processed {summary['processed']}, "
            f"from cache {summary['cached']}, unchanged in the published build {summary['reused']}, "
            f"rejected {summary['rejected']})\n"
            f"- documents table: {summary['documents']} rows\n"
            f"- validation: **{validation}** ({summary['validation']['expectations']} checks)\n"
            f"- {summary['seconds']} s, {summary['batches']} batches → `{summary['out_dir']}`\n\n"
            f"| table | rows |\n|---|---|\n{rows}\n"
        ),
    )
    create_table_artifact(
        key="build-rejects",
        description="raw files that were rejected, with the reason",
        table=[{"source_file": r["source_file"], "reason": r["reason"], "detail": (r["detail"] or "")[:300]}
               for r in rejects.to_pylist()] or [{"source_file": "", "reason": "", "detail": "no rejects"}],
    )


def publish_refusal(exc: BaseException, out: Path, logger: logging.Logger | logging.LoggerAdapter) -> None:
    """The build-summary artifact of a run that published nothing, and why."""
    from prefect.artifacts import create_markdown_artifact

    try:
        create_markdown_artifact(
            key="build-summary", description="digigov build summary",
            markdown=(f"# digigov build REFUSED (exit code {EXIT_REFUSED})\n\nNothing was published; the tables in "
                      f"`{out}` are as they were.\n\n```\n{str(exc)[:5000]}\n```\n"))
    except Exception as error:  # noqa: BLE001 (the refusal is what the run reports, not this)
        logger.warning("build-summary artifact not written: %s", error)


def run_meta(raw: Path, run: RunPlan, code_fingerprint: str, rules_fingerprint: str, full_refresh: bool) -> dict[str, Any]:
    """How the build was made, for its ``_build.json``."""
    return {"code_version": __version__, "code_fingerprint": code_fingerprint,
            "rules_fingerprint": rules_fingerprint, "raw_dir": str(raw),
            "documents_in": len(run.entries), "reused": len(run.reuse), "full_refresh": full_refresh}
