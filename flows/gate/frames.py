"""The frames the suites run on: each table as pandas, with the columns an integrity rule needs
looked up from other tables (a section's document, a span's text length), built once per suite."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flows.contract.ids import document_id, file_document_id
from flows.contract.schema import TableSchema

if TYPE_CHECKING:
    pass
from flows.gate.rules import (
    _MASKED,
    SPAN_CONTAINS,
    SPAN_EQUALS,
    SPAN_SLICE_ROWS,
    WIDE_TEXT_BYTES,
    Suite,
    _document_children,
    _has_span,
    _references,
)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A table as the pandas frame its suite expects (see GX_TYPES)."""
    df = table.to_pandas(types_mapper=_MASKED.get, date_as_object=False)
    for f in table.schema:
        column = table.column(f.name)
        if pa.types.is_list(f.type) or (pa.types.is_string(f.type) and column.nbytes > WIDE_TEXT_BYTES):
            df[f.name] = pd.Series(column.to_pylist(), dtype=object, index=df.index)
    return df


def _integrity_columns(ts: TableSchema) -> list[str]:
    cols = [c for c, _, _ in _references(ts)]
    if _has_span(ts):
        cols += ["char_start", "char_end", "text_length"]
    return cols


def columns_of(tables: Any, name: str, columns: list[str], checked_docs: pa.Array | None = None) -> pa.Table | None:
    """Just these columns (those that exist) of a table, or None when the table is missing;
    with ``checked_docs``, just the rows of those documents (see ``checked_rows``).

    ``tables`` is a dict of tables, or a mapping with its own ``select(name, columns,
    checked_docs)`` (e.g. ``flows.gate.run.StagedTables``, which reads only the asked columns,
    and row groups, from Parquet)."""
    select = getattr(tables, "select", None)
    if select is not None:
        return select(name, columns, checked_docs)
    table = tables.get(name)
    if table is None:
        return None
    return checked_rows(table, checked_docs).select([c for c in columns if c in table.column_names])


def with_text_length(tables: Any, name: str, columns: list[str], text: str = "text") -> pa.Table | None:
    """These columns of a table and ``text_length``, the length of its ``text`` in characters.

    A mapping with its own ``text_lengths`` (``flows.gate.run.StagedTables``) reads the text a
    row group at a time instead of whole."""
    own = getattr(tables, "text_lengths", None)
    if own is not None:
        return own(name, columns, text)
    table = columns_of(tables, name, [*columns, text])
    if table is None or text not in table.column_names:
        return table
    return table.select([c for c in columns if c in table.column_names]).append_column(
        "text_length", pc.utf8_length(table.column(text)))


def _column(table: pa.Table | None, name: str) -> pd.Series:
    if table is None or name not in table.column_names:
        return pd.Series([], dtype=object)
    return table.column(name).to_pandas()


def _lookup(keys: Any, values: Any, dtype: Any = None) -> pd.Series:
    """values by key (the first row wins where a key repeats: uniqueness is its own rule)."""
    by_key = pd.Series(values, index=keys, dtype=dtype)
    return by_key[~by_key.index.duplicated()]


def _looked_up(keys: pa.ChunkedArray, ref: pa.Table | None, key_col: str, value_col: str) -> pa.ChunkedArray:
    """Per key, ``ref.value_col`` of the row whose ``key_col`` equals it (the first such row:
    uniqueness is its own rule), null where none does. A hash lookup in Arrow, built over the
    whole reference table but materializing values only for the keys asked."""
    if ref is None or not {key_col, value_col} <= set(ref.column_names):
        return pa.chunked_array([pa.nulls(len(keys))])
    ref = _rows_keyed_by(ref, key_col, keys)
    position = pc.index_in(keys, value_set=ref.column(key_col))
    return ref.column(value_col).take(position)


def _rows_keyed_by(ref: pa.Table, key_col: str, keys: pa.ChunkedArray) -> pa.Table:
    """The rows of ``ref`` whose ``key_col`` is among ``keys``, in order, when ``keys`` are few
    (an incremental run's links into whole tables): a hash of the few keys probed by every
    row, instead of a hash of the whole reference column probed by the few keys."""
    if len(keys) * 8 >= ref.num_rows:
        return ref
    wanted = pc.unique(pc.drop_null(keys))
    return ref.filter(pc.is_in(ref.column(key_col), value_set=wanted))


def _exists(links: pa.ChunkedArray, ref: pa.Table | None, ref_col: str) -> Any:
    """Per link: null, or a value of ``ref.ref_col`` (a numpy bool array)."""
    if ref is None or ref_col not in ref.column_names:
        values = pa.array([], links.type)
    else:
        values = _rows_keyed_by(ref.select([ref_col]), ref_col, links).column(ref_col)
    found = pc.or_kleene(pc.is_null(links), pc.is_in(links, value_set=pc.unique(values)))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def checked_rows(table: pa.Table, checked_docs: pa.Array | None) -> pa.Table:
    """The rows of ``table`` that belong to the documents being checked (every row when
    ``checked_docs`` is None or the table has no doc_id)."""
    if checked_docs is None or "doc_id" not in table.column_names:
        return table
    return table.filter(pc.is_in(table.column("doc_id"), value_set=checked_docs))


class DocumentTexts:
    """documents.text as the span checks read it, derived once per validation: the length of
    every document's text (Arrow, no copy), the text itself only for the checked documents."""

    def __init__(self, tables: Any, checked_docs: pa.Array | None):
        self._tables, self._checked = tables, checked_docs

    @cached_property
    def length_rows(self) -> pa.Table | None:
        """documents' doc_id, duplicate_of and text_length, row by row (read once: the span
        checks and the rows-per-document suite both need them)."""
        return with_text_length(self._tables, "documents", ["doc_id", "duplicate_of"])

    @cached_property
    def lengths(self) -> pd.Series:
        """Text length by doc_id for the span checks. Checking some documents only, these are
        the lengths of the texts already read for them: every document's (``length_rows``,
        which decodes every text) is left to the rows-per-document suite, which may run in
        another process (``validate._validate_on_two``)."""
        if self._checked is not None:
            text_of = self.text_of
            return _lookup(list(text_of), [len(t) for t in text_of.values()], "Int64")
        documents = self.length_rows
        if documents is None or not {"doc_id", "text_length"} <= set(documents.column_names):
            return _lookup([], [], "Int64")
        return _lookup(documents.column("doc_id").to_pandas().values,
                       documents.column("text_length").to_pandas().values, "Int64")

    @cached_property
    def text_of(self) -> dict[str, str]:
        documents = columns_of(self._tables, "documents", ["doc_id", "text"], self._checked)
        if documents is None or not {"doc_id", "text"} <= set(documents.column_names):
            return {}
        return dict(zip(documents.column("doc_id").to_pylist(), documents.column("text").to_pylist()))


def integrity_frame(ts: TableSchema, tables: dict[str, pa.Table], checked_docs: pa.Array | None = None,
                    texts: DocumentTexts | None = None) -> pd.DataFrame:
    """One row per checked row of the table: its key, its links and one boolean column per check
    (links are looked up in the whole tables)."""
    cols = set(ts.column_names)
    # doc_id: a failing row names its document (quarantine, ``RULE_LEVELS``)
    keep = [c for c in dict.fromkeys([*ts.primary_key, "doc_id", *(_integrity_columns(ts))]) if c in cols]
    needed = [*keep, "level", "source_sha256", "document_key", "duplicate_of", "doc_id", "section_id", *((*SPAN_EQUALS, *SPAN_CONTAINS) if _has_span(ts) else ())]
    table = columns_of(tables, ts.name, list(dict.fromkeys(needed)), checked_docs)
    df = table.select(keep).to_pandas(types_mapper=_MASKED.get)
    for col, ref, ref_col in _references(ts):
        # a null link links nothing and is allowed where the schema allows the null
        # (pyarrow's hash lookup: pandas' isin on Arrow strings loops in Python, row by row)
        df[f"{col}_in_{ref}"] = _exists(table.column(col), columns_of(tables, ref, [ref_col]), ref_col)
    if "section_id" in cols and "doc_id" in cols and ts.name != "sections":
        owner = _looked_up(table.column("section_id"), columns_of(tables, "sections", ["section_id", "doc_id"]),
                           "section_id", "doc_id")
        same = pc.fill_null(pc.equal(owner, table.column("doc_id")), False)
        df["section_in_same_document"] = same.to_numpy(zero_copy_only=False).astype(bool)
    if ts.name == "sections" and "level" in cols:
        df["level"] = table.column("level").to_pandas(types_mapper=_MASKED.get).values
        parent_level = _looked_up(table.column("parent_id"), columns_of(tables, "sections", ["section_id", "level"]),
                                  "section_id", "level")
        df["parent_level"] = parent_level.to_pandas(types_mapper=_MASKED.get).astype("Int32").values
        df["parent_one_level_up"] = (df["parent_id"].isna() | (df["parent_level"] == df["level"] - 1)).fillna(False).astype(bool)
    if ts.name == "documents":
        df["source_sha256"] = table.column("source_sha256").to_pandas()
        df["document_key"] = table.column("document_key").to_pandas()
        expected = [document_id(key) if dup is None else file_document_id(document_id(key), sha)
                    for key, dup, sha in zip(*(table.column(c).to_pylist()
                                               for c in ("document_key", "duplicate_of", "source_sha256")))]
        df["doc_id_from_document_key"] = (df["doc_id"] == pd.Series(expected, index=df.index, dtype=df["doc_id"].dtype)
                                          ).fillna(False).astype(bool)
    if _has_span(ts):
        _span_checks(ts, table, texts or DocumentTexts(tables, checked_docs), df)
    return df


def _span_checks(ts: TableSchema, table: pa.Table, texts: DocumentTexts, df: pd.DataFrame) -> None:
    df["text_length"] = df["doc_id"].map(texts.lengths).astype("Int64")
    start, end = df["char_start"], df["char_end"]
    # an empty span is allowed (a text that opens with a heading has an empty preamble); quoted
    # spans must still be non-empty, which the equality checks below require
    inside = (start >= 0) & (start <= end) & (end <= df["text_length"])
    df["offsets_inside_text"] = inside.fillna(False).astype(bool)
    text_of = texts.text_of
    cols = set(ts.column_names)
    spans = list(zip(df["doc_id"], start, end, df["offsets_inside_text"]))
    for col in (*SPAN_EQUALS, *SPAN_CONTAINS):
        if col not in cols:
            continue
        ok: list[bool] = []
        # one linear pass, slicing only the span itself (no per-row copy of the document text),
        # over slices of the column so that only a slice of it is ever held as Python strings
        for at in range(0, table.num_rows, SPAN_SLICE_ROWS):
            values = table.column(col).slice(at, SPAN_SLICE_ROWS).to_pylist()
            part = spans[at:at + SPAN_SLICE_ROWS]
            if col in SPAN_EQUALS:
                ok += [bool(good) and bool(v) and v == text_of[d][s:e] for (d, s, e, good), v in zip(part, values)]
            else:
                ok += [bool(good) and v is not None and v in text_of[d][s:e] for (d, s, e, good), v in zip(part, values)]
        df[f"{col}_matches" if col in SPAN_EQUALS else f"{col}_inside_span"] = ok
        if not all(ok):  # quoted in the messages; a long text column is added only when needed
            df[col] = table.column(col).to_pandas()


def row_counts_frame(schemas: dict[str, TableSchema], tables: dict[str, pa.Table],
                     texts: DocumentTexts | None = None) -> pd.DataFrame:
    """Rows per document in every table that refers to documents."""
    docs = (texts or DocumentTexts(tables, None)).length_rows
    df = pd.DataFrame({
        "doc_id": _column(docs, "doc_id").astype(object),
        "duplicate": _column(docs, "duplicate_of").notna().astype(bool),
        "text_length": docs.column("text_length").to_numpy(zero_copy_only=False),
    })
    for child in _document_children(schemas):
        counts = _column(columns_of(tables, child, ["doc_id"]), "doc_id").value_counts()
        df[child] = df["doc_id"].map(counts).fillna(0).astype("int64")
    df["doc_id"] = df["doc_id"].astype("str")
    return df


# A table's own suite (row by row rules) sees its rows in frames of at most about this many bytes:
# GX copies a frame for many expectations (null filters, row conditions), so a frame holding
# every document's text is copied whole, several times over, and memory grows with the corpus.
FRAME_BYTES = 160 * 2**20


def row_slices(tables: Any, name: str, max_bytes: int | None = None,
               checked_docs: pa.Array | None = None) -> Iterator[pa.Table]:
    """The table in consecutive slices of about ``max_bytes`` (at least one, maybe empty); with
    ``checked_docs``, each slice holds only the rows of those documents (``checked_rows``).

    ``tables`` is a dict of tables (zero-copy slices) or a mapping with its own
    ``row_slices(name, max_bytes, checked_docs)`` (``flows.gate.run.StagedTables`` reads a
    slice at a time, and only the row groups that hold checked rows)."""
    max_bytes = max_bytes or FRAME_BYTES
    own = getattr(tables, "row_slices", None)
    if own is not None:
        yield from own(name, max_bytes, checked_docs)
        return
    table = tables[name]
    step = slice_rows(table.num_rows, table.nbytes, max_bytes)
    yield checked_rows(table.slice(0, step), checked_docs)
    for at in range(step, table.num_rows, step):
        yield checked_rows(table.slice(at, step), checked_docs)


def slice_rows(num_rows: int, nbytes: int, max_bytes: int) -> int:
    """Rows per slice: as few equal slices as keep each under ``max_bytes`` (GX has a fixed
    cost per frame and expectation, so a thin last slice would cost as much as a full one)."""
    slices = max(1, -(-nbytes // max_bytes))
    return max(1, -(-num_rows // slices))


def suite_reads(suite: Suite, schemas: dict[str, TableSchema]) -> set[str]:
    """The tables a suite's frames are built from (``build_frame``, ``integrity_frame``,
    ``row_counts_frame``): what it must wait for while a build is still being staged."""
    if suite.name == "documents.row_counts":
        return {"documents", *_document_children(schemas)}
    if suite.name != f"{suite.table}.integrity":
        return {suite.table}
    ts = schemas[suite.table]
    reads = {suite.table, *(ref for _, ref, _ in _references(ts))}
    if {"section_id", "doc_id"} <= set(ts.column_names) or ts.name == "sections":
        reads.add("sections")
    if _has_span(ts):
        reads.add("documents")  # the texts the spans quote
    return reads


def build_frames(suite: Suite, schemas: dict[str, TableSchema], tables: dict[str, pa.Table],
                 checked_docs: pa.Array | None = None, texts: DocumentTexts | None = None) -> Iterator[pd.DataFrame]:
    """The frames a suite validates: its table's rows a slice at a time (``row_slices``) for a
    table's own suite, whose rules hold row by row; the one frame of ``build_frame`` otherwise.
    Slices without a checked row are skipped, but the first is always given."""
    if suite.name != suite.table:
        yield build_frame(suite, schemas, tables, checked_docs, texts)
        return
    checked = checked_docs if suite.scope == "rows" else None
    for i, part in enumerate(row_slices(tables, suite.table, checked_docs=checked)):
        if i == 0 or part.num_rows:
            yield to_frame(part)


def build_frame(suite: Suite, schemas: dict[str, TableSchema], tables: dict[str, pa.Table],
                checked_docs: pa.Array | None = None, texts: DocumentTexts | None = None) -> pd.DataFrame:
    """The one frame of a derived suite (keys, row counts, integrity; a table's own suite is
    sliced by ``build_frames``): the rows of the checked documents for a ``rows`` suite, every
    row for an ``all`` suite (``checked_docs`` None: every row everywhere)."""
    checked = checked_docs if suite.scope == "rows" else None
    if suite.name == f"{suite.table}.keys":
        return to_frame(columns_of(tables, suite.table, suite.index_columns))
    if suite.name == "documents.row_counts":
        return row_counts_frame(schemas, tables, texts)
    return integrity_frame(schemas[suite.table], tables, checked, texts)
