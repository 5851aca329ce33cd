import hashlib

from flows.contract.schema import schema
from flows.storage.publish import clean_stale, current_build, new_build_dir, publish, table_file, write_build


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


def test_appended_parts_read_back_as_one_table_with_the_contract_schema(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    import flows.storage.publish as write_mod
    from flows.storage.publish import TableAppender

    monkeypatch.setattr(write_mod, "ROW_GROUP_BYTES", 1000)  # a row group every few parts
    names = ["keywords", "goals"]
    appender = TableAppender(tmp_path, {n: schema(n).arrow_schema() for n in names})
    rows = [{"doc_id": f"d{i:03d}", "rank": 1, "term": f"词{i}", "weight": 0.5, "extractor": "tfidf"} for i in range(60)]
    parts = [schema("keywords").table(rows[i:i + 7]) for i in range(0, 60, 7)]
    for part in parts:
        appender.append("keywords", part)
        assert not (tmp_path / table_file("keywords")).exists()  # only under a temporary name until close
    assert appender.close() == {"keywords": 60, "goals": 0}
    table = pq.read_table(tmp_path / table_file("keywords"))
    assert table.equals(pa.concat_tables(parts))
    assert pq.ParquetFile(tmp_path / table_file("keywords")).num_row_groups > 1
    assert table.schema.field("term").metadata == schema("keywords").arrow_schema().field("term").metadata
    empty = pq.read_table(tmp_path / table_file("goals"))  # no rows at all: an empty file with the schema
    assert empty.num_rows == 0 and empty.schema.equals(schema("goals").arrow_schema(), check_metadata=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [table_file("goals"), table_file("keywords")]
