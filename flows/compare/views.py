"""Comparison views: the tables analysts compare jurisdictions with, derived from the extracted ones.

- ``indicators``: the catalog (``schemas/reference/indicators.yaml``) with how many metrics and
  jurisdictions each indicator has in this build.
- ``targets``: one row per document × indicator × subject × target year, the value the
  document sets for it, with the document's jurisdiction and the sentence that states it;
  from mapped metrics and from mapped bandwidth targets (Mbit/s, subject = administrative level).
- ``coverage``: one row per jurisdiction × year × plan: which plans the dataset holds for a
  place and a year, so that a missing plan is not read as a missing target.
- ``targets_wide``: targets as one row per indicator and one column per jurisdiction (a release
  ships it as CSV for spreadsheet users).

Each is a plain function of row lists (``dict`` per row) to row lists, in a stable order;
``write_derived_tables`` computes them from a build's final documents, metrics and bandwidth
targets (after the gate validated those) and writes them beside them, checked against their
contract in schemas/ (types, nullability, unique keys, allowed values): a view that breaks it is
a bug, and stops the run before anything is published. ``digigov validate`` and a release's gate run the full suites
on them as on every table.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.compare.indicators import Catalog, load_catalog
from flows.contract.schema import DERIVED_TABLES, TableSchema, schema

Row = Mapping[str, Any]


def derived_id(prefix: str, *parts: Any) -> str:
    """An id from content: the same parts give the same id in every build."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:16]}"


def _published(documents: Iterable[Row]) -> dict[str, Row]:
    """Documents that count (a duplicate_of copy does not), by doc_id."""
    return {d["doc_id"]: d for d in documents if not d.get("duplicate_of")}


def _bandwidth_comparator(b: Row) -> str:
    """``>=`` for a bandwidth written as a floor (20G以上, 不低于千兆), else ``=``."""
    sentence, at = b["source_text"], b["source_text"].find(b["bandwidth_label"])
    if at < 0:
        return "="
    after = sentence[at + len(b["bandwidth_label"]):at + len(b["bandwidth_label"]) + 4]
    before = sentence[max(0, at - 4):at]
    return ">=" if after.lstrip("（(").startswith(("以上", "及以上")) or before.endswith(("不低于", "不少于", "至少")) else "="


def _statements(metrics: Iterable[Row], bandwidth: Iterable[Row]) -> list[dict[str, Any]]:
    """Mapped targets from metrics and bandwidth_targets alike: (doc, indicator, subject, year),
    the value, and where in the text it is stated. A bandwidth is a target in Mbit/s whose
    subject is the administrative level it reaches; its place is its sentence, then its
    bandwidth's place in it (40G（可平滑演进到100G）: 40G is stated first)."""
    out = [{"doc_id": m["doc_id"], "indicator_id": m["indicator_id"], "subject": m.get("subject"),
            "target_year": m.get("target_year"), "value": m["value"], "value_max": m.get("value_max"),
            "unit": m["unit"], "comparator": m["comparator"], "metric_id": m["metric_id"], "bandwidth_id": None,
            "place": (m["char_start"], 0, m["metric_id"]), "source_text": m["source_text"]}
           for m in metrics if m.get("indicator_id") and m.get("is_target")]
    out += [{"doc_id": b["doc_id"], "indicator_id": b["indicator_id"], "subject": b["admin_level"],
             "target_year": b.get("target_year"), "value": float(b["bandwidth_mbps"]), "value_max": None,
             "unit": "Mbit/s", "comparator": _bandwidth_comparator(b), "metric_id": None, "bandwidth_id": b["bandwidth_id"],
             "place": (b["char_start"], max(b["source_text"].find(b["bandwidth_label"]), 0), b["bandwidth_id"]),
             "source_text": b["source_text"]}
            for b in bandwidth if b.get("indicator_id")]
    return out


def indicator_rows(catalog: Catalog, metrics: Iterable[Row], documents: Iterable[Row],
                   bandwidth: Iterable[Row] = ()) -> list[dict[str, Any]]:
    docs = _published(documents)
    counts: dict[str, int] = defaultdict(int)
    places: dict[str, set] = defaultdict(set)
    for m in [*metrics, *bandwidth]:
        ind = m.get("indicator_id")
        if ind and m["doc_id"] in docs:
            counts[ind] += 1
            places[ind].add(docs[m["doc_id"]].get("jurisdiction"))
    return [
        {"indicator_id": ind.id, "name_zh": ind.name_zh, "name_en": ind.name_en, "unit": ind.unit,
         "theme": ind.theme, "definition_zh": ind.definition_zh, "definition_en": ind.definition_en,
         "wordings": list(ind.wordings), "admin_level": ind.admin_level, "metrics": counts.get(ind.id, 0),
         "jurisdictions": len(places.get(ind.id, set()) - {None})}
        for ind in catalog.indicators
    ]


def target_rows(catalog: Catalog, metrics: Sequence[Row], documents: Iterable[Row],
                bandwidth: Sequence[Row] = ()) -> list[dict[str, Any]]:
    """The targets of mapped metrics and bandwidth targets, one per (document, indicator,
    subject, target year): the first in the document's text where the document states one
    several times (a table and its prose), with the number of rows that state it."""
    docs = _published(documents)
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for st in _statements(metrics, bandwidth):
        if st["doc_id"] in docs:
            groups[(st["doc_id"], st["indicator_id"], st["subject"], st["target_year"])].append(st)
    rows = []
    for (doc_id, ind_id, subject, year), sts in groups.items():
        first = min(sts, key=lambda st: st["place"])
        doc, ind = docs[doc_id], catalog.by_id(ind_id)
        rows.append({
            "target_id": derived_id("t", doc_id, ind_id, subject, year),
            "doc_id": doc_id, "indicator_id": ind_id, "name_zh": ind.name_zh, "name_en": ind.name_en,
            "subject": subject, "target_year": year, "value": first["value"], "value_max": first["value_max"],
            "unit": first["unit"], "comparator": first["comparator"],
            "jurisdiction": doc.get("jurisdiction"), "admin_code": doc.get("admin_code"),
            "admin_level": doc.get("admin_level"), "province_en": doc.get("province_en"),
            "metric_id": first["metric_id"], "bandwidth_id": first["bandwidth_id"], "metrics": len(sts),
            "source_text": first["source_text"],
        })
    return sorted(rows, key=lambda r: (r["indicator_id"], r["admin_code"] or "", r["jurisdiction"] or "",
                                       r["doc_id"], r["subject"] or "", r["target_year"] or 0))


def _years(doc: Row) -> range:
    start, end = doc.get("plan_start_year"), doc.get("plan_end_year")
    issued = doc.get("issue_date")
    issued_year = getattr(issued, "year", None)
    if start is None:
        start = issued_year if issued_year is not None else end
    if end is None:
        end = start
    if start is None:
        return range(0)
    return range(min(start, end), max(start, end) + 1)


def coverage_rows(documents: Iterable[Row]) -> list[dict[str, Any]]:
    """Which plans the dataset holds for each jurisdiction and year of their plan period (a plan
    without a period covers the year it was issued)."""
    rows = []
    for doc in _published(documents).values():
        for year in _years(doc):
            rows.append({
                "coverage_id": derived_id("c", doc["doc_id"], year),
                "jurisdiction": doc.get("jurisdiction"), "admin_code": doc.get("admin_code"),
                "admin_level": doc.get("admin_level"), "province_en": doc.get("province_en"),
                "year": year, "doc_id": doc["doc_id"], "title": doc.get("title"),
                "plan_start_year": doc.get("plan_start_year"), "plan_end_year": doc.get("plan_end_year"),
            })
    return sorted(rows, key=lambda r: (r["admin_code"] or "", r["jurisdiction"] or "", r["year"], r["doc_id"]))


def _cell(t: Row) -> str:
    value = f"{t['value']:g}" + (f"–{t['value_max']:g}" if t.get("value_max") is not None else "")
    comparator = "" if t["comparator"] == "=" else t["comparator"]
    year = f" ({t['target_year']})" if t.get("target_year") else ""
    return f"{comparator}{value}{t['unit']}{year}"


def targets_wide(targets: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per indicator, one column per jurisdiction; a cell lists that
    jurisdiction's targets for the indicator (value, unit and year; several separated by ``; ``)."""
    # columns in code order (national documents, with no code, first), as official tables list them
    places = [p for _, p in sorted({(t["admin_code"] or "", t["jurisdiction"] or "") for t in targets})]
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    names: dict[str, tuple[str, str]] = {}
    for t in targets:
        cells[(t["indicator_id"], t["jurisdiction"] or "")].append(_cell(t))
        names[t["indicator_id"]] = (t["name_zh"], t["name_en"])
    header = ["indicator_id", "name_zh", "name_en", *places]
    rows = [[ind, *names[ind], *("; ".join(dict.fromkeys(cells.get((ind, p), []))) for p in places)]
            for ind in sorted(names)]
    return header, rows


def shared_targets(targets: Sequence[Row], at_least: int = 3) -> list[tuple[str, str, str, list[Row]]]:
    """Indicators that at least ``at_least`` jurisdictions set targets for: (id, name_zh,
    name_en, their targets), most jurisdictions first."""
    by_ind: dict[str, list[Row]] = defaultdict(list)
    for t in targets:
        by_ind[t["indicator_id"]].append(t)
    shared = [(ind, ts[0]["name_zh"], ts[0]["name_en"], ts) for ind, ts in by_ind.items()
              if len({t["jurisdiction"] for t in ts} - {None}) >= at_least]
    return sorted(shared, key=lambda x: (-len({t["jurisdiction"] for t in x[3]}), x[0]))


_DOCUMENT_COLUMNS = ["doc_id", "title", "duplicate_of", "jurisdiction", "admin_code", "admin_level", "province_en",
                     "plan_start_year", "plan_end_year", "issue_date"]
_METRIC_COLUMNS = ["metric_id", "doc_id", "indicator_id", "subject", "value", "value_max", "unit", "comparator",
                   "target_year", "is_target", "char_start", "source_text"]


_BANDWIDTH_COLUMNS = ["bandwidth_id", "doc_id", "indicator_id", "admin_level", "bandwidth_mbps", "bandwidth_label",
                      "target_year", "char_start", "source_text"]


def derived_rows(documents: Sequence[Row], metrics: Sequence[Row], bandwidth: Sequence[Row],
                 catalog: Catalog | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every view's rows. ``bandwidth`` (the bandwidth_targets rows) is required: a view built
    without it would silently lack the bandwidth targets."""
    catalog = catalog or load_catalog()
    return {"indicators": indicator_rows(catalog, metrics, documents, bandwidth),
            "targets": target_rows(catalog, metrics, documents, bandwidth),
            "coverage": coverage_rows(documents)}


def contract_violations(ts: TableSchema, table: Any) -> list[str]:
    """What in ``table`` breaks its schema's contract beyond the types the schema imposed."""
    problems = []
    for col in ts.columns:
        values = table.column(col.name)
        if not col.nullable and values.null_count:
            problems.append(f"{ts.name}.{col.name}: {values.null_count} nulls")
        if col.allowed is not None and len(values) and col.type != "list<string>":
            # a null is no value outside the allowed ones (nullability is its own rule)
            outside = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=pa.array(list(col.allowed)))))
            bad = pc.filter(values, outside)
            if len(bad):
                problems.append(f"{ts.name}.{col.name}: values outside {list(col.allowed)}: {bad.unique().to_pylist()[:3]}")
    if ts.primary_key:
        keys = table.select(list(ts.primary_key)).to_pylist()
        if len({tuple(k.values()) for k in keys}) != len(keys):
            problems.append(f"{ts.name}: duplicate {', '.join(ts.primary_key)}")
    return problems


def write_derived_tables(build: Path) -> dict[str, int]:
    """Compute the views from ``build``'s documents, metrics and bandwidth targets and write them
    into it; their rows."""
    from flows.storage.publish import table_file, table_path, write_table

    documents = pq.read_table(table_path(build, "documents"), columns=_DOCUMENT_COLUMNS).to_pylist()
    metrics = pq.read_table(table_path(build, "metrics"), columns=_METRIC_COLUMNS).to_pylist()
    bandwidth = pq.read_table(table_path(build, "bandwidth_targets"), columns=_BANDWIDTH_COLUMNS).to_pylist()
    rows = derived_rows(documents, metrics, bandwidth)
    written = {}
    for name in DERIVED_TABLES:
        ts = schema(name)
        table = ts.table(rows[name])
        problems = contract_violations(ts, table)
        if problems:
            raise ValueError(f"derived table {name} breaks its contract: " + "; ".join(problems))
        write_table(table, build / table_file(name))
        written[name] = table.num_rows
    return written
