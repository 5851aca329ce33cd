"""The per-document cache: keyed on content and code, reused across runs, ignored on request."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import flows.storage.cache as cache_mod
from flows.contract.schema import TABLES
from flows.ingest.raw_files import discover
from flows.orchestration.batches import plan_batches, process_entries, scan_raw
from flows.records import RawEntry
from flows.storage.cache import CachedDocument, DocumentCache, code_fingerprint, rules_fingerprint
from tests.conftest import ROOT, copy_build, copy_seeds


def plan(n: int) -> str:
    return f"某市数字政府建设方案\n一、总体要求\n到{2020 + n}年，建成{n}个应用。\n"


@pytest.fixture
def folder(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(6):
        (raw / f"{i}.txt").write_text(plan(i), encoding="utf-8")
    return raw


def _run(raw: Path, out: Path, full_refresh: bool = False):
    """What the flow does, without Prefect: scan, look up, process the batches."""
    cache = DocumentCache(out)
    entries = [e if e.reject else RawEntry(e.source_file, e.sha256, e.size, cached=not full_refresh and cache.has(e.sha256, e.suffix))
               for e in scan_raw(raw, discover(raw))]
    results = [process_entries(raw, b, cache) for b in plan_batches(entries, 2)]
    return results


def test_second_run_reuses_every_document_and_gives_equal_tables(folder, tmp_path):
    first = _run(folder, tmp_path / "out")
    second = _run(folder, tmp_path / "out")
    assert sum(r.processed for r in first) == 6 and sum(r.cached for r in first) == 0
    assert sum(r.processed for r in second) == 0 and sum(r.cached for r in second) == 6
    for name in TABLES:
        a = [row for r in first for row in r.tables[name].to_pylist()]
        b = [row for r in second for row in r.tables[name].to_pylist()]
        assert a == b, name


def test_changing_one_file_reprocesses_only_that_file(folder, tmp_path):
    _run(folder, tmp_path / "out")
    (folder / "3.txt").write_text(plan(3) + "到2030年，再建一个。\n", encoding="utf-8")
    again = _run(folder, tmp_path / "out")
    assert sum(r.processed for r in again) == 1 and sum(r.cached for r in again) == 5
    goals = [g for r in again for g in r.tables["goals"].to_pylist()]
    assert any(g["target_year"] == 2030 for g in goals)


def test_full_refresh_ignores_the_cache(folder, tmp_path):
    _run(folder, tmp_path / "out")
    again = _run(folder, tmp_path / "out", full_refresh=True)
    assert sum(r.processed for r in again) == 6


def test_keys_are_content_not_names_or_times(folder, tmp_path):
    _run(folder, tmp_path / "out")
    (folder / "0.txt").rename(folder / "renamed 副本.txt")
    (folder / "1.txt").touch()
    again = _run(folder, tmp_path / "out")
    assert sum(r.processed for r in again) == 0
    docs = [d for r in again for d in r.tables["documents"].to_pylist()]
    assert "renamed 副本.txt" in {d["source_file"] for d in docs} and "0.txt" not in {d["source_file"] for d in docs}


def test_a_damaged_entry_is_a_miss_and_is_rewritten(folder, tmp_path):
    cache = DocumentCache(tmp_path / "out")
    _run(folder, tmp_path / "out")
    (entry,) = [e for e in scan_raw(folder, discover(folder)) if e.source_file == "2.txt"]
    cache.path(entry.sha256, entry.suffix).write_bytes(b"garbage")
    again = _run(folder, tmp_path / "out")
    assert sum(r.processed for r in again) == 1
    assert cache.get(entry.sha256, entry.suffix, "2.txt") is not None


def test_put_and_get_fill_in_the_current_file_name(tmp_path):
    cache = DocumentCache(tmp_path, "f" * 16)
    rows = {t: [] for t in TABLES}
    rows["documents"] = [{"doc_id": "ab", "source_file": "old.txt", "source_sha256": "ab" * 32, "source_bytes": 9,
                          "raw_encoding": "utf-8", "script": "simplified", "repairs": "[]", "unrecoverable_spans": 0,
                          "text": "正文"}]
    rows["sections"] = [{"section_id": "ab-0000", "doc_id": "ab", "level": 0, "kind": "preamble", "text": "正文",
                         "char_start": 0, "char_end": 2}]
    cache.put("ab" * 32, ".txt", CachedDocument.from_rows(rows, "k"))
    got = cache.get("ab" * 32, ".txt", "new/name.txt")
    assert got.tables["documents"].to_pylist()[0]["source_file"] == "new/name.txt" and got.text_key == "k"
    assert got.tables["sections"].to_pylist()[0]["text"] == "正文" and set(got.tables) == {"documents", "sections"}
    assert cache.get("ab" * 32, ".md", "x.md") is None  # the suffix may select a parser: part of the key


def _copy_project(dst: Path) -> None:
    shutil.copytree(ROOT / "flows", dst / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", dst / "schemas")


def _changes_on_edit(tmp_path, monkeypatch, edit: str, fingerprint) -> bool:
    """Whether appending a comment to ``edit`` (in a copy of the project) changes ``fingerprint``."""
    _copy_project(tmp_path)
    monkeypatch.setattr(cache_mod, "FLOWS_DIR", tmp_path / "flows")
    monkeypatch.setattr(cache_mod, "SCHEMA_DIR", tmp_path / "schemas")
    caches = (code_fingerprint, rules_fingerprint)
    try:
        for c in caches:
            c.cache_clear()
        before = fingerprint()
        with open(tmp_path / edit, "a", encoding="utf-8") as f:
            f.write("\n# edited\n")
        for c in caches:
            c.cache_clear()
        return fingerprint() != before
    finally:
        for c in caches:
            c.cache_clear()


@pytest.mark.parametrize("edit,changes", [
    ("flows/structure/sections.py", True), ("flows/extract/goals.py", True), ("schemas/goals.yaml", True),
    ("flows/pipeline.py", True), ("flows/build.py", False), ("flows/cli.py", False), ("flows/storage/publish.py", False),
    ("flows/gate/rules.py", False), ("flows/gate/run.py", False), ("flows/publishing/overview.py", False),
    ("schemas/reference/indicators.yaml", True), ("schemas/reference/admin_divisions.csv", True),
    ("flows/compare/indicators.py", True), ("flows/compare/jurisdictions.py", True),
    ("flows/patterns/doc_number.py", True), ("flows/records.py", True),
])
def test_fingerprint_follows_processing_code_and_config_only(tmp_path, monkeypatch, edit, changes):
    assert _changes_on_edit(tmp_path, monkeypatch, edit, code_fingerprint) is changes


@pytest.mark.parametrize("edit,changes", [
    ("flows/gate/rules.py", True), ("flows/gate/run.py", True), ("schemas/goals.yaml", True),
    ("flows/extract/goals.py", True), ("flows/build.py", False), ("flows/publishing/overview.py", False),
])
def test_rules_fingerprint_follows_the_validation_rules_too(tmp_path, monkeypatch, edit, changes):
    assert _changes_on_edit(tmp_path, monkeypatch, edit, rules_fingerprint) is changes


def test_epoch_and_new_dictionaries_change_the_fingerprint(tmp_path, monkeypatch):
    _copy_project(tmp_path)
    monkeypatch.setattr(cache_mod, "FLOWS_DIR", tmp_path / "flows")
    monkeypatch.setattr(cache_mod, "SCHEMA_DIR", tmp_path / "schemas")
    code_fingerprint.cache_clear()
    try:
        base = code_fingerprint()
        (tmp_path / "flows" / "dicts").mkdir(exist_ok=True)
        (tmp_path / "flows" / "dicts" / "units.txt").write_text("万兆\n", encoding="utf-8")
        code_fingerprint.cache_clear()
        with_dict = code_fingerprint()
        monkeypatch.setattr(cache_mod, "EPOCH", cache_mod.EPOCH + 1)
        code_fingerprint.cache_clear()
        assert len({base, with_dict, code_fingerprint()}) == 3
    finally:
        code_fingerprint.cache_clear()


def test_prune_drops_other_fingerprints_only(tmp_path):
    old = DocumentCache(tmp_path, "0" * 16)
    new = DocumentCache(tmp_path, "1" * 16)
    for c in (old, new):
        c.put("ab" * 32, ".txt", CachedDocument({}, None))
    assert new.prune() == [old.dir]
    assert new.has("ab" * 32, ".txt") and not old.dir.exists()


def _cost(batch):
    return sum(1 if e.cached else 20 for e in batch)


def test_batches_keep_path_order_and_weigh_cache_hits_lightly():
    entries = [RawEntry(f"{i:03d}.txt", "x", cached=i >= 4) for i in range(104)]
    batches = plan_batches(entries, 4)
    assert [e for b in batches for e in b] == entries
    # 4 documents to process (cost 80) and 100 cache hits (cost 100): three batches of ~60
    assert [_cost(b) for b in batches] == [60, 60, 60]
    assert [len(b) for b in batches] == [3, 41, 60]
    assert [len(b) for b in plan_batches(entries[4:], 4)] == [50, 50]  # at least two per worker
    assert [len(b) for b in plan_batches(entries[4:], 4, parallelism=2)] == [25, 25, 25, 25]
    assert [len(b) for b in plan_batches(entries[4:] * 10, 4)] == [77] * 12 + [76]


def test_batch_count_is_a_multiple_of_the_workers_and_batches_are_even():
    for n, size, workers in [(1000, 200, 2), (10_000, 200, 2), (997, 50, 3), (5, 200, 2), (3, 200, 4), (1, 200, 2)]:
        entries = [RawEntry(f"{i:05d}.txt", "x", size=37_000) for i in range(n)]
        batches = plan_batches(entries, size, parallelism=workers)
        assert [e for b in batches for e in b] == entries
        lengths = [len(b) for b in batches]
        assert max(lengths) - min(lengths) <= 1, (n, lengths)
        assert max(lengths) <= size
        if n >= 2 * workers:
            assert len(batches) % workers == 0 and len(batches) >= 2 * workers
    assert len(plan_batches([RawEntry(f"{i:05d}.txt", "x") for i in range(10_000)], 200, 2)) == 50
    assert plan_batches([], 200, 2) == []


def test_batches_are_bounded_by_raw_bytes_and_documents():
    from flows.orchestration.batches import MAX_BATCH_BYTES, MAX_BATCH_DOCUMENTS

    big = [RawEntry(f"{i:03d}.txt", "x", size=MAX_BATCH_BYTES // 4) for i in range(40)]  # 10 batches' worth
    batches = plan_batches(big, 200, parallelism=2)
    assert len(batches) == 10 and all(sum(e.size for e in b) <= MAX_BATCH_BYTES for b in batches)
    hits = [RawEntry(f"{i:05d}.txt", "x", cached=True) for i in range(5 * MAX_BATCH_DOCUMENTS)]
    assert max(len(b) for b in plan_batches(hits, 200, parallelism=2)) <= MAX_BATCH_DOCUMENTS


@pytest.mark.e2e
def test_flow_reuses_the_published_build_and_else_the_cache(seeds_published, seed_raw, tmp_path):
    from flows.build import build_dataset

    published, first = seeds_published
    out = copy_build(published, tmp_path / "out")
    tables = {t: pq.read_table(out / f"{t}.parquet") for t in TABLES}
    second = build_dataset(raw_dir=str(seed_raw), out_dir=str(out))
    assert (first["processed"], first["cached"], first["reused"]) == (5, 0, 0)
    # unchanged documents come straight from the published build (same code made it)
    assert (second["processed"], second["cached"], second["reused"]) == (0, 0, 5)
    for t in TABLES:
        assert pq.read_table(out / f"{t}.parquet").equals(tables[t]), t
    # a published build of other code cannot serve rows; the per-document cache still does
    meta = json.loads((out / "_build.json").read_text(encoding="utf-8"))
    (out / "_build.json").unlink()  # the link: write the file into the build itself
    (out / ".current" / "_build.json").write_text(json.dumps({**meta, "code_fingerprint": "other"}), encoding="utf-8")
    os.symlink(".current/_build.json", out / "_build.json")
    third = build_dataset(raw_dir=str(seed_raw), out_dir=str(out))
    assert (third["processed"], third["cached"], third["reused"]) == (0, 5, 0)
    for t in TABLES:
        assert pq.read_table(out / f"{t}.parquet").equals(tables[t]), t
    # --full-refresh bypassing both: test_a_run_reusing_the_published_build_gives_the_tables_of_a_full_run


def test_errors_are_not_cached(folder, tmp_path, monkeypatch):
    import flows.structure as structure

    def boom(*a, **k):
        raise MemoryError("out of memory")

    monkeypatch.setattr(structure, "parse_sections", boom)
    first = _run(folder, tmp_path / "out")
    assert {r["reason"] for b in first for r in b.tables["rejects"].to_pylist()} == {"error"}
    monkeypatch.undo()
    again = _run(folder, tmp_path / "out")
    assert sum(r.processed for r in again) == 6 and not [r for b in again for r in b.tables["rejects"].to_pylist()]


@pytest.mark.e2e
def test_a_run_reusing_the_published_build_gives_the_tables_of_a_full_run(seeds_published, tmp_path, monkeypatch):
    """Changed, renamed, new, copied and removed files: only the changed and new ones are
    processed, the rest come from the published build, and every table equals a full run's."""
    from flows.build import build_dataset

    raw = copy_seeds(tmp_path / "raw")
    out = copy_build(seeds_published[0], tmp_path / "out")  # a build of these five files
    names = sorted(p.name for p in raw.iterdir())
    changed = raw / names[0]
    changed.write_bytes(changed.read_bytes().replace("2025年".encode(), "2026年".encode()))
    (raw / names[2]).rename(raw / f"zz-{names[2]}")
    shutil.copy(raw / names[1], raw / "copy.txt")
    (raw / names[3]).unlink()
    (raw / "new.txt").write_text(plan(7), encoding="utf-8")
    again = build_dataset(raw_dir=str(raw), out_dir=str(out))
    assert (again["processed"], again["cached"], again["reused"]) == (2, 0, 3)
    assert again["validation"]["checked_documents"] == 2  # the others passed under the same rules
    # --full-refresh, on a copy that holds this very build and its cache, uses neither
    full = build_dataset(raw_dir=str(raw), out_dir=str(copy_build(out, tmp_path / "full")), full_refresh=True)
    assert (full["processed"], full["cached"], full["reused"]) == (5, 0, 0)
    assert full["rows"] == again["rows"] and full["validation"]["checked_documents"] is None
    for t in TABLES:
        a, b = pq.read_table(out / f"{t}.parquet"), pq.read_table(tmp_path / "full" / f"{t}.parquet")
        assert a.equals(b) and a.schema.equals(b.schema, check_metadata=True), t
    # new validation rules, same processing code: rows still reused, but every row validated
    monkeypatch.setattr("flows.build.rules_fingerprint", lambda: "other rules")
    (raw / "new.txt").write_text(plan(8), encoding="utf-8")  # changed again
    ruled = build_dataset(raw_dir=str(raw), out_dir=str(out))
    assert (ruled["processed"], ruled["reused"], ruled["validation"]["checked_documents"]) == (1, 4, None)


def test_take_rows_slices_runs_and_copies_scattered_rows():
    import pyarrow as pa

    from flows.storage.reuse import MAX_RUNS, take_rows

    table = pa.table({"x": list(range(10)), "s": [str(i) for i in range(10)]})
    runs = pa.array([0, 1, 2, 7, 8, 3, 4, 5, 6, 9])
    assert take_rows(table, runs).equals(table.take(runs))
    assert take_rows(table, runs).column("x").num_chunks == 4  # four runs, no copy
    assert take_rows(table, pa.array([], pa.int64())).num_rows == 0
    big = pa.table({"x": list(range(3 * MAX_RUNS))})
    scattered = pa.array(list(range(0, 3 * MAX_RUNS, 2)))
    assert take_rows(big, scattered).equals(big.take(scattered))


def test_documents_converted_together_give_the_tables_of_one_at_a_time(folder, tmp_path, monkeypatch):
    """Processed documents go into Arrow ARROW_DOCUMENTS at a time, sliced per document: the
    batch tables, the cache entries and the order of the parts are those of one at a time."""

    entries = scan_raw(folder, discover(folder))
    (folder / "bad.txt").write_bytes(b"%PDF-1.4 not a plan")  # a reject between processed files
    mixed = scan_raw(folder, discover(folder))
    results = {}
    for size in (1, 4, 50):
        monkeypatch.setattr("flows.orchestration.batches.ARROW_DOCUMENTS", size)
        cache = DocumentCache(tmp_path / f"out{size}")
        results[size] = (process_entries(folder, entries, cache), process_entries(folder, mixed, None))
        docs = [cache.get(e.sha256, e.suffix, e.source_file) for e in entries]
        assert all(d is not None for d in docs)
        results[size] += ([{n: t.to_pylist() for n, t in d.tables.items()} for d in docs],)
    for size in (4, 50):
        for one, many in zip(results[1][:2], results[size][:2]):
            assert one.doc_keys == many.doc_keys
            assert all(one.tables[n].equals(many.tables[n]) for n in TABLES)
        assert results[1][2] == results[size][2]


def test_a_batch_times_its_cpu_and_its_process_warms_up_once_apart(folder, monkeypatch):
    """Stage timings are wall seconds (a busy machine inflates them): a batch also records its
    thread's CPU seconds, and a new worker's one-time warm-up (loading the stages' tables) is
    timed apart from its first document."""
    import flows.pipeline as pipeline
    from flows.build import process_batch_task
    from flows.orchestration.batches import CPU_TIMING, WARM_UP_TIMING

    entries = scan_raw(folder, discover(folder))
    monkeypatch.setattr(pipeline, "_warmed_up", False)
    first = process_batch_task.fn(folder, entries[:3], None, "fp")
    second = process_batch_task.fn(folder, entries[3:], None, "fp")
    assert WARM_UP_TIMING in first.timings and WARM_UP_TIMING not in second.timings
    for result in (first, second):
        stages = sum(v for k, v in result.timings.items() if k not in (CPU_TIMING, WARM_UP_TIMING))
        assert 0 < result.timings[CPU_TIMING] <= stages + 0.05
    cached_only = [RawEntry(e.source_file, e.sha256, e.size, cached=True) for e in entries]
    monkeypatch.setattr(pipeline, "_warmed_up", False)
    assert WARM_UP_TIMING not in process_batch_task.fn(folder, cached_only, None, "fp").timings  # nothing to process
