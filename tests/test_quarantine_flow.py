"""Issue 20 end to end, through ``digigov run`` (``flows.cli.main``): a folder of the seeds and one
more plan is built again and again, as nightly runs would, while that plan turns bad, is fixed,
its published rows are hand-edited, the raw folder empties and shrinks, and the code crashes.
One sequence of runs shares the output folder (each run is a few seconds)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from flows.gate.verdict import EXIT_CRASHED, EXIT_PUBLISHED, EXIT_QUARANTINED, EXIT_REFUSED
from flows.contract.schema import TABLES
from flows.storage.publish import table_file, table_path
from tests.conftest import SEEDS

pytestmark = pytest.mark.e2e

MARKER = "甲乙市"  # in the invented plan only
PLAN = (f"# {MARKER}数字政府建设方案\n\n一、总体要求\n\n到2025年，政务服务事项全程网办率达到90%。\n\n"
        "二、主要任务\n\n（一）夯实基础。建设电子政务外网。\n")


def misquoting(real):
    """A metrics extractor that misquotes the sentences of the invented plan (its rows' quotes
    no longer equal the text at their offsets: a document-level rule fails for that plan only)."""
    def metrics(doc_id, doc):
        rows = real(doc_id, doc)
        return [{**r, "source_text": r["source_text"] + "（误引）"} for r in rows] if MARKER in doc.text else rows
    return metrics


def published(out):
    """What a reader sees: the bytes of every published table and the build they come from, and
    the builds kept (the current and the one before it) still there."""
    return ({n: hashlib.sha256((out / f"{n}.parquet").read_bytes()).hexdigest() for n in TABLES},
            os.readlink(out / ".current"), (out / ".previous").is_symlink() and os.readlink(out / ".previous"),
            (out / ".current").resolve().is_dir(), (out / ".previous").resolve().is_dir())


@pytest.fixture(scope="module")
def runs(prefect_harness, tmp_path_factory):
    """Run after run over one output folder; each step's exit code, summary and tables."""
    from flows.cli import main
    from flows.extract import EXTRACTORS

    root = tmp_path_factory.mktemp("nightly")
    raw, out = root / "raw", root / "out"
    raw.mkdir()
    for seed in SEEDS:
        shutil.copy(seed, raw / seed.name)
    (raw / "plan.md").write_text(PLAN, encoding="utf-8")
    os.symlink("loop.txt", raw / "loop.txt")
    steps = {}
    monkeypatch = pytest.MonkeyPatch()
    # the CLI's runs report to a server of their own: the build-summary artifacts are caught here
    summaries = steps["artifacts"] = []
    import prefect.artifacts

    made = prefect.artifacts.create_markdown_artifact

    def markdown_artifact(markdown, key=None, **kwargs):
        if key == "build-summary":
            summaries.append(markdown)
        return made(markdown, key=key, **kwargs)

    monkeypatch.setattr(prefect.artifacts, "create_markdown_artifact", markdown_artifact)
    # validation in this process (GX imported once), not in a validation process per run
    monkeypatch.setattr("flows.gate.process.start", lambda: None)

    def run(step, *args, raw_dir=raw):
        summary = root / f"{step}.json"
        code = main(["run", "--raw", str(raw_dir), "--out", str(out), "--runner", "threads",
                     "--summary-json", str(summary), *args])
        tables = {n: pq.read_table(out / f"{n}.parquet") for n in TABLES}
        steps[step] = dict(code=code, summary=json.loads(summary.read_text(encoding="utf-8")), tables=tables,
                           meta=json.loads((out / "_build.json").read_text(encoding="utf-8")), published=published(out))

    try:
        run("first")
        # the plan's new version meets a broken extractor: only that plan is quarantined
        (raw / "plan.md").write_text(PLAN + "\n三、保障措施\n\n加强组织领导。\n", encoding="utf-8")
        extract_metrics = EXTRACTORS["metrics"]
        monkeypatch.setitem(EXTRACTORS, "metrics", misquoting(extract_metrics))
        run("quarantined")
        monkeypatch.setitem(EXTRACTORS, "metrics", extract_metrics)  # fixed: the next run retries the plan
        run("retried")
        # a published metrics value hand-edited to 150 %
        build = (out / ".current").resolve()
        metrics = pq.read_table(table_path(build, "metrics"))
        percent = pc.equal(metrics.column("unit"), "%")
        edited = metrics.set_column(metrics.schema.get_field_index("value"), metrics.schema.field("value"),
                                    pc.if_else(percent, pa.scalar(150.0), metrics.column("value")))
        pq.write_table(edited, table_path(build, "metrics"))
        run("tampered")
        empty = root / "empty"
        empty.mkdir()
        run("empty", raw_dir=empty)
        few = root / "few"
        few.mkdir()
        shutil.copy(SEEDS[0], few / SEEDS[0].name)
        run("shrunk", raw_dir=few)
        monkeypatch.setattr("flows.build.plan_batches", lambda *a, **k: 1 / 0)
        run("crashed")
    finally:
        monkeypatch.undo()
    return steps


def test_a_clean_run_exits_0_and_a_symlink_loop_is_a_reject(runs):
    first = runs["first"]
    assert first["code"] == EXIT_PUBLISHED and first["summary"]["outcome"] == "published"
    assert first["meta"]["exit_code"] == EXIT_PUBLISHED and first["meta"]["outcome"] == "published"
    docs = first["tables"]["documents"]
    assert sorted(docs.column("source_file").to_pylist()) == sorted([s.name for s in SEEDS] + ["plan.md"])
    rejects = {r["source_file"]: r for r in first["tables"]["rejects"].to_pylist()}
    assert rejects["loop.txt"]["reason"] == "symlink_loop"
    # every published file's checksum is recorded
    assert set(first["meta"]["checksums"]) >= {table_file(n) for n in TABLES}


def test_one_failing_document_is_quarantined_and_the_seeds_published(runs):
    step = runs["quarantined"]
    assert step["code"] == EXIT_QUARANTINED
    assert step["summary"]["outcome"] == step["meta"]["outcome"] == "published_with_quarantined"
    rejects = {r["source_file"]: r for r in step["tables"]["rejects"].to_pylist()}
    reject = rejects["plan.md"]
    assert reject["reason"] == "quarantined"
    assert "source_text_matches_offsets (metrics.source_text)" in reject["detail"] and "（误引）" in reject["detail"]
    new_sha = hashlib.sha256((PLAN + "\n三、保障措施\n\n加强组织领导。\n").encode()).hexdigest()
    assert reject["source_sha256"] == new_sha
    docs = {d["source_file"]: d for d in step["tables"]["documents"].to_pylist()}
    for seed in SEEDS:  # the seeds as before
        assert docs[seed.name]["stale_since"] is None
    # the plan's last published version is kept, marked stale, with all its rows
    first_docs = {d["source_file"]: d for d in runs["first"]["tables"]["documents"].to_pylist()}
    stale = docs["plan.md"]
    assert stale["doc_id"] == first_docs["plan.md"]["doc_id"] and stale["stale_since"] is not None
    assert "quarantined" in stale["stale_reason"] and "source_text_matches_offsets" in stale["stale_reason"]
    for name in ("sections", "metrics", "goals"):
        before = runs["first"]["tables"][name].filter(pc.equal(runs["first"]["tables"][name].column("doc_id"), stale["doc_id"]))
        after = step["tables"][name].filter(pc.equal(step["tables"][name].column("doc_id"), stale["doc_id"]))
        assert after.num_rows == before.num_rows > 0, name
        # and no row of the new version (whatever its doc_id): the documents are the first run's
        assert set(step["tables"][name].column("doc_id").to_pylist()) == set(
            runs["first"]["tables"][name].column("doc_id").to_pylist()), name
    assert step["summary"]["quarantined"] == [{"source_file": "plan.md", "detail": reject["detail"]}]
    assert step["meta"]["quarantined"] == {"plan.md": reject["detail"]} and step["meta"]["stale"] == ["plan.md"]


def test_a_quarantined_document_is_processed_again_next_run(runs):
    step = runs["retried"]
    assert step["code"] == EXIT_PUBLISHED and step["summary"]["processed"] == 1
    docs = {d["source_file"]: d for d in step["tables"]["documents"].to_pylist()}
    assert docs["plan.md"]["stale_since"] is None and not step["summary"]["quarantined"]
    assert docs["plan.md"]["source_sha256"] == runs["quarantined"]["tables"]["rejects"].filter(
        pc.equal(runs["quarantined"]["tables"]["rejects"].column("source_file"), "plan.md")).column("source_sha256")[0].as_py()
    assert "plan.md" not in step["tables"]["rejects"].column("source_file").to_pylist()
    assert all(d["stale_since"] is None for d in docs.values())


def test_a_hand_edited_published_value_is_caught_by_the_next_incremental_run(runs):
    step = runs["tampered"]
    assert step["code"] == EXIT_PUBLISHED
    (why,) = step["summary"]["not_reused"]
    assert table_file("metrics") in why and "checksums" in why
    assert step["summary"]["reused"] == 0 and step["summary"]["validation"]["checked_documents"] is None
    # the rows come back as the code makes them, not as edited
    assert step["tables"]["metrics"].equals(runs["retried"]["tables"]["metrics"])
    assert 150.0 not in step["tables"]["metrics"].column("value").to_pylist()


def test_an_empty_raw_folder_is_refused_and_the_published_build_stays(runs):
    step = runs["empty"]
    assert step["code"] == EXIT_REFUSED and step["summary"]["outcome"] == "refused"
    assert "no documents" in step["summary"]["reason"]
    assert step["published"] == runs["tampered"]["published"]


def test_a_build_that_loses_most_documents_is_refused(runs):
    step = runs["shrunk"]
    assert step["code"] == EXIT_REFUSED
    assert "loses 5 of the published build's 6 documents" in step["summary"]["reason"]
    assert "--allow-shrink" in step["summary"]["reason"]
    assert step["published"] == runs["tampered"]["published"]


def test_the_build_summary_artifact_states_the_outcome(runs):
    texts = runs["artifacts"]
    assert any("published_with_quarantined (exit code 3)" in t and "`plan.md`" in t for t in texts)
    assert any("REFUSED (exit code 4)" in t and "loses 5 of the published build's 6 documents" in t for t in texts)
    assert any("published (exit code 0)" in t and "no longer match the checksums" in t for t in texts)


def test_a_crash_exits_1_and_publishes_nothing(runs):
    step = runs["crashed"]
    assert step["code"] == EXIT_CRASHED and step["summary"]["outcome"] == "crashed"
    assert "ZeroDivisionError" in step["summary"]["reason"]
    assert step["published"] == runs["tampered"]["published"]
