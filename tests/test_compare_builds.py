"""The refactoring check: two output folders hold identical tables, or it says what differs."""
import pyarrow as pa
import pyarrow.parquet as pq

from flows.tooling.compare_builds import compare_builds, main


def _write(folder, name, values, description=b"Metric id."):
    folder.mkdir(exist_ok=True)
    field = pa.field("metric_id", pa.string(), metadata={b"description": description})
    table = pa.table({"metric_id": values}, schema=pa.schema([field], metadata={b"table": name.encode()}))
    pq.write_table(table, folder / f"{name}.parquet")


def test_identical_builds_pass_and_each_difference_is_named(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    _write(old, "metrics", ["a", "b"])
    _write(new, "metrics", ["a", "b"])
    assert main([str(old), str(new)]) == 0
    assert "metrics: identical (2 rows, 1 columns)" in capsys.readouterr().out

    _write(new, "metrics", ["a", "c"])
    assert compare_builds(old, new)[1] == ["metrics.metric_id: first difference at row 1"]
    _write(new, "metrics", ["a"])
    assert compare_builds(old, new)[1] == ["metrics: 2 rows became 1"]
    _write(new, "metrics", ["a", "b"], description=b"Another meaning.")
    assert compare_builds(old, new)[1] == ["metrics.metric_id: field metadata differs (description)"]
    _write(new, "metrics", ["a", "b"])
    _write(new, "goals", [])
    assert compare_builds(old, new)[1] == [f"goals: only in {new}"]
    assert main([str(old), str(new)]) == 1


def test_two_empty_folders_are_not_a_pass(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert compare_builds(tmp_path / "a", tmp_path / "b")[1]
