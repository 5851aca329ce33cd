"""Whether two builds hold the same tables: schemas with field metadata, and rows, file by file.

A refactoring that must leave the dataset unchanged proves it with this: build the same raw folder
with the old and the new code, then ``python -m flows.tooling.compare_builds OLD_OUT NEW_OUT``
exits 0 and prints one line per table when every published table is identical (schema, table and
field metadata, rows in order), and 1 with what differs otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

def published_tables(out_dir: Path) -> dict[str, Path]:
    """{table: path} of the tables an output folder publishes (its top-level ``*.parquet``)."""
    return {p.stem: p for p in sorted(Path(out_dir).glob("*.parquet"))}


def table_differences(name: str, old: pa.Table, new: pa.Table) -> list[str]:
    """What differs between two versions of one table, in lines; empty when identical."""
    problems = []
    a, b = old.schema, new.schema
    if not a.equals(b, check_metadata=True):
        for field in a:
            other = b.field(field.name) if field.name in b.names else None
            if other is None:
                problems.append(f"{name}: column {field.name} removed")
            elif not field.equals(other, check_metadata=True):
                if not field.equals(other):
                    problems.append(f"{name}.{field.name}: {field.type} (nullable {field.nullable}) became "
                                    f"{other.type} (nullable {other.nullable})")
                else:
                    a_meta, b_meta = field.metadata or {}, other.metadata or {}
                    keys = sorted(k.decode() for k in set(a_meta) | set(b_meta) if a_meta.get(k) != b_meta.get(k))
                    problems.append(f"{name}.{field.name}: field metadata differs ({', '.join(keys)})")
        problems += [f"{name}: column {n} added" for n in b.names if n not in a.names]
        if a.names == b.names and all(f.equals(b.field(f.name), check_metadata=True) for f in a):
            problems.append(f"{name}: table metadata differs: {a.metadata} vs {b.metadata}")
    if old.num_rows != new.num_rows:
        problems.append(f"{name}: {old.num_rows} rows became {new.num_rows}")
    elif not problems and not old.equals(new):
        for column in old.column_names:
            if not old.column(column).equals(new.column(column)):
                first = next(i for i, (x, y) in enumerate(zip(old.column(column).to_pylist(),
                                                              new.column(column).to_pylist())) if x != y)
                problems.append(f"{name}.{column}: first difference at row {first}")
    return problems


def compare_builds(old_dir: Path, new_dir: Path) -> tuple[list[str], list[str]]:
    """(lines for identical tables, lines for differences) between two output folders."""
    old, new = published_tables(old_dir), published_tables(new_dir)
    same, problems = [], []
    problems += [f"{n}: only in {old_dir}" for n in old if n not in new]
    problems += [f"{n}: only in {new_dir}" for n in new if n not in old]
    for name in [n for n in old if n in new]:
        a, b = pq.read_table(old[name]), pq.read_table(new[name])
        found = table_differences(name, a, b)
        problems += found
        if not found:
            same.append(f"{name}: identical ({a.num_rows} rows, {a.num_columns} columns)")
    if not old and not new:
        problems.append(f"no tables in {old_dir} or {new_dir}")
    return same, problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m flows.tooling.compare_builds OLD_OUT NEW_OUT", file=sys.stderr)
        return 2
    same, problems = compare_builds(Path(args[0]), Path(args[1]))
    for line in same + problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
