"""Dependencies: the pins that keep Prefect working, and no library declared or fingerprinted unused."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.version import Version

from flows.storage.cache import TEXT_LIBRARIES
from tests.conftest import ROOT

FLOWS = ROOT / "flows"


def _declared() -> dict[str, Requirement]:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = [Requirement(r) for r in spec["project"]["dependencies"]]
    return {metadata_name(r.name): r for r in reqs}


def _locked() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;#]+).*", line.strip())
        if m:
            pins[metadata_name(m.group(1))] = Version(m.group(2))
    return pins


def metadata_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules() -> set[str]:
    """Top-level modules imported anywhere in flows/ (plain and lazy imports alike)."""
    found = set()
    for path in FLOWS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _top_level_modules(dist: str) -> set[str]:
    return {mod for mod, dists in metadata.packages_distributions().items()
            if any(metadata_name(d) == metadata_name(dist) for d in dists)}


def test_fastapi_is_pinned_below_0_151_in_pyproject_and_the_lock():
    # prefect 3.8's server answers the worker check of `prefect deploy` with 422 from fastapi 0.151
    declared = _declared()["fastapi"]
    assert not declared.specifier.contains("0.151.0") and declared.specifier.contains("0.150.0")
    assert _locked()["fastapi"] < Version("0.151")
    assert declared.specifier.contains(str(_locked()["fastapi"]))


def test_every_text_library_of_the_fingerprint_is_imported_by_flows():
    # a library hashed into the cache fingerprint but never used throws away every cached
    # document on each of its upgrades, for nothing
    imported = _imported_modules()
    unused = [lib for lib in TEXT_LIBRARIES if not (_top_level_modules(lib) & imported)]
    assert unused == []


def test_no_declared_dependency_is_unused_unless_it_is_a_pin_for_another():
    imported = _imported_modules()
    # fastapi and sqlalchemy are declared only to bound the versions prefect may take; duckdb
    # runs the query examples of the README and of every release's dataset card (tested);
    # s3fs is loaded by fsspec for s3:// URLs (digigov release --upload, tested on a moto server);
    # lxml_html_clean is imported by jusText (trafilatura's fallback), which does not declare it
    not_imported = {"fastapi", "sqlalchemy", "duckdb", "s3fs", "lxml-html-clean"}
    unused = [name for name in _declared() if name not in not_imported and not (_top_level_modules(name) & imported)]
    assert unused == []
    assert "charset-normalizer" not in _declared()
