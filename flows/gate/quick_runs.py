"""Running a suite on a frame: quick first (GX's BASIC results, counts
only), detailed only where an expectation fails; and a suite's results merged over its frames
(a table's rows are validated in slices, ``flows/gate/frames.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.gate.expectation_configurations import configurations_built_once
from flows.gate.failures import SHOWN_VALUES
from flows.gate.lean_runs import LeanDefinition
from flows.gate.rules import DOCUMENT, Suite, rule_level


def run_frame(definition: LeanDefinition, suite: Suite, frame):
    """A frame's results: a quick run (GX's BASIC results: counts, no offending rows), and where
    an expectation fails, a detailed run in its place (SUMMARY with the rows' keys and shown
    columns, which the failure messages quote). Finding the offending rows' index values costs
    GX extra metrics for every expectation, passing or not: a large share of a passing validation.
    Only the result that stands is kept for the Data Docs, so they show the detailed one."""
    with configurations_built_once():
        result = definition.run(frame, {"result_format": "BASIC"})
        if not result.success:
            index = [c for c in suite.index_columns if c in frame.columns]
            # a suite with document-level rules lists every failing row (COMPLETE), so that every
            # failing document is known (``failing_documents``); SUMMARY quotes only the first few
            complete = "doc_id" in index and any(rule_level(e.meta["rule"], suite.table) == DOCUMENT
                                                 for e in suite.expectations)
            result = definition.run(frame, {"result_format": "COMPLETE" if complete else "SUMMARY",
                                            "partial_unexpected_count": SHOWN_VALUES,
                                            "unexpected_index_column_names": index,
                                            "return_unexpected_index_query": False})
    definition.keep(result)
    return result


@dataclass
class MergedResult:
    """One expectation's results over the frames of a suite, as ``describe_failure`` reads them."""

    expectation_config: Any
    result: dict
    exception_info: dict | None
    success: bool


_COUNTS = ("element_count", "unexpected_count", "missing_count")
_LISTS = ("partial_unexpected_list", "partial_unexpected_index_list")
_ALL_ROWS = "unexpected_index_list"  # every failing row's index (COMPLETE results): never cut


def merge_results(merged: list[MergedResult] | None, results: list) -> list[MergedResult]:
    """Add a frame's expectation results to those of the suite's earlier frames: counts add
    up, the first offending values are kept, the first failure's details stand."""
    if merged is None:
        return [MergedResult(r.expectation_config, dict(r.result or {}), r.exception_info, r.success) for r in results]
    for m, r in zip(merged, results, strict=True):
        if m.expectation_config.type != r.expectation_config.type:
            raise RuntimeError("GX returned a suite's results in another order")
        new = r.result or {}
        for key in _COUNTS:
            if isinstance(m.result.get(key), int) and isinstance(new.get(key), int):
                m.result[key] += new[key]
        for key in _LISTS:
            if new.get(key):
                m.result[key] = (list(m.result.get(key) or []) + list(new[key]))[:SHOWN_VALUES]
        if new.get(_ALL_ROWS):
            m.result[_ALL_ROWS] = list(m.result.get(_ALL_ROWS) or []) + list(new[_ALL_ROWS])
        if not r.success and m.success:  # observed values, exceptions: the first failing frame's
            m.result.update({k: v for k, v in new.items() if k not in (*_COUNTS, *_LISTS, _ALL_ROWS)})
            m.exception_info = r.exception_info
        m.success = m.success and r.success
    return merged
