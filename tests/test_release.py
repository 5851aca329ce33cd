"""Releases (issue 7): the seeds' tables released into a temporary folder, every file checked.

Most tests publish tables with ``flows.storage.publish`` from plain pipeline rows (no Prefect) into a
throw-away output folder, and release from a throw-away git checkout whose commit predates the
build, so the clean path is exercised without ``--allow-dirty``. The changed-document test runs
the real flow twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from flows.compare.views import derived_rows
from flows.contract.dictionary import md_cell
from flows.contract.schema import PUBLISHED_TABLES, TABLES, load_schemas, schema
from flows.ingest.raw_files import discover, read_raw
from flows.pipeline import mark_duplicates, merge, process_document
from flows.publishing.release import ReleaseRefused, raw_drift, release
from flows.publishing.verify import comparable
from flows.publishing.versions import LATEST, RELEASES, existing_versions, parse_version, sha256_file
from flows.storage.publish import new_build_dir, publish, write_build
from tests.conftest import RAW, ROOT, SEEDS, copy_build, copy_seeds

V1 = "2026.11.0"
V2 = "2026.11.1"
OLD_COMMIT_DATE = "2020-01-01T00:00:00Z"
EXPECTED_FILES = {f"{t}.parquet" for t in PUBLISHED_TABLES} | {
    "datapackage.json", "README.md", "CITATION.cff", "SHA256SUMS", "manifest.json", "CHANGELOG.md",
    "index.html", "validation/README.md", "validation/release_gate.json",
    "digigov.duckdb", "data_dictionary.csv", "croissant.json", "changes.parquet", "csv/README.md",
} | {f"csv/{t}.csv" for t in PUBLISHED_TABLES} | {"csv/targets_wide.csv"}
FRICTIONLESS = Path(sys.executable).with_name("frictionless")


# --- helpers ---------------------------------------------------------------------------------------

def rows_from(raw_dir: Path):
    return mark_duplicates(merge([process_document(read_raw(raw_dir, p)) for p in discover(raw_dir)]))


def tables_of_rows(rows) -> dict:
    """Every published table of the rows: the extracted ones and the views derived from them."""
    tables = {name: schema(name).table(rows[name]) for name in TABLES}
    derived = derived_rows(tables["documents"].to_pylist(), tables["metrics"].to_pylist(),
                           bandwidth=tables["bandwidth_targets"].to_pylist())
    return {**tables, **{name: schema(name).table(r) for name, r in derived.items()}}


def publish_rows(out: Path, raw_dir: Path, rows, with_meta: bool = True) -> None:
    """What the flow's write step does, without Prefect: stage, record, publish."""
    tables = tables_of_rows(rows)
    meta = {
        "code_version": "test",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "raw_dir": str(raw_dir),
        "row_counts": {n: t.num_rows for n, t in tables.items()},
        "sources": {d["source_file"]: d["source_sha256"] for d in rows["documents"]},
    }
    build = new_build_dir(out)
    write_build(tables, build, meta)
    if not with_meta:
        (build / "_build.json").unlink()
    publish(build, out, list(tables))


def git(repo: Path, *args: str, date_: str | None = None) -> str:
    env = {"GIT_AUTHOR_DATE": date_, "GIT_COMMITTER_DATE": date_} if date_ else {}
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          capture_output=True, text=True, env={**os.environ, **env}, check=True)
    return done.stdout


def make_checkout(root: Path) -> Path:
    """A git checkout with the project's code, schemas, lock file and the seeds, committed long ago."""
    repo = root / "checkout"
    repo.mkdir()
    for name in ("flows", "schemas"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    copy_seeds(repo / "raw")  # the five seeds: these tests are about releasing, not about the corpus
    shutil.copy(RAW / "manifest.csv", repo / "raw" / "manifest.csv")
    for name in ("requirements.lock", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "seed", date_=OLD_COMMIT_DATE)
    return repo


def tree(path: Path) -> dict[str, tuple[str, float]]:
    return {p.relative_to(path).as_posix(): (sha256_file(p), p.stat().st_mtime)
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def seed_release(tmp_path_factory):
    """The seeds built and released once from a clean checkout: (release dir, result, out, repo)."""
    root = tmp_path_factory.mktemp("release")
    repo = make_checkout(root)
    out = root / "curated"
    publish_rows(out, repo / "raw", rows_from(repo / "raw"))
    result = release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    return result.path, result, out, repo


@pytest.fixture()
def fresh(tmp_path):
    """A clean checkout with the seeds built into its own output folder (for tests that change things)."""
    repo = make_checkout(tmp_path)
    out = tmp_path / "curated"
    publish_rows(out, repo / "raw", rows_from(repo / "raw"))
    return out, repo


# --- the release folder -------------------------------------------------------------------------

def test_release_holds_every_file_and_nothing_else(seed_release):
    rel, result, out, _ = seed_release
    files = {p.relative_to(rel).as_posix() for p in rel.rglob("*") if p.is_file()}
    assert files == EXPECTED_FILES
    assert result.files == len(files) and result.bytes == sum((rel / f).stat().st_size for f in files)
    assert (out / RELEASES / LATEST).read_text() == V1 + "\n"
    assert [p.name for p in (out / RELEASES).iterdir() if ".tmp-" in p.name] == []
    assert rel.stat().st_mode & 0o755 == 0o755, "a published release must be readable by everyone"
    print(f"\nrelease of the seeds: {result.files} files, {result.bytes} bytes, {result.seconds} s")


def test_parquet_tables_carry_the_version_and_the_column_descriptions(seed_release):
    rel, _, out, _ = seed_release
    for name in PUBLISHED_TABLES:
        released = pq.read_table(rel / f"{name}.parquet")
        built = pq.read_table(out / f"{name}.parquet")
        assert comparable(released).equals(built), name  # the same rows; JSON columns typed JSON in a release
        assert all(isinstance(released.schema.field(c.name).type, pa.JsonType)
                   for c in schema(name).columns if c.type == "json")
        file_meta = pq.read_metadata(rel / f"{name}.parquet").metadata
        assert file_meta[b"dataset_version"] == V1.encode()
        assert file_meta[b"licence"] == b"CC-BY-4.0"
        for col in schema(name).columns:
            assert released.schema.field(col.name).metadata[b"description"].decode() == col.description


def test_datapackage_passes_frictionless_validate(seed_release):
    rel, *_ = seed_release
    done = subprocess.run([str(FRICTIONLESS), "validate", "--json", "datapackage.json"], cwd=rel,
                          capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["valid"], done.stdout[-3000:]
    assert sorted(t["name"] for t in report["tasks"]) == sorted(PUBLISHED_TABLES)
    rows = {t["name"]: t["stats"].get("rows", 0) for t in report["tasks"]}
    manifest = json.loads((rel / "manifest.json").read_text())
    assert rows == manifest["row_counts"]


def test_datapackage_describes_every_table_from_the_schemas(seed_release):
    rel, *_ = seed_release
    dp = json.loads((rel / "datapackage.json").read_text())
    assert dp["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert dp["version"] == V1 and dp["licenses"][0]["name"] == "CC-BY-4.0"
    assert {s["sha256"] for s in dp["sources"]} == set(json.loads((rel / "manifest.json").read_text())["sources"].values())
    by_name = {r["name"]: r for r in dp["resources"]}
    assert set(by_name) == set(PUBLISHED_TABLES)
    for name, table in load_schemas().items():
        res = by_name[name]
        path = rel / res["path"]
        assert res["format"] == "parquet" and res["hash"] == f"sha256:{sha256_file(path)}"
        assert res["digigovBytes"] == path.stat().st_size
        fields = res["schema"]["fields"]
        assert [f["name"] for f in fields] == table.column_names
        assert [f["description"] for f in fields] == [c.description for c in table.columns]
        for f, c in zip(fields, table.columns):
            assert f.get("constraints", {}).get("required", False) == (not c.nullable)
            if c.allowed is not None and f["type"] != "any":
                assert f["constraints"]["enum"] == list(c.allowed)
        assert res["schema"].get("primaryKey", []) == list(table.primary_key)
        assert len(res["schema"].get("foreignKeys", [])) == len(table.foreign_keys)
    docs = {f["name"]: f for f in by_name["documents"]["schema"]["fields"]}
    assert docs["repairs"]["type"] == "array" and docs["metadata_flags"]["digigovType"] == "list<string>"
    assert docs["doc_number"]["constraints"]["pattern"] == r"\S{1,12}〔\d{4}〕\d+号"


def test_sha256sums_cover_every_file_and_verify(seed_release, tmp_path):
    rel, *_ = seed_release
    listed = {line.split("  ", 1)[1] for line in (rel / "SHA256SUMS").read_text().splitlines()}
    assert listed == EXPECTED_FILES - {"SHA256SUMS"}
    done = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=rel, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    copy = tmp_path / "copy"
    shutil.copytree(rel, copy)
    with open(copy / "goals.parquet", "ab") as fh:
        fh.write(b"\0")
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=copy, capture_output=True).returncode != 0


def test_manifest_describes_code_inputs_and_rows(seed_release):
    rel, _, out, repo = seed_release
    m = json.loads((rel / "manifest.json").read_text())
    assert m["version"] == V1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created"])
    assert m["code_version"]["git_commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert m["code_version"]["dirty_paths"] == [] and m["state"] == {"allow_dirty": False, "dirty_reasons": []}
    assert m["lock_file"]["sha256"] == hashlib.sha256((repo / "requirements.lock").read_bytes()).hexdigest()
    assert m["sources"] == {p.name: sha256_file(p) for p in discover(repo / "raw")}
    assert m["row_counts"] == {t: pq.read_metadata(out / f"{t}.parquet").num_rows for t in PUBLISHED_TABLES}
    assert m["validation"]["success"] is True and m["previous_release"] is None
    gate = json.loads((rel / "validation" / "release_gate.json").read_text())
    assert gate["success"] is True and gate["expectations"] == m["validation"]["expectations"] > 0


def test_citation_cff_is_cff_1_2_for_a_dataset(seed_release):
    rel, *_ = seed_release
    cff = yaml.safe_load((rel / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors", "type", "version", "date-released", "license"):
        assert cff.get(key), key
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset" and cff["version"] == V1
    assert isinstance(cff["date-released"], str)
    assert date.fromisoformat(cff["date-released"]).isoformat() == json.loads((rel / "manifest.json").read_text())["created"][:10]
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert cff["commit"] == json.loads((rel / "manifest.json").read_text())["code_version"]["git_commit"]


def test_dataset_card_documents_tables_columns_documents_and_limitations(seed_release):
    rel, *_ = seed_release
    card = (rel / "README.md").read_text()
    for name, table in load_schemas().items():
        assert f"### `{name}`" in card
        for col in table.columns:
            assert f"| `{col.name}` | {md_cell(col.type)} |" in card, (name, col.name)  # list\<string\>
    docs = pq.read_table(rel / "documents.parquet", columns=["source_file", "province", "title", "issue_date"]).to_pylist()
    for d in docs:
        row = next(line for line in card.splitlines() if f"`{d['source_file']}`" in line)
        assert (d["province"] or "—") in row and str(d["issue_date"] or "—") in row
        if d["title"]:
            assert d["title"] in row
    for heading in ("## Documents covered", "## How it was built", "## Known limitations", "## Licence",
                    "## How to cite", "## Examples"):
        assert heading in card
    assert "documents.unrecoverable_spans" in card and "documents.metadata_flags" in card
    assert "## Sources and rights" in card and "Article 5" in card and "third-party commentary" in card
    assert "CC-BY-4.0" in card and V1 in card


def test_dataset_card_examples_run_against_the_release(seed_release):
    rel, *_ = seed_release
    blocks = re.findall(r"```python\n(.*?)```", (rel / "README.md").read_text(), re.S)
    assert len(blocks) >= 3
    assert any("pandas" in b for b in blocks) and any("duckdb" in b for b in blocks)
    for code in blocks:
        done = subprocess.run([sys.executable, "-c", code], cwd=rel, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, code + done.stderr
    assert V1 in done.stdout  # the pyarrow example prints the version from the file metadata


def test_first_changelog_lists_every_document_as_added(seed_release):
    rel, *_ = seed_release
    log = (rel / "CHANGELOG.md").read_text()
    assert "First release" in log
    assert log.count("- added: ") == len(SEEDS)


# --- refusals -------------------------------------------------------------------------------------

def test_a_second_release_of_a_version_is_refused_and_changes_nothing(seed_release, capsys):
    _, _, out, repo = seed_release
    before = tree(out / RELEASES)
    with pytest.raises(ReleaseRefused, match="already exists"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    from flows.cli import main

    assert main(["release", "--version", V1, "--out", str(out), "--raw", str(repo / "raw"), "--allow-dirty"]) == 1
    assert "never overwritten" in capsys.readouterr().err
    assert tree(out / RELEASES) == before


@pytest.mark.parametrize("bad", ["2026.11", "v2026.11.0", "2026.01.0", "2026.11.0-rc1", "", "latest"])
def test_versions_must_be_major_minor_patch(bad, fresh):
    out, repo = fresh
    with pytest.raises(ReleaseRefused, match="MAJOR.MINOR.PATCH"):
        release(bad, out_dir=out, raw_dir=repo / "raw", repo=repo)
    assert not (out / RELEASES).exists()


def test_parse_version_orders_numerically():
    assert parse_version("2026.11.0") < parse_version("2026.11.1") < parse_version("2026.12.0") < parse_version("2027.1.0")
    assert parse_version("2026.9.0") < parse_version("2026.10.0")


def test_tables_failing_validation_are_refused(fresh):
    out, repo = fresh
    rows = rows_from(repo / "raw")
    tables = tables_of_rows(rows)
    tables["goals"] = tables["goals"].drop_columns(["statement"])  # off contract
    build = new_build_dir(out)
    write_build(tables, build, {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "sources": {d["source_file"]: d["source_sha256"] for d in rows["documents"]}})
    publish(build, out, list(tables))
    with pytest.raises(ReleaseRefused, match=r"validation failed: goals"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo, allow_dirty=True)
    assert existing_versions(out / RELEASES) == []


def test_tables_older_than_the_raw_folder_are_refused_naming_each_file(fresh):
    out, repo = fresh
    raw = repo / "raw"
    seeds = discover(raw)
    seeds[0].write_bytes(seeds[0].read_bytes() + "\n到2030年，全面建成数字政府。\n".encode())
    seeds[1].unlink()
    (raw / "sub").mkdir()
    (raw / "sub" / "new plan.md").write_text("# 某省数字政府建设方案\n", encoding="utf-8")
    with pytest.raises(ReleaseRefused) as exc:
        release(V1, out_dir=out, raw_dir=raw, repo=repo, allow_dirty=True)
    msg = str(exc.value)
    assert f"raw file {seeds[0].name} changed after the build" in msg
    assert f"raw file {seeds[1].name} was removed after the build" in msg
    assert "raw file sub/new plan.md was added after the build" in msg
    assert "older than the raw folder" in msg
    assert not (out / RELEASES / V1).exists()


def test_raw_drift_ignores_non_raw_files_and_accepts_covered_rejects(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "manifest.csv").write_text("file,sha256\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    docs = {"a.txt": sha256_file(tmp_path / "a.txt")}
    assert raw_drift(tmp_path, docs, {"empty.txt": None}) == []
    assert raw_drift(tmp_path, docs, {}) == ["raw file empty.txt was added after the build"]


def test_uncommitted_code_is_refused_unless_allowed_and_then_recorded(fresh):
    out, repo = fresh
    (repo / "flows" / "normalize" / "text.py").write_text("# edited\n", encoding="utf-8")
    (repo / "schemas" / "draft.yaml").write_text("name: draft\n", encoding="utf-8")
    with pytest.raises(ReleaseRefused, match=r"uncommitted changes .*flows/normalize/text.py.*schemas/draft.yaml.*--allow-dirty"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    assert not (out / RELEASES / V1).exists()
    result = release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo, allow_dirty=True)
    m = json.loads((result.path / "manifest.json").read_text())
    assert m["state"]["allow_dirty"] is True
    assert m["code_version"]["dirty_paths"] == ["flows/normalize/text.py", "schemas/draft.yaml"]
    assert "allow-dirty" in (result.path / "README.md").read_text()


def test_uncommitted_raw_file_in_the_checkout_is_dirty(fresh):
    out, repo = fresh
    seed = discover(repo / "raw")[0]
    git(repo, "rm", "-q", "--cached", str(seed.relative_to(repo)))  # built from, but not in the commit
    with pytest.raises(ReleaseRefused, match=f"uncommitted changes .*raw/{seed.name}"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)


def test_code_committed_after_the_build_is_refused(fresh):
    out, repo = fresh
    (repo / "flows" / "normalize" / "text.py").write_text("# newer\n", encoding="utf-8")
    git(repo, "commit", "-qam", "newer code", date_="2099-01-01T00:00:00Z")
    with pytest.raises(ReleaseRefused, match="after the tables were built"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)


def test_not_a_git_checkout_or_no_build_record_is_an_unknown_state(fresh, tmp_path):
    out, repo = fresh
    shutil.rmtree(repo / ".git")
    with pytest.raises(ReleaseRefused, match="not a git checkout"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    publish_rows(out, repo / "raw", rows_from(repo / "raw"), with_meta=False)
    with pytest.raises(ReleaseRefused, match="has no _build.json"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    result = release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo, allow_dirty=True)
    m = json.loads((result.path / "manifest.json").read_text())
    assert m["code_version"]["git_commit"] is None and len(m["state"]["dirty_reasons"]) == 2
    with pytest.raises(ReleaseRefused, match="no current build"):
        release(V2, out_dir=tmp_path / "empty", raw_dir=repo / "raw", repo=repo, allow_dirty=True)


# --- atomicity and order ----------------------------------------------------------------------------

def test_a_crash_while_staging_leaves_no_version_and_latest_unchanged(fresh):
    out, repo = fresh
    release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)

    def crash(stage: Path) -> None:
        assert (stage / "SHA256SUMS").is_file()  # fully written, not yet renamed
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        release(V2, out_dir=out, raw_dir=repo / "raw", repo=repo, after_stage=crash)
    releases = out / RELEASES
    assert existing_versions(releases) == [V1] and (releases / LATEST).read_text().strip() == V1
    assert not list(releases.glob(".*.tmp-*"))
    # a hard kill leaves its staging folder behind: never a version, removed by the next release
    stale = releases / f".{V2}.tmp-killed"
    stale.mkdir()
    (stale / "documents.parquet").write_bytes(b"half")
    assert existing_versions(releases) == [V1]
    release(V2, out_dir=out, raw_dir=repo / "raw", repo=repo)
    assert not stale.exists() and existing_versions(releases) == [V1, V2]
    assert (releases / LATEST).read_text().strip() == V2


def test_an_older_patch_release_does_not_move_latest(fresh):
    out, repo = fresh
    release("2026.12.0", out_dir=out, raw_dir=repo / "raw", repo=repo)
    result = release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    assert result.latest == "2026.12.0" and result.previous is None
    assert (out / RELEASES / LATEST).read_text().strip() == "2026.12.0"


# --- changelog --------------------------------------------------------------------------------------

def _metric(doc, section_id, indicator, value, metric_id, unit="%"):
    return dict(metric_id=metric_id, doc_id=doc["doc_id"], section_id=section_id, indicator=indicator,
                subject=None, value=value, value_max=None, unit=unit, comparator=">=", measure="level", target_year=2025,
                is_target=True, value_text=f"{value:g}{unit}", source_text=doc["text"][0:1], char_start=0, char_end=1,
                extractor="sentence")


def _bandwidth(doc, section_id, mbps, level, bandwidth_id):
    return dict(bandwidth_id=bandwidth_id, doc_id=doc["doc_id"], section_id=section_id, network="电子政务外网",
                bandwidth_mbps=mbps, bandwidth_label=str(mbps), admin_level=level, admin_level_text="市",
                target_year=None, source_text=doc["text"][0:1], char_start=0, char_end=1, extractor="levels_after")


def test_changelog_lists_target_values_that_changed(fresh):
    out, repo = fresh
    raw = repo / "raw"
    rows = rows_from(raw)
    doc = rows["documents"][0]
    sec = next(s["section_id"] for s in rows["sections"] if s["doc_id"] == doc["doc_id"])
    rows["metrics"] = [_metric(doc, sec, "全程网办率", 90, "m1"), _metric(doc, sec, "电子证照应用率", 80, "m2")]
    rows["bandwidth_targets"] = [_bandwidth(doc, sec, 1000, "prefecture", "b1")]
    publish_rows(out, raw, rows)
    release(V1, out_dir=out, raw_dir=raw, repo=repo)
    rows["metrics"] = [_metric(doc, sec, "全程网办率", 95, "m1"), _metric(doc, sec, "一网通办率", 100, "m3")]
    rows["bandwidth_targets"] = [_bandwidth(doc, sec, 10000, "prefecture", "b1")]
    reread = rows["documents"][1]
    old_province, reread["province"] = reread["province"], "测试省"  # same bytes, read differently
    publish_rows(out, raw, rows)
    result = release(V2, out_dir=out, raw_dir=raw, repo=repo)
    log = (result.path / "CHANGELOG.md").read_text()
    assert result.previous == V1 and f"previous release, {V1}" in log
    assert "No document was added, removed or changed." in log and "Code:" not in log  # same commit
    assert f"| {reread['source_file']} | province | {old_province or '—'} | 测试省 |" in log
    assert log.count("| province |") == 1
    metrics_part = log.split("## metrics: values changed")[1].split("## bandwidth_targets")[0]
    changed = [l for l in metrics_part.splitlines() if l.startswith("| ") and not l.startswith("| change |")]
    assert sorted(l.split(" | ")[0] + " " + l.split(" | ")[2] for l in changed) == [
        "| added 一网通办率", "| changed 全程网办率", "| removed 电子证照应用率"]
    assert ">= 90" in metrics_part and ">= 95" in metrics_part  # old and new value side by side
    bw = log.split("## bandwidth_targets: values changed")[1]
    assert "| changed |" in bw and "1000" in bw and "10000" in bw
    assert "| metrics | 2 | 2 | +0 |" in log and "| bandwidth_targets | 1 | 1 | +0 |" in log


EDITED = ("个人事项90%", "个人事项95%")


def _release_rows(release_dir: Path) -> dict[str, dict[str, dict]]:
    """Each table of a release (documents, sections, metrics, targets) by its row id."""
    keys = {"documents": "doc_id", "sections": "section_id", "metrics": "metric_id", "targets": "target_id"}
    return {name: {r[key]: r for r in pq.read_table(release_dir / f"{name}.parquet").to_pylist()}
            for name, key in keys.items()}


@pytest.mark.e2e
def test_a_release_after_one_raw_document_changed_shows_exactly_that_document(seeds_published, tmp_path):
    from flows.build import build_dataset

    repo = make_checkout(tmp_path)
    raw = repo / "raw"
    out = copy_build(seeds_published[0], tmp_path / "curated")  # the flow's build of these five seeds
    release(V1, out_dir=out, raw_dir=raw, repo=repo)
    result_v1_commit = git(repo, "rev-parse", "HEAD").strip()
    changed = discover(raw)[0]  # the Guizhou seed: one value edited
    assert changed.read_text(encoding="utf-8").count(EDITED[0]) == 1
    changed.write_text(changed.read_text(encoding="utf-8").replace(*EDITED), encoding="utf-8")
    git(repo, "commit", "-qam", "raw document revised", date_=OLD_COMMIT_DATE)
    with pytest.raises(ReleaseRefused, match=f"raw file {changed.name} changed after the build"):
        release(V2, out_dir=out, raw_dir=raw, repo=repo)
    build_dataset(raw_dir=str(raw), out_dir=str(out))
    result = release(V2, out_dir=out, raw_dir=raw, repo=repo)
    log = (result.path / "CHANGELOG.md").read_text()
    doc_lines = [l for l in log.split("## Documents")[1].split("##")[0].splitlines() if l.startswith("- ")]
    assert doc_lines == [f"- changed: `{changed.name}` (sha256 `{json.loads((out / RELEASES / V1 / 'manifest.json').read_text())['sources'][changed.name]}` → `{sha256_file(changed)}`)"]
    assert "| documents | 5 | 5 | +0 |" in log
    # changes.parquet names exactly the rows whose content changed: the document keeps its doc_id
    # (of its document_key, flows/contract/ids.py), and so do all its rows; the metric whose value
    # changed is removed and added (a metric's id includes its value), its target changes value
    old_rows, new_rows = (_release_rows(out / RELEASES / v) for v in (V1, V2))
    (doc,) = [d for d in old_rows["documents"].values() if d["source_file"] == changed.name]
    assert new_rows["documents"][doc["doc_id"]]["source_file"] == changed.name
    changes = pq.read_table(result.path / "changes.parquet").to_pylist()
    kinds = {(c["table"], c["change"], c["column"]) for c in changes}
    assert kinds == {("documents", "changed", "source_sha256"), ("documents", "changed", "text"),
                     ("sections", "changed", "text"), ("metrics", "removed", None), ("metrics", "added", None),
                     ("metrics", "changed", "source_text"), ("targets", "changed", "value"),
                     ("targets", "changed", "metric_id"), ("targets", "changed", "source_text")}, kinds
    (removed,) = [old_rows["metrics"][c["row_id"]] for c in changes if c["change"] == "removed"]
    (added,) = [new_rows["metrics"][c["row_id"]] for c in changes if c["change"] == "added"]
    assert (removed["value"], added["value"]) == (90.0, 95.0) and removed["indicator"] == added["indicator"]
    (target,) = [c for c in changes if (c["table"], c["column"]) == ("targets", "value")]
    assert (target["old"], target["new"]) == ("90.0", "95.0")
    for c in changes:  # every row named is of that document and quoted the edited value
        before, after = old_rows[c["table"]].get(c["row_id"]), new_rows[c["table"]].get(c["row_id"])
        assert {r["doc_id"] for r in (before, after) if r} == {doc["doc_id"]}, c
        if c["change"] == "changed" and c["column"] != "source_sha256":
            assert EDITED[0] in str(before[c["column"]]) or c["column"] in ("value", "metric_id"), c
    assert len(changes) < 20  # not every row of the document (it has hundreds)
    assert f"Code: `{result_v1_commit[:12]}` → `{git(repo, 'rev-parse', 'HEAD').strip()[:12]}`." in log
    assert (out / RELEASES / LATEST).read_text().strip() == V2


def _data_docs(out: Path, build: str | None) -> None:
    (out / "validation" / "static").mkdir(parents=True)
    (out / "validation" / "index.html").write_text("<html>data docs</html>", encoding="utf-8")
    (out / "validation" / "static" / "style.css").write_text("body{}", encoding="utf-8")
    if build is not None:
        (out / "validation" / "build.json").write_text(json.dumps({"build": build, "success": True}))


def test_data_docs_of_the_run_are_copied_with_the_release_gate(fresh):
    out, repo = fresh
    _data_docs(out, (out / ".current").resolve().name)
    result = release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    docs = result.path / "validation" / "data_docs"
    assert (docs / "index.html").read_text() == "<html>data docs</html>" and (docs / "static" / "style.css").is_file()
    sums = (result.path / "SHA256SUMS").read_text()
    assert "validation/data_docs/index.html" in sums and "validation/data_docs/static/style.css" in sums
    assert "the build released here" in (result.path / "validation" / "README.md").read_text()


@pytest.mark.parametrize("build", ["0123456789ab", None], ids=["another build", "no record"])
def test_data_docs_of_another_build_are_never_released(fresh, build):
    # a failed run leaves the Data Docs of its own staged build in OUT/validation/
    out, repo = fresh
    _data_docs(out, build)
    result = release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    assert not (result.path / "validation" / "data_docs").exists()
    notes = (result.path / "validation" / "README.md").read_text()
    assert "No Data Docs are included" in notes and "digigov validate" in notes


def test_a_package_frictionless_rejects_is_never_published(fresh, monkeypatch):
    import flows.publishing.release as rel

    out, repo = fresh
    monkeypatch.setattr(rel, "validate_datapackage", lambda path: (False, ["goals: broken foreign key"]))
    with pytest.raises(ReleaseRefused, match="broken foreign key"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    assert existing_versions(out / RELEASES) == [] and not list((out / RELEASES).glob(".*.tmp-*"))
    assert not (out / RELEASES / LATEST).exists()


def test_raw_drift_takes_a_quarantined_new_version_over_its_stale_document(tmp_path):
    # the published build keeps the last good version's rows (stale) and rejects the new one
    (tmp_path / "a.txt").write_text("新版本", encoding="utf-8")
    new, old = sha256_file(tmp_path / "a.txt"), "0" * 64
    assert raw_drift(tmp_path, {"a.txt": old}, {"a.txt": new}) == []
    (tmp_path / "a.txt").write_text("又一版", encoding="utf-8")
    assert raw_drift(tmp_path, {"a.txt": old}, {"a.txt": new}) == [
        f"raw file a.txt changed after the build (sha256 {new[:12]}… in the tables)"]
