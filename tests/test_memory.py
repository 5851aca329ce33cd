import gc
import weakref

from flows.tooling import memory
class Node:
    def __init__(self, payload):
        self.payload = payload
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_collect_cycles_frees_what_a_cycle_holds():
    node = Node(b"x" * 10_000_000)
    alive = weakref.ref(node)
    del node
    assert alive() is not None  # reference counting alone cannot free it
    assert memory.collect_cycles() >= 1
    assert alive() is None


def test_startup_objects_are_frozen_once(monkeypatch):
    """Objects the collector tracks (a bare ``object()`` is never tracked, so it cannot show a
    freeze): the first call moves them out of its sight, a second call in the same process
    freezes nothing more."""
    monkeypatch.setattr(memory, "_frozen", False)
    before = gc.get_freeze_count()
    kept = [Node(None) for _ in range(1000)]
    assert all(gc.is_tracked(n) for n in kept)
    memory.freeze_startup_objects()
    frozen = gc.get_freeze_count()
    assert frozen - before >= len(kept)
    more = [Node(None) for _ in range(1000)]  # noqa: F841  made after: left to the collector
    memory.freeze_startup_objects()
    # (frozen objects freed meanwhile, e.g. by another test's lingering thread, leave the count:
    # it may fall, but it would rise by the 1000 new objects had they been frozen)
    assert gc.get_freeze_count() <= frozen


def test_a_cycle_frozen_at_startup_is_out_of_the_collectors_sight(monkeypatch):
    monkeypatch.setattr(memory, "_frozen", False)
    node = Node(b"z" * 100)
    alive = weakref.ref(node)
    memory.freeze_startup_objects()
    del node
    memory.collect_cycles()
    assert alive() is not None  # what the freeze is for: a full collection no longer visits it


def test_frozen_objects_still_work_and_new_cycles_are_still_collected(monkeypatch):
    monkeypatch.setattr(memory, "_frozen", False)
    memory.freeze_startup_objects()
    node = Node(b"y" * 1000)
    alive = weakref.ref(node)
    del node
    memory.collect_cycles()
    assert alive() is None


def test_libc_is_looked_up_once_per_process(monkeypatch):
    """``find_library`` starts ``ldconfig -p`` each time it is called; a validation returns freed
    memory after every frame, so the lookup is done once per process."""
    import ctypes.util
    import sys

    looked_up = []
    find = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: looked_up.append(name) or find(name))
    memory._malloc_trim.cache_clear()
    try:
        for _ in range(3):
            memory.return_freed_memory()
        assert looked_up == ["c"]
        assert memory._malloc_trim() is not None or sys.platform != "linux"  # glibc's, on Linux
    finally:
        memory._malloc_trim.cache_clear()
