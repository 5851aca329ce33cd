import hashlib

from flows.schema import schema
from flows.write import clean_stale, current_build, new_build_dir, publish, write_build


def _tables(n):
    return {"rejects": schema("rejects").table(
        [{"source_file": f"{i}.txt", "reason": "empty", "detail": ""} for i in range(n)])}


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_swaps_all_tables_at_once(tmp_path):
    import pyarrow.parquet as pq

    b1 = new_build_dir(tmp_path)
    write_build(_tables(1), b1, {"n": 1})
    publish(b1, tmp_path, ["rejects"])
    assert pq.read_table(tmp_path / "rejects.parquet").num_rows == 1
    b2 = new_build_dir(tmp_path)
    write_build(_tables(2), b2, {"n": 2})
    publish(b2, tmp_path, ["rejects"])
    assert pq.read_table(tmp_path / "rejects.parquet").num_rows == 2
    assert (tmp_path / "_build.json").read_text().count('"n": 2') == 1


def test_unpublished_staging_never_shows_and_is_cleaned(tmp_path):
    b1 = new_build_dir(tmp_path)
    write_build(_tables(1), b1, {})
    publish(b1, tmp_path, ["rejects"])
    before = _digest(tmp_path / "rejects.parquet")
    staging = new_build_dir(tmp_path)  # a run killed after staging, before publishing
    write_build(_tables(5), staging, {})
    assert _digest(tmp_path / "rejects.parquet") == before
    assert staging in clean_stale(tmp_path)
    assert not staging.exists() and current_build(tmp_path).exists()
    assert _digest(tmp_path / "rejects.parquet") == before
