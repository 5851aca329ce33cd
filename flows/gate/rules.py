"""Expectation suites: what every curated table must satisfy before it is published.

Suites are generated, never written by hand: ``schemas/`` gives the contract part (columns
present and typed, non-null, unique, primary keys, allowed values, patterns, foreign keys) and
the rules below add the semantic part (what a plan's numbers, years and texts can plausibly be).

A suite validates a *frame*. Every table is a frame of its own; rules that need two tables
(referential integrity, offsets into documents.text, rows per document) are computed here once,
vectorised or in one linear pass, into derived frames with one boolean column per rule
(``<table>.integrity``, ``documents.row_counts``), and the suite expects those columns true.
So every rule is a Great Expectations expectation and shows up in the Data Docs.

Each expectation carries ``meta``: the ``rule`` name, the ``table`` and ``column`` it guards and
the columns to ``show`` from an offending row; ``flows.gate.run`` builds its messages from them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from flows.contract.schema import DERIVED_TABLES, TableSchema
from flows.extract.bandwidth import MAX_MBPS, MIN_MBPS
from flows.patterns.doc_number import PUBLISHED_DOC_NUMBER

if TYPE_CHECKING:
    import great_expectations.expectations as gxe


def _gx():
    """``great_expectations.expectations``, imported when suites are first built: worker
    processes import this module (through ``flows.build``) but never build a suite, and GX's
    import would add seconds to each one's start-up."""
    for name in LAZY_FOR_GX:
        lazy_import(name)
    import great_expectations.expectations as gxe

    return gxe


# What GX imports only for expectations no suite here uses (scipy.stats: the KL-divergence and
# KS-test expectations call it when they run): a good part of GX's import, loaded on first
# use. (GX's ``import altair`` reads the module's ``__spec__``, which loads a lazy module at once.)
LAZY_FOR_GX = ("scipy.stats",)


def lazy_import(name: str) -> None:
    """Put a module in ``sys.modules`` that runs its code on first attribute access (the
    standard library's ``LazyLoader``); nothing if it is imported already or not installed."""
    import importlib.util
    import sys

    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        return
    if spec is None or spec.loader is None:
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)

# GX type names for our column types, as the frames below hold them (``to_frame``): pandas 3
# keeps strings as its `str` dtype; nullable ints and bools use pandas' masked dtypes so a null
# does not turn an int column into float; lists are Python lists.
GX_TYPES = {
    "string": "str",
    "json": "str",
    "int32": "int32",
    "int64": "int64",
    "float64": "float64",
    "bool": "bool",
    "date": "datetime64",
    "timestamp": "Timestamp",
    "list<string>": "list",
}
_MASKED = {pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}

# The People's Republic's first documents date from 1949; a plan horizon beyond 2100 is a misread
# number (a count or a document number taken as a year), not a plan.
FIRST_YEAR, LAST_YEAR = 1949, 2100

# A text this long (in characters) is a plan, not a notice or an excerpt: a plan states goals.
PLAN_LENGTH = 2000

# Per-document row bounds. A preamble row always exists, so every document has a section; more
# than these many rows of one kind in one document means a parser is splitting every line.
MAX_ROWS_PER_DOCUMENT = {"sections": 3000, "goals": 1000, "metrics": 2000, "bandwidth_targets": 500,
                         "tasks": 2000, "keywords": 200, "attachments": 200, "repairs": 100}

# Columns holding normalized prose that is not already proven to be a slice of documents.text
# (slices are covered by the documents.text check plus source_text_matches): metadata read
# from wrappers, and extracted names that an extractor may have rebuilt.
NORMALIZED_TEXT_COLUMNS = {
    "documents": ("text", "title", "notice_title", "province", "issuer"),
    "sections": ("heading",),
    "metrics": ("indicator", "subject"),
    "bandwidth_targets": ("network",),
    "keywords": ("term",),
}

# Links the schemas do not declare as foreign keys (they point into the same table).
SELF_REFERENCES = (
    # the section tree must hang together: a parent that does not exist orphans its subtree
    ("sections", "parent_id", "sections", "section_id"),
    # a duplicate must point at the document it duplicates
    ("documents", "duplicate_of", "documents", "doc_id"),
)

# Rules that hold across the rows of a whole table, split off into the table's ``.keys`` suite.
KEY_RULES = ("unique", "primary_key")

# Columns that must be exactly documents.text[char_start:char_end] (provenance), and the one
# that must lie inside it (a section's own body text, its span also covers its sub-sections).
SPAN_EQUALS = ("source_text", "statement")
SPAN_CONTAINS = ("text",)
SPAN_SLICE_ROWS = 50_000


@dataclass
class Suite:
    """One suite and the frame it validates."""

    name: str  # suite and data asset name: the table, or "<table>.<check>" for a derived frame
    table: str
    key: list[str]  # the table's primary key: identifies an offending row in messages
    index_columns: list[str]  # key and the columns messages quote from an offending row
    expectations: list[gxe.Expectation]
    # "rows": the rules hold row by row (or document by document), so in an incremental run only
    # the rows of documents not validated before need checking; "all": the rules span the
    # whole table (uniqueness, rows per document, duplicates) and always see every row
    scope: str = "rows"


def _expect(cls, rule: str, table: str, column: str | None = None, show: tuple[str, ...] = (),
            **kwargs: Any) -> gxe.Expectation:
    """An expectation whose meta names its rule, table and column (see flows.gate.run)."""
    if column is not None and "column" in cls.__fields__ and "column" not in kwargs:
        kwargs["column"] = column
    meta = {"rule": rule, "table": table, "column": column, "show": list(show or ([column] if column else []))}
    return cls(meta=meta, **kwargs)


# ---------------------------------------------------------------------------------------------
# Character sets for the normalized-text rule


def traditional_only_chars() -> str:
    """The characters normalization converts in every text (``flows.normalize.script``'s table, derived
    from the pinned OpenCC data): none may be left in a normalized text."""
    from flows.normalize.script import traditional_only_chars

    return "".join(sorted(traditional_only_chars()))


# What decoding damage leaves behind: the replacement character, private-use code points (GBK
# and Big5 vendor areas decode there), bopomofo and box-drawing characters (Big5 lead bytes read
# as GBK land there), 唬 and 傮 (the commonest Big5-as-GBK pairs), and an ASCII "?" before a
# full stop where a character was lost (a "?" is fine elsewhere, e.g. in a URL). Written as
# literal characters, not \u escapes: see unnormalized_text_regex.
MOJIBAKE_CHARS = "\ufffd" + "\ue000-\uf8ff" + "\u3100-\u312f" + "\u31a0-\u31bf" + "\u2500-\u257f" + "唬傮"
MOJIBAKE_SEQUENCES = (r"\?。",)


@cache
def unnormalized_text_regex() -> str:
    """One regex matching any traditional-only character or mojibake marker.

    Kept to what RE2 supports (a character class and literals; no lookarounds, no escaped code
    points) so pandas runs it through pyarrow's RE2 instead of Python's re, which the supplementary
    characters in the class slow by two orders of magnitude.
    """
    return "[" + re.escape(traditional_only_chars()) + MOJIBAKE_CHARS + "]|" + "|".join(MOJIBAKE_SEQUENCES)


# ---------------------------------------------------------------------------------------------
# Suites generated from schemas/


def contract_expectations(ts: TableSchema) -> list[gxe.Expectation]:
    """The table's contract, one expectation per schema statement."""
    gxe = _gx()
    t = ts.name
    out = [_expect(gxe.ExpectTableColumnsToMatchOrderedList, "columns", t, column_list=ts.column_names)]
    for c in ts.columns:
        out.append(_expect(gxe.ExpectColumnValuesToBeOfType, "type", t, c.name, type_=GX_TYPES[c.type]))
        if c.type == "json":
            out.append(_expect(gxe.ExpectColumnValuesToBeJsonParseable, "json", t, c.name))
        if not c.nullable:
            out.append(_expect(gxe.ExpectColumnValuesToNotBeNull, "not_null", t, c.name))
        if c.unique or ts.primary_key == (c.name,):
            # GX uniqueness ignores nulls; not_null above (keys are never nullable) covers them
            out.append(_expect(gxe.ExpectColumnValuesToBeUnique, "unique", t, c.name))
        if c.allowed is not None:
            out.append(_expect(gxe.ExpectColumnValuesToBeInSet, "allowed_values", t, c.name,
                               value_set=list(c.allowed)))
        if c.pattern is not None:
            out.append(_expect(gxe.ExpectColumnValuesToMatchRegex, "pattern", t, c.name, regex=c.pattern))
    if len(ts.primary_key) > 1:
        out.append(_expect(gxe.ExpectCompoundColumnsToBeUnique, "primary_key", t,
                           column_list=list(ts.primary_key), show=ts.primary_key))
    return out


def semantic_expectations(ts: TableSchema, today: dt.date) -> list[gxe.Expectation]:
    """What the values can plausibly be; each rule applies wherever its columns exist."""
    gxe = _gx()
    from great_expectations.expectations.row_conditions import Column as Col

    t, cols = ts.name, set(ts.column_names)
    out: list[gxe.Expectation] = []

    for year in ("start_year", "target_year", "plan_start_year", "plan_end_year"):
        if year in cols:
            # a year outside the PRC's plans is a misread number (see FIRST_YEAR, LAST_YEAR)
            out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "year_plausible", t, year,
                               min_value=FIRST_YEAR, max_value=LAST_YEAR))
    for first, last in (("start_year", "target_year"), ("plan_start_year", "plan_end_year")):
        if {first, last} <= cols:
            # a phase or plan period cannot end before it starts (2025—2021 is a misread span)
            out.append(_expect(gxe.ExpectColumnPairValuesAToBeGreaterThanB, "start_year_not_after_target_year",
                               t, last, show=(last, first), column_A=last, column_B=first,
                               or_equal=True, ignore_row_if="either_value_is_missing"))

    if t == "metrics":
        for col in ("value", "value_max"):
            # a percentage level (coverage, share, rate) cannot exceed 100 % or be negative:
            # 150 % is a misread number or unit. A change may (增长150%: measure `change`).
            out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "percent_within_0_100", t, col,
                               show=(col, "unit", "measure"), min_value=0, max_value=100,
                               row_condition=(Col("unit") == "%") & (Col("measure") == "level")))
            # plans state counts, amounts, durations and shares: none is negative
            out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "value_not_negative", t, col, min_value=0))
        # a range 10—15 has its upper end above its lower end
        out.append(_expect(gxe.ExpectColumnPairValuesAToBeGreaterThanB, "value_max_not_below_value", t,
                           "value_max", show=("value_max", "value"), column_A="value_max", column_B="value",
                           or_equal=True, ignore_row_if="either_value_is_missing"))

    if "bandwidth_mbps" in cols:
        # a bandwidth is a speed a network link can have, whatever speed the text states (20G,
        # 5000M): positive and at most 1 Tbit/s (万兆 read as 万 × 千兆 is 10,000,000)
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "bandwidth_positive", t, "bandwidth_mbps",
                           min_value=MIN_MBPS))
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "bandwidth_within_network_range", t,
                           "bandwidth_mbps", show=("bandwidth_mbps", "bandwidth_label"), max_value=MAX_MBPS))

    if "doc_number" in cols:
        # 发文字号: an issuer abbreviation in Chinese characters, the year in 〔〕 (a plausible
        # year, not a page or article number) and the serial number, e.g. 黔府发〔2023〕21号
        out.append(_expect(gxe.ExpectColumnValuesToMatchRegex, "doc_number_shape", t, "doc_number",
                           regex=PUBLISHED_DOC_NUMBER))
    if "issue_date" in cols:
        # a document cannot be issued in the future (a misread date); tomorrow is allowed because
        # a document dated today in Beijing (UTC+8) may still be tomorrow in UTC terms
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "issue_date_not_in_future", t, "issue_date",
                           min_value=dt.datetime(FIRST_YEAR, 1, 1),
                           max_value=dt.datetime.combine(today + dt.timedelta(days=1), dt.time())))

    for col in NORMALIZED_TEXT_COLUMNS.get(t, ()):
        if col in cols:
            # normalization promises simplified text free of decoding damage; a traditional-only
            # character or a mojibake marker means a repair was missed
            out.append(_expect(gxe.ExpectColumnValuesToNotMatchRegex, "text_normalized", t, col,
                               regex=unnormalized_text_regex()))
    if t == "documents":
        # an empty text cannot be the source of anything
        out.append(_expect(gxe.ExpectColumnValueLengthsToBeBetween, "text_not_empty", t, "text", min_value=1))
    if t == "keywords":
        # TF-IDF weights are positive and ranks count from 1
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "weight_positive", t, "weight",
                           min_value=0, strict_min=True))
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "rank_from_one", t, "rank", min_value=1))
    return out


def _references(ts: TableSchema) -> list[tuple[str, str, str]]:
    """(column, referenced table, referenced column) for every link the table must keep."""
    refs = [(fk["fields"][0], fk["reference"]["resource"], fk["reference"]["fields"][0])
            for fk in ts.foreign_keys if len(fk["fields"]) == 1]
    refs += [(col, ref, ref_col) for table, col, ref, ref_col in SELF_REFERENCES if table == ts.name]
    return refs


def _has_span(ts: TableSchema) -> bool:
    return {"doc_id", "char_start", "char_end"} <= set(ts.column_names)


def integrity_expectations(ts: TableSchema) -> list[gxe.Expectation]:
    """Cross-table rules on the derived ``<table>.integrity`` frame (see ``integrity_frame``)."""
    gxe = _gx()
    t, cols = ts.name, set(ts.column_names)
    out = []

    def expect_true(check: str, rule: str, column: str, show: tuple[str, ...]) -> None:
        out.append(_expect(gxe.ExpectColumnValuesToBeInSet, rule, t, check, show=show, value_set=[True]))
        out[-1].meta["column"] = column  # name the table column, not the derived check column

    for col, ref, ref_col in _references(ts):
        # referential integrity: a row pointing at a missing document or section is an orphan
        # that joins to nothing (a dropped duplicate, a renumbered section)
        expect_true(f"{col}_in_{ref}", f"{col}_exists_in_{ref}", col, (col,))
    if "section_id" in cols and "doc_id" in cols and ts.name != "sections":
        # a row's section must belong to the row's own document
        expect_true("section_in_same_document", "section_in_same_document", "section_id", ("section_id", "doc_id"))
    if t == "sections" and "level" in cols:
        # the schema's tree: a parent is always exactly one level up
        expect_true("parent_one_level_up", "parent_one_level_up", "level", ("level", "parent_level"))
    if t == "documents":
        # doc_id is defined by the document_key (flows/contract/ids.py): the key's id for an
        # original, the key's and the raw file's for a duplicate
        expect_true("doc_id_from_document_key", "doc_id_from_document_key", "doc_id",
                    ("doc_id", "document_key", "source_sha256"))
    if _has_span(ts):
        # provenance: the offsets must point inside the document's normalized text
        expect_true("offsets_inside_text", "offsets_inside_text", "char_start",
                    ("char_start", "char_end", "text_length"))
        for col in SPAN_EQUALS:
            if col in cols:
                # provenance: the quoted text is exactly the text at its offsets
                expect_true(f"{col}_matches", f"{col}_matches_offsets", col, ("char_start", "char_end", col))
        for col in SPAN_CONTAINS:
            if col in cols:
                expect_true(f"{col}_inside_span", f"{col}_inside_span", col, ("char_start", "char_end"))
    return out


def row_count_expectations(children: list[str]) -> list[gxe.Expectation]:
    """Rows per document, on the derived ``documents.row_counts`` frame."""
    gxe = _gx()
    from great_expectations.expectations.row_conditions import Column as Col

    t = "documents"
    out = []
    original = Col("duplicate") == False  # noqa: E712 (a GX condition, not a Python comparison)
    if "sections" in children:
        # every kept document has at least its preamble section
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "sections_per_document", t, "sections",
                           show=("doc_id", "sections"), min_value=1, row_condition=original))
    if "goals" in children:
        # nearly every plan states a deadline (到2025年 …), but a bare notice, an interpretation
        # or a short excerpt may not: mostly=0.5 over plan-length documents fails a batch where
        # most plans lost their goals (a broken goal extractor) without failing on the odd
        # document that has none
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "goals_per_document", t, "goals",
                           show=("doc_id", "goals"), min_value=1, mostly=0.5,
                           row_condition=original & (Col("text_length") >= PLAN_LENGTH)))
    for child in children:
        # see MAX_ROWS_PER_DOCUMENT: more rows than this means a parser splits every line
        out.append(_expect(gxe.ExpectColumnValuesToBeBetween, "rows_per_document", t, child,
                           show=("doc_id", child), min_value=0, max_value=MAX_ROWS_PER_DOCUMENT.get(child, 10000)))
        # a duplicate counts once: its derived rows are dropped, only the original keeps rows
        out.append(_expect(gxe.ExpectColumnValuesToBeInSet, "duplicates_have_no_rows", t, child,
                           show=("doc_id", child), value_set=[0], row_condition=Col("duplicate") == True))  # noqa: E712
    return out


def _document_children(schemas: dict[str, TableSchema]) -> list[str]:
    return [name for name, ts in schemas.items()
            if any(fk["reference"]["resource"] == "documents" for fk in ts.foreign_keys)]


def _index(key: list[str], expectations: list[gxe.Expectation], doc_id: bool = False) -> list[str]:
    """The columns a failing row is reported by: its key, the columns its messages show and, for a
    table of documents' rows (``doc_id``), the document it belongs to (see ``RULE_LEVELS``)."""
    shown = [c for e in expectations for c in e.meta["show"]]
    return list(dict.fromkeys([*key, *shown, *(["doc_id"] if doc_id else [])]))


# ---------------------------------------------------------------------------------------------
# What a failure means: one odd document, or a broken build


DOCUMENT, SYSTEMIC = "document", "systemic"

# Every rule, tagged by what its failure means (``tests/test_quarantine.py`` fails if a rule
# that ``build_suites`` makes is missing here).
#
# ``DOCUMENT``: the rule holds row by row (or document by document), so its failing rows name
# the documents they belong to; those documents are quarantined (withheld from the build,
# ``flows/gate/verdict.py``) and the rest is published. A failing row that names no document (a
# table without doc_id, such as rejects, or a null doc_id) makes the failure systemic after all.
#
# ``SYSTEMIC``: the table's shape, its keys, or a rule over the whole table failed: a broken
# stage or schema, not an odd input. Nothing is published.
RULE_LEVELS = {
    # the contract: a table's columns and types, and keys unique across the whole table
    "columns": SYSTEMIC,
    "type": SYSTEMIC,
    "unique": SYSTEMIC,
    "primary_key": SYSTEMIC,
    # the contract, row by row
    "json": DOCUMENT,
    "not_null": DOCUMENT,
    "allowed_values": DOCUMENT,
    "pattern": DOCUMENT,
    # plausible values, row by row
    "year_plausible": DOCUMENT,
    "start_year_not_after_target_year": DOCUMENT,
    "percent_within_0_100": DOCUMENT,
    "value_not_negative": DOCUMENT,
    "value_max_not_below_value": DOCUMENT,
    "bandwidth_positive": DOCUMENT,
    "bandwidth_within_network_range": DOCUMENT,
    "doc_number_shape": DOCUMENT,
    "issue_date_not_in_future": DOCUMENT,
    "text_normalized": DOCUMENT,
    "text_not_empty": DOCUMENT,
    "weight_positive": DOCUMENT,
    "rank_from_one": DOCUMENT,
    # links and provenance of a row (``integrity_expectations``)
    "doc_id_exists_in_documents": DOCUMENT,
    "section_id_exists_in_sections": DOCUMENT,
    "parent_id_exists_in_sections": DOCUMENT,
    "duplicate_of_exists_in_documents": DOCUMENT,
    "section_in_same_document": DOCUMENT,
    "parent_one_level_up": DOCUMENT,
    "doc_id_from_document_key": DOCUMENT,
    "offsets_inside_text": DOCUMENT,
    "source_text_matches_offsets": DOCUMENT,
    "statement_matches_offsets": DOCUMENT,
    "text_inside_span": DOCUMENT,
    # rows per document (``row_count_expectations``): a document without its preamble section,
    # or with more rows than any plan has (a parser splitting every line of that document), is
    # that document's problem, never the run's
    "sections_per_document": DOCUMENT,
    "rows_per_document": DOCUMENT,
    # ... but most plans without a goal means a broken goal extractor, and a duplicate with
    # derived rows a broken duplicate check
    "goals_per_document": SYSTEMIC,
    "duplicates_have_no_rows": SYSTEMIC,
    # links of the derived views (flows/compare/views.py) to the rows they derive from: a broken
    # one is a broken derivation, not a document's problem
    "indicator_id_exists_in_indicators": SYSTEMIC,
    "metric_id_exists_in_metrics": SYSTEMIC,
    "bandwidth_id_exists_in_bandwidth_targets": SYSTEMIC,
}


def rule_level(rule: str, table: str | None = None) -> str:
    """``DOCUMENT`` or ``SYSTEMIC`` for a rule name; a rule missing from ``RULE_LEVELS`` is
    systemic (the safe side: nothing is published), and so is every rule on a derived view
    (``schemas/*.yaml`` ``derived_from``): its rows come from rows that passed, so a failure
    there is a broken derivation, not a document's problem."""
    if table is not None and table in DERIVED_TABLES:
        return SYSTEMIC
    return RULE_LEVELS.get(rule, SYSTEMIC)


def build_suites(schemas: dict[str, TableSchema], today: dt.date | None = None) -> dict[str, Suite]:
    """Every suite, keyed by frame name: one per table, plus the derived frames'."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    suites: dict[str, Suite] = {}
    for name, ts in schemas.items():
        expectations = contract_expectations(ts) + semantic_expectations(ts, today)
        key = list(ts.primary_key)
        rows = [e for e in expectations if e.meta["rule"] not in KEY_RULES]
        keys = [e for e in expectations if e.meta["rule"] in KEY_RULES]
        of_documents = "doc_id" in ts.column_names
        suites[name] = Suite(name, name, key, _index(key, rows, of_documents), rows)
        if keys:
            suites[f"{name}.keys"] = Suite(f"{name}.keys", name, key, _index(key, keys), keys, scope="all")
        integrity = integrity_expectations(ts)
        if integrity:
            # a document's links to its duplicate are decided anew by every run: always all rows
            scope = "all" if name == "documents" else "rows"
            suites[f"{name}.integrity"] = Suite(f"{name}.integrity", name, key, _index(key, integrity, of_documents),
                                                integrity, scope=scope)
    children = _document_children(schemas)
    if "documents" in schemas and children:
        counts = row_count_expectations(children)
        suites["documents.row_counts"] = Suite("documents.row_counts", "documents", ["doc_id"],
                                               _index(["doc_id"], counts, True), counts, scope="all")
    return suites


# ---------------------------------------------------------------------------------------------
# Frames


# A string column holding more than this many bytes (documents.text, sections.text) goes into
# the frame as Python strings. GX filters the whole frame for many expectations (nulls,
# row conditions); an Arrow-backed column is then copied byte by byte for each expectation, an
# object column only by reference.
WIDE_TEXT_BYTES = 2**62


