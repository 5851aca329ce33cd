"""A per-document time budget (``digigov run --doc-timeout``), checked cooperatively.

``process_document`` opens a budget for each document and names the stage it is in; the stages
call ``check()`` at their boundaries and once per step of every loop over a document's lines,
sentences, deadlines or values. Past the deadline ``check()`` raises ``DocumentTimeout`` naming
the stage, and the document becomes a ``timeout`` reject: the other documents of its batch and
the run go on.

Why cooperative and not an alarm: a signal reaches only a process's main thread, and the
threads and Dask runners process documents on other threads; an alarm also interrupts Python at
an arbitrary point. Every stage is linear in its input (tests/test_linear_time.py), so a check
per loop step bounds the overshoot to one step (a single regex pass over the text is the
longest). The budget is per thread, so documents processed side by side on threads each have
their own.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

DEFAULT_DOC_TIMEOUT = 120.0  # seconds; the largest real plan takes well under one

_local = threading.local()
clock = time.monotonic  # read through the module, so tests can drive time


class DocumentTimeout(Exception):
    """A document ran past its budget; ``stage`` is where it was."""

    def __init__(self, stage: str, budget: float, elapsed: float):
        super().__init__(f"over the {budget:g} s budget in stage {stage} ({elapsed:.1f} s)")
        self.stage, self.budget, self.elapsed = stage, budget, elapsed


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Run the block with ``seconds`` to spend (None: no limit)."""
    started = clock()
    saved = getattr(_local, "state", None)
    _local.state = None if seconds is None else [started, seconds, "start"]
    try:
        yield
    finally:
        _local.state = saved


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Name the stage the block runs in; the budget is checked as it ends."""
    state = getattr(_local, "state", None)
    if state is None:
        yield
        return
    outer, state[2] = state[2], name
    yield
    check()
    state[2] = outer


@contextmanager
def timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the wall time of the block to ``timings[stage]`` (seconds); a no-op without a dict."""
    if timings is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


# Loops call check() once every this many steps (a check costs about as much as a cheap step).
CHECK_EVERY = 256


def check() -> None:
    """Raise DocumentTimeout when the current document's budget is spent."""
    state = getattr(_local, "state", None)
    if state is not None:
        elapsed = clock() - state[0]
        if elapsed > state[1]:
            raise DocumentTimeout(state[2], state[1], elapsed)
