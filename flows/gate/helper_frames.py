"""Validation in a helper: the frames of the derived suites built in a helper process while this
one runs GX. A speed-up only: ``validate_tables`` derives every frame itself when no helper
process can be started, or when the helper is lost."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa

from flows.contract.schema import TableSchema
from flows.gate.frames import DocumentTexts, build_frame
from flows.gate.rules import Suite
from flows.storage.staging import StagedTables
from flows.tooling.memory import return_freed_memory


class HelperFrames:
    """The frames of the derived suites (``<table>.integrity``, ``documents.row_counts``),
    built in a helper process from the staged files while this process runs GX.

    A full validation spends nearly as long deriving these frames (links looked up, every
    quoted span compared with the document's text) as in GX on the tables' own frames, all on
    one core of a machine whose batch workers sit idle by then. The helper starts
    at once (it imports no GX), derives the frames in order while GX runs here, and sends each
    back pickled (booleans and keys: a few MB); the document texts the span checks read are
    held there, not here. A frame the helper cannot derive comes back as its exception."""

    def __init__(self, tables: StagedTables, suites: dict[str, Suite], schemas: dict[str, TableSchema],
                 checked: pa.Array | None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._futures = {name: self._pool.submit(_helper_frame, tables.folder, tables.names, _without_expectations(suite),
                                                 schemas, checked)
                         for name, suite in suites.items()}

    @staticmethod
    def derives(suite: Suite) -> bool:
        return suite.name != suite.table and suite.name != f"{suite.table}.keys"

    def __contains__(self, name: str) -> bool:
        return name in self._futures

    def frames(self, name: str, here: Callable[[], Iterator[Any]]) -> Iterator[Any]:
        """The suite's frame from the helper; when the helper process itself is gone (killed,
        out of memory), the frames ``here`` derives in this process instead."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            frame = self._futures.pop(name).result()
        except BrokenProcessPool as exc:
            logging.getLogger(__name__).warning("validation helper lost (%s): deriving %s here", exc, name)
            yield from here()
            return
        yield frame

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _without_expectations(suite: Suite) -> Suite:
    """What the helper needs of a suite to derive its frame (GX's objects stay here)."""
    return Suite(suite.name, suite.table, suite.key, suite.index_columns, [], suite.scope)


_helper_state: dict[str, Any] = {}


def _helper_frame(folder: Path, names: list[str], suite: Suite, schemas: dict[str, TableSchema],
                  checked: pa.Array | None) -> Any:
    """In the helper process: one derived frame; the tables and the documents' texts are kept
    for the next suite of the same validation."""
    key = (str(folder), tuple(names), None if checked is None else tuple(checked.to_pylist()))
    if _helper_state.get("key") != key:
        tables = StagedTables(folder, names)
        _helper_state.update(key=key, tables=tables, texts=DocumentTexts(tables, checked))
    try:
        return build_frame(suite, schemas, _helper_state["tables"], checked, _helper_state["texts"])
    finally:
        return_freed_memory()
