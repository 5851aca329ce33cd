"""An incremental run stages one table at a time: the published build's reused rows and the
batches' rows merged per table, in path order, duplicates dropped; the staged files must equal
those of a full run over the same raw folder (rows, order, schema and its metadata)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import flows.storage.publish as write_mod
from flows.contract.schema import TABLES, schema
from flows.ingest.raw_files import discover
from flows.orchestration.batches import _split_copies, _split_reused, process_entries, scan_raw
from flows.storage.publish import file_checksums, new_build_dir, publish, table_file, table_path, write_meta
from flows.storage.reuse import TEXT_KEYS, load_previous, reused_rows, write_text_keys
from flows.contract.ids import file_document_id
from flows.pipeline import DuplicateRoles, duplicate_roles
from flows.storage.staging import (
    MERGE_ORDER,
    FinalIds,
    ReusedReads,
    assemble,
    in_document_order,
    merge_table,
    path_ordered_doc_ids,
    stage_merged,
    stream_batches,
)
from tests.test_reliability import PLAN, TRAD, variant

FINGERPRINT = "test-code"


# --- one table's merge, on invented rows ----------------------------------------------------------


def _docs(*names: str, dup: dict[str, str] | None = None) -> pa.Table:
    return schema("documents").table([dict(doc_id=n, source_file=f"{n}.txt", duplicate_of=(dup or {}).get(n))
                                      for n in names])


def _sections(*ids: str) -> pa.Table:
    return schema("sections").table([dict(section_id=i, doc_id=i.split("-")[0]) for i in ids])


def test_rows_follow_their_documents_path_order_stable_within_a_document():
    # reused rows of b and c (published order), then the batch's a: a sorts first by path
    documents = merge_table("documents", [_docs("b", "c"), _docs("a")], NO_ROLES, [])
    doc_ids = path_ordered_doc_ids(documents, ["a.txt", "b.txt", "c.txt"])
    assert doc_ids.to_pylist() == ["a", "b", "c"]
    assert in_document_order(documents, doc_ids).column("doc_id").to_pylist() == ["a", "b", "c"]
    sections = merge_table("sections", [_sections("b-0", "b-1", "c-0"), _sections("a-1", "a-0")], NO_ROLES, [], doc_ids)
    # within a document the rows keep their order (a-1 before a-0 as the batch gave them)
    assert sections.column("section_id").to_pylist() == ["a-1", "a-0", "b-0", "b-1", "c-0"]
    assert sections.schema.equals(schema("sections").arrow_schema(), check_metadata=True)


def test_a_table_already_in_order_is_not_copied():
    sections = _sections("a-0", "b-0", "c-0")
    assert in_document_order(sections, pa.array(["a", "b", "c"])) is sections


NO_ROLES = FinalIds.of(DuplicateRoles())


def test_duplicates_are_marked_and_their_rows_dropped_originals_named_by_their_key_rejects_sorted():
    # processed a and c share the key k: a (first by path) becomes k, c keeps its file id
    final_ids = FinalIds.of(duplicate_roles([("a.txt", "a", "k", "sa"), ("c.txt", "c", "k", "sc"),
                                             ("b.txt", "b", "kb", "sb")]))
    documents = merge_table("documents", [_docs("a", "c")], final_ids, [])
    assert documents.column("doc_id").to_pylist() == ["k", file_document_id("k", "sc")]
    assert documents.column("duplicate_of").to_pylist() == [None, "k"]
    sections = merge_table("sections", [_sections("a-0", "c-0", "c-1"), _sections("b-0")], final_ids, [])
    assert sections.column("section_id").to_pylist() == ["a-0", "b-0"]
    assert sections.column("doc_id").to_pylist() == ["k", "kb"]
    batch = schema("rejects").table([dict(source_file="z.txt", reason="empty")])
    rejects = merge_table("rejects", [batch], final_ids, [dict(source_file="m.txt", reason="duplicate")])
    assert rejects.column("source_file").to_pylist() == ["m.txt", "z.txt"]


def test_a_published_original_that_a_new_earlier_file_of_its_key_outranks_becomes_its_duplicate():
    # the published build's z (doc_id k, its key id) and a new a.txt with the same key: a is
    # first by path, so a's rows (file id fa) become k and z's reused rows go, its documents row
    # renamed to its file id
    final_ids = FinalIds.of(duplicate_roles([("z.txt", "k", "k", "sz"), ("a.txt", "fa", "k", "sa")]))
    z = file_document_id("k", "sz")
    reused = schema("documents").table([dict(doc_id="k", source_file="z.txt")])
    documents = merge_table("documents", [reused, _docs("fa")], final_ids, [])
    assert documents.select(["doc_id", "source_file", "duplicate_of"]).to_pylist() == [
        dict(doc_id=z, source_file="z.txt", duplicate_of="k"), dict(doc_id="k", source_file="fa.txt", duplicate_of=None)]
    sections = merge_table("sections", [_sections("k-0", "k-1"), _sections("fa-0")], final_ids, [])
    assert sections.select(["section_id", "doc_id"]).to_pylist() == [dict(section_id="fa-0", doc_id="k")]


# --- a whole incremental staging against a full run, on invented raw folders -------------------


def _full(raw: Path, build: Path):
    """The tables of a full run over ``raw`` (streamed into ``build`` as the flow does)."""
    unique, copies = _split_copies([e for e in scan_raw(raw, discover(raw)) if not e.reject])
    return stream_batches(iter([process_entries(raw, [e], None) for e in unique]), copies, build)


def _publish(raw: Path, out: Path) -> None:
    out.mkdir(exist_ok=True)
    staged = _full(raw, new_build_dir(out))
    write_text_keys(staged.build, staged.text_keys)
    checksums = file_checksums(staged.build, [*(table_file(n) for n in TABLES), TEXT_KEYS])
    write_meta(staged.build, {"code_fingerprint": FINGERPRINT, **staged.meta(), "checksums": checksums})
    publish(staged.build, out, list(TABLES))


def _reused_keys(unique, previous, reuse: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """``BatchResult.doc_keys`` of the reused documents, as ``RunPlan.reused_keys`` gives them."""
    sha256_of = {e.source_file: e.sha256 for e in unique}
    return [(f, d, previous.text_keys[d], sha256_of[f]) for d, f in reuse.items()]


def _incremental(raw: Path, out: Path, batch_size: int = 1):
    """What the flow's reuse path does, without Prefect: reuse what the published build has,
    process the rest in batches, stage one table at a time."""
    previous = load_previous(out, FINGERPRINT)
    unique, copies = _split_copies([e for e in scan_raw(raw, discover(raw)) if not e.reject])
    order = [e.source_file for e in unique]
    rest, reuse = _split_reused(unique, previous)
    results = [process_entries(raw, rest[i:i + batch_size], None) for i in range(0, len(rest), batch_size)]
    staged = stage_merged(results, copies, iter(ReusedReads(previous, reuse)), _reused_keys(unique, previous, reuse),
                          order, new_build_dir(out))
    return staged, reuse, results


@pytest.fixture
def published(tmp_path, monkeypatch):
    # row groups of a few rows: every table spans several, as 10,000 documents' do
    monkeypatch.setattr(write_mod, "ROW_GROUP_BYTES", 300)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(8):
        (raw / f"{i:02d}.txt").write_text(variant(50 + i), encoding="utf-8")
    (raw / "05.txt").write_text(PLAN, encoding="utf-8")
    out = tmp_path / "out"
    _publish(raw, out)
    return raw, out


def _assert_same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        x, y = pq.read_table(table_path(a, name)), pq.read_table(table_path(b, name))
        assert x.num_rows == y.num_rows and x.equals(y), name
        assert x.schema.equals(y.schema, check_metadata=True), name


def test_staged_incremental_equals_a_full_run(published, tmp_path):
    raw, out = published
    changed = raw / "03.txt"
    changed.write_text(variant(99), encoding="utf-8")  # its rows come from a batch, in the middle
    (raw / "01.txt").rename(raw / "zz.txt")  # renamed: its reused rows move to the end
    (raw / "04.txt").unlink()  # removed: its rows must not come back
    (raw / "00.txt").rename(raw / "06b.txt")  # renamed: the first document moves inside
    (raw / "000.txt").write_text(TRAD, encoding="utf-8")  # new, first by path: the same text as 05.txt
    shutil.copy(raw / "02.txt", raw / "02-copy.txt")  # byte-identical copy: a reject
    staged, reuse, results = _incremental(raw, out)
    assert len(reuse) == 6 and sum(r.processed for r in results) == 2
    full = _full(raw, new_build_dir(tmp_path / "full"))
    _assert_same_tables(staged.build, full.build)
    assert staged.rows == full.rows and staged.sources == full.sources
    assert staged.rejected.equals(full.rejected) and staged.text_keys == full.text_keys
    documents = pq.read_table(table_path(staged.build, "documents")).to_pylist()
    by_file = {d["source_file"]: d for d in documents}
    # the new traditional copy sorts first, so the published PLAN (05.txt) is now its duplicate
    assert by_file["05.txt"]["duplicate_of"] == by_file["000.txt"]["doc_id"]
    assert not pq.read_table(table_path(staged.build, "sections")).filter(
        pc.field("doc_id") == by_file["05.txt"]["doc_id"]).num_rows
    assert pq.read_metadata(table_path(staged.build, "sections")).num_row_groups > 2


def test_nothing_changed_but_one_file_gives_the_published_tables(published, tmp_path):
    raw, out = published
    staged, reuse, _ = _incremental(raw, out)
    assert len(reuse) == 8
    _assert_same_tables(staged.build, out / ".current")
    assert staged.rejected.num_rows == 0 and staged.rows["documents"] == 8


def test_batches_tables_are_let_go_as_each_table_is_staged(published):
    raw, out = published
    (raw / "02.txt").write_text(variant(98), encoding="utf-8")
    (raw / "07.txt").write_text(variant(97), encoding="utf-8")
    _, _, results = _incremental(raw, out)
    assert len(results) == 2 and all(not r.tables for r in results)


def test_reads_come_in_merge_order_documents_first_with_current_names(published):
    raw, out = published
    previous = load_previous(out, FINGERPRINT)
    docs = pq.read_table(out / "documents.parquet", columns=["doc_id", "source_file"]).to_pylist()
    reuse = {d["doc_id"]: f"renamed/{d['source_file']}" for d in docs[2:5]}
    reads = list(ReusedReads(previous, reuse))
    assert [n for n, _ in reads] == list(MERGE_ORDER) and MERGE_ORDER[0] == "documents"
    tables = dict(reads)
    assert tables["documents"].column("source_file").to_pylist() == [f"renamed/{d['source_file']}" for d in docs[2:5]]
    assert set(tables["sections"].column("doc_id").to_pylist()) == set(reuse)
    assert tables["rejects"].num_rows == 0
    assert tables["tasks"].equals(reused_rows(previous, "tasks", reuse))


def test_assemble_in_memory_gives_the_staged_tables(published, tmp_path):
    raw, out = published
    (raw / "02.txt").rename(raw / "zz.txt")
    (raw / "03.txt").write_text(variant(91), encoding="utf-8")
    staged, reuse, _ = _incremental(raw, out)
    previous = load_previous(out, FINGERPRINT)
    unique, copies = _split_copies([e for e in scan_raw(raw, discover(raw)) if not e.reject])
    rest, reuse = _split_reused(unique, previous)
    tables = assemble([process_entries(raw, rest, None)], copies, dict(ReusedReads(previous, reuse)),
                      _reused_keys(unique, previous, reuse), [e.source_file for e in unique])
    for name in TABLES:
        assert tables[name].equals(pq.read_table(table_path(staged.build, name))), name


def test_a_large_table_is_appended_in_row_group_slices(tmp_path, monkeypatch):
    monkeypatch.setattr(write_mod, "ROW_GROUP_BYTES", 4000)
    table = pa.table({"doc_id": [f"d{i // 10}" for i in range(2000)], "text": [f"第{i}节" * 3 for i in range(2000)]})
    appender = write_mod.TableAppender(tmp_path, {"sections": table.schema})
    appender.append("sections", table)
    appender.finish("sections")
    with pytest.raises(ValueError):
        appender.append("sections", table)
    assert appender.close() == {"sections": 2000}
    written = pq.read_table(table_path(tmp_path, "sections"))
    assert written.equals(table) and pq.read_metadata(table_path(tmp_path, "sections")).num_row_groups > 5


def test_a_whole_table_is_written_in_row_groups_and_finished(tmp_path, monkeypatch):
    monkeypatch.setattr(write_mod, "ROW_GROUP_BYTES", 4000)
    table = pa.table({"doc_id": [f"d{i // 10}" for i in range(2000)], "text": [f"第{i}节" * 3 for i in range(2000)]})
    empty = table.slice(0, 0)
    appender = write_mod.TableAppender(tmp_path, {"sections": table.schema, "tasks": table.schema})
    appender.write("sections", table)
    appender.write("tasks", empty)
    with pytest.raises(ValueError):
        appender.write("sections", table)
    assert appender.close() == {"sections": 2000, "tasks": 0}
    assert pq.read_table(table_path(tmp_path, "sections")).equals(table)
    assert pq.read_metadata(table_path(tmp_path, "sections")).num_row_groups > 5
    assert pq.read_table(table_path(tmp_path, "tasks")).num_rows == 0
    assert not list(tmp_path.glob("*.tmp"))


def test_a_table_that_cannot_be_written_stops_the_staging_with_its_error(published, tmp_path, monkeypatch):
    """Tables are written on threads while the next is merged: a write's error is the staging's."""
    raw, out = published
    (raw / "03.txt").write_text(variant(92), encoding="utf-8")
    real = write_mod.TableAppender.write

    def fails_on_goals(self, name, table):
        if name == "goals":
            raise OSError(28, "No space left on device")
        real(self, name, table)

    monkeypatch.setattr(write_mod.TableAppender, "write", fails_on_goals)
    with pytest.raises(OSError, match="No space left"):
        _incremental(raw, out)


def test_staged_tables_wait_for_a_table_staged_on_another_thread(tmp_path):
    import threading

    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.storage.staging import StagedTables, StagingProgress

    progress = StagingProgress()
    staged = StagedTables(tmp_path, ["documents", "sections"], ready=progress.wait)
    assert list(staged) == ["documents", "sections"] and "sections" in staged  # names known before the files

    def stage():
        time.sleep(0.2)
        pq.write_table(pa.table({"doc_id": ["a", "b"]}), tmp_path / "documents.parquet")
        progress.staged("documents")

    writer = threading.Thread(target=stage)
    writer.start()
    assert staged.num_rows("documents") == 2  # waited for the file instead of failing on it
    writer.join()
    progress.failed(OSError("disk full"))
    with pytest.raises(RuntimeError, match="staging the build failed before sections: disk full"):
        staged.select("sections", ["doc_id"])
    assert staged.num_rows("documents") == 2  # a table staged before the failure stays readable
