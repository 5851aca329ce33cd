"""GX expectations' configurations built once per validation instead of on every read. A
speed-up only: a validation without it gives the same results (tests/test_validate.py)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def configurations_built_once() -> Iterator[None]:
    """Within a block, each GX expectation builds its ``configuration`` once.

    GX 1.x's ``Expectation.configuration`` is a property that serializes the expectation
    (pydantic ``dict()``) into a new ``ExpectationConfiguration`` on every read, and a run reads
    it once per keyword argument per step, many times per expectation: on small frames (an
    incremental validation) that dominates the run. Nothing changes an expectation
    while a validation runs (GX validates the objects it builds from the suite for the run),
    so the block memoizes the property per object and restores it after; the objects are held
    until then, so an id is never reused."""
    from great_expectations.expectations.expectation import Expectation

    prop = Expectation.__dict__["configuration"]
    built: dict[int, tuple[Any, Any]] = {}

    def configuration(self):
        hit = built.get(id(self))
        if hit is None or hit[0] is not self:
            hit = built[id(self)] = (self, prop.fget(self))
        return hit[1]

    Expectation.configuration = property(configuration, doc=prop.__doc__)
    try:
        yield
    finally:
        Expectation.configuration = prop
