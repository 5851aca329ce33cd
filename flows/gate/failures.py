"""Failures as people read them: which documents a failed expectation names, and one line per
failure quoting a few offending rows (values shortened, never rendered as markup)."""
from __future__ import annotations

from typing import Any

from flows.gate.rules import DOCUMENT, Suite, rule_level

SHOWN_VALUES = 3  # offending values quoted per failed expectation
_SNIPPET = 12  # characters of context around a regex match in a long text


def failing_documents(suite: Suite, config: Any, result: dict,
                      exception: dict | None = None) -> dict[str, list[str]] | None:
    """The documents a failed expectation's rows belong to, each with what failed (``rule
    (table.column): offending value``, ``SHOWN_VALUES`` rows a document at most), or None when
    the failure is systemic: a systemic rule (``expectations.RULE_LEVELS``), an error, or a
    failing row that names no document."""
    meta = config.meta or {}
    rule = meta.get("rule", config.type)
    if rule_level(rule, suite.table) != DOCUMENT or (exception and exception.get("raised_exception")):
        return None
    rows = result.get("unexpected_index_list")
    if not rows or not all(isinstance(row, dict) and isinstance(row.get("doc_id"), str) for row in rows):
        return None
    table, column = meta.get("table", suite.table), meta.get("column")
    where = f"{table}.{column}" if column else table
    out: dict[str, list[str]] = {}
    for row in rows:
        details = out.setdefault(row["doc_id"], [])
        if len(details) < SHOWN_VALUES:
            details.append(f"{rule} ({where}): {_example(table, meta, config, row, suite.key) or 'failed'}")
    return out


def describe_failure(suite: Suite, config: Any, result: dict, exception: dict | None = None) -> str:
    """``<suite>: <rule> failed (<expectation>, <table>.<column>) on n of m rows: e.g. …``."""
    meta = config.meta or {}
    table, column, rule = meta.get("table", suite.table), meta.get("column"), meta.get("rule", config.type)
    where = f"{table}.{column}" if column else table
    head = f"{suite.name}: {rule} failed ({config.type}, {where})"
    if exception and exception.get("raised_exception"):
        return f"{head}: error {exception.get('exception_message')}"
    if "unexpected_count" in result and result.get("element_count") is not None:
        head += f" on {result['unexpected_count']} of {result['element_count']} rows"
    examples = _examples(table, meta, config, result, suite.key)
    if examples:
        return f"{head}: e.g. " + "; ".join(examples)
    observed = result.get("observed_value", result.get("details"))
    return f"{head}: observed {_short(observed)}" if observed is not None else head


def _examples(table: str, meta: dict, config: Any, result: dict, key: list[str]) -> list[str]:
    rows = result.get("partial_unexpected_index_list") or []
    out = [text for row in rows[:SHOWN_VALUES] if (text := _example(table, meta, config, row, key))]
    if not out:  # table-level and multi-column expectations list the offending values themselves
        out = [f"{table} {_short(v)}" for v in (result.get("partial_unexpected_list") or [])[:SHOWN_VALUES]]
    return out


def _example(table: str, meta: dict, config: Any, row: Any, key: list[str]) -> str | None:
    """One offending row as a message quotes it: ``metrics.value = 150.0 for unit % [metric_id=…]``."""
    if not isinstance(row, dict):
        return None
    show = meta.get("show") or []
    shown = [c for c in show if c in row] or [c for c in row if c not in key and c != "doc_id"][:1]
    if not shown:
        return None
    first, rest = shown[0], shown[1:]
    text = f"{table}.{first} = {_value(row[first], config.kwargs.get('regex'))}"
    # a conditional rule reads "value = 150.0 for unit %"; others list the related columns
    if config.kwargs.get("row_condition") is not None:
        text += "".join(f" for {c} {_value(row[c], None)}" for c in rest)
    else:
        text += "".join(f", {c} = {_value(row[c], None)}" for c in rest)
    ids = [f"{c}={row[c]}" for c in key if c in row and c not in shown]
    return text + (f" [{', '.join(ids)}]" if ids else "")


def _value(value: Any, regex: str | None) -> str:
    """A value as quoted in a message; a long text shows the offending part with some context."""
    if isinstance(value, str) and regex:
        import re

        m = re.search(regex, value)
        if m and len(value) > 2 * _SNIPPET + len(m.group(0)):
            s, e = max(m.start() - _SNIPPET, 0), m.end() + _SNIPPET
            context = " ".join(value[s:e].split())
            return f"{m.group(0)!r} at offset {m.start()} in …{context}…"
    return _short(value)


def _short(value: Any, limit: int = 80) -> str:
    if hasattr(value, "item"):  # numpy scalars print as their Python value
        value = value.item()
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"
