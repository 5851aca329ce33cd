"""Data dictionary: Markdown sections describing every table and column, generated from schemas/.

The dataset card of a release (README.md) embeds these sections, so the documentation a reader
gets is the contract the tables were validated against, never a hand-kept copy of it.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from flows.contract.schema import Column, TableSchema


class Markdown(str):
    """Markup this code wrote (a code span, a link): put into a document as it is, where any
    other value is escaped (``md_text``)."""


# What can start markup inside a line: escapes, code spans, emphasis, links and images, raw HTML
# and autolinks, entity references, table cells, strikethrough. Line-start syntax (headings,
# lists, quotes) never applies: values are placed inside lines, their line breaks folded.
_MARKUP = re.compile(r"[\\`*\[\]<>&|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")


def md_text(value: object) -> str:
    """A value from a raw text (a title, a file name, a message quoting one) as Markdown that
    renders as exactly that text: every character that could start markup is backslash-escaped
    (CommonMark renders ``\\<img …>`` as the text ``<img …>``, never as an element), line breaks
    are folded into spaces. Intraword underscores (``char_start``) cannot make emphasis and stay."""
    if isinstance(value, Markdown):
        return value
    return _MARKUP.sub(lambda m: "\\" + m.group(0), _LINE_BREAKS.sub(" ", str(value)))


def md_code(value: object) -> Markdown:
    """A value as an inline code span, whatever backticks it holds (the fence is longer than
    any run of them inside): code spans render their content as text, never as markup."""
    text = _LINE_BREAKS.sub(" ", str(value))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def md_cell(value: object) -> str:
    """A value safe inside a Markdown table cell: text escaped (``md_text``), pipes also in code
    spans (a table splits its cells before it reads code spans), line breaks folded."""
    if isinstance(value, Markdown):
        return _LINE_BREAKS.sub(" ", value).replace("|", "\\|")
    return md_text(value)


def md_table(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def column_constraints(col: Column) -> Markdown:
    parts = ["required" if not col.nullable else "nullable"]
    if col.unique:
        parts.append("unique")
    if col.allowed is not None:
        parts.append("one of " + ", ".join(md_code(v) for v in col.allowed))
    if col.pattern is not None:
        parts.append(f"pattern {md_code(col.pattern)}")
    return Markdown("; ".join(parts))


def foreign_key_text(fk: Mapping) -> str:
    ref = fk["reference"]
    return f"({', '.join(fk['fields'])}) → {ref['resource']}({', '.join(ref['fields'])})"


def table_section(table: TableSchema, rows: int | None = None, heading_level: int = 3) -> str:
    """One table's dictionary entry: description, keys, row count and a column table."""
    lines = [f"{'#' * heading_level} {md_code(table.name)}", "", md_text(table.description), ""]
    facts = []
    if rows is not None:
        facts.append(f"Rows: {rows}")
    if table.primary_key:
        facts.append(f"Primary key: {md_text(', '.join(table.primary_key))}")
    if table.foreign_keys:
        facts.append("Foreign keys: " + "; ".join(md_text(foreign_key_text(fk)) for fk in table.foreign_keys))
    if facts:
        lines += [". ".join(facts) + ".", ""]
    lines.append(md_table(
        ["column", "type", "constraints", "description"],
        [(md_code(c.name), c.type, column_constraints(c), c.description) for c in table.columns],
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
        [(md_code(name), md_code(f"{name}.parquet"), row_counts.get(name, 0), t.description)
         for name, t in tables.items()],
    )
