"""The release's analyst formats (flows.publishing.formats) on small invented tables and schemas."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.publishing import formats
from flows.contract.schema import parse_schema

DOCUMENTS = parse_schema({
    "name": "documents", "description": "One row per 'plan' document.", "primary_key": ["doc_id"],
    "columns": [
        {"name": "doc_id", "type": "string", "nullable": False, "unique": True, "description": "Document id."},
        {"name": "source_file", "type": "string", "nullable": False, "description": "Raw file."},
        {"name": "title", "type": "string", "nullable": True, "description": "Title; it's the plan's own."},
        {"name": "province", "type": "string", "nullable": True, "description": "Province."},
        {"name": "issue_date", "type": "date", "nullable": True, "description": "Issue date."},
        {"name": "repairs", "type": "json", "nullable": False, "description": "Repairs as JSON."},
        {"name": "flags", "type": "list<string>", "nullable": True, "description": "Flags."},
        {"name": "text", "type": "string", "nullable": False, "description": "Full text."},
    ],
})
METRICS = parse_schema({
    "name": "metrics", "description": "Quantified indicators.", "primary_key": ["metric_id"],
    "foreign_keys": [{"fields": ["doc_id"], "reference": {"resource": "documents", "fields": ["doc_id"]}}],
    "columns": [
        {"name": "metric_id", "type": "string", "nullable": False, "unique": True, "description": "Metric id."},
        {"name": "doc_id", "type": "string", "nullable": False, "description": "Document."},
        {"name": "indicator", "type": "string", "nullable": False, "description": "What is measured."},
        {"name": "value", "type": "float64", "nullable": False, "description": "Value."},
        {"name": "unit", "type": "string", "nullable": False, "allowed": ["%", "个"], "description": "Unit."},
        {"name": "target_year", "type": "int32", "nullable": True, "description": "Target year."},
        {"name": "is_target", "type": "bool", "nullable": False, "description": "A target?"},
        {"name": "province", "type": "string", "nullable": True, "description": "Named like a documents column."},
    ],
})
SCHEMAS = {"documents": DOCUMENTS, "metrics": METRICS}
LONG = "长" * (formats.SPREADSHEET_CELL_LIMIT + 1)


def invented_tables() -> dict[str, pa.Table]:
    docs = DOCUMENTS.table([
        {"doc_id": "d1", "source_file": "001.txt", "title": "=HYPERLINK(\"http://x\")", "province": "贵州省",
         "issue_date": date(2023, 5, 1), "repairs": '{"fullwidth": 2}', "flags": ["-a", "b"], "text": "正文"},
        {"doc_id": "d2", "source_file": "002.txt", "title": "+数字政府", "province": None, "issue_date": None,
         "repairs": "[]", "flags": None, "text": "正文二"},
    ])
    metrics = METRICS.table([
        {"metric_id": "m1", "doc_id": "d1", "indicator": "@全程网办", "value": -5.0, "unit": "%",
         "target_year": 2025, "is_target": True, "province": "gz"},
        {"metric_id": "m2", "doc_id": "d2", "indicator": "\t事项", "value": 90.0, "unit": "个",
         "target_year": None, "is_target": False, "province": None},
        {"metric_id": "m3", "doc_id": "nowhere", "indicator": "办件", "value": 1.5, "unit": "个",
         "target_year": 2024, "is_target": True, "province": None},
    ])
    return {"documents": docs, "metrics": metrics}


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


# --- DuckDB -----------------------------------------------------------------------------------------

@pytest.fixture()
def database(tmp_path):
    path = tmp_path / formats.DUCKDB_FILE
    info = formats.write_duckdb(path, invented_tables(), SCHEMAS, dataset="digigov", version="1.2.3")
    con = duckdb.connect(str(path), read_only=True)
    yield con, info
    con.close()


def test_duckdb_holds_every_table_with_its_rows_and_types(database):
    con, info = database
    assert info["tables"] == ["documents", "metrics"]
    assert con.execute("select count(*) from documents").fetchone() == (2,)
    assert con.execute("select count(*) from metrics").fetchone() == (3,)
    types = dict(con.execute("select column_name, data_type from duckdb_columns() where table_name = 'documents'").fetchall())
    assert types["issue_date"] == "DATE"
    assert types["repairs"] == "JSON"
    assert types["flags"] == "VARCHAR[]"
    assert con.execute("select repairs->>'$.fullwidth' from documents where doc_id = 'd1'").fetchone() == ("2",)
    assert con.execute("select flags from documents where doc_id = 'd1'").fetchone() == (["-a", "b"],)


def test_duckdb_comments_every_table_and_column_from_the_schemas(database):
    con, _ = database
    comments = dict(((t, c), k) for t, c, k in con.execute(
        "select table_name, column_name, comment from duckdb_columns() where table_name in ('documents', 'metrics')").fetchall())
    for ts in SCHEMAS.values():
        for col in ts.columns:
            assert comments[(ts.name, col.name)] == col.description
    tables = dict(con.execute("select table_name, comment from duckdb_tables()").fetchall())
    assert tables["documents"].startswith("One row per 'plan' document.")  # a quote in a comment survives
    assert tables["metrics"].startswith(METRICS.description)


def test_duckdb_names_primary_keys_in_table_comments_and_declares_not_null(database):
    con, _ = database
    tables = dict(con.execute("select table_name, comment from duckdb_tables()").fetchall())
    assert tables["metrics"].endswith("Primary key: metric_id.")
    # no PRIMARY KEY constraint: its index would keep DuckDB 1.0 from opening the file
    assert con.execute("select count(*) from duckdb_constraints() where constraint_type = 'PRIMARY KEY'").fetchone() == (0,)
    nullable = dict(con.execute("select column_name, is_nullable from duckdb_columns() where table_name = 'metrics'").fetchall())
    assert nullable["metric_id"] is False and nullable["target_year"] is True


def test_duckdb_views_join_rows_to_their_documents_keeping_unmatched_rows(database):
    con, info = database
    assert info["views"] == ["metrics_with_documents"]  # goals and bandwidth_targets are not in these tables
    rows = con.execute("select metric_id, source_file, province, document_province, title from metrics_with_documents "
                   "order by metric_id").fetchall()
    assert rows == [("m1", "001.txt", "gz", "贵州省", "=HYPERLINK(\"http://x\")"),
                    ("m2", "002.txt", None, None, "+数字政府"),
                    ("m3", None, None, None, None)]
    assert con.execute("select comment from duckdb_views() where view_name = 'metrics_with_documents'").fetchone()[0]


def test_duckdb_records_the_release_and_its_storage_version(database, tmp_path):
    con, info = database
    assert dict(con.execute("select key, value from dataset_release").fetchall()) == {
        "dataset": "digigov", "version": "1.2.3", "storage_version": formats.DUCKDB_STORAGE_VERSION}
    (tags,) = con.execute("select tags from duckdb_databases() where database_name = 'digigov'").fetchone()
    assert tags["storage_version"].startswith(formats.DUCKDB_STORAGE_VERSION.split(".")[0])
    assert info["storage_version"] == formats.DUCKDB_STORAGE_VERSION


def test_duckdb_never_overwrites_a_file(tmp_path):
    path = tmp_path / "x.duckdb"
    path.write_bytes(b"")
    with pytest.raises(FileExistsError):
        formats.write_duckdb(path, invented_tables(), SCHEMAS)


def test_duckdb_refuses_a_json_column_holding_no_json(tmp_path):
    tables = invented_tables()
    docs = tables["documents"]
    tables["documents"] = docs.set_column(docs.schema.get_field_index("repairs"), docs.schema.field("repairs"),
                                          pa.array(["{not json", "[]"]))
    with pytest.raises(duckdb.Error):
        formats.write_duckdb(tmp_path / "x.duckdb", tables, SCHEMAS)


# --- Parquet JSON columns ------------------------------------------------------------------------------

def test_json_columns_are_written_with_parquets_json_type_and_read_back_as_text(tmp_path):
    table = formats.with_json_columns(invented_tables()["documents"], DOCUMENTS)
    path = tmp_path / "documents.parquet"
    pq.write_table(table, path, compression="zstd")
    assert "(JSON)" in str(pq.read_metadata(path).schema)
    assert table.schema.field("repairs").metadata[b"description"] == b"Repairs as JSON."
    with duckdb.connect() as con:
        assert con.execute(f"select typeof(repairs) from '{path}' limit 1").fetchone() == ("JSON",)
    import pandas as pd

    assert pd.read_parquet(path)["repairs"].tolist() == ['{"fullwidth": 2}', "[]"]
    assert formats.with_json_columns(invented_tables()["metrics"], METRICS) is not None  # no json column: unchanged


# --- CSV ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, expected", [
    ("=1+2", "'=1+2"), ("+86", "'+86"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\r=1", "'\r=1"), ("数字政府", "数字政府"), ("a=b", "a=b"), ("", ""), ("'=x", "'=x"),
])
def test_text_cells_a_spreadsheet_would_run_are_neutralized(cell, expected):
    assert formats.csv_cell(cell, "string") == expected


def test_numbers_dates_booleans_and_nulls_are_written_as_values_not_text():
    assert formats.csv_cell(-5.0, "float64") == "-5.0"
    assert formats.csv_cell(-3, "int64") == "-3"
    assert formats.csv_cell(True, "bool") == "true"
    assert formats.csv_cell(None, "string") == ""
    assert formats.csv_cell(date(2023, 5, 1), "date") == "2023-05-01"
    assert formats.csv_cell(["-a"], "list<string>") == '["-a"]'


def test_csvs_are_utf8_with_bom_neutralized_and_leave_out_whole_texts(tmp_path):
    left_out = formats.write_csvs(tmp_path / "csv", invented_tables(), SCHEMAS)
    assert left_out == {"documents": ["text"], "metrics": []}
    docs = read_csv(tmp_path / "csv" / "documents.csv")
    assert list(docs[0]) == ["doc_id", "source_file", "title", "province", "issue_date", "repairs", "flags"]
    assert docs[0]["title"] == "'=HYPERLINK(\"http://x\")"
    assert docs[1]["title"] == "'+数字政府"
    assert docs[0]["issue_date"] == "2023-05-01" and docs[1]["issue_date"] == ""
    assert docs[0]["flags"] == '["-a", "b"]'
    metrics = read_csv(tmp_path / "csv" / "metrics.csv")
    assert [m["value"] for m in metrics] == ["-5.0", "90.0", "1.5"]  # a negative number stays a number
    assert [m["indicator"] for m in metrics] == ["'@全程网办", "'\t事项", "办件"]
    assert (tmp_path / "csv" / "metrics.csv").read_bytes().count(b"\r\n") == 4
    note = (tmp_path / "csv" / "README.md").read_text(encoding="utf-8")
    assert "`documents.text`" in note and "32,767" in note


def test_a_column_with_a_cell_longer_than_a_spreadsheet_cell_is_left_out_and_named(tmp_path):
    tables = invented_tables()
    metrics = tables["metrics"]
    tables["metrics"] = metrics.set_column(metrics.schema.get_field_index("indicator"), metrics.schema.field("indicator"),
                                           pa.array(["短", LONG, None]))
    left_out = formats.write_csvs(tmp_path / "csv", tables, SCHEMAS)
    assert left_out["metrics"] == ["indicator"]
    assert "indicator" not in read_csv(tmp_path / "csv" / "metrics.csv")[0]
    assert "`metrics.indicator`" in (tmp_path / "csv" / "README.md").read_text(encoding="utf-8")
    exactly = tables["metrics"].set_column(2, metrics.schema.field("indicator"),
                                           pa.array(["短", LONG[:-1], "x"]))  # at the limit: kept
    assert formats.too_long_columns("metrics", exactly, METRICS) == []


def test_a_csv_folder_is_never_written_over(tmp_path):
    (tmp_path / "csv").mkdir()
    with pytest.raises(FileExistsError):
        formats.write_csvs(tmp_path / "csv", invented_tables(), SCHEMAS)


# --- the data dictionary ---------------------------------------------------------------------------

def test_data_dictionary_lists_every_column_from_the_schemas(tmp_path):
    path = tmp_path / formats.DICTIONARY_FILE
    assert formats.write_data_dictionary(path, SCHEMAS) == len(DOCUMENTS.columns) + len(METRICS.columns)
    rows = read_csv(path)
    assert list(rows[0])[:6] == ["table", "column", "type", "nullable", "description", "allowed_values"]
    by_key = {(r["table"], r["column"]): r for r in rows}
    unit = by_key[("metrics", "unit")]
    assert unit["type"] == "string" and unit["nullable"] == "false"
    assert json.loads(unit["allowed_values"]) == ["%", "个"]
    assert by_key[("metrics", "metric_id")]["primary_key"] == "true"
    assert by_key[("metrics", "doc_id")]["references"] == "documents.doc_id"
    assert by_key[("documents", "repairs")]["type"] == "json"
    assert by_key[("documents", "title")]["description"] == "Title; it's the plan's own."


# --- Croissant and the schema.org script ---------------------------------------------------------------

def write_parquets(folder: Path) -> None:
    for name, table in invented_tables().items():
        pq.write_table(formats.with_json_columns(table, SCHEMAS[name]), folder / f"{name}.parquet", compression="zstd")


def invented_croissant(folder: Path) -> dict:
    (folder / "data_dictionary.csv").write_text("table\n", encoding="utf-8")
    return formats.croissant(
        name="digigov", title="digigov </script><!-- plans", description="Plans & targets.", version="1.2.3",
        published="2026-12-05", licence_url="https://creativecommons.org/licenses/by/4.0/",
        cite_as="digigov contributors (2026).", keywords=["数字政府"], creator="digigov contributors",
        release_dir=folder, tables=["documents", "metrics"], schemas=SCHEMAS,
        other_files={"data_dictionary.csv": "text/csv"})


def test_croissant_describes_files_with_sha256_and_fields_from_the_schemas(tmp_path):
    write_parquets(tmp_path)
    doc = invented_croissant(tmp_path)
    files = {f["@id"]: f for f in doc["distribution"]}
    assert files["metrics.parquet"]["contentUrl"] == "metrics.parquet"
    assert files["metrics.parquet"]["sha256"] == formats.sha256_of(tmp_path / "metrics.parquet")
    assert files["data_dictionary.csv"]["encodingFormat"] == "text/csv"
    records = {r["@id"]: r for r in doc["recordSet"]}
    fields = {f["name"]: f for f in records["metrics"]["field"]}
    assert [f["name"] for f in records["metrics"]["field"]] == METRICS.column_names
    assert fields["value"]["dataType"] == "sc:Float" and fields["target_year"]["dataType"] == "sc:Integer"
    assert fields["doc_id"]["references"] == {"field": {"@id": "documents/doc_id"}}
    assert records["metrics"]["key"] == [{"@id": "metrics/metric_id"}]
    assert {f["name"]: f for f in records["documents"]["field"]}["flags"]["repeated"] is True


def test_croissant_validates_with_mlcroissant_and_its_records_read_the_parquet(tmp_path, caplog):
    mlc = pytest.importorskip("mlcroissant")
    write_parquets(tmp_path)
    formats.write_croissant(tmp_path / formats.CROISSANT_FILE, invented_croissant(tmp_path))
    dataset = mlc.Dataset(jsonld=tmp_path / formats.CROISSANT_FILE)  # raises on any validation error
    assert "not standard" not in caplog.text  # the @context is Croissant 1.0's own
    assert {rs.name for rs in dataset.metadata.record_sets} == {"documents", "metrics"}
    records = list(dataset.records("metrics"))
    assert sorted(r["metrics/metric_id"] for r in records) == [b"m1", b"m2", b"m3"]


def test_croissant_with_a_wrong_field_reference_fails_mlcroissant(tmp_path):
    mlc = pytest.importorskip("mlcroissant")
    write_parquets(tmp_path)
    doc = invented_croissant(tmp_path)
    doc["recordSet"][1]["field"][1]["source"]["fileObject"]["@id"] = "missing.parquet"
    with pytest.raises(mlc.ValidationError):
        mlc.Dataset(jsonld=doc)


def test_json_ld_script_cannot_be_ended_by_its_content(tmp_path):
    write_parquets(tmp_path)
    doc = invented_croissant(tmp_path)
    tag = formats.json_ld_script(doc)
    assert tag.startswith('<script type="application/ld+json">') and tag.endswith("</script>")
    body = tag[len('<script type="application/ld+json">'):-len("</script>")]
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == doc  # the escapes are JSON's own: the same document
