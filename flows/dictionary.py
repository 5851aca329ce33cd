"""Data dictionary: Markdown sections describing every table and column, generated from schemas/.

The dataset card of a release (README.md) embeds these sections, so the documentation a reader
gets is the contract the tables were validated against, never a hand-kept copy of it.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from flows.schema import Column, TableSchema


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, line breaks folded)."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def column_constraints(col: Column) -> str:
    parts = ["required" if not col.nullable else "nullable"]
    if col.unique:
        parts.append("unique")
    if col.allowed is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in col.allowed))
    if col.pattern is not None:
        parts.append(f"pattern `{col.pattern}`")
    return "; ".join(parts)


def foreign_key_text(fk: Mapping) -> str:
    ref = fk["reference"]
    return f"({', '.join(fk['fields'])}) → {ref['resource']}({', '.join(ref['fields'])})"


def table_section(table: TableSchema, rows: int | None = None, heading_level: int = 3) -> str:
    """One table's dictionary entry: description, keys, row count and a column table."""
    lines = [f"{'#' * heading_level} `{table.name}`", "", table.description, ""]
    facts = []
    if rows is not None:
        facts.append(f"Rows: {rows}")
    if table.primary_key:
        facts.append(f"Primary key: {', '.join(table.primary_key)}")
    if table.foreign_keys:
        facts.append("Foreign keys: " + "; ".join(foreign_key_text(fk) for fk in table.foreign_keys))
    if facts:
        lines += [". ".join(facts) + ".", ""]
    lines.append(md_table(
        ["column", "type", "constraints", "description"],
        [(f"`{c.name}`", c.type, column_constraints(c), c.description) for c in table.columns],
    ))
    return "\n".join(lines) + "\n"


def data_dictionary(tables: Mapping[str, TableSchema], row_counts: Mapping[str, int] | None = None,
                    heading_level: int = 3) -> str:
    """Every table's entry, in the order given."""
    row_counts = row_counts or {}
    return "\n".join(table_section(t, row_counts.get(name), heading_level) for name, t in tables.items())


def tables_overview(tables: Mapping[str, TableSchema], row_counts: Mapping[str, int]) -> str:
    """A one-line-per-table summary: file, rows, what a row is."""
    return md_table(
        ["table", "file", "rows", "description"],
        [(f"`{name}`", f"`{name}.parquet`", row_counts.get(name, 0), t.description) for name, t in tables.items()],
    )
