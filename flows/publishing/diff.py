"""What changed between two releases, row by row, keyed by each table's primary key.

``diff_releases(old_dir, new_dir)`` compares every table of two release folders and returns the
changes as one Arrow table (``changes.parquet`` in a release, ``digigov diff V1 V2``):

    table    the table
    row_id   the row's primary key: the value itself for a one-column key, a JSON array of the
             values for a composite key (keywords: ["<doc_id>", "<term>"]); null for a change of
             the column itself
    change   added | removed | changed
    column   for a changed row, the column whose value changed (one change per column); for a
             column added, removed or retyped, that column (row_id null); else null
    old/new  the values as text (JSON for lists, ISO 8601 for dates), null where absent

Rows are matched on the primary key each release declares (``datapackage.json``), falling back
on ``schemas/``; the comparison is generic, so it works the same for sequence-number ids and for
content-derived stable ids. It can only be as exact as the ids: with sequence numbers, a row
whose number moved (a metric inserted before it) shows as changed on every column that differs,
as a reader joining on the old ids would see it; stable content ids name only the rows that
really changed. Where the two releases declare different keys for a table, its rows cannot be
matched and every row shows removed and added. A table in one release only shows every row added (or removed). A column added or removed shows
once, with row_id null; its values are not repeated per row. A column whose type changed shows
once too, and its rows only where a value differs (5 and 5.0 are the same value).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.contract.dictionary import md_code, md_table
from flows.contract.schema import SCHEMA_DIR

CHANGES_FILE = "changes.parquet"
CHANGES_SCHEMA = pa.schema([
    pa.field("table", pa.string(), nullable=False, metadata={"description": "Table the change is in."}),
    pa.field("row_id", pa.string(), metadata={
        "description": "Primary key of the row (a JSON array for a composite key); null for a change of a column itself."}),
    pa.field("change", pa.string(), nullable=False, metadata={"description": "added, removed or changed."}),
    pa.field("column", pa.string(), metadata={
        "description": "Column whose value changed, or the column added, removed or retyped; null for a whole row."}),
    pa.field("old", pa.string(), metadata={"description": "Value in the older release, as text (type for a column)."}),
    pa.field("new", pa.string(), metadata={"description": "Value in the newer release, as text (type for a column)."}),
])
CHANGE_KINDS = ("added", "removed", "changed")


def cell_text(value: Any) -> str | None:
    """A value as the text ``old``/``new`` hold."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def same_value(a: Any, b: Any) -> bool:
    if a == b:  # 5 == 5.0: a retyped column is not every row changed
        return True
    return cell_text(a) == cell_text(b)


def row_id(row: Mapping[str, Any], key: tuple[str, ...]) -> str:
    if len(key) == 1:
        return cell_text(row[key[0]]) or ""
    return json.dumps([cell_text(row[k]) for k in key], ensure_ascii=False)


def unique_key(table: pa.Table, key: tuple[str, ...], name: str) -> None:
    counts = table.select(list(key)).group_by(list(key)).aggregate([([], "count_all")])
    twice = counts.filter(pc.greater(counts["count_all"], 1))
    if twice.num_rows:
        raise ValueError(f"{name}: primary key {list(key)} is not unique "
                         f"({row_id(twice.slice(0, 1).to_pylist()[0], key)} twice)")


def ids_at(table: pa.Table, key: tuple[str, ...], positions: pa.Array | list[int]) -> list[str]:
    """Row ids of the rows at ``positions``; only those rows' keys are read into Python."""
    return [row_id(r, key) for r in table.select(list(key)).take(positions).to_pylist()]


def whole_rows(name: str, table: pa.Table, key: tuple[str, ...], change: str) -> list[dict[str, Any]]:
    unique_key(table, key, name)
    return [{"table": name, "row_id": rid, "change": change, "column": None, "old": None, "new": None}
            for rid in sorted(ids_at(table, key, list(range(table.num_rows))))]


def match_rows(old: pa.Table, new: pa.Table, key: tuple[str, ...]) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """(positions of matched rows in old, in new, positions of rows only in old, only in new): a
    hash join on the key columns, so no row is read into Python."""
    left = old.select(list(key)).append_column("__old", pa.array(range(old.num_rows), pa.int64()))
    right = new.select(list(key)).append_column("__new", pa.array(range(new.num_rows), pa.int64()))
    joined = left.join(right, keys=list(key), join_type="full outer")
    o, n = joined["__old"], joined["__new"]
    both = pc.and_(pc.is_valid(o), pc.is_valid(n))
    return (pc.filter(o, both).combine_chunks(), pc.filter(n, both).combine_chunks(),
            pc.drop_null(pc.filter(o, pc.is_null(n))).combine_chunks(),
            pc.drop_null(pc.filter(n, pc.is_null(o))).combine_chunks())


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column.cast(pa.string()) if isinstance(column.type, pa.JsonType) else column


def differing(a: pa.ChunkedArray, b: pa.ChunkedArray) -> list[int]:
    """Positions where two aligned columns hold different values (a null differs from a value)."""
    a, b = _plain(a), _plain(b)
    if a.type == b.type and not pa.types.is_nested(a.type):
        unequal = pc.fill_null(pc.not_equal(a, b), False)
        one_null = pc.xor(pc.is_null(a), pc.is_null(b))
        return pc.indices_nonzero(pc.or_(unequal, one_null)).to_pylist()
    # lists, or a column whose type changed: compared value by value (5 and 5.0 are the same)
    return [i for i, (x, y) in enumerate(zip(a.to_pylist(), b.to_pylist())) if not same_value(x, y)]


def diff_table(name: str, old: pa.Table | None, new: pa.Table | None, key: Iterable[str],
               old_key: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The changes of one table between two releases (either may lack it); ``old_key`` is the
    older release's key where it declared another one."""
    key = tuple(key)
    old_key = key if old_key is None else tuple(old_key)
    if not key or not old_key:
        raise ValueError(f"{name}: no primary key to match rows on")
    for table, k in ((old, old_key), (new, key)):
        if table is not None and not set(k) <= set(table.column_names):
            raise ValueError(f"{name}: primary key {list(k)} is not among its columns")
    if old is None and new is None:
        return []
    if old is None:
        return whole_rows(name, new, key, "added")
    if new is None:
        return whole_rows(name, old, old_key, "removed")
    if old_key != key:  # rows cannot be matched: every row left and came
        return whole_rows(name, old, old_key, "removed") + whole_rows(name, new, key, "added")
    out: list[dict[str, Any]] = []
    old_types = {f.name: f.type for f in old.schema}
    new_types = {f.name: f.type for f in new.schema}
    for col in new.column_names:
        if col not in old_types:
            out.append({"table": name, "row_id": None, "change": "added", "column": col, "old": None,
                        "new": str(new_types[col])})
        elif old_types[col] != new_types[col]:
            out.append({"table": name, "row_id": None, "change": "changed", "column": col,
                        "old": str(old_types[col]), "new": str(new_types[col])})
    out += [{"table": name, "row_id": None, "change": "removed", "column": col, "old": str(old_types[col]), "new": None}
            for col in old.column_names if col not in new_types]
    shared = [c for c in new.column_names if c in old_types and c not in key]
    unique_key(old, key, name)
    unique_key(new, key, name)
    old_at, new_at, only_old, only_new = match_rows(old, new, key)
    rows: list[tuple[str, int, dict[str, Any]]] = []  # (row id, column position, change), sorted below
    rows += [(rid, -1, {"table": name, "row_id": rid, "change": "added", "column": None, "old": None, "new": None})
             for rid in ids_at(new, key, only_new)]
    rows += [(rid, -1, {"table": name, "row_id": rid, "change": "removed", "column": None, "old": None, "new": None})
             for rid in ids_at(old, key, only_old)]
    for position, col in enumerate(shared):
        a, b = old.column(col).take(old_at), new.column(col).take(new_at)
        where = differing(a, b)
        if not where:
            continue
        olds, news = _plain(a).take(where).to_pylist(), _plain(b).take(where).to_pylist()
        for rid, x, y in zip(ids_at(new, key, new_at.take(pa.array(where, pa.int64()))), olds, news):
            rows.append((rid, position, {"table": name, "row_id": rid, "change": "changed", "column": col,
                                         "old": cell_text(x), "new": cell_text(y)}))
    rows.sort(key=lambda r: (r[0], r[1]))
    return out + [r[2] for r in rows]


def changes_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=CHANGES_SCHEMA)


# --- release folders ----------------------------------------------------------------------------------

def release_keys(release_dir: Path | None) -> dict[str, tuple[str, ...]]:
    """{table: primary key} as the release declares them (datapackage.json), else (and for no
    folder: a release being written) from schemas/."""
    from flows.contract.schema import load_schemas

    keys = {name: ts.primary_key for name, ts in load_schemas().items()}
    package = Path(release_dir) / "datapackage.json" if release_dir is not None else None
    if package is not None and package.is_file():
        for res in json.loads(package.read_text(encoding="utf-8")).get("resources", []):
            pk = (res.get("schema") or {}).get("primaryKey")
            if pk:
                keys[res["name"]] = tuple([pk] if isinstance(pk, str) else pk)
    return keys


def release_table_names(release_dir: Path) -> list[str]:
    """The tables of a release folder: its top-level ``<table>.parquet`` files (not changes.parquet)."""
    return [p.stem for p in sorted(Path(release_dir).glob("*.parquet")) if p.name != CHANGES_FILE]


def release_tables(release_dir: Path) -> dict[str, pa.Table]:
    return {name: pq.read_table(Path(release_dir) / f"{name}.parquet") for name in release_table_names(release_dir)}


def diff_releases(old_dir: Path, new_dir: Path, new_tables: Mapping[str, pa.Table] | None = None) -> pa.Table:
    """Every change from the release in ``old_dir`` to the one in ``new_dir`` (or to ``new_tables``,
    the tables of a release being written, keyed like ``schemas/`` says)."""
    old = release_tables(old_dir)
    new = dict(new_tables) if new_tables is not None else release_tables(new_dir)
    old_keys = release_keys(old_dir)
    new_keys = release_keys(new_dir if new_tables is None else None)
    rows: list[dict[str, Any]] = []
    for name in sorted(set(old) | set(new)):
        key = new_keys.get(name) if name in new else old_keys.get(name)
        if not key:
            continue  # a table without a declared key (none today) cannot be matched row by row
        rows += diff_table(name, old.get(name), new.get(name), key, old_keys.get(name, key))
    return changes_table(rows)


def write_changes(path: Path, changes: pa.Table) -> None:
    pq.write_table(changes, path, compression="zstd")


# --- reading it ------------------------------------------------------------------------------------------

def summary_rows(changes: pa.Table, tables: Iterable[str] = ()) -> list[tuple]:
    """Per table: rows added, removed, changed, and the columns changed most (count)."""
    counts: dict[str, Counter] = {t: Counter() for t in tables}
    columns: dict[str, Counter] = {}
    changed_rows: dict[str, set] = {}
    for r in changes.to_pylist():
        c = counts.setdefault(r["table"], Counter())
        if r["row_id"] is None:
            c[f"column {r['change']}"] += 1
        elif r["change"] == "changed":
            changed_rows.setdefault(r["table"], set()).add(r["row_id"])
            columns.setdefault(r["table"], Counter())[r["column"]] += 1
        else:
            c[r["change"]] += 1
    out = []
    for t in sorted(counts):
        c = counts[t]
        cols = columns.get(t, Counter())
        schema_changes = ", ".join(f"{k.split()[1]} {n}" for k, n in sorted(c.items()) if k.startswith("column "))
        out.append((t, c["added"], c["removed"], len(changed_rows.get(t, ())),
                    ", ".join(f"{col} ({n})" for col, n in cols.most_common(5)) + (" …" if len(cols) > 5 else ""),
                    schema_changes))
    return out


def summary_markdown(changes: pa.Table, tables: Iterable[str] = ()) -> str:
    """The per-table summary as a Markdown table (CHANGELOG.md, ``digigov diff``)."""
    return md_table(["table", "rows added", "rows removed", "rows changed", "columns changed (rows)", "columns added/removed/retyped"],
                    [(md_code(t), a, r, c, cols or "—", schema or "—") for t, a, r, c, cols, schema in summary_rows(changes, tables)])


def change_lines(changes: pa.Table, limit: int | None = None, width: int = 60) -> list[str]:
    """Tab-separated lines, one per change, values cut to ``width`` characters."""
    def short(v: str | None) -> str:
        if v is None:
            return "—"
        v = v.replace("\t", " ").replace("\n", " ")
        return v if len(v) <= width else v[: width - 1] + "…"

    rows = changes.to_pylist()
    shown = rows if limit is None else rows[:limit]
    lines = ["\t".join(("table", "row_id", "change", "column", "old", "new"))]
    lines += ["\t".join((r["table"], r["row_id"] or "—", r["change"], r["column"] or "—", short(r["old"]), short(r["new"])))
              for r in shown]
    if len(shown) < len(rows):
        lines.append(f"… {len(rows) - len(shown)} more (write them all with --changes FILE)")
    return lines


def release_folder(version: str, out_dir: Path) -> Path:
    """A release named by version (``OUT/releases/<version>``) or by its folder's path."""
    from flows.publishing.versions import RELEASES

    named = Path(out_dir) / RELEASES / version
    if named.is_dir():
        return named
    if Path(version).is_dir():
        return Path(version)
    raise FileNotFoundError(f"no release {version} in {Path(out_dir) / RELEASES} (nor a folder of that name)")


def diff_command(old: str, new: str, out_dir: Path, changes_path: Path | None, limit: int | None) -> list[str]:
    """What ``digigov diff`` prints (and writes, with ``changes_path``)."""
    old_dir, new_dir = release_folder(old, out_dir), release_folder(new, out_dir)
    changes = diff_releases(old_dir, new_dir)
    if changes_path is not None:
        write_changes(changes_path, changes)
    tables = set(release_tables(old_dir)) | set(release_tables(new_dir))
    lines = [f"digigov diff {old} → {new}: {changes.num_rows} change(s)", "", summary_markdown(changes, tables), ""]
    if changes.num_rows:
        lines += change_lines(changes, limit)
    if changes_path is not None:
        lines.append(f"all {changes.num_rows} change(s) written to {changes_path}")
    return lines


def changelog_section(changes: pa.Table, tables: Iterable[str], previous: str | None) -> str:
    """CHANGELOG.md's per-table summary of ``changes.parquet``."""
    lines = ["", "## Rows changed per table", ""]
    if previous is None:
        lines.append(f"`{CHANGES_FILE}` is empty: there is no earlier release to compare with.")
    else:
        lines += [f"Every added, removed and changed row since {previous}, keyed by each table's primary key, is in "
                  f"`{CHANGES_FILE}` (table, row_id, change, column, old, new); `digigov diff {previous} <this "
                  "version>` prints it. Row ids are hashes of the document's document_key and the row's content "
                  "(flows/contract/ids.py): a re-encoded raw file or a row found in addition changes no other row's id, "
                  "and a row whose content changed shows as removed and added.", "",
                  summary_markdown(changes, tables)]
    return "\n".join(lines) + "\n"


# --- the schema version ------------------------------------------------------------------------------------

# What a reader must do on each major step of schemas/VERSION (the release's CHANGELOG quotes it)
MIGRATIONS = SCHEMA_DIR / "MIGRATIONS.md"


def major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return None


def breaking_changes(changes: pa.Table) -> list[dict[str, Any]]:
    """Changes a reader's code can break on: a column removed or retyped, a table gone (every
    row removed while the table exists in no form now is told by the caller)."""
    return [r for r in changes.to_pylist() if r["row_id"] is None and r["change"] in ("removed", "changed")]


def schema_section(changes: pa.Table, previous: str | None, old_version: str | None, new_version: str,
                   removed_tables: Iterable[str] = (), added_tables: Iterable[str] = ()) -> tuple[list[str], str]:
    """(why the release must be refused, CHANGELOG.md's schema section).

    A column removed (or renamed: removed and added) or retyped, or a table removed, needs a new
    major schema version; an id whose meaning changed needs one too, but only its author knows:
    the section then says to join on the new ids only."""
    breaking = breaking_changes(changes)
    gone = sorted(removed_tables)
    lines = ["", "## Schema", "", f"Schema version {new_version}"
             + (f" (previous release {previous}: {old_version or 'not recorded'})." if previous else ".")]
    problems = []
    bumped = major(old_version) is not None and major(new_version) is not None and major(new_version) > major(old_version)
    if (breaking or gone) and old_version is not None and not bumped:
        problems.append(f"columns or tables were removed or retyped since {previous} but schemas/VERSION "
                        f"({new_version}) has the same major version as {previous} ({old_version}): bump its major "
                        "version and say how to migrate")
    new_tables = sorted(added_tables)
    if new_tables:  # a minor version: its rows are all new, its columns are the table's schema
        lines += ["", "Tables added: " + ", ".join(f"`{t}`" for t in new_tables) + "."]
    added = [r for r in changes.to_pylist() if r["row_id"] is None and r["change"] == "added"]
    if added:
        lines += ["", "Columns added: " + ", ".join(f"`{r['table']}.{r['column']}` ({r['new']})" for r in added) + "."]
    if bumped or breaking or gone:
        lines += ["", "### How to migrate", ""]
        lines += [f"- table `{t}` is no longer published" for t in gone]
        for r in breaking:
            if r["change"] == "removed":
                lines.append(f"- `{r['table']}.{r['column']}` was removed (or renamed: see the columns added); "
                             "code reading it must stop or read its replacement")
            else:
                lines.append(f"- `{r['table']}.{r['column']}` changed type {r['old']} → {r['new']}; cast where "
                             "code relied on the old type")
        if bumped and not (breaking or gone):
            lines.append("- no column was removed or retyped: the major version marks ids (or values) whose meaning "
                         "changed; rows of the two versions do not match by id, join on this release's ids only")
        if bumped:
            lines += migration_notes(major(old_version), major(new_version))
    return problems, "\n".join(lines) + "\n"


def migration_notes(old_major: int, new_major: int, path: Path = MIGRATIONS) -> list[str]:
    """The ``## <major>.0`` sections of schemas/MIGRATIONS.md for each major version after
    ``old_major`` up to ``new_major``, as lines (their own headings one level down)."""
    if not path.exists():
        return []
    sections = re.split(r"^## (\d+)\.0\s*$", path.read_text(encoding="utf-8"), flags=re.M)
    notes = dict(zip(sections[1::2], sections[2::2]))
    lines = []
    for version in range(old_major + 1, new_major + 1):
        if str(version) in notes:
            lines += ["", f"#### Schema {version}.0", "", *notes[str(version)].strip().splitlines()]
    return lines
