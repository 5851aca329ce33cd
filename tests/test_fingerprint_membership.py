"""Which code decides a document's rows, by subpackage: editing any module changes exactly the
fingerprints it should, so no stale cached row and no skipped revalidation survives a change."""
import shutil
from pathlib import Path

import pytest

import flows.storage.cache as cache_mod
from flows.storage.cache import code_fingerprint, rules_fingerprint

ROOT = Path(__file__).resolve().parent.parent
# Each entry of flows/, classified by hand: a new subpackage fails the first test until it is.
PROCESSING = {"ingest", "normalize", "structure", "extract", "compare", "contract", "patterns", "dicts",
              "pipeline.py", "budget.py", "records.py", "__init__.py"}
RULES = {"gate"}
NEITHER = {"orchestration", "storage", "publishing", "tooling", "vendor", "build.py", "cli.py"}


def test_every_entry_of_flows_is_classified_once():
    entries = {p.name for p in (ROOT / "flows").iterdir() if p.name != "__pycache__"}
    assert entries == PROCESSING | RULES | NEITHER
    assert not (PROCESSING & RULES or PROCESSING & NEITHER or RULES & NEITHER)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    dst = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "flows", dst / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", dst / "schemas")
    return dst


def _fingerprints():
    code_fingerprint.cache_clear()
    rules_fingerprint.cache_clear()
    return code_fingerprint(), rules_fingerprint()


def test_editing_each_module_changes_the_right_fingerprints(project, monkeypatch):
    monkeypatch.setattr(cache_mod, "FLOWS_DIR", project / "flows")
    monkeypatch.setattr(cache_mod, "SCHEMA_DIR", project / "schemas")
    try:
        base = _fingerprints()
        files = sorted(p for p in (project / "flows").rglob("*") if p.is_file())
        assert len(files) > 60
        wrong = []
        for path in files:
            entry = path.relative_to(project / "flows").parts[0]
            before = path.read_bytes()
            path.write_bytes(before + b"\n# edited\n")
            code, rules = _fingerprints()
            path.write_bytes(before)
            expected = (entry in PROCESSING, entry in PROCESSING | RULES)
            if ((code != base[0]), (rules != base[1])) != expected:
                wrong.append((str(path.relative_to(project)), expected))
        assert wrong == []
        assert _fingerprints() == base
    finally:
        code_fingerprint.cache_clear()
        rules_fingerprint.cache_clear()
