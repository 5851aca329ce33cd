import pyarrow as pa
import pytest
import yaml

from flows.contract.schema import SCHEMA_DIR, TABLES, from_arrow, load_schemas, parse_schema, schema


def test_every_contract_table_has_a_schema_file():
    required = {"documents", "sections", "goals", "metrics", "bandwidth_targets", "attachments", "rejects"}
    assert required <= set(TABLES)


@pytest.mark.parametrize("name", TABLES)
def test_schema_round_trips_through_pyarrow(name):
    ts = schema(name)
    arrow = ts.arrow_schema()
    back = from_arrow(ts.name, ts.description, arrow)
    assert [(c.name, c.type, c.nullable, c.description, c.allowed) for c in back.columns] == [
        (c.name, c.type, c.nullable, c.description, c.allowed) for c in ts.columns
    ]
    assert back.arrow_schema().equals(arrow, check_metadata=True) or back.arrow_schema().equals(arrow)


@pytest.mark.parametrize("name", TABLES)
def test_schema_file_round_trips_to_yaml(name):
    data = yaml.safe_load((SCHEMA_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    assert parse_schema(schema(name).to_dict()) == schema(name)
    assert [c["name"] for c in data["columns"]] == schema(name).column_names


@pytest.mark.parametrize("name", TABLES)
def test_descriptions_reach_parquet_field_metadata(name, tmp_path):
    import pyarrow.parquet as pq

    from flows.storage.publish import write_table

    write_table(schema(name).table([]), tmp_path / "t.parquet")
    read = pq.read_schema(tmp_path / "t.parquet")
    for col in schema(name).columns:
        assert read.field(col.name).metadata[b"description"].decode() == col.description
        assert col.description.strip(), f"{name}.{col.name} has no description"


def test_table_rejects_unknown_columns():
    with pytest.raises(ValueError, match="unknown columns"):
        schema("rejects").table([{"source_file": "a", "reason": "empty", "detail": "", "bogus": 1}])


def test_table_types_values():
    t = schema("rejects").table([{"source_file": "a.txt", "reason": "empty", "detail": "x"}])
    assert t.num_rows == 1 and t.column("source_sha256").null_count == 1
    assert t.schema.field("source_file").type == pa.string()


def test_primary_and_foreign_keys_name_real_columns():
    schemas = load_schemas()
    for ts in schemas.values():
        assert set(ts.primary_key) <= set(ts.column_names), ts.name
        for fk in ts.foreign_keys:
            assert set(fk["fields"]) <= set(ts.column_names)
            ref = schemas[fk["reference"]["resource"]]
            assert set(fk["reference"]["fields"]) <= set(ref.column_names)


def test_bare_table_has_the_described_tables_values_without_metadata():
    rows = [{"doc_id": "d1", "term": "数据", "weight": 0.5, "rank": 1},
            {"doc_id": "d1", "term": "政务", "weight": None, "rank": 2}]
    described, bare = schema("keywords").table(rows), schema("keywords").table(rows, bare=True)
    assert bare.schema.metadata is None and all(f.metadata is None for f in bare.schema)
    assert bare.schema.names == described.schema.names
    assert [f.type for f in bare.schema] == [f.type for f in described.schema]
    assert bare.to_pylist() == described.to_pylist()
    # every field nullable, so that parts concatenate whatever their rows hold
    assert all(f.nullable for f in bare.schema)
    assert pa.Table.from_arrays(bare.columns, schema=schema("keywords").arrow_schema()).equals(described)


def test_table_fills_missing_keys_with_nulls_and_checks_types():
    t = schema("rejects").table(iter([{"source_file": "a.txt", "reason": "empty"}]))
    assert t.column("detail").to_pylist() == [None]
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        schema("keywords").table([{"doc_id": "d1", "term": "x", "weight": 0.5, "rank": "first"}])


def test_arrow_schema_is_built_once_and_takes_extra_metadata():
    ts = schema("documents")
    assert ts.arrow_schema() is ts.arrow_schema()
    extra = ts.arrow_schema({"release": "2026.11.0"})
    assert extra.metadata[b"release"] == b"2026.11.0" and extra.metadata[b"table"] == b"documents"
    assert b"release" not in ts.arrow_schema().metadata  # the shared schema is left alone
