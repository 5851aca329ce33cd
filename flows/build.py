"""The Prefect flow ``build_dataset``: raw/ → curated/ (ingest → normalize → structure → extract
→ validate → write). Tasks are thin: they call the plain stage functions in batches."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from prefect import flow, get_run_logger, task

from flows import __version__
from flows.ingest import Rejected, discover, read_raw
from flows.pipeline import Rows, empty_rows, mark_duplicates, merge, process_document, reject_row
from flows.schema import TABLES, schema
from flows.validate import DOCS_DIR, ValidationFailed, ValidationResult, validate_tables
from flows.write import clean_stale, new_build_dir, publish, write_build

DEFAULT_BATCH_SIZE = 50
LOCK_WAIT_SECONDS = 10.0


class RunLocked(RuntimeError):
    pass


def process_paths(raw_dir: Path, paths: list[Path]) -> Rows:
    """Read and process a batch of raw files (plain function; the task wraps it)."""
    parts = []
    for path in paths:
        try:
            raw = read_raw(raw_dir, path)
        except Rejected as exc:
            part = empty_rows()
            part["rejects"].append(reject_row(path.relative_to(raw_dir).as_posix(), None, exc.reason, exc.detail))
            parts.append(part)
            continue
        parts.append(process_document(raw))
    return merge(parts)


@task(name="discover-raw", retries=2, retry_delay_seconds=[1, 5])
def discover_task(raw_dir: Path) -> list[Path]:
    return discover(raw_dir)


@task(name="process-batch")
def process_batch_task(raw_dir: Path, paths: list[Path]) -> Rows:
    return process_paths(raw_dir, paths)


@task(name="validate")
def validate_task(tables: dict[str, Any], docs_dir: Path) -> ValidationResult:
    from prefect.artifacts import create_markdown_artifact

    result = validate_tables(tables, docs_dir)
    create_markdown_artifact(result.markdown(), key="validation", description="Great Expectations results")
    get_run_logger().info("validation: %d suites, %d expectations, %d failed, %.1f s",
                          len(result.suites), result.expectations, len(result.failures), result.seconds)
    return result


@task(name="write", retries=2, retry_delay_seconds=[1, 5])
def write_task(tables: dict[str, Any], out_dir: Path, meta: dict[str, Any]) -> str:
    build = new_build_dir(out_dir)
    write_build(tables, build, meta)
    return str(publish(build, out_dir, list(tables)))


def batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


@flow(name="build_dataset", log_prints=True)
def build_dataset(raw_dir: str = "raw", out_dir: str = "curated", batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any]:
    """Build every table from the raw folder and publish them into ``out_dir`` atomically."""
    logger = get_run_logger()
    started = time.perf_counter()
    raw, out = Path(raw_dir).resolve(), Path(out_dir).resolve()
    if not raw.is_dir():
        raise FileNotFoundError(f"raw folder {raw} does not exist")
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / ".lock")
    try:
        lock.acquire(timeout=LOCK_WAIT_SECONDS)
    except Timeout:
        raise RunLocked(f"another run holds {out / '.lock'}; waited {LOCK_WAIT_SECONDS:.0f} s, giving up") from None
    try:
        for stale in clean_stale(out):
            logger.info("removed stale build %s", stale.name)
        paths = discover_task(raw)
        logger.info("%d raw files under %s", len(paths), raw)
        futures = [process_batch_task.submit(raw, b) for b in batches(paths, batch_size)]
        rows = mark_duplicates(merge([f.result() for f in futures]))
        tables = {name: schema(name).table(rows[name]) for name in TABLES}
        result = validate_task(tables, out / DOCS_DIR)
        if not result.success:
            raise ValidationFailed(result)
        counts = {name: t.num_rows for name, t in tables.items()}
        meta = {
            "code_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "raw_dir": str(raw),
            "row_counts": counts,
            "sources": {r["source_file"]: r["source_sha256"] for r in rows["documents"]},
        }
        write_task(tables, out, meta)
        summary = {
            "documents": counts["documents"],
            "rejected": counts["rejects"],
            "rows": counts,
            "seconds": round(time.perf_counter() - started, 2),
            "out_dir": str(out),
        }
        logger.info("built %s", summary)
        return summary
    finally:
        lock.release()
