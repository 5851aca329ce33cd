"""Keeping a long run's memory flat: Python's cyclic garbage collector, tuned for batches.

A run's processes import Prefect, pandas and the stages (hundreds of thousands of objects, more with
Great Expectations), and a full collection visits all of them, every time Python decides to run
one. Those objects live as long as the process, so ``freeze_startup_objects`` moves them
out of the collector's sight once (``gc.freeze``): later collections visit only what the run
made since.

Some of what a run lets go of sits in reference cycles and waits for such a full collection:
Prefect's process-pool futures hold their callbacks and the callbacks their future, and so
keep each batch's pickled result (megabytes) alive; the flow's process grew by a batch's size
per batch until Python happened to collect. ``collect_cycles`` collects once a batch is read,
which after the freeze costs milliseconds.
"""

from __future__ import annotations

import gc
from functools import lru_cache
from typing import Callable

import pyarrow as pa

_frozen = False


def freeze_startup_objects() -> None:
    """Once per process: the objects alive now are left out of every later collection."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


def collect_cycles() -> int:
    """A full collection (cheap once ``freeze_startup_objects`` ran); the objects freed."""
    return gc.collect()


def return_freed_memory() -> None:
    """Hand memory freed by a suite back to the OS. Arrow's allocator caches freed blocks, and a
    document's text is below glibc's mmap threshold, so freed texts stay in
    the heap, counted in RSS, until trimmed."""
    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed blocks too
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (not glibc: nothing to trim). Looked up once per process:
    ``ctypes.util.find_library`` runs ``ldconfig -p`` in a child process on every call, and a
    validation trims after every frame."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
