"""Validation on both cores: the suites shared between this process and a fork of it, each
fork's Data Docs store entries sent back. A speed-up only: validate_tables runs every suite here
when forking is not possible."""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from flows.orchestration import lifetime

# One suite's outcome: (expectations failed, every failure's message, the messages of the
# systemic ones, {doc_id: details} of the document-level ones); plain data, sent by a fork
SuiteOutcome = tuple[int, list[str], list[str], dict[str, list[str]]]


def _can_fork() -> bool:
    """Whether this process may fork: where the system can, and while it runs no other thread
    (a fork copies only the calling thread; a lock another one held would stay locked). The
    validation process qualifies; a flow's process (Prefect's threads) validates alone."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and lifetime.threads_that_hold_locks() == 1


def _validate_on_two(run: Callable[[int], SuiteOutcome], n: int, context: Any) -> dict[int, SuiteOutcome]:
    """``run(i)`` for every suite i < n, shared between this process and a fork of it.

    In an incremental run the validation comes last, on one core, while the flow's process,
    done staging, has nothing left to do, and the suites' time is nearly all GX's own work per
    suite and expectation. A fork shares the imported GX and the context
    (no second import); each process takes the next suite in order from a shared counter
    (so each still waits for its tables while the build is staged), and the fork sends back
    each suite's outcome and its entries in the in-memory stores (serialized results and
    suites), which this process adds to its own for the Data Docs. A suite the fork took but
    never reported (the fork lost) is validated here."""
    import multiprocessing

    forking = multiprocessing.get_context("fork")
    counter = forking.Value("i", 0)

    def claim() -> int:
        with counter.get_lock():
            counter.value += 1
            return counter.value - 1

    reader, writer = forking.Pipe(duplex=False)
    worker = forking.Process(target=lifetime.as_child(os.getpid(), _fork_worker),
                             args=(run, claim, n, context, writer), name="validate-fork", daemon=True)
    try:
        worker.start()
    except OSError as exc:  # no process can be started here: all of them in this one
        logging.getLogger(__name__).warning("validation fork not started (%s): validating in this process", exc)
        return {i: run(i) for i in range(n)}
    finally:
        writer.close()
    reported: list[tuple[int, SuiteOutcome, dict]] = []
    receiving = threading.Thread(target=_receive, args=(reader, reported), name="validate-fork-results", daemon=True)
    receiving.start()  # read as they come: a full pipe would hold the fork up
    outcomes = {}
    while (i := claim()) < n:
        outcomes[i] = run(i)
    receiving.join()
    worker.join()
    for i, outcome, entries in reported:
        outcomes[i] = outcome
        _add_store_entries(context, entries)
    lost = [i for i in range(n) if i not in outcomes]
    if lost:
        logging.getLogger(__name__).warning("validation fork lost (exit code %s): %d suites validated here",
                                            worker.exitcode, len(lost))
        outcomes.update((i, run(i)) for i in lost)
    return outcomes


def _receive(reader: Any, into: list) -> None:
    try:
        while True:
            into.append(reader.recv())
    except (EOFError, OSError):
        pass
    finally:
        reader.close()


def _fork_worker(run: Callable[[int], SuiteOutcome], claim: Callable[[], int], n: int, context: Any,
                 writer: Any) -> None:
    """In the fork: validate suites until none is left, reporting each."""
    known = _store_keys(context)
    try:
        while (i := claim()) < n:
            outcome = run(i)
            entries = _new_store_entries(context, known)
            writer.send((i, outcome, entries))
            known = _store_keys(context)
    finally:
        writer.close()


_STORES = ("validation_results_store", "expectations_store")


def _store_keys(context: Any) -> dict[str, set]:
    return {store: set(getattr(context, store).store_backend.list_keys()) for store in _STORES}


def _new_store_entries(context: Any, known: dict[str, set]) -> dict[str, dict]:
    """The stores' entries added since ``known`` (backend keys to serialized values)."""
    out = {}
    for store in _STORES:
        backend = getattr(context, store).store_backend
        out[store] = {key: backend.get(key) for key in backend.list_keys() if key not in known[store]}
    return out


def _add_store_entries(context: Any, entries: dict[str, dict]) -> None:
    for store, added in entries.items():
        backend = getattr(context, store).store_backend
        for key, value in added.items():
            backend.set(key, value)
