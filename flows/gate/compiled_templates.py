"""GX's Data Docs templates compiled once per process instead of once per page view. A speed-up
only: the pages are the same (tests/test_validate.py compares them with and without it).

GX builds a new Jinja environment for every view it renders the Data Docs with (one per site
section and validation), and Jinja compiles each template it loads into Python code per
environment: the same few dozen templates, compiled again for every validation that writes
Data Docs. A Jinja bytecode cache is Jinja's own hook for reusing that code across
environments; this one holds it in memory, keyed (as every Jinja bytecode cache is) by the
template's name and file and checked against the source it was compiled from."""
from __future__ import annotations

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory for every environment given this cache (environments
    configured alike: the code Jinja generates depends on the environment's settings)."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        hit = self._code.get(bucket.key)
        if hit is not None and hit[0] == bucket.checksum:  # compiled from this very source
            bucket.code = hit[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


_caches: dict[type, CompiledTemplates] = {}


def compiled_templates(view_class: type) -> CompiledTemplates:
    """The cache shared by every environment of ``view_class``'s views (GX configures them alike)."""
    return _caches.setdefault(view_class, CompiledTemplates())
