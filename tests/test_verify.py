"""Reproducing a release (flows.publishing.verify): the raw files and code a manifest records, a rebuild, a
row-by-row comparison. Unit tests inject the rebuild; one test runs the real one."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.publishing import verify
from flows.publishing.versions import sha256_file
from tests.test_release import git

METRICS = pa.schema([pa.field("metric_id", pa.string()), pa.field("value", pa.float64()),
                     pa.field("repairs", pa.string())])
ROWS = [{"metric_id": "m1", "value": 90.0, "repairs": "{}"}, {"metric_id": "m2", "value": 5.0, "repairs": "[]"}]


@pytest.fixture()
def invented(tmp_path):
    """A git repo with one commit, a raw folder and a release folder whose manifest records both."""
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    (repo / "flows" / "__init__.py").write_text("", encoding="utf-8")
    (repo / "requirements.lock").write_text("pyarrow==0.0.1\n", encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "code")
    commit = git(repo, "rev-parse", "HEAD").strip()
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "001.txt").write_text("数字政府", encoding="utf-8")
    (raw / "later.txt").write_text("not in the release", encoding="utf-8")
    release = tmp_path / "2026.12.0"
    release.mkdir()
    table = pa.Table.from_pylist(ROWS, schema=METRICS)
    json_typed = table.set_column(2, pa.field("repairs", pa.json_()), table.column("repairs").cast(pa.json_()))
    pq.write_table(json_typed.replace_schema_metadata({"dataset_version": "2026.12.0"}), release / "metrics.parquet")
    (release / "datapackage.json").write_text(json.dumps({"resources": [
        {"name": "metrics", "schema": {"primaryKey": ["metric_id"]}}]}), encoding="utf-8")
    manifest = {"version": "2026.12.0", "code_version": {"git_commit": commit},
                "lock_file": {"sha256": sha256_file(repo / "requirements.lock")},
                "sources": {"001.txt": sha256_file(raw / "001.txt")}, "rejected_sources": {},
                "state": {"allow_dirty": False, "dirty_reasons": []}}
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return release, raw, repo


def fake_rebuild(rows, seen: dict | None = None):
    def rebuild(code: Path, raw: Path, out: Path) -> None:
        if seen is not None:
            seen["code"] = sorted(p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file())
            seen["raw"] = sorted(p.name for p in raw.iterdir())
        build = out / ".builds" / "b1"
        build.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=METRICS), build / "metrics.parquet")
        pq.write_table(pa.table({"k": [1]}), build / ".text_keys.parquet")  # a build internal: not a table
        (out / ".current").symlink_to(build.relative_to(out))
    return rebuild


def test_identical_rows_in_another_order_reproduce_the_release(invented):
    release, raw, repo = invented
    seen: dict = {}
    result = verify.verify_release(release, raw, repo, rebuild=fake_rebuild(ROWS[::-1], seen))
    assert result.reproduced and result.problems == []
    assert [(t.table, t.released_rows, t.rebuilt_rows, t.identical) for t in result.tables] == [("metrics", 2, 2, True)]
    assert seen == {"code": ["flows/__init__.py", "requirements.lock"], "raw": ["001.txt"]}  # only recorded raw files
    assert any("pyarrow" in lim and "locked" in lim for lim in result.limits)  # the environment differs from the lock
    assert result.lines()[0].endswith(f"reproduced: every table's rows are identical (commit {result.commit[:12]})")


def test_a_differing_row_is_reported_with_the_cell(invented):
    release, raw, repo = invented
    rows = [dict(ROWS[0], value=91.0), ROWS[1]]
    result = verify.verify_release(release, raw, repo, rebuild=fake_rebuild(rows))
    assert not result.reproduced
    assert [(e["row_id"], e["column"], e["old"], e["new"]) for e in result.examples] == [("m1", "value", "90.0", "91.0")]
    assert "NOT reproduced" in result.lines()[0] and "1 change(s)" in result.lines()[1]


def test_a_missing_row_is_not_reproduced(invented):
    release, raw, repo = invented
    result = verify.verify_release(release, raw, repo, rebuild=fake_rebuild(ROWS[:1]))
    assert not result.reproduced and result.tables[0].rebuilt_rows == 1


def test_a_changed_or_missing_raw_file_stops_before_any_rebuild(invented):
    release, raw, repo = invented

    def never(*_):
        raise AssertionError("rebuilt")

    (raw / "001.txt").write_text("改过", encoding="utf-8")
    result = verify.verify_release(release, raw, repo, rebuild=never)
    assert not result.reproduced and result.problems == [f"raw file 001.txt in {raw} differs from its sha256 in the manifest"]
    (raw / "001.txt").unlink()
    assert verify.verify_release(release, raw, repo, rebuild=never).problems == [f"raw file 001.txt is not in {raw}"]


def test_an_unknown_commit_or_none_recorded_cannot_be_verified(invented):
    release, raw, repo = invented
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    manifest["code_version"]["git_commit"] = "0" * 40
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = verify.verify_release(release, raw, repo, rebuild=fake_rebuild(ROWS))
    assert not result.reproduced and "cannot be read from" in result.problems[0]
    manifest["code_version"]["git_commit"] = None
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert "no git commit" in verify.verify_release(release, raw, repo).problems[0]


def test_lock_differences_name_each_package():
    assert verify.lock_differences("# header\npyarrow==0.0.1\nno-such-package-xyz==1.0\n") == [
        f"pyarrow {pa.__version__} installed, 0.0.1 locked", "no-such-package-xyz 1.0 is not installed"]
    assert verify.lock_differences(f"pyarrow=={pa.__version__}\n") == []
