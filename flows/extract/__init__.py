"""Extraction stage: goals, metrics, bandwidth targets, tasks and keywords from a sectioned text.

Each extractor is a plain function ``extract_<table>(doc_id, document) -> list[row]`` of one
``Document`` (flows/extract/common.py: text, sections, sentences, tables, goal context) that
``extract_all`` builds once per document (``read_document``) and hands to every extractor; it
returns rows per table, each metric and bandwidth
target mapped to the indicator catalog (``flows/compare/indicators.py``), and ``parse_issues``:
what the extractors saw but could not place. The ids they give rows
(``<doc_id>-g0000`` …) are positional handles within the document; ``flows/contract/ids.py`` replaces
them with stable ids once the document's key is known (``pipeline.document_rows``).
"""

from __future__ import annotations

from typing import Any

from flows.budget import stage
from flows.contract.issues import issue
from flows.extract.bandwidth import extract_bandwidth_targets
from flows.extract.common import Document
from flows.extract.goals import GoalContext, extract_goals
from flows.extract.keywords import extract_keywords
from flows.extract.metrics import extract_metrics
from flows.extract.tables import find_tables
from flows.extract.tasks import extract_tasks
from flows.compare.indicators import with_bandwidth_indicator_ids, with_indicator_ids
from flows.records import StructuredDoc

EXTRACTORS = {
    "goals": extract_goals,
    "metrics": extract_metrics,
    "bandwidth_targets": extract_bandwidth_targets,
    "tasks": extract_tasks,
    "keywords": extract_keywords,
}


def read_document(text: str, sections: list[dict[str, Any]]) -> Document:
    """The one ``Document`` every extractor of a document reads."""
    return Document(text, sections, find_tables(text), GoalContext)


def extract(doc: StructuredDoc) -> dict[str, list[dict[str, Any]]]:
    """The extract stage: a structured document's goals, metrics, bandwidth targets, tasks and
    keywords."""
    return extract_all(doc.doc_id, doc.text, doc.sections)


def extract_all(doc_id: str, text: str, sections: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    with stage("extract:document"):
        doc = read_document(text, sections)
    out = {}
    for table, fn in EXTRACTORS.items():
        with stage(f"extract:{table}"):
            out[table] = fn(doc_id, doc)
    out["metrics"] = with_indicator_ids(out["metrics"])
    out["bandwidth_targets"] = with_bandwidth_indicator_ids(out["bandwidth_targets"])
    out["parse_issues"] = doc.issues + uncatalogued_percentages(out["metrics"], text)
    return out


def uncatalogued_percentages(metrics: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """parse_issues rows for published percentages whose indicator no catalog entry matches (a
    rate the catalog may be missing; a count or an amount without one is common and not noted)."""
    return [issue("extract", "indicator_not_in_catalog",
                  f"indicator {m['indicator']!r} matches no catalog entry", text, m["char_start"], m["char_end"])
            for m in metrics if m["unit"] == "%" and m["indicator_id"] is None]
