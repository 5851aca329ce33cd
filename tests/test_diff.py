"""The machine-readable diff between two releases (flows.publishing.diff) on invented tables."""

from __future__ import annotations

import json
import re
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.publishing import diff
def metrics(rows):
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("metric_id", pa.string()), ("doc_id", pa.string()), ("value", pa.float64()), ("unit", pa.string())]))


OLD = metrics([
    {"metric_id": "m1", "doc_id": "d1", "value": 90.0, "unit": "%"},
    {"metric_id": "m2", "doc_id": "d1", "value": 5.0, "unit": "个"},
    {"metric_id": "m3", "doc_id": "d2", "value": 1.0, "unit": "个"},
])
NEW = metrics([
    {"metric_id": "m1", "doc_id": "d1", "value": 95.0, "unit": "%"},  # value changed
    {"metric_id": "m2", "doc_id": "d1", "value": 5.0, "unit": "个"},  # unchanged
    {"metric_id": "m4", "doc_id": "d3", "value": 2.0, "unit": None},  # added (m3 removed)
])


def as_tuples(rows):
    return [(r["table"], r["row_id"], r["change"], r["column"], r["old"], r["new"]) for r in rows]


def test_added_removed_and_changed_rows_are_named_by_their_key():
    assert as_tuples(diff.diff_table("metrics", OLD, NEW, ["metric_id"])) == [
        ("metrics", "m1", "changed", "value", "90.0", "95.0"),
        ("metrics", "m3", "removed", None, None, None),
        ("metrics", "m4", "added", None, None, None),
    ]


def test_identical_tables_have_no_change_whatever_the_row_order():
    assert diff.diff_table("metrics", OLD, OLD.take([2, 0, 1]), ["metric_id"]) == []


def test_a_changed_row_has_one_change_per_changed_column_with_nulls_as_null():
    new = metrics([{"metric_id": "m1", "doc_id": "d9", "value": 90.0, "unit": None}])
    old = metrics([{"metric_id": "m1", "doc_id": "d1", "value": 90.0, "unit": "%"}])
    assert as_tuples(diff.diff_table("metrics", old, new, ["metric_id"])) == [
        ("metrics", "m1", "changed", "doc_id", "d1", "d9"),
        ("metrics", "m1", "changed", "unit", "%", None),
    ]


def test_a_composite_key_is_a_json_array():
    schema = pa.schema([("doc_id", pa.string()), ("term", pa.string()), ("weight", pa.float64())])
    old = pa.Table.from_pylist([{"doc_id": "d1", "term": "数据", "weight": 0.5}], schema=schema)
    new = pa.Table.from_pylist([{"doc_id": "d1", "term": "数据", "weight": 0.7},
                                {"doc_id": "d1", "term": "政务", "weight": 0.1}], schema=schema)
    changes = diff.diff_table("keywords", old, new, ["doc_id", "term"])
    assert [json.loads(c["row_id"]) for c in changes] == [["d1", "政务"], ["d1", "数据"]]
    assert [c["change"] for c in changes] == ["added", "changed"]


def test_a_changed_column_type_shows_once_and_equal_values_are_not_changes():
    old = pa.table({"id": ["a", "b"], "year": pa.array([2025, 2026], pa.int32())})
    new = pa.table({"id": ["a", "b"], "year": pa.array([2025.0, 2027.0], pa.float64())})
    assert as_tuples(diff.diff_table("goals", old, new, ["id"])) == [
        ("goals", None, "changed", "year", "int32", "double"),
        ("goals", "b", "changed", "year", "2026", "2027.0"),
    ]


def test_added_and_removed_columns_show_once_not_per_row():
    old = pa.table({"id": ["a", "b"], "gone": [1, 2], "x": ["p", "q"]})
    new = pa.table({"id": ["a", "b"], "x": ["p", "q"], "fresh": [date(2026, 1, 1), None]})
    assert as_tuples(diff.diff_table("t", old, new, ["id"])) == [
        ("t", None, "added", "fresh", None, "date32[day]"),
        ("t", None, "removed", "gone", "int64", None),
    ]


def test_a_table_in_one_release_only_lists_every_row():
    assert as_tuples(diff.diff_table("metrics", None, NEW, ["metric_id"])) == [
        ("metrics", m, "added", None, None, None) for m in ("m1", "m2", "m4")]
    assert [c["change"] for c in diff.diff_table("metrics", OLD, None, ["metric_id"])] == ["removed"] * 3


def test_a_key_that_changed_between_releases_matches_no_row():
    new = NEW.append_column("stable_id", pa.array(["s1", "s2", "s4"]))
    changes = diff.diff_table("metrics", OLD, new, ["stable_id"], old_key=["metric_id"])
    assert sorted((c["change"], c["row_id"]) for c in changes) == [
        ("added", "s1"), ("added", "s2"), ("added", "s4"), ("removed", "m1"), ("removed", "m2"), ("removed", "m3")]


def test_a_duplicate_or_missing_key_is_an_error_not_a_silent_match():
    with pytest.raises(ValueError, match="not unique"):
        diff.diff_table("metrics", pa.concat_tables([OLD, OLD]), NEW, ["metric_id"])
    with pytest.raises(ValueError, match="not among its columns"):
        diff.diff_table("metrics", OLD, NEW, ["nope"])


def test_cell_text_spells_values_the_same_way_everywhere():
    assert diff.cell_text(True) == "true"
    assert diff.cell_text(date(2026, 12, 5)) == "2026-12-05"
    assert diff.cell_text(["a", "数"]) == '["a", "数"]'
    assert diff.cell_text(None) is None
    assert diff.cell_text(7) == "7"


def write_release(folder, tables, keys):
    folder.mkdir()
    for name, t in tables.items():
        pq.write_table(t, folder / f"{name}.parquet")
    (folder / "datapackage.json").write_text(json.dumps({"resources": [
        {"name": n, "path": f"{n}.parquet", "schema": {"primaryKey": k}} for n, k in keys.items()]}), encoding="utf-8")


def test_releases_are_compared_table_by_table_with_their_declared_keys(tmp_path):
    goals = pa.table({"goal_id": ["g1"], "text": ["到2025年"]})
    write_release(tmp_path / "v1", {"metrics": OLD, "goals": goals}, {"metrics": ["metric_id"], "goals": ["goal_id"]})
    write_release(tmp_path / "v2", {"metrics": NEW}, {"metrics": "metric_id"})
    (tmp_path / "v2" / diff.CHANGES_FILE).write_bytes(b"not a table of this release")
    changes = diff.diff_releases(tmp_path / "v1", tmp_path / "v2")
    assert changes.schema == diff.CHANGES_SCHEMA
    assert as_tuples(changes.to_pylist()) == [("goals", "g1", "removed", None, None, None)] + as_tuples(
        diff.diff_table("metrics", OLD, NEW, ["metric_id"]))
    path = tmp_path / diff.CHANGES_FILE
    diff.write_changes(path, changes)
    assert pq.read_table(path).equals(changes)


def test_summary_counts_rows_and_columns_per_table_including_unchanged_tables():
    changes = diff.changes_table(diff.diff_table("metrics", OLD, NEW, ["metric_id"]))
    assert diff.summary_rows(changes, ["metrics", "tasks"]) == [
        ("metrics", 1, 1, 1, "value (1)", ""), ("tasks", 0, 0, 0, "", "")]
    text = diff.summary_markdown(changes, ["metrics", "tasks"])
    assert "| `metrics` | 1 | 1 | 1 | value (1) | — |" in text and "| `tasks` | 0 | 0 | 0 | — | — |" in text


def test_change_lines_cut_long_values_and_say_how_many_are_left():
    changes = diff.changes_table([{"table": "documents", "row_id": "d1", "change": "changed", "column": "text",
                                   "old": "旧" * 100, "new": "a\tb"}] * 3)
    lines = diff.change_lines(changes, limit=2, width=10)
    assert lines[0].split("\t") == ["table", "row_id", "change", "column", "old", "new"]
    assert lines[1].split("\t") == ["documents", "d1", "changed", "text", "旧" * 9 + "…", "a b"]
    assert lines[-1].startswith("… 1 more")


def test_digigov_diff_prints_the_summary_and_the_changes_and_writes_them(tmp_path, capsys):
    from flows.cli import main

    out = tmp_path / "curated"
    (out / "releases").mkdir(parents=True)
    write_release(out / "releases" / "1.0.0", {"metrics": OLD}, {"metrics": ["metric_id"]})
    write_release(tmp_path / "elsewhere", {"metrics": NEW}, {"metrics": ["metric_id"]})
    assert main(["diff", "1.0.0", str(tmp_path / "elsewhere"), "--out", str(out),
                 "--changes", str(tmp_path / "c.parquet"), "--limit", "2"]) == 0
    printed = capsys.readouterr().out
    assert "3 change(s)" in printed and "| `metrics` | 1 | 1 | 1 | value (1) | — |" in printed
    assert "metrics\tm1\tchanged\tvalue\t90.0\t95.0" in printed and "… 1 more" in printed
    assert pq.read_table(tmp_path / "c.parquet").num_rows == 3
    assert main(["diff", "1.0.0", "9.9.9", "--out", str(out)]) == 1
    assert "no release 9.9.9" in capsys.readouterr().err


# --- the schema version ---------------------------------------------------------------------------------

def column_changes(*rows):
    return diff.changes_table([{"table": t, "row_id": None, "change": c, "column": col, "old": o, "new": n}
                               for t, c, col, o, n in rows])


def test_a_removed_or_retyped_column_without_a_major_bump_is_refused():
    removed = column_changes(("metrics", "removed", "subject", "string", None))
    problems, text = diff.schema_section(removed, "1.0.0", "1.3", "1.4")
    assert problems and "bump its major version" in problems[0]
    retyped = column_changes(("goals", "changed", "target_year", "int32", "int64"))
    assert diff.schema_section(retyped, "1.0.0", "1.3", "1.4")[0]
    problems, text = diff.schema_section(retyped, "1.0.0", "1.3", "2.0")
    assert problems == [] and "### How to migrate" in text and "`goals.target_year` changed type int32 → int64" in text


def test_a_removed_table_needs_a_major_bump_and_is_named():
    problems, text = diff.schema_section(column_changes(), "1.0.0", "1.0", "1.1", removed_tables=["attachments"])
    assert problems
    assert "table `attachments` is no longer published" in diff.schema_section(
        column_changes(), "1.0.0", "1.0", "2.0", removed_tables=["attachments"])[1]


def test_added_columns_need_no_major_bump_and_are_listed():
    added = column_changes(("metrics", "added", "indicator_id", None, "string"))
    problems, text = diff.schema_section(added, "1.0.0", "1.0", "1.1")
    assert problems == [] and "Columns added: `metrics.indicator_id` (string)." in text
    assert "How to migrate" not in text


def test_a_major_bump_without_column_changes_says_ids_changed_meaning():
    problems, text = diff.schema_section(column_changes(), "1.0.0", "1.1", "2.0")
    assert problems == [] and "join on this release's ids only" in text


def test_no_recorded_previous_schema_version_cannot_be_checked_and_says_so():
    removed = column_changes(("metrics", "removed", "subject", "string", None))
    problems, text = diff.schema_section(removed, "1.0.0", None, "1.0")
    assert problems == [] and "previous release 1.0.0: not recorded" in text
    assert diff.schema_section(column_changes(), None, None, "1.0")[1].splitlines()[3] == "Schema version 1.0."


def test_the_schema_version_file_is_major_minor():
    from flows.contract.schema import schema_version

    assert re.fullmatch(r"\d+\.\d+", schema_version())


def test_lists_nulls_and_json_columns_compare_by_value():
    old = pa.table({"id": ["a", "b", "c"], "flags": pa.array([["x"], None, ["y", "z"]]),
                    "note": ["n", None, "m"], "repairs": pa.array(['{"k": 1}', "[]", "[]"])})
    new = pa.table({"id": ["c", "b", "a"], "flags": pa.array([["y", "z"], ["x"], ["x", "w"]]),
                    "note": ["m", "set", None], "repairs": pa.array(['[]', "[]", '{"k": 1}'], pa.json_())})
    assert as_tuples(diff.diff_table("documents", old, new, ["id"])) == [
        ("documents", None, "changed", "repairs", "string", "extension<arrow.json>"),
        ("documents", "a", "changed", "flags", '["x"]', '["x", "w"]'),
        ("documents", "a", "changed", "note", "n", None),
        ("documents", "b", "changed", "flags", None, '["x"]'),
        ("documents", "b", "changed", "note", None, "set"),
    ]
