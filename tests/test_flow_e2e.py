"""The flow on the raw folder (seeds and corpus), on the embedded Prefect server (one harness per session)."""

import pyarrow.parquet as pq
import pytest

from flows.ingest.raw_files import discover
from flows.contract.schema import TABLES, schema
from tests.conftest import RAW, SEEDS

pytestmark = pytest.mark.e2e


def test_every_table_is_written_with_its_schema(seed_build):
    out, summary = seed_build
    for name in TABLES:
        table = pq.read_table(out / f"{name}.parquet")
        assert table.schema.equals(schema(name).arrow_schema(), check_metadata=False), name
        field_desc = table.schema.field(0).metadata[b"description"].decode()
        assert field_desc == schema(name).columns[0].description


def test_one_documents_row_per_raw_file(seed_build):
    out, summary = seed_build
    docs = pq.read_table(out / "documents.parquet").to_pylist()
    names = sorted(p.name for p in discover(RAW))
    assert sorted(d["source_file"] for d in docs) == names and set(p.name for p in SEEDS) < set(names)
    assert summary["documents"] == len(names) == 15 and summary["rejected"] == 0
    assert all(d["text"] for d in docs)


def test_sections_hold_real_rows_for_every_document(seed_build):
    out, _ = seed_build
    sections = pq.read_table(out / "sections.parquet").to_pandas()
    docs = pq.read_table(out / "documents.parquet", columns=["doc_id", "source_file"]).to_pylist()
    sizes = sections.groupby("doc_id").size()
    seeds = {d["doc_id"] for d in docs if d["source_file"] in {p.name for p in SEEDS}}
    assert sizes[sorted(seeds)].min() > 10 and len(seeds) == 5
    assert sizes.min() >= 2 and len(sizes) == len(docs)  # short web copies: a preamble and a section at least
    assert sections["section_id"].is_unique


@pytest.mark.validation_process
def test_cli_run_on_any_folder(prefect_harness, tmp_path):
    from flows.cli import main

    raw = tmp_path / "in put"
    raw.mkdir()
    (raw / "计划 (1).md").write_text("# 某市数字政府建设方案\n\n一、总体要求\n\n到2025年，建成数字政府。\n", encoding="utf-8")
    (raw / "empty.txt").write_bytes(b"")
    assert main(["run", "--raw", str(raw), "--out", str(tmp_path / "out")]) == 0
    rejects = pq.read_table(tmp_path / "out" / "rejects.parquet").to_pylist()
    assert [(r["source_file"], r["reason"]) for r in rejects] == [("empty.txt", "empty")]
    assert pq.read_table(tmp_path / "out" / "documents.parquet").num_rows == 1


def test_cli_run_fails_cleanly_on_a_missing_folder(prefect_harness, tmp_path, capsys):
    from flows.cli import main

    assert main(["run", "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) != 0
    assert "does not exist" in capsys.readouterr().err
