"""A release's analyst formats: DuckDB, CSV, a CSV data dictionary and Croissant metadata.

Plain functions over the release's tables (pyarrow) and the table contract (``schemas/`` through
``flows.contract.schema.load_schemas``); each writes into a destination folder and returns what it wrote.
``flows.publishing.release`` calls them; tests call them on small invented tables.

    digigov.duckdb       every table with table and column comments from schemas/ (a table's
                         comment names its primary key), JSON columns typed JSON, and views joining metrics, goals and
                         bandwidth_targets to their documents
    csv/<table>.csv      UTF-8 with a BOM (Excel then reads Chinese correctly), text cells that a
                         spreadsheet would run as a formula neutralized, cells too long for a
                         spreadsheet left to Parquet (csv/README.md says which)
    data_dictionary.csv  table, column, type, nullable, description, allowed values, …
    croissant.json       ML Commons Croissant 1.0 JSON-LD (a schema.org Dataset): files with
                         sha256, record sets with fields and keys from schemas/
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa

from flows.contract.schema import TableSchema

DUCKDB_FILE = "digigov.duckdb"
CSV_DIR = "csv"
WIDE_TARGETS_CSV = "targets_wide.csv"  # in CSV_DIR: indicator x jurisdiction (flows/compare/views.py)
DICTIONARY_FILE = "data_dictionary.csv"
CROISSANT_FILE = "croissant.json"

# The on-disk format the database is written in. DuckDB reads every storage version up to its
# own, so the oldest that holds what we write (comments, the JSON type) keeps the file open to
# the most readers: v1.0.0 is read by DuckDB 1.0 and every later release.
DUCKDB_STORAGE_VERSION = "v1.0.0"
DUCKDB_OPENED_BY = "DuckDB 1.0.0 or later"

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "json": "JSON",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "list<string>": "VARCHAR[]",
}

# Tables whose rows an analyst nearly always reads with their document: (table, view name).
DOCUMENT_VIEWS = (("metrics", "metrics_with_documents"), ("goals", "goals_with_documents"),
                  ("bandwidth_targets", "bandwidth_targets_with_documents"))
# What a view adds from documents; a name the table already has gets a ``document_`` prefix.
DOCUMENT_VIEW_COLUMNS = ("source_file", "title", "province", "issuer", "admin_level", "doc_number", "issue_date")

# A spreadsheet cell holds at most 32,767 characters (Excel's limit; LibreOffice's is larger).
SPREADSHEET_CELL_LIMIT = 32_767
# Columns left out of the CSV files whatever this release holds: their values are whole texts.
LONG_TEXT_COLUMNS = {("documents", "text")}
# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): =, +, -, @ and the tab
# and carriage return that some spreadsheets skip before reading the formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_ENCODING = "utf-8-sig"  # UTF-8 with a byte order mark

CROISSANT_CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
# The Croissant 1.0 JSON-LD context, as the specification publishes it.
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
_CROISSANT_TYPES = {
    "string": "sc:Text",
    "json": "sc:Text",
    "int32": "sc:Integer",
    "int64": "sc:Integer",
    "float64": "sc:Float",
    "bool": "sc:Boolean",
    "date": "sc:Date",
    "timestamp": "sc:DateTime",
    "list<string>": "sc:Text",
}
PARQUET_ENCODING = "application/x-parquet"  # the spelling Croissant readers recognize


# --- Parquet --------------------------------------------------------------------------------------

def with_json_columns(table: pa.Table, table_schema: TableSchema) -> pa.Table:
    """The table with its ``json`` columns as Arrow's JSON extension type, which Parquet stores
    with the JSON logical type: DuckDB then reads them as JSON, pandas and pyarrow as strings."""
    fields = []
    for f in table.schema:
        col = table_schema.column(f.name) if f.name in table_schema.column_names else None
        fields.append(f.with_type(pa.json_()) if col is not None and col.type == "json" else f)
    target = pa.schema(fields, metadata=table.schema.metadata)
    if target == table.schema:
        return table
    return pa.Table.from_arrays([c.cast(f.type) for c, f in zip(table.columns, target)], schema=target)


# --- DuckDB ---------------------------------------------------------------------------------------

def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_table_sql(table_schema: TableSchema) -> str:
    # No PRIMARY KEY constraint: DuckDB 2.0 writes its index in a form DuckDB 1.0 cannot read
    # even at storage version v1.0.0 ("Failed to deserialize"); the key is in the table comment.
    cols = [f"{sql_identifier(c.name)} {_DUCKDB_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}"
            for c in table_schema.columns]
    return f"CREATE TABLE {sql_identifier(table_schema.name)} (\n  " + ",\n  ".join(cols) + "\n)"


def table_comment(table_schema: TableSchema) -> str:
    key = f" Primary key: {', '.join(table_schema.primary_key)}." if table_schema.primary_key else ""
    return table_schema.description + key


def document_view_sql(table_schema: TableSchema, view: str, documents: TableSchema) -> str:
    """A view of the table's rows with their document's identity (a left join: every row stays)."""
    own = set(table_schema.column_names)
    extra = []
    for name in DOCUMENT_VIEW_COLUMNS:
        if name not in documents.column_names:
            continue
        alias = f"document_{name}" if name in own else name
        extra.append(f"d.{sql_identifier(name)} AS {sql_identifier(alias)}")
    return (f"CREATE VIEW {sql_identifier(view)} AS SELECT t.*, {', '.join(extra)} "
            f"FROM {sql_identifier(table_schema.name)} t LEFT JOIN documents d USING (doc_id)")


def write_duckdb(path: Path, tables: Mapping[str, pa.Table], schemas: Mapping[str, TableSchema], *,
                 dataset: str = "", version: str = "", schema_version: str = "") -> dict[str, Any]:
    """Write ``path`` (a new DuckDB database) with every table of ``tables`` that has a schema.

    Returns {storage_version, opened_by, tables, views}.
    """
    import duckdb

    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(str(path))} AS release (STORAGE_VERSION {sql_string(DUCKDB_STORAGE_VERSION)})")
        con.execute("USE release")
        con.execute("BEGIN TRANSACTION")  # one commit, not one per comment
        written = []
        for name, table in tables.items():
            if name not in schemas:
                continue
            ts = schemas[name]
            con.execute(create_table_sql(ts))
            con.register("incoming", table.select(ts.column_names))
            # JSON cells arrive as text; the cast checks each is a JSON document
            con.execute(f"INSERT INTO {sql_identifier(name)} SELECT * FROM incoming")
            con.unregister("incoming")
            con.execute(f"COMMENT ON TABLE {sql_identifier(name)} IS {sql_string(table_comment(ts))}")
            for c in ts.columns:
                con.execute(f"COMMENT ON COLUMN {sql_identifier(name)}.{sql_identifier(c.name)} "
                            f"IS {sql_string(c.description)}")
            written.append(name)
        views = []
        if "documents" in written:
            for name, view in DOCUMENT_VIEWS:
                if name in written and "doc_id" in schemas[name].column_names:
                    con.execute(document_view_sql(schemas[name], view, schemas["documents"]))
                    con.execute(f"COMMENT ON VIEW {sql_identifier(view)} IS "
                                f"{sql_string(f'{name} with the identity of the document each row is stated in.')}")
                    views.append(view)
        if dataset:
            con.execute("CREATE TABLE dataset_release (key VARCHAR NOT NULL, value VARCHAR NOT NULL)")
            facts = [("dataset", dataset), ("version", version), ("schema_version", schema_version),
                     ("storage_version", DUCKDB_STORAGE_VERSION)]
            con.executemany("INSERT INTO dataset_release VALUES (?, ?)", [(k, v) for k, v in facts if v])
            con.execute("COMMENT ON TABLE dataset_release IS 'Which dataset and version this database holds.'")
        con.execute("COMMIT")
        con.execute("USE memory")
        con.execute("DETACH release")
    finally:
        con.close()
    return {"storage_version": DUCKDB_STORAGE_VERSION, "opened_by": DUCKDB_OPENED_BY, "tables": written,
            "views": views}


# --- CSV ------------------------------------------------------------------------------------------

def neutralize_formula(text: str) -> str:
    """A text cell a spreadsheet would run as a formula, prefixed with ' (OWASP's advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any, column_type: str) -> Any:
    """How a value is written into a CSV cell. Only text is neutralized: a negative number in a
    numeric column is a number, not a formula."""
    if value is None:
        return ""
    if column_type == "bool":
        return "true" if value else "false"
    if column_type in ("int32", "int64"):
        return str(value)
    if column_type == "float64":
        return repr(float(value))
    if column_type in ("date", "timestamp"):
        return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    if column_type == "list<string>":
        return neutralize_formula(json.dumps(list(value), ensure_ascii=False))
    return neutralize_formula(str(value))


def too_long_columns(name: str, table: pa.Table, table_schema: TableSchema) -> list[str]:
    """Columns left out of the table's CSV: whole texts, and any text column with a cell longer
    than a spreadsheet cell holds in this release."""
    import pyarrow.compute as pc

    out = []
    for c in table_schema.columns:
        if c.name not in table.column_names:
            continue
        if (name, c.name) in LONG_TEXT_COLUMNS:
            out.append(c.name)
        elif c.type in ("string", "json") and table.num_rows:
            longest = pc.max(pc.utf8_length(table.column(c.name).cast(pa.string()))).as_py()
            if longest is not None and longest > SPREADSHEET_CELL_LIMIT:
                out.append(c.name)
    return out


def write_csv_rows(path: Path, header: list[str], rows: Iterable[list[Any]]) -> None:
    with open(path, "w", encoding=CSV_ENCODING, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")  # RFC 4180 line ends
        writer.writerow(header)
        writer.writerows(rows)


def write_table_csv(path: Path, name: str, table: pa.Table, table_schema: TableSchema) -> list[str]:
    """Write one table's CSV; returns the columns left out (too long for a spreadsheet cell)."""
    left_out = too_long_columns(name, table, table_schema)
    cols = [c for c in table_schema.columns if c.name in table.column_names and c.name not in left_out]
    batches = table.select([c.name for c in cols]).to_batches(max_chunksize=10_000)
    types = [c.type for c in cols]

    def rows():
        for batch in batches:
            for row in zip(*(col.to_pylist() for col in batch.columns)):
                yield [csv_cell(v, t) for v, t in zip(row, types)]

    write_csv_rows(path, [c.name for c in cols], rows())
    return left_out


def csv_readme(left_out: Mapping[str, list[str]], wide: bool = False) -> str:
    lines = [
        "# CSV copies of the tables", "",
        "One file per table, for spreadsheets: UTF-8 with a byte order mark (so Excel reads Chinese "
        "correctly), comma-separated, RFC 4180 quoting, a header row of column names.", "",
        "- The Parquet files (and `digigov.duckdb`) are the reference; these are copies.",
        "- A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is written with "
        "a leading `'` so that a spreadsheet shows it instead of running it as a formula. Numeric "
        "columns are written as numbers (a negative number keeps its minus sign).",
        "- An empty cell is a null (in text columns an empty string also reads as empty).",
        "- Booleans are `true`/`false`, dates ISO 8601, lists and JSON columns JSON text.",
        f"- Columns whose cells can be longer than a spreadsheet cell holds ({SPREADSHEET_CELL_LIMIT:,} "
        "characters) are left out; read them from Parquet or DuckDB:",
    ]
    omitted = [(t, c) for t, cols in left_out.items() for c in cols]
    lines += [f"  - `{t}.{c}`" for t, c in omitted] or ["  - none in this release"]
    if wide:
        lines += ["", f"`{WIDE_TARGETS_CSV}` puts the `targets` table side by side: one row per catalog indicator "
                  "(`indicator_id`, `name_zh`, `name_en`), one column per jurisdiction (national documents first, "
                  "then by administrative code); a cell lists that jurisdiction's targets for the indicator as "
                  "comparator, value, unit and target year (several separated by `; `), empty where it set none. "
                  "Same encoding and neutralization as the tables."]
    return "\n".join(lines) + "\n"


def write_csvs(folder: Path, tables: Mapping[str, pa.Table], schemas: Mapping[str, TableSchema]) -> dict[str, list[str]]:
    """``folder/<table>.csv`` for every table with a schema and ``folder/README.md``; returns
    {table: columns left out}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=False)
    left_out = {name: write_table_csv(folder / f"{name}.csv", name, table, schemas[name])
                for name, table in tables.items() if name in schemas}
    if "targets" in tables:
        write_wide_targets_csv(folder / WIDE_TARGETS_CSV, tables["targets"])
    (folder / "README.md").write_text(csv_readme(left_out, wide="targets" in tables), encoding="utf-8")
    return left_out


def write_wide_targets_csv(path: Path, targets: pa.Table) -> None:
    """The targets side by side: one row per catalog indicator, one column per jurisdiction
    (``flows.compare.views.targets_wide``); every cell is text, neutralized like the tables' CSVs."""
    from flows.compare.views import targets_wide

    header, rows = targets_wide(targets.to_pylist())
    write_csv_rows(path, [neutralize_formula(h) for h in header],
                   ([neutralize_formula(cell) for cell in row] for row in rows))


# --- the data dictionary ----------------------------------------------------------------------------

DICTIONARY_HEADER = ["table", "column", "type", "nullable", "description", "allowed_values", "primary_key",
                     "unique", "pattern", "references"]


def dictionary_rows(schemas: Mapping[str, TableSchema]) -> list[list[str]]:
    rows = []
    for name, ts in schemas.items():
        refs = {f: f"{fk['reference']['resource']}.{r}" for fk in ts.foreign_keys
                for f, r in zip(fk["fields"], fk["reference"]["fields"])}
        for c in ts.columns:
            rows.append([name, c.name, c.type, "true" if c.nullable else "false", c.description,
                         "" if c.allowed is None else json.dumps(list(c.allowed), ensure_ascii=False),
                         "true" if c.name in ts.primary_key else "false", "true" if c.unique else "false",
                         c.pattern or "", refs.get(c.name, "")])
    return [[neutralize_formula(cell) for cell in row] for row in rows]


def write_data_dictionary(path: Path, schemas: Mapping[str, TableSchema]) -> int:
    """``data_dictionary.csv``: one row per column of every table; returns the row count."""
    rows = dictionary_rows(schemas)
    write_csv_rows(Path(path), DICTIONARY_HEADER, rows)
    return len(rows)


# --- Croissant and schema.org -------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    from flows.publishing.versions import sha256_file

    return sha256_file(path)


def croissant_field(table: str, col, file_id: str, references: Mapping[str, str]) -> dict[str, Any]:
    field: dict[str, Any] = {
        "@type": "cr:Field", "@id": f"{table}/{col.name}", "name": col.name, "description": col.description,
        "dataType": _CROISSANT_TYPES[col.type],
        "source": {"fileObject": {"@id": file_id}, "extract": {"column": col.name}},
    }
    if col.type == "list<string>":
        field["repeated"] = True
    if col.name in references:
        field["references"] = {"field": {"@id": references[col.name]}}
    return field


def croissant(*, name: str, title: str, description: str, version: str, published: str, licence_url: str,
              cite_as: str, keywords: Iterable[str], creator: str, release_dir: Path,
              tables: Iterable[str], schemas: Mapping[str, TableSchema],
              other_files: Mapping[str, str] | None = None, url: str | None = None) -> dict[str, Any]:
    """The Croissant 1.0 description of a release folder: each ``<table>.parquet`` (which must be
    in ``release_dir``) as a FileObject with its sha256, a RecordSet per table with its fields,
    key and references, and ``other_files`` ({path: encoding format}) as further FileObjects."""
    release_dir = Path(release_dir)
    distribution, record_sets = [], []
    for table in tables:
        ts = schemas[table]
        file_id = f"{table}.parquet"
        path = release_dir / file_id
        distribution.append({"@type": "cr:FileObject", "@id": file_id, "name": file_id,
                             "description": f"The {table} table.", "contentUrl": file_id,
                             "encodingFormat": PARQUET_ENCODING, "sha256": sha256_of(path),
                             "contentSize": f"{path.stat().st_size} B"})
        refs = {f: f"{fk['reference']['resource']}/{r}" for fk in ts.foreign_keys
                for f, r in zip(fk["fields"], fk["reference"]["fields"]) if fk["reference"]["resource"] in schemas}
        record: dict[str, Any] = {"@type": "cr:RecordSet", "@id": table, "name": table, "description": ts.description,
                                  "field": [croissant_field(table, c, file_id, refs) for c in ts.columns]}
        if ts.primary_key:
            record["key"] = [{"@id": f"{table}/{k}"} for k in ts.primary_key]
        record_sets.append(record)
    for rel, encoding in (other_files or {}).items():
        path = release_dir / rel
        distribution.append({"@type": "cr:FileObject", "@id": rel, "name": rel, "contentUrl": rel,
                             "encodingFormat": encoding, "sha256": sha256_of(path),
                             "contentSize": f"{path.stat().st_size} B"})
    doc: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": name,
        "alternateName": title,
        "description": description,
        "conformsTo": CROISSANT_CONFORMS_TO,
        "version": version,
        "datePublished": published,
        "license": licence_url,
        "citeAs": cite_as,
        "creator": {"@type": "sc:Organization", "name": creator},
        "keywords": list(keywords),
        "isAccessibleForFree": True,
        "distribution": distribution,
        "recordSet": record_sets,
    }
    if url:
        doc["url"] = url
    return doc


def write_croissant(path: Path, doc: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def json_ld_script(doc: Mapping[str, Any]) -> str:
    """``<script type="application/ld+json">`` holding ``doc`` for an HTML page: <, > and & are
    written as JSON escapes, so no text in it (``</script>``, ``<!--``) can end the element."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return f'<script type="application/ld+json">{text}</script>'


# --- a release's formats, together ----------------------------------------------------------------------

def write_release_formats(folder: Path, tables: Mapping[str, pa.Table], schemas: Mapping[str, TableSchema], *,
                          dataset: str, title: str, description: str, version: str, published: str,
                          licence_url: str, cite_as: str, keywords: Iterable[str], creator: str,
                          schema_version: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Every analyst format of a release into ``folder``, which already holds ``<table>.parquet``.

    Returns (what the manifest records, the Croissant document)."""
    folder = Path(folder)
    database = write_duckdb(folder / DUCKDB_FILE, tables, schemas, dataset=dataset, version=version,
                            schema_version=schema_version)
    left_out = write_csvs(folder / CSV_DIR, tables, schemas)
    write_data_dictionary(folder / DICTIONARY_FILE, schemas)
    other = {DUCKDB_FILE: "application/x-duckdb", DICTIONARY_FILE: "text/csv",
             **{f"{CSV_DIR}/{name}.csv": "text/csv" for name in tables if name in schemas},
             **({f"{CSV_DIR}/{WIDE_TARGETS_CSV}": "text/csv"} if "targets" in tables else {})}
    doc = croissant(name=dataset, title=title, description=description, version=version, published=published,
                    licence_url=licence_url, cite_as=cite_as, keywords=keywords, creator=creator,
                    release_dir=folder, tables=[n for n in tables if n in schemas], schemas=schemas,
                    other_files=other)
    write_croissant(folder / CROISSANT_FILE, doc)
    info = {"duckdb": {"file": DUCKDB_FILE, "storage_version": database["storage_version"],
                       "opened_by": database["opened_by"], "views": database["views"]},
            "csv": {"folder": CSV_DIR, "encoding": "UTF-8 with BOM", "columns_left_out": left_out,
                    **({"targets_wide": f"{CSV_DIR}/{WIDE_TARGETS_CSV}"} if "targets" in tables else {})},
            "data_dictionary": DICTIONARY_FILE, "croissant": CROISSANT_FILE}
    return info, doc


def formats_card_section(info: Mapping[str, Any]) -> str:
    """The dataset card's section on the other formats (README.md of a release)."""
    left_out = [f"`{t}.{c}`" for t, cols in info["csv"]["columns_left_out"].items() for c in cols]
    views = ", ".join(f"`{v}`" for v in info["duckdb"]["views"]) or "none"
    lines = [
        "## Other formats", "",
        f"- `{DUCKDB_FILE}`: every table in one DuckDB database (storage version "
        f"{info['duckdb']['storage_version']}: opened by {info['duckdb']['opened_by']}), with table and column "
        f"comments (`select * from duckdb_columns()`), JSON columns typed JSON, and views joining rows to their "
        f"documents: {views}. `duckdb {DUCKDB_FILE}` or `duckdb.connect(\"{DUCKDB_FILE}\", read_only=True)`.",
        f"- `{CSV_DIR}/<table>.csv`: for spreadsheets, UTF-8 with a byte order mark; text cells starting with "
        "`=`, `+`, `-`, `@`, a tab or a carriage return carry a leading `'` (against formula injection). Columns "
        f"too long for a spreadsheet cell ({SPREADSHEET_CELL_LIMIT:,} characters) are left to Parquet: "
        + (", ".join(left_out) if left_out else "none") + f". `{CSV_DIR}/README.md` says more."
        + (f" `{info['csv']['targets_wide']}` puts the targets side by side, one row per indicator and one column "
           "per jurisdiction." if info["csv"].get("targets_wide") else ""),
        f"- `{DICTIONARY_FILE}`: every column of every table (type, nullable, description, allowed values, "
        "keys), from the same contract as the section above.",
        f"- `{CROISSANT_FILE}`: ML Commons Croissant 1.0 metadata (a schema.org Dataset) describing every file "
        "with its sha256 and every table's fields; `index.html` embeds the same as JSON-LD for dataset search "
        "engines.",
        "- In the Parquet files, JSON columns carry Parquet's JSON logical type (DuckDB reads them as JSON, "
        "pandas and pyarrow as text); dates are dates.",
    ]
    return "\n".join(lines) + "\n"
