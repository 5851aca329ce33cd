"""The table contract: ``schemas/*.yaml`` read into typed table definitions.

``schemas/`` is the one source of truth. This module turns each file into a ``TableSchema`` and
from there into a pyarrow schema (column descriptions in the Parquet field metadata), so that
every other artefact (expectation suites, datapackage.json, the data dictionary) reads the same
definitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import yaml

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

# Our column types and their Arrow equivalents. `json` is a JSON document stored as a string
# (Arrow has no JSON type that pandas, DuckDB and frictionless all read).
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "json": pa.string(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "list<string>": pa.list_(pa.string()),
}
_TYPE_NAMES = {str(v): k for k, v in _ARROW_TYPES.items() if k != "json"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    description: str
    allowed: tuple | None = None
    unique: bool = False
    pattern: str | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.type]

    def arrow_field(self) -> pa.Field:
        meta = {"description": self.description, "type": self.type}
        if self.allowed is not None:
            meta["allowed"] = json.dumps(list(self.allowed), ensure_ascii=False)
        return pa.field(self.name, self.arrow_type, nullable=self.nullable, metadata=meta)


@dataclass(frozen=True)
class TableSchema:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[dict, ...] = field(default_factory=tuple)
    derived_from: tuple[str, ...] = ()  # a view computed from these published tables, not per document

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def arrow_schema(self, extra_metadata: dict[str, str] | None = None) -> pa.Schema:
        if not extra_metadata:
            return self._described
        return self._described.with_metadata({**self._described.metadata, **{
            k.encode(): v.encode() for k, v in extra_metadata.items()}})

    @cached_property
    def _described(self) -> pa.Schema:  # built once: descriptions are serialized per field
        meta = {"table": self.name, "description": self.description}
        return pa.schema([c.arrow_field() for c in self.columns], metadata=meta)

    @cached_property
    def bare_schema(self) -> pa.Schema:
        """Names and types only (every field nullable, no table or field metadata): the schema of
        a part (a document's rows in the cache, a batch's), whose descriptions would dominate its
        size; ``arrow_schema`` goes back on when the parts are put together."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.primary_key:
            out["primary_key"] = list(self.primary_key)
        if self.foreign_keys:
            out["foreign_keys"] = [dict(fk) for fk in self.foreign_keys]
        if self.derived_from:
            out["derived_from"] = list(self.derived_from)
        cols = []
        for c in self.columns:
            d: dict[str, Any] = {"name": c.name, "type": c.type, "nullable": c.nullable}
            if c.unique:
                d["unique"] = True
            if c.pattern is not None:
                d["pattern"] = c.pattern
            if c.allowed is not None:
                d["allowed"] = list(c.allowed)
            d["description"] = c.description
            cols.append(d)
        out["columns"] = cols
        return out

    def table(self, rows: Iterable[dict[str, Any]], bare: bool = False) -> pa.Table:
        """Build a typed Arrow table from row dicts; missing keys are null, unknown keys an error.
        ``bare``: with ``bare_schema`` (no descriptions)."""
        rows = rows if isinstance(rows, list) else list(rows)
        names = self._names
        for row in rows:
            if not names.issuperset(row):
                raise ValueError(f"{self.name}: unknown columns {sorted(set(row) - names)}")
        return pa.Table.from_pylist(rows, schema=self.bare_schema if bare else self._described)

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.column_names)


def parse_schema(data: dict[str, Any]) -> TableSchema:
    cols = []
    for c in data["columns"]:
        if c["type"] not in _ARROW_TYPES:
            raise ValueError(f"{data['name']}.{c['name']}: unknown type {c['type']!r}")
        allowed = c.get("allowed")
        cols.append(
            Column(
                name=c["name"],
                type=c["type"],
                nullable=bool(c["nullable"]),
                description=c["description"],
                allowed=tuple(allowed) if allowed is not None else None,
                unique=bool(c.get("unique", False)),
                pattern=c.get("pattern"),
            )
        )
    return TableSchema(
        name=data["name"],
        description=data["description"],
        columns=tuple(cols),
        primary_key=tuple(data.get("primary_key", ())),
        foreign_keys=tuple(data.get("foreign_keys", ())),
        derived_from=tuple(data.get("derived_from", ())),
    )


def from_arrow(name: str, description: str, schema: pa.Schema) -> TableSchema:
    """The inverse of ``TableSchema.arrow_schema`` (used to prove the round trip)."""
    cols = []
    for f in schema:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        allowed = json.loads(meta["allowed"]) if "allowed" in meta else None
        cols.append(
            Column(
                name=f.name,
                type=meta.get("type") or _TYPE_NAMES[str(f.type)],
                nullable=f.nullable,
                description=meta.get("description", ""),
                allowed=tuple(allowed) if allowed is not None else None,
            )
        )
    return TableSchema(name=name, description=description, columns=tuple(cols))


def schema_version(schema_dir: Path = SCHEMA_DIR) -> str:
    """The contract's version (schemas/VERSION, MAJOR.MINOR): the major part goes up when a column
    or table is removed, renamed or retyped or an id changes meaning, the minor part when one is
    added; every release records it."""
    return (Path(schema_dir) / "VERSION").read_text(encoding="utf-8").strip()


@cache
def load_schemas(schema_dir: Path = SCHEMA_DIR) -> dict[str, TableSchema]:
    out = {}
    for path in sorted(Path(schema_dir).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data["name"] != path.stem:
            raise ValueError(f"{path}: name {data['name']!r} differs from the file name")
        out[path.stem] = parse_schema(data)
    return out


def schema(name: str) -> TableSchema:
    return load_schemas()[name]


# The tables each document's rows go to (extracted, cached, merged), and the views computed from
# them once the build's documents are final (``flows/compare/views.py``): a build publishes both.
TABLES: tuple[str, ...] = tuple(n for n, s in load_schemas().items() if not s.derived_from)
DERIVED_TABLES: tuple[str, ...] = tuple(n for n, s in load_schemas().items() if s.derived_from)
PUBLISHED_TABLES: tuple[str, ...] = TABLES + DERIVED_TABLES
