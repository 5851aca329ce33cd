"""Shared fixtures. Prefect runs offline against one temporary embedded server per session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before prefect is imported anywhere: a private PREFECT_HOME and no analytics (tests run offline).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="digigov-prefect-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "raw"
SEEDS = sorted(p for p in RAW.glob("*.txt"))


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def seed_build(prefect_harness, tmp_path_factory):
    """The flow run once on the seeds; its output folder and summary (shared by e2e tests)."""
    from flows.build import build_dataset

    out = tmp_path_factory.mktemp("curated")
    summary = build_dataset(raw_dir=str(RAW), out_dir=str(out))
    return out, summary


@pytest.fixture(scope="session")
def seed_rows():
    """Every seed through the plain pipeline (no Prefect): rows per table."""
    from flows.ingest import read_raw
    from flows.pipeline import mark_duplicates, merge, process_document

    return mark_duplicates(merge([process_document(read_raw(RAW, p)) for p in SEEDS]))


def seed_doc(rows, prefix: str) -> dict:
    """The documents row of the seed whose file name starts with ``prefix`` (e.g. "003")."""
    (doc,) = [d for d in rows["documents"] if d["source_file"].startswith(prefix)]
    return doc
