"""Validation in a process of its own, started by ``digigov run`` before anything heavy is imported.

Great Expectations takes seconds to import. Imported in the flow's process, it lies on the
critical path of every run: on an incremental run the parent spends the embedded server's
start-up importing the flow's own modules and then GX, and the flow starts only when both are
done. ``start`` spawns one process that imports GX on a thread of lowered priority (the server
and the flow's imports keep the machine's two cores; GX takes what they leave, and what the
flow's scan leaves after them), then waits. ``validate`` runs ``validate_tables`` there, on the
staged Parquet files, and returns its ``ValidationResult``; without a started process, or when
it is lost (killed, out of memory), it validates in this process instead, with the same result.
The process imports no Prefect: the flow's task still logs and publishes the artifacts.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from flows.gate.verdict import ValidationResult

# Nothing heavy is imported here: the validation process unpickles its first task (this module's
# ``_import_gx_politely``) on its main thread, at normal priority; every import that costs
# (pyarrow, pandas, GX: flows.gate.run) happens on the low-priority thread.

NICE = 10  # the importing thread's niceness: it takes what CPU the server and the flow leave

_pool: ProcessPoolExecutor | None = None
_docs: Future | None = None  # the last validation's Data Docs, being written


def start() -> None:
    """Spawn the validation process (once); it imports GX at low priority meanwhile."""
    global _pool
    if _pool is not None:
        return
    import atexit
    import multiprocessing

    _pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    _pool.submit(_import_gx_politely)  # starts the process now, not at the first validation
    atexit.register(stop)


def started() -> bool:
    return _pool is not None


def stop(kill: bool = False) -> None:
    """Let the validation process go once its Data Docs are written; ``kill``: at once, even in
    the middle of a validation. It holds nothing else (results come back as they are made), so
    it is killed either way: a clean exit would spend its time freeing GX's objects one by one."""
    global _pool, _docs
    if not kill:
        wait_docs()
    if _pool is not None:
        for process in list(getattr(_pool, "_processes", {}).values()):
            process.kill()
        _pool.shutdown(wait=not kill, cancel_futures=True)
    _pool = _docs = None


def validate(tables: Mapping[str, Any], docs_dir: Path | None, **kwargs: Any) -> ValidationResult:
    """``validate_tables(tables, docs_dir, **kwargs)`` in the validation process if one was
    started (for tables in files), else (or when it is lost) in this one."""
    from flows.gate.run import validate_tables
    from flows.storage.staging import StagedTables

    global _pool, _docs
    wait_docs()  # an earlier validation's, to the same folder maybe
    if _pool is not None and isinstance(tables, StagedTables):
        from concurrent.futures.process import BrokenProcessPool

        try:
            validation = _pool.submit(_validate_there, tables.portable(), docs_dir, kwargs)
            if docs_dir is not None:  # queued behind it: written while the flow goes on (``wait_docs``)
                _docs = _pool.submit(_write_docs_there)
            return validation.result()
        except BrokenProcessPool as exc:
            logging.getLogger(__name__).warning("validation process lost (%s): validating in this one", exc)
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = _docs = None
    return validate_tables(tables, docs_dir, **kwargs)


def wait_docs() -> None:
    """Block until the Data Docs of the last validation are written. Its tables passed or failed
    already: Docs that cannot be written are logged as an error, and the run goes on."""
    global _docs
    docs, _docs = _docs, None
    if docs is None:
        return
    try:
        docs.result()
    except Exception as exc:  # noqa: BLE001 (the process lost, a full disk: the tables stand)
        logging.getLogger(__name__).error("the Data Docs of this validation were not written: %s: %s",
                                          type(exc).__name__, exc)


def _write_docs_there() -> None:
    from flows.gate.run import write_pending_docs

    write_pending_docs()


_importer: threading.Thread | None = None  # in the validation process: the thread importing GX
_importer_id: int | None = None  # its native id, while its priority is lowered


def _import_gx_politely() -> None:
    """In the validation process: start importing GX on a thread of lowered priority, so that
    the process's main thread, which validates, keeps the normal one (Linux gives each thread
    its own niceness; elsewhere the whole process would be lowered, so it is not done there)."""
    global _importer

    def polite() -> None:
        global _importer_id
        if sys.platform == "linux":
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
                _importer_id = threading.get_native_id()
            except OSError:
                pass
        from flows.gate.gx_context import import_gx

        import_gx()

    _importer = threading.Thread(target=polite, name="import-gx", daemon=True)
    _importer.start()


def _validate_there(tables: Any, docs_dir: Path | None, kwargs: dict[str, Any]) -> ValidationResult:
    """In the validation process: a validation that comes while GX is still being imported (a
    busy machine left the lowered thread little time) needs that import at once: the thread gets
    the normal priority back where the system allows it (root, or a nice limit that permits),
    and the validation starts when it is done."""
    if _importer is not None and _importer.is_alive():
        if _importer_id is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, _importer_id, 0)
            except OSError:
                pass
        _importer.join()
    from flows.gate.run import validate_tables

    # the flow's process waits, done staging: a fork of this one takes half the suites
    return validate_tables(tables, docs_dir, docs_later=True, fork_worker=True, **kwargs)
