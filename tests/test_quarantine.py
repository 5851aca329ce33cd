"""Issue 20: the gate quarantines documents, not the dataset; nothing wipes the published build;
the output folder is checked; the scan records folders and links it cannot use. Plain functions
on invented inputs (the flow runs are in test_quarantine_flow.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.contract.schema import TABLES, load_schemas, schema
from flows.gate.failures import failing_documents
from flows.gate.rules import DOCUMENT, RULE_LEVELS, SYSTEMIC, build_suites, rule_level
from flows.gate.verdict import (
    BuildRefused,
    ValidationFailed,
    ValidationResult,
    parse_share,
    quarantine_verdict,
    shrink_refusal,
    withhold_documents,
)
from flows.storage.publish import (
    BUILD_META,
    OUTPUT_MARKER,
    UnsafeOutput,
    changed_files,
    check_output_folder,
    claim_output_folder,
    current_build,
    file_checksums,
    new_build_dir,
    publish,
    table_file,
    table_path,
    write_build,
)
from flows.storage.reuse import TEXT_KEYS
from tests.conftest import seed_doc

# --- the tagging list ----------------------------------------------------------------------------


def test_every_expectation_the_suites_build_is_tagged_document_or_systemic():
    suites = build_suites(load_schemas(), dt.date(2026, 1, 1))
    rules = {e.meta["rule"] for s in suites.values() for e in s.expectations}
    untagged = sorted(rules - set(RULE_LEVELS))
    assert not untagged, f"tag these rules in flows/gate/rules.py RULE_LEVELS: {untagged}"
    assert set(RULE_LEVELS.values()) == {DOCUMENT, SYSTEMIC}
    # shape, keys and whole-table rules are systemic; plausibility limits per document are not
    assert {r: RULE_LEVELS[r] for r in ("columns", "type", "unique", "primary_key", "goals_per_document")} == \
        dict.fromkeys(("columns", "type", "unique", "primary_key", "goals_per_document"), SYSTEMIC)
    assert RULE_LEVELS["rows_per_document"] == RULE_LEVELS["source_text_matches_offsets"] == DOCUMENT


def test_suites_with_document_rules_report_failing_rows_by_document():
    suites = build_suites(load_schemas(), dt.date(2026, 1, 1))
    for name, suite in suites.items():
        if suite.table != "rejects" and any(rule_level(e.meta["rule"], suite.table) == DOCUMENT
                                            for e in suite.expectations):
            assert "doc_id" in suite.index_columns, name


def test_every_rule_on_a_derived_view_is_systemic():
    from flows.contract.schema import DERIVED_TABLES

    assert DERIVED_TABLES
    for table in DERIVED_TABLES:
        assert rule_level("not_null", table) == rule_level("doc_id_exists_in_documents", table) == SYSTEMIC
    assert rule_level("not_null", "metrics") == DOCUMENT


def _config(rule, table="metrics", column="value", show=("value", "unit"), row_condition=None):
    return SimpleNamespace(type="expect_column_values_to_be_between",
                           meta={"rule": rule, "table": table, "column": column, "show": list(show)},
                           kwargs={"row_condition": row_condition})


def test_failing_rows_of_a_document_rule_name_their_documents_with_rule_table_column_and_value():
    suite = build_suites(load_schemas(), dt.date(2026, 1, 1))["metrics"]
    rows = [{"metric_id": "a-m1", "doc_id": "a", "value": 150.0, "unit": "%"},
            {"metric_id": "b-m1", "doc_id": "b", "value": 101.0, "unit": "%"},
            {"metric_id": "a-m2", "doc_id": "a", "value": 120.0, "unit": "%"}]
    failing = failing_documents(suite, _config("percent_within_0_100", row_condition="unit == %"),
                                {"unexpected_index_list": rows})
    assert set(failing) == {"a", "b"}
    assert failing["a"][0] == "percent_within_0_100 (metrics.value): metrics.value = 150.0 for unit % [metric_id=a-m1]"
    assert len(failing["a"]) == 2


def test_a_failure_is_systemic_when_its_rule_is_or_a_row_names_no_document():
    suite = build_suites(load_schemas(), dt.date(2026, 1, 1))["metrics"]
    rows = [{"metric_id": "a-m1", "doc_id": "a", "value": 150.0, "unit": "%"}]
    assert failing_documents(suite, _config("unique"), {"unexpected_index_list": rows}) is None
    assert failing_documents(suite, _config("no_such_rule"), {"unexpected_index_list": rows}) is None
    assert failing_documents(suite, _config("percent_within_0_100"),
                             {"unexpected_index_list": [{**rows[0], "doc_id": None}]}) is None
    assert failing_documents(suite, _config("percent_within_0_100"), {"unexpected_count": 1}) is None
    assert failing_documents(suite, _config("percent_within_0_100"), {"unexpected_index_list": rows},
                             {"raised_exception": True, "exception_message": "boom"}) is None


# --- the verdict ---------------------------------------------------------------------------------


def _result(systemic=(), documents=None):
    documents = documents or {}
    failures = list(systemic) + [f"{d}: x" for d in documents]
    return ValidationResult(success=not failures, failures=failures, systemic=list(systemic),
                            document_failures=documents)


def test_document_failures_quarantine_those_documents_only():
    verdict = quarantine_verdict(_result(documents={"a": ["rule (t.c): v"]}), documents=6)
    assert verdict == {"a": ["rule (t.c): v"]}


def test_a_systemic_failure_refuses_the_build():
    with pytest.raises(ValidationFailed) as refused:
        quarantine_verdict(_result(systemic=["metrics.keys: unique failed"], documents={"a": ["x"]}), documents=6)
    assert isinstance(refused.value, BuildRefused) and "unique failed" in str(refused.value)


@pytest.mark.parametrize("failing, documents, refused", [
    (3, 10, False),  # more than 5 %, but only 3: a small folder with odd files is published
    (4, 100, False),  # more than 3, but 4 %
    (4, 50, True),  # more than 3 and more than 5 %: systemic
    (6, 100, True),
])
def test_too_many_quarantined_documents_refuse_the_build_only_above_both_share_and_count(failing, documents, refused):
    result = _result(documents={f"d{i}": ["x"] for i in range(failing)})
    if refused:
        with pytest.raises(ValidationFailed, match="--max-quarantined"):
            quarantine_verdict(result, documents)
    else:
        assert len(quarantine_verdict(result, documents)) == failing


def test_max_quarantined_reads_percent_or_fraction():
    assert parse_share("5%") == pytest.approx(0.05) and parse_share("0.1") == pytest.approx(0.1)
    with pytest.raises(ValueError):
        parse_share("150%")


# --- withholding documents from a staged build ---------------------------------------------------


def _write(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        pq.write_table(schema(name).table(rows.get(name, [])), folder / f"{name}.parquet")


def _earlier_version(rows, doc_id):
    """The rows with one document as an earlier version of its file: other bytes (a value edited:
    its doc_id, named by its document_key, is the same) and one goal fewer."""
    out = {name: [dict(r) for r in table_rows] for name, table_rows in rows.items()}
    (doc,) = [d for d in out["documents"] if d["doc_id"] == doc_id]
    doc.update(source_sha256="e" * 64, source_bytes=doc["source_bytes"] - 1)
    first_goal = next(i for i, g in enumerate(out["goals"]) if g["doc_id"] == doc_id)
    del out["goals"][first_goal]
    return out


def test_withholding_drops_every_row_keeps_the_published_version_stale_and_rejects_with_details(seed_rows, tmp_path):
    bad = seed_doc(seed_rows, "003")
    staged, published, into = tmp_path / "staged", tmp_path / "published", tmp_path / "into"
    _write(staged, seed_rows)
    # the published build holds the earlier version of bad's file, under the same doc_id
    earlier = _earlier_version(seed_rows, bad["doc_id"])
    _write(published, earlier)
    keys = {d["doc_id"]: f"k-{d['doc_id']}" for d in seed_rows["documents"]}
    pq.write_table(pa.table({"doc_id": [bad["doc_id"]], "text_sha256": ["k-earlier"]}), published / TEXT_KEYS)
    into.mkdir()
    now = dt.datetime(2026, 12, 5, 14, 0, tzinfo=dt.timezone.utc)
    details = ["source_text_matches_offsets (metrics.source_text): metrics.source_text = 'x' [metric_id=m]"]

    withheld = withhold_documents(staged, into, {bad["doc_id"]: details}, keys, published, now)

    for name in TABLES:
        table = pq.read_table(table_path(into, name))
        if "doc_id" in table.column_names:
            # exactly the earlier version's rows of that doc_id, none of the new version's
            kept = [r for r in earlier.get(name, []) if r.get("doc_id") == bad["doc_id"]]
            assert table.column("doc_id").to_pylist().count(bad["doc_id"]) == len(kept), name
        assert withheld.rows[name] == table.num_rows
    goals = pq.read_table(table_path(into, "goals")).to_pylist()
    assert [g for g in goals if g["doc_id"] == bad["doc_id"]] == [g for g in earlier["goals"] if g["doc_id"] == bad["doc_id"]]
    docs = pq.read_table(table_path(into, "documents")).to_pylist()
    (stale,) = [d for d in docs if d["doc_id"] == bad["doc_id"]]
    assert stale["source_file"] == bad["source_file"] and stale["source_sha256"] == "e" * 64
    assert stale["stale_since"] == now
    assert "quarantined" in stale["stale_reason"] and "source_text_matches_offsets" in stale["stale_reason"]
    assert all(d["stale_since"] is None for d in docs if d["doc_id"] != bad["doc_id"])
    assert [d["source_file"] for d in docs] == sorted(d["source_file"] for d in docs)  # path order
    (reject,) = [r for r in pq.read_table(table_path(into, "rejects")).to_pylist() if r["reason"] == "quarantined"]
    assert reject["source_file"] == bad["source_file"] and reject["source_sha256"] == bad["source_sha256"]
    assert "metrics.source_text" in reject["detail"] and "kept, marked stale" in reject["detail"]
    assert withheld.stale == {bad["doc_id"]: bad["source_file"]} and withheld.quarantined[bad["doc_id"]] == reject
    assert withheld.text_keys[bad["doc_id"]] == "k-earlier"
    assert withheld.sources[bad["source_file"]] == "e" * 64

    # once stale, a later run that keeps it again keeps its first stale_since
    again = tmp_path / "again"
    again.mkdir()
    _write(tmp_path / "published2", {n: pq.read_table(table_path(into, n)).to_pylist() for n in TABLES})
    later = withhold_documents(staged, again, {bad["doc_id"]: details}, keys, tmp_path / "published2",
                               now + dt.timedelta(days=1))
    (stale2,) = [d for d in pq.read_table(table_path(again, "documents")).to_pylist() if d["doc_id"] == bad["doc_id"]]
    assert stale2["stale_since"] == now and later.stale


def test_the_published_version_of_the_very_bytes_withheld_is_not_kept(seed_rows, tmp_path):
    # the same bytes as published, failing rules that changed since: no earlier version to keep
    bad = seed_doc(seed_rows, "003")
    staged, published, into = tmp_path / "staged", tmp_path / "published", tmp_path / "into"
    _write(staged, seed_rows)
    _write(published, seed_rows)
    into.mkdir()
    withheld = withhold_documents(staged, into, {bad["doc_id"]: ["rule (t.c): v"]}, {}, published)
    assert not withheld.stale and bad["doc_id"] in withheld.quarantined
    for name in TABLES:
        table = pq.read_table(table_path(into, name))
        if "doc_id" in table.column_names:
            assert bad["doc_id"] not in table.column("doc_id").to_pylist(), name
    (reject,) = [r for r in pq.read_table(table_path(into, "rejects")).to_pylist() if r["reason"] == "quarantined"]
    assert "no earlier version" in reject["detail"]


def test_a_duplicate_of_a_quarantined_document_is_withheld_too_and_nothing_is_kept_without_an_earlier_version(
        seed_rows, tmp_path):
    docs = [dict(d) for d in seed_rows["documents"]]
    original, copy = docs[0], docs[1]
    copy["duplicate_of"] = original["doc_id"]
    rows = {**seed_rows, "documents": docs}
    rows = {n: [r for r in t if r.get("doc_id") != copy["doc_id"]] if n != "documents" else t for n, t in rows.items()}
    staged, into = tmp_path / "staged", tmp_path / "into"
    _write(staged, rows)
    into.mkdir()
    withheld = withhold_documents(staged, into, {original["doc_id"]: ["rule (t.c): v"]}, {}, None)
    assert set(withheld.quarantined) == {original["doc_id"], copy["doc_id"]}
    rejects = {r["source_file"]: r for r in pq.read_table(table_path(into, "rejects")).to_pylist()}
    assert "same normalized text as the quarantined" in rejects[copy["source_file"]]["detail"]
    assert "no earlier version" in rejects[original["source_file"]]["detail"]
    assert withheld.rows["documents"] == len(docs) - 2 and not withheld.stale


# --- nothing wipes the published dataset --------------------------------------------------------


def _docs(*pairs):
    return pa.table({"source_file": [f for f, _ in pairs], "source_sha256": [s for _, s in pairs]})


def test_an_empty_build_is_refused_always():
    assert "no documents" in shrink_refusal(None, _docs())
    assert "no documents" in shrink_refusal(_docs(("a", "1")), _docs(), allow_shrink=True)


def test_a_build_that_loses_more_than_a_fifth_of_the_published_documents_is_refused_unless_allowed():
    published = _docs(*((f"{i}.txt", str(i)) for i in range(10)))
    kept = _docs(*((f"{i}.txt", str(i)) for i in range(7)))
    assert "loses 3 of the published build's 10 documents" in shrink_refusal(published, kept)
    assert shrink_refusal(published, kept, allow_shrink=True) is None
    assert shrink_refusal(published, _docs(*((f"{i}.txt", str(i)) for i in range(8)))) is None
    # renamed files and new versions of files are not lost
    moved = _docs(*((f"new/{i}.txt", str(i)) for i in range(5)), *((f"{i}.txt", f"v2-{i}") for i in range(5, 10)))
    assert shrink_refusal(published, moved) is None


def test_raw_files_that_already_lose_too_many_documents_are_refused_before_processing(tmp_path):
    from flows.orchestration.quarantine import published_documents, raw_documents, refuse_shrink
    from flows.records import RawEntry
    from flows.storage.publish import new_build_dir, publish, table_path

    out = tmp_path / "out"
    build = new_build_dir(out)
    pq.write_table(_docs(*((f"{i}.txt", str(i)) for i in range(10))), table_path(build, "documents"))
    publish(build, out, ["documents"])

    def entries(*pairs, rejected=0):
        return raw_documents([RawEntry(f, s) for f, s in pairs] + [
            RawEntry(f"bad{i}.txt", reject={"reason": "binary"}) for i in range(rejected)])

    def refuse_shrink_before_processing(out, files, allow_shrink):
        refuse_shrink(published_documents(out), files, allow_shrink)

    with pytest.raises(BuildRefused, match="loses 3 of the published build's 10 documents"):
        refuse_shrink_before_processing(out, entries(*((f"{i}.txt", str(i)) for i in range(7)), rejected=5), False)
    refuse_shrink_before_processing(out, entries(*((f"{i}.txt", str(i)) for i in range(7))), True)  # allowed
    refuse_shrink_before_processing(out, entries(*((f"{i}.txt", str(i)) for i in range(8))), False)
    # renamed files and new versions of files are not lost; nothing published, nothing to lose
    refuse_shrink_before_processing(out, entries(*((f"new/{i}.txt", str(i)) for i in range(5)),
                                                 *((f"{i}.txt", f"v2-{i}") for i in range(5, 10))), False)
    refuse_shrink_before_processing(tmp_path / "none", entries(("a.txt", "1")), False)


# --- the output folder ---------------------------------------------------------------------------


@pytest.fixture
def raw(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "plan.txt").write_text("到2025年，政务服务事项全程网办率达到90%。", encoding="utf-8")
    return folder


@pytest.mark.parametrize("where, reason", [
    (lambda tmp, raw: raw / "out", "inside the raw folder"),
    (lambda tmp, raw: raw, "is the raw folder"),
    (lambda tmp, raw: tmp, "inside the output folder"),
    (lambda tmp, raw: tmp.anchor and type(tmp)("/"), "root"),
    (lambda tmp, raw: type(tmp).home(), "home folder"),
])
def test_an_output_folder_in_or_around_the_raw_folder_root_or_home_is_refused(tmp_path, raw, where, reason):
    with pytest.raises(UnsafeOutput, match=reason):
        check_output_folder(where(tmp_path, raw), raw)


def test_an_output_path_that_is_a_file_or_not_writable_or_a_foreign_folder_is_refused(tmp_path, raw, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UnsafeOutput, match="is a file"):
        check_output_folder(tmp_path / "file", raw)
    with pytest.raises(UnsafeOutput, match="is a file"):
        check_output_folder(tmp_path / "file" / "out", raw)
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    with pytest.raises(UnsafeOutput, match="not empty and not a digigov output folder"):
        check_output_folder(foreign, raw)
    assert (foreign / "thesis.tex").exists()
    # tests run as root, whom permissions do not stop: the check itself is what is tested
    monkeypatch.setattr("flows.storage.publish.os.access", lambda path, mode: False)
    with pytest.raises(UnsafeOutput, match="not writable"):
        check_output_folder(tmp_path / "new", raw)


def test_a_folder_holding_only_a_git_placeholder_counts_as_empty(tmp_path, raw):
    """A fresh clone's curated/ holds only .gitkeep: `make run` must build into it."""
    out = tmp_path / "curated"
    out.mkdir()
    (out / ".gitkeep").write_text("")
    check_output_folder(out, raw)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UnsafeOutput, match="not empty"):
        check_output_folder(out, raw)


def test_a_new_empty_or_digigov_output_folder_is_accepted_and_marked(tmp_path, raw):
    new = claim_output_folder(tmp_path / "a" / "b", raw)
    assert (new / OUTPUT_MARKER).is_file()
    claim_output_folder(new, raw)  # its own folder, with files in it now
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (claim_output_folder(empty, raw) / OUTPUT_MARKER).is_file()
    # a folder written before the marker existed: a published build
    old = tmp_path / "old"
    build = new_build_dir(old)
    write_build({"rejects": schema("rejects").table([])}, build, {})
    publish(build, old, ["rejects"])
    assert not (old / OUTPUT_MARKER).exists()
    assert (claim_output_folder(old, raw) / OUTPUT_MARKER).is_file()


def test_cli_run_refuses_an_unsafe_output_folder_with_one_line_and_the_refused_code(tmp_path, raw, capsys):
    from flows.cli import main
    from flows.gate.verdict import EXIT_REFUSED

    summary = tmp_path / "summary.json"
    assert main(["run", "--raw", str(raw), "--out", str(raw / "out"), "--summary-json", str(summary)]) == EXIT_REFUSED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "inside the raw folder" in err[0]
    assert json.loads(summary.read_text())["outcome"] == "refused"
    assert not (raw / "out").exists()


# --- the scan ------------------------------------------------------------------------------------


def test_symlink_loops_and_unreadable_folders_become_rejects(tmp_path, raw, monkeypatch):
    from flows.orchestration.batches import scan_folder

    os.symlink("loop-b.txt", raw / "loop-a.txt")
    os.symlink("loop-a.txt", raw / "loop-b.txt")
    os.symlink("self.txt", raw / "self.txt")
    (raw / "sub").mkdir()
    os.symlink("..", raw / "sub" / "up")
    (raw / "locked").mkdir()
    (raw / "locked" / "plan.txt").write_text("x", encoding="utf-8")
    real = os.scandir

    def scandir(path="."):  # root is not stopped by permissions: the listing itself fails
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    entries = {e.source_file: e for e in scan_folder(raw)}
    assert entries["plan.txt"].reject is None
    for name in ("loop-a.txt", "loop-b.txt", "self.txt", "sub/up"):
        assert entries[name].reject["reason"] == "symlink_loop", name
    assert entries["locked"].reject["reason"] == "unreadable"
    assert "Permission denied" in entries["locked"].reject["detail"]
    assert "locked/plan.txt" not in entries


def test_the_scan_never_enters_an_output_folder(tmp_path, raw):
    from flows.ingest.raw_files import discover

    out = claim_output_folder(tmp_path / "out", tmp_path / "elsewhere")
    (out / "validation").mkdir()
    (out / "validation" / "index.html").write_text("<html></html>")
    os.rename(out, raw / "out")  # moved in after it was made
    assert [p.name for p in discover(raw)] == ["plan.txt"]


# --- publishing ----------------------------------------------------------------------------------


def test_publish_can_be_retried_after_the_rename_and_after_it_completed(tmp_path, monkeypatch):
    import flows.storage.publish as write

    first = new_build_dir(tmp_path)
    write_build({"rejects": schema("rejects").table([])}, first, {"n": 1})
    publish(first, tmp_path, ["rejects"])
    build = new_build_dir(tmp_path)
    write_build({"rejects": schema("rejects").table([{"source_file": "a", "reason": "empty", "detail": ""}])},
                build, {"n": 2})
    real = os.symlink

    def fail_once(*args):
        monkeypatch.setattr(write.os, "symlink", real)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write.os, "symlink", fail_once)
    with pytest.raises(OSError):
        publish(build, tmp_path, ["rejects"])  # the build is renamed, no link swapped yet
    assert not build.exists()
    final = publish(build, tmp_path, ["rejects"])  # the retry
    assert current_build(tmp_path) == final.resolve() and pq.read_table(tmp_path / "rejects.parquet").num_rows == 1
    previous = (tmp_path / ".previous").resolve()
    assert publish(build, tmp_path, ["rejects"]) == final  # once more: nothing changes
    assert (tmp_path / ".previous").resolve() == previous != final.resolve()


def test_checksums_find_a_hand_edited_file(tmp_path):
    build = new_build_dir(tmp_path)
    write_build({"rejects": schema("rejects").table([])}, build, {})
    sums = file_checksums(build, [table_file("rejects"), BUILD_META])
    assert changed_files(build, sums) == []
    (build / table_file("rejects")).write_bytes((build / table_file("rejects")).read_bytes() + b" ")
    assert changed_files(build, sums) == [table_file("rejects")]
    assert changed_files(build, None)  # recorded before checksums existed: not trusted


def test_a_file_whose_status_is_unchanged_is_not_read_again(tmp_path, monkeypatch):
    import flows.storage.publish as write

    build = new_build_dir(tmp_path)
    write_build({"rejects": schema("rejects").table([])}, build, {})
    sums, stats = file_checksums(build, [table_file("rejects")]), write.file_stats(build, [table_file("rejects")])
    monkeypatch.setattr(write, "file_checksums", lambda *a: pytest.fail("read again"))
    assert changed_files(build, sums, stats) == []
    monkeypatch.undo()
    # copied back in place (a restore from a backup): other status, so the bytes are read again
    data = (build / table_file("rejects")).read_bytes()
    (build / table_file("rejects")).unlink()
    (build / table_file("rejects")).write_bytes(data)
    read = []
    real = write.file_checksums
    monkeypatch.setattr(write, "file_checksums", lambda *a: read.append(a) or real(*a))
    assert changed_files(build, sums, stats) == [] and read


# --- through Great Expectations ------------------------------------------------------------------


def test_the_gate_names_the_failing_documents_of_document_rules_and_keeps_systemic_ones_apart(seed_rows, monkeypatch):
    """The seeds, with a misquoted metric in one, more sections than the limit allows in another,
    and a metric given twice under its key in a third (a systemic failure)."""
    import copy
    from collections import Counter

    from flows.gate.rules import MAX_ROWS_PER_DOCUMENT
    from flows.gate.run import validate_tables

    rows = copy.deepcopy(seed_rows)
    sections = Counter(r["doc_id"] for r in rows["sections"])
    (longest, most), (_, second) = sections.most_common(2)
    monkeypatch.setitem(MAX_ROWS_PER_DOCUMENT, "sections", second)  # the longest seed splits too finely
    misquoted = next(m for m in rows["metrics"] if m["doc_id"] != longest)
    misquoted["source_text"] += "（误引）"
    doubled = next(m for m in rows["metrics"] if m["doc_id"] not in (longest, misquoted["doc_id"]))
    rows["metrics"].append(dict(doubled))

    result = validate_tables({n: schema(n).table(rows[n]) for n in TABLES}, today=dt.date(2026, 12, 5))

    assert not result.success and most > second
    assert set(result.document_failures) == {longest, misquoted["doc_id"]}
    (quote,) = result.document_failures[misquoted["doc_id"]]
    assert quote.startswith("source_text_matches_offsets (metrics.source_text): metrics.char_start = ")
    assert f"source_text = {misquoted['source_text'][:20]}" in quote and misquoted["metric_id"] in quote
    (count,) = result.document_failures[longest]
    assert count.startswith("rows_per_document (documents.sections): ") and str(most) in count
    assert result.systemic and all("metrics.keys" in f for f in result.systemic)
    with pytest.raises(ValidationFailed, match="metrics.keys"):
        quarantine_verdict(result, documents=len(rows["documents"]))
    result.systemic, result.failures = [], [f for f in result.failures if "metrics.keys" not in f]
    assert set(quarantine_verdict(result, documents=len(rows["documents"]))) == {longest, misquoted["doc_id"]}


# --- the command line ----------------------------------------------------------------------------


def test_run_help_lists_the_exit_codes_and_the_flags_reach_the_flow(monkeypatch, tmp_path, raw, capsys):
    import flows.build
    from flows import cli
    from flows.gate.verdict import EXIT_CRASHED, EXIT_PUBLISHED, EXIT_QUARANTINED, EXIT_REFUSED

    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    help_text = capsys.readouterr().out
    for code in (EXIT_PUBLISHED, EXIT_QUARANTINED, EXIT_REFUSED, EXIT_CRASHED):
        assert f"\n  {code}  " in help_text
    got = {}

    def run_build(raw_dir, out_dir, **params):
        got.update(params)
        return {"outcome": "published_with_quarantined", "exit_code": EXIT_QUARANTINED, "rows": {}, "documents": 1,
                "rejected": 1, "processed": 1, "cached": 0, "reused": 0, "seconds": 0.1, "out_dir": out_dir,
                "quarantined": [{"source_file": "odd.txt", "detail": "rule (t.c): v"}]}

    monkeypatch.setattr(flows.build, "run_build", run_build)
    monkeypatch.setattr("flows.orchestration.embedded_server.start", lambda: None)
    monkeypatch.setattr("flows.orchestration.embedded_server.starting", lambda: False)
    monkeypatch.setattr("flows.gate.process.start", lambda: None)
    monkeypatch.setattr("flows.gate.process.stop", lambda: None)
    args = ["run", "--raw", str(raw), "--out", str(tmp_path / "out"), "--max-quarantined", "10%", "--allow-shrink"]
    assert cli.main(args) == EXIT_QUARANTINED
    assert got["max_quarantined"] == pytest.approx(0.1) and got["allow_shrink"] is True
    assert "quarantined odd.txt: rule (t.c): v" in capsys.readouterr().err
    assert cli.build_parser().parse_args(["run"]).max_quarantined == pytest.approx(0.05)
