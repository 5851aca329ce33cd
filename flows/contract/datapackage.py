"""datapackage.json: a Frictionless Data Package (v2) describing a release, generated from schemas/.

Types, descriptions, nullability, allowed values, patterns and keys all come from the table
contract (``flows.contract.schema``); bytes and hashes from the files themselves.

Two choices are forced by how Frictionless reads Parquet (through ``pyarrow → pandas``, cell by
cell), and both are stated in the descriptor rather than hidden:

* a null in a nullable integer column reaches Frictionless as the float ``nan`` (a timestamp
  null as ``NaT``), so the table schemas list those spellings in ``missingValues``;
* a Parquet ``list<string>`` cell reaches Frictionless as a numpy array, which its ``array``
  type rejects, so such columns are typed ``any`` and carry their real type in ``digigovType``
  (a custom property; the Parquet files themselves are typed ``list<string>``);
* Frictionless cannot count the bytes of a Parquet resource (pyarrow opens the file, bypassing
  the byte stream it measures), so a standard ``bytes`` property would always fail validation
  ("actual is None"). The size is given as ``digigovBytes``; ``hash`` is standard but, for the
  same reason, never checked by ``frictionless validate`` (a wrong hash passes): SHA256SUMS is
  the integrity check, and the descriptor says so (``digigovIntegrity``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from flows.contract.schema import Column, TableSchema

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
INTEGRITY = ("Each resource's hash is the sha256 of its file. `frictionless validate` checks this descriptor and "
             "every table's types, constraints and keys, but not the hashes or sizes of Parquet files (its Parquet "
             "reader opens them through pyarrow and never reads the bytes it would hash): `sha256sum -c SHA256SUMS` "
             "in this folder is the integrity check of every file.")
# How pandas-backed readers (Frictionless among them) spell a Parquet null. Not "": an empty
# string is a value in these tables (a heading-only section has text ""), not a missing one.
MISSING_VALUES = ["nan", "NaN", "NaT", "<NA>"]

_FIELD_TYPES = {
    "string": "string",
    "int32": "integer",
    "int64": "integer",
    "float64": "number",
    "bool": "boolean",
    "date": "date",
    "timestamp": "datetime",
    "list<string>": "any",
}


def json_field_type(values: Iterable[Any]) -> str:
    """Table Schema type of a ``json`` column: array or object when every value agrees, else any."""
    kinds = set()
    for v in values:
        if v is None:
            continue
        doc = json.loads(v) if isinstance(v, str) else v
        kinds.add("array" if isinstance(doc, list) else "object" if isinstance(doc, dict) else "any")
    return kinds.pop() if len(kinds) == 1 else "any"


def pattern_body(pattern: str) -> str:
    """Table Schema patterns are implicitly anchored (XML Schema style): drop ^ and $."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    return body[:-1] if body.endswith("$") and not body.endswith("\\$") else body


def field_descriptor(col: Column, json_type: str = "any") -> dict[str, Any]:
    ftype = json_type if col.type == "json" else _FIELD_TYPES[col.type]
    field: dict[str, Any] = {"name": col.name, "type": ftype, "description": col.description}
    if col.type in ("list<string>", "json"):  # types Table Schema has no exact name for
        field["digigovType"] = col.type
    if col.type == "date":
        field["format"] = "default"
    constraints: dict[str, Any] = {}
    if not col.nullable:
        constraints["required"] = True
    if col.unique:
        constraints["unique"] = True
    if col.allowed is not None and ftype != "any":
        constraints["enum"] = list(col.allowed)
    if col.pattern is not None and ftype == "string":
        constraints["pattern"] = pattern_body(col.pattern)
    if constraints:
        field["constraints"] = constraints
    return field


def table_schema_descriptor(table: TableSchema, json_types: Mapping[str, str] | None = None) -> dict[str, Any]:
    json_types = json_types or {}
    out: dict[str, Any] = {
        "fields": [field_descriptor(c, json_types.get(c.name, "any")) for c in table.columns],
        "missingValues": list(MISSING_VALUES),
    }
    if table.primary_key:
        out["primaryKey"] = list(table.primary_key)
    if table.foreign_keys:
        out["foreignKeys"] = [
            {"fields": list(fk["fields"]),
             "reference": {"resource": fk["reference"]["resource"], "fields": list(fk["reference"]["fields"])}}
            for fk in table.foreign_keys
        ]
    return out


def resource_descriptor(table: TableSchema, path: str, nbytes: int, sha256: str, rows: int,
                        json_types: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": table.name,
        "type": "table",
        "path": path,
        "format": "parquet",
        "mediatype": PARQUET_MEDIATYPE,
        "description": table.description,
        "digigovBytes": nbytes,
        "hash": f"sha256:{sha256}",
        "rows": rows,
        "schema": table_schema_descriptor(table, json_types),
    }


def package_descriptor(*, version: str, created: str, title: str, description: str,
                       licence: Mapping[str, str], resources: list[dict[str, Any]],
                       sources: list[dict[str, Any]], homepage: str | None = None,
                       keywords: Iterable[str] = (), schema_version: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "$schema": PROFILE,
        "name": "digigov",
        "title": title,
        "description": description,
        "version": version,
        "created": created,
        "licenses": [dict(licence)],
        "sources": sources,
        "keywords": list(keywords),
        "resources": resources,
        "digigovIntegrity": INTEGRITY,
    }
    if schema_version:
        out["digigovSchemaVersion"] = schema_version  # schemas/VERSION: a major step breaks readers
    if homepage:
        out["homepage"] = homepage
    return out


def write_datapackage(path: Path, descriptor: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def validate_datapackage(path: Path) -> tuple[bool, list[str]]:
    """Run Frictionless's own validation (descriptor, types, constraints, keys; for Parquet not the
    bytes or hashes: see ``INTEGRITY``)."""
    from frictionless import validate

    report = validate(str(path))
    messages = [e.message for e in report.errors]
    for task in report.tasks:
        messages += [f"{task.name}: {e.message}" for e in task.errors]
    return report.valid, messages
