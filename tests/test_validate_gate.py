"""The gate in the flow, on the embedded Prefect server: a failing validation publishes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from flows.contract.schema import TABLES

pytestmark = pytest.mark.e2e

PLAN = (
    "# 某市数字政府建设方案\n\n"
    "一、总体要求\n\n"
    "到2025年，政务服务事项全程网办率达到90%。\n\n"
    "二、主要任务\n\n"
    "（一）夯实基础。建设电子政务外网。\n"
)


def ids_ignoring_ordinals(monkeypatch) -> None:
    """Row ids gone wrong too: identical rows no longer told apart by their ordinal."""
    import flows.contract.ids as ids

    real = ids.row_id
    monkeypatch.setattr(ids, "row_id", lambda key, table, content, ordinal: real(key, table, content, 0))


def published(out: Path) -> dict[str, str]:
    """sha256 of every published table, read through the OUT/<table>.parquet links."""
    return {name: hashlib.sha256((out / f"{name}.parquet").read_bytes()).hexdigest() for name in TABLES}


def percent_of_150(doc_id: str, doc) -> list[dict]:
    """A metrics extractor gone wrong: 90% read as 150%, on an otherwise well-formed row, and
    every row given twice; with ``ids_ignoring_ordinals`` both get one id: a systemic failure
    (``metrics.keys``), which no quarantine of documents can mend, so nothing is published."""
    text = doc.text
    (start, end), = [(s, e) for s, e in doc.sentences if "90%" in text[s:e]]
    return [dict(
        metric_id=f"{doc_id}-m0000", doc_id=doc_id, section_id=doc.index.at(start)["section_id"],
        indicator="全程网办率", subject="政务服务事项", value=150.0, value_max=None, unit="%",
        comparator=">=", measure="level", target_year=2025, is_target=True, value_text="150%",
        source_text=text[start:end], char_start=start, char_end=end, extractor="sentence",
    )] * 2


def assert_the_run_published_a_passed_validation_artifact(out: Path) -> None:
    """The latest run's validation artifact on the Prefect server says it passed, and ``digigov
    validate`` agrees on what the run published."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, TaskRunFilter
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.cli import main

    # this server rejects the nulls the client sends for unset filters: set them all
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["validation"])),
            flow_run_filter=FlowRunFilter(), task_run_filter=TaskRunFilter(),
            sort=ArtifactSort.CREATED_DESC, limit=10, offset=0)
    assert artifacts
    latest = artifacts[0]
    assert latest.type == "markdown"
    assert "# Validation passed" in latest.data and "| metrics.integrity |" in latest.data
    assert main(["validate", "--out", str(out)]) == 0


def test_a_failing_validation_keeps_the_previous_tables_byte_for_byte(prefect_harness, tmp_path, monkeypatch):
    from flows.build import build_dataset
    from flows.gate.verdict import ValidationFailed
    from flows.extract import EXTRACTORS
    from flows.gate.run import DOCS_DIR

    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    (raw / "plan.md").write_text(PLAN, encoding="utf-8")
    summary = build_dataset(raw_dir=str(raw), out_dir=str(out))
    assert summary["documents"] == 1
    before = published(out)
    current = (out / ".current").resolve()
    assert (out / DOCS_DIR / "index.html").exists()
    assert_the_run_published_a_passed_validation_artifact(out)

    # the next run's raw folder grows, and its metrics extractor breaks
    (raw / "plan2.md").write_text(PLAN.replace("某市", "另一市"), encoding="utf-8")
    monkeypatch.setitem(EXTRACTORS, "metrics", percent_of_150)
    ids_ignoring_ordinals(monkeypatch)
    with pytest.raises(ValidationFailed) as failed:
        build_dataset(raw_dir=str(raw), out_dir=str(out))
    message = str(failed.value)
    assert "percent_within_0_100" in message and "metrics.value = 150.0 for unit %" in message
    assert "metrics.keys: unique failed" in message

    assert published(out) == before
    assert (out / ".current").resolve() == current
    # the Data Docs show the failed validation, so a maintainer can see why nothing was published
    assert "metrics" in (out / DOCS_DIR / "index.html").read_text(encoding="utf-8")


def test_the_cli_run_exits_non_zero_and_names_the_failure(prefect_harness, tmp_path, monkeypatch, capsys):
    from flows.cli import main
    from flows.gate.verdict import EXIT_REFUSED
    from flows.extract import EXTRACTORS

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "plan.md").write_text(PLAN, encoding="utf-8")
    monkeypatch.setitem(EXTRACTORS, "metrics", percent_of_150)
    ids_ignoring_ordinals(monkeypatch)
    assert main(["run", "--raw", str(raw), "--out", str(tmp_path / "out")]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "digigov run refused, nothing published: validation failed:" in err
    assert "metrics.value = 150.0 for unit %" in err
    assert not (tmp_path / "out" / "metrics.parquet").exists()
