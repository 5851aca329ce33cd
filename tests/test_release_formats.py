"""A release's analyst formats, changes, upload and verification on the seeds (issue 25).

One release of the seeds is cut once for the module (as tests/test_release.py does: plain
pipeline rows published into a throw-away output folder, a throw-away checkout committed long
ago) and every test reads it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.publishing import formats
from flows.cli import build_parser, main
from flows.contract.datapackage import validate_datapackage
from flows.publishing.diff import CHANGES_FILE, CHANGES_SCHEMA
from flows.publishing.release import ReleaseRefused, release
from flows.contract.schema import DERIVED_TABLES, PUBLISHED_TABLES, TABLES, load_schemas, schema_version
from flows.publishing.upload import SUMS
from tests.test_release import OLD_COMMIT_DATE, V1, V2, git, make_checkout, publish_rows, rows_from


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    repo = make_checkout(root)
    out = root / "curated"
    rows = rows_from(repo / "raw")
    publish_rows(out, repo / "raw", rows)
    result = release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)
    return result.path, out, repo, rows


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_duckdb_holds_every_table_with_every_column_commented(seeds):
    rel, *_ = seeds
    manifest = json.loads((rel / "manifest.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(rel / formats.DUCKDB_FILE), read_only=True)
    try:
        for name, ts in load_schemas().items():
            assert con.execute(f'select count(*) from "{name}"').fetchone() == (manifest["row_counts"][name],)
            comments = dict(con.execute("select column_name, comment from duckdb_columns() where table_name = ?",
                                        [name]).fetchall())
            assert comments == {c.name: c.description for c in ts.columns}
        assert con.execute("select data_type from duckdb_columns() where table_name = 'documents' "
                           "and column_name = 'repairs'").fetchone() == ("JSON",)
        joined = con.execute("select count(*), count(source_file) from metrics_with_documents").fetchone()
        assert joined == (manifest["row_counts"]["metrics"],) * 2  # every metric found its document
        for view in ("goals_with_documents", "bandwidth_targets_with_documents"):
            assert con.execute(f"select count(*) from {view}").fetchone()[0] > 0
        assert dict(con.execute("select key, value from dataset_release").fetchall())["version"] == V1
    finally:
        con.close()
    assert manifest["formats"]["duckdb"]["storage_version"] == formats.DUCKDB_STORAGE_VERSION


def test_csv_per_table_with_bom_same_rows_and_the_full_text_left_out(seeds):
    rel, *_ = seeds
    manifest = json.loads((rel / "manifest.json").read_text(encoding="utf-8"))
    for name in TABLES:
        raw = (rel / "csv" / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        assert len(rows) - 1 == manifest["row_counts"][name]
    header = next(csv.reader(io.StringIO((rel / "csv" / "documents.csv").read_text(encoding="utf-8-sig"))))
    assert "text" not in header and "doc_id" in header
    assert manifest["formats"]["csv"]["columns_left_out"]["documents"] == ["text"]
    card = (rel / "README.md").read_text(encoding="utf-8")
    assert "## Other formats" in card and "`documents.text`" in card


def test_wide_targets_csv_has_a_row_per_indicator_and_a_column_per_jurisdiction(seeds):
    rel, *_ = seeds
    raw = (rel / "csv" / formats.WIDE_TARGETS_CSV).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    targets = pq.read_table(rel / "targets.parquet").to_pylist()
    assert targets and header[:3] == ["indicator_id", "name_zh", "name_en"]
    assert set(header[3:]) == {t["jurisdiction"] or "" for t in targets} and len(header) == len(set(header))
    assert [r[0] for r in rows] == sorted({t["indicator_id"] for t in targets})
    # every target sits in its indicator's row under its jurisdiction, and nowhere else
    for t in targets:
        row = next(r for r in rows if r[0] == t["indicator_id"])
        assert f"{t['value']:g}" in row[header.index(t["jurisdiction"] or "")]
    filled = sum(1 for r in rows for cell in r[3:] if cell)
    assert filled == len({(t["indicator_id"], t["jurisdiction"]) for t in targets})
    doc = json.loads((rel / formats.CROISSANT_FILE).read_text(encoding="utf-8"))
    assert f"csv/{formats.WIDE_TARGETS_CSV}" in {f["contentUrl"] for f in doc["distribution"]}
    assert formats.WIDE_TARGETS_CSV in (rel / "csv" / "README.md").read_text(encoding="utf-8")


def test_wide_targets_csv_neutralizes_formulas_from_raw_texts(tmp_path):
    target = dict(indicator_id="online_service_rate", name_zh="=HYPERLINK(\"x\")", name_en="@SUM(A1)",
                  jurisdiction="-2+3", admin_code="520000", value=90.0, value_max=None, unit="%",
                  comparator=">=", target_year=2025)
    path = tmp_path / formats.WIDE_TARGETS_CSV
    formats.write_wide_targets_csv(path, pa.Table.from_pylist([target]))
    header, row = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    assert header == ["indicator_id", "name_zh", "name_en", "'-2+3"]
    assert row == ["online_service_rate", "'=HYPERLINK(\"x\")", "'@SUM(A1)", ">=90% (2025)"]


def test_data_dictionary_has_a_row_per_column_of_the_schemas(seeds):
    rel, *_ = seeds
    rows = list(csv.DictReader(io.StringIO((rel / formats.DICTIONARY_FILE).read_text(encoding="utf-8-sig"))))
    assert [(r["table"], r["column"]) for r in rows] == [(t.name, c.name) for t in load_schemas().values()
                                                         for c in t.columns]


def test_croissant_validates_describes_every_file_and_index_html_embeds_it(seeds):
    mlc = pytest.importorskip("mlcroissant")
    rel, *_ = seeds
    doc = json.loads((rel / formats.CROISSANT_FILE).read_text(encoding="utf-8"))
    dataset = mlc.Dataset(jsonld=rel / formats.CROISSANT_FILE)
    assert {rs.name for rs in dataset.metadata.record_sets} == set(PUBLISHED_TABLES)
    assert len(list(dataset.records("metrics"))) == pq.read_metadata(rel / "metrics.parquet").num_rows
    for f in doc["distribution"]:
        assert f["sha256"] == sha256(rel / f["contentUrl"]), f["contentUrl"]
    html = (rel / "index.html").read_text(encoding="utf-8")
    (body,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert json.loads(body) == doc and "</" not in body


def test_first_release_has_an_empty_changes_table_said_in_the_changelog(seeds):
    rel, *_ = seeds
    changes = pq.read_table(rel / CHANGES_FILE)
    assert changes.num_rows == 0 and changes.schema.equals(CHANGES_SCHEMA)
    assert f"`{CHANGES_FILE}` is empty" in (rel / "CHANGELOG.md").read_text(encoding="utf-8")


def test_sha256sums_cover_the_new_files(seeds):
    rel, *_ = seeds
    listed = {line.split("  ", 1)[1] for line in (rel / SUMS).read_text().splitlines()}
    assert {formats.DUCKDB_FILE, formats.CROISSANT_FILE, formats.DICTIONARY_FILE, CHANGES_FILE,
            "csv/README.md", "csv/metrics.csv", f"csv/{formats.WIDE_TARGETS_CSV}"} <= listed


def test_second_release_names_exactly_the_changed_rows_and_digigov_diff_prints_them(seeds, tmp_path, capsys):
    _, out, repo, rows = seeds
    work = tmp_path / "curated"
    shutil.copytree(out, work, symlinks=True)
    rows2 = {k: [dict(r) for r in v] for k, v in rows.items()}
    metric = rows2["metrics"][0]
    metric["value"] = metric["value"] - 1
    removed_goal = rows2["goals"].pop()
    publish_rows(work, repo / "raw", rows2)
    result = release(V2, out_dir=work, raw_dir=repo / "raw", repo=repo)
    changes = pq.read_table(result.path / CHANGES_FILE).to_pylist()
    extracted = [c for c in changes if c["table"] in TABLES]
    assert [(c["table"], c["row_id"], c["change"], c["column"]) for c in extracted] == [
        ("goals", removed_goal["goal_id"], "removed", None),
        ("metrics", metric["metric_id"], "changed", "value"),
    ]
    assert extracted[1]["new"] == repr(float(metric["value"]))  # old/new as text
    # the views follow: at most the target that metric states changes its value
    derived = [c for c in changes if c["table"] in DERIVED_TABLES]
    assert all((c["table"], c["change"], c["column"]) == ("targets", "changed", "value") for c in derived)
    assert len(derived) == (1 if metric.get("indicator_id") and metric["is_target"] else 0)
    log = (result.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## Rows changed per table" in log and "| `goals` | 0 | 1 | 0 | — | — |" in log
    assert "| `metrics` | 0 | 0 | 1 | value (1) | — |" in log and "| `tasks` | 0 | 0 | 0 | — | — |" in log
    assert main(["diff", V1, V2, "--out", str(work)]) == 0
    printed = capsys.readouterr().out
    assert f"metrics\t{metric['metric_id']}\tchanged\tvalue" in printed and f"{len(changes)} change(s)" in printed


def test_release_upload_to_a_file_url_through_the_cli_then_refused_again(seeds, tmp_path, capsys):
    rel, out, *_ = seeds
    bucket = tmp_path / "bucket"
    assert main(["release", "--version", V1, "--out", str(out), "--upload", f"file://{bucket}"]) == 0
    assert "every sha256 read back and verified" in capsys.readouterr().out
    uploaded = {p.relative_to(bucket / V1).as_posix(): sha256(p) for p in (bucket / V1).rglob("*") if p.is_file()}
    assert uploaded == {p.relative_to(rel).as_posix(): sha256(p) for p in rel.rglob("*") if p.is_file()}
    assert main(["release", "--version", V1, "--out", str(out), "--upload", f"file://{bucket}"]) == 1
    assert "never overwritten" in capsys.readouterr().err


def test_release_without_a_version_or_verify_is_a_usage_error(seeds, capsys):
    _, out, *_ = seeds
    assert main(["release", "--out", str(out)]) == 2
    assert "--version V is required" in capsys.readouterr().err


@pytest.mark.e2e
def test_verify_rebuilds_the_release_from_its_commit_and_raw_files_and_finds_the_same_rows(
        seeds, prefect_harness, capsys, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    rel, out, repo, _ = seeds
    # the rebuild's `digigov run` reports to the session's server instead of booting its own
    # (a fresh process booting the embedded server: test_ops.py)
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    monkeypatch.setattr("flows.publishing.versions.REPO_ROOT", repo)  # the code of the throw-away checkout's commit
    assert main(["release", "--verify", V1, "--out", str(out), "--raw", str(repo / "raw")]) == 0
    printed = capsys.readouterr().out
    assert "reproduced: every table's rows are identical" in printed
    for t in TABLES:
        assert re.search(rf"^  {t}: (\d+) released, \1 rebuilt, identical$", printed, re.M), t


# --- what a release records and checks (issue 25 item 4) -----------------------------------------------

def test_every_place_a_release_describes_itself_records_the_schema_version(seeds):
    rel, *_ = seeds
    version = schema_version()
    assert json.loads((rel / "manifest.json").read_text(encoding="utf-8"))["schema_version"] == version
    assert json.loads((rel / "datapackage.json").read_text(encoding="utf-8"))["digigovSchemaVersion"] == version
    assert pq.read_metadata(rel / "metrics.parquet").metadata[b"schema_version"] == version.encode()
    con = duckdb.connect(str(rel / formats.DUCKDB_FILE), read_only=True)
    assert dict(con.execute("select key, value from dataset_release").fetchall())["schema_version"] == version
    con.close()
    assert f"Schema version {version}." in (rel / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"| schema version | {version} |" in (rel / "README.md").read_text(encoding="utf-8")


def test_a_column_gone_since_the_previous_release_without_a_major_bump_is_refused(seeds, tmp_path):
    _, out, repo, _ = seeds
    work = tmp_path / "curated"
    shutil.copytree(out, work, symlinks=True)
    previous = work / "releases" / V1
    metrics = pq.read_table(previous / "metrics.parquet")
    pq.write_table(metrics.append_column("legacy", pa.array(["x"] * metrics.num_rows)), previous / "metrics.parquet")
    with pytest.raises(ReleaseRefused, match="bump its major version"):
        release(V2, out_dir=work, raw_dir=repo / "raw", repo=repo)
    assert not (work / "releases" / V2).exists()


def test_the_datapackage_says_frictionless_does_not_check_parquet_hashes_which_is_true(seeds, tmp_path):
    rel, *_ = seeds
    copy = tmp_path / "copy"
    shutil.copytree(rel, copy)
    package = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    assert "SHA256SUMS" in package["digigovIntegrity"] and "not the hashes" in package["digigovIntegrity"]
    package["resources"][0]["hash"] = "sha256:" + "0" * 64
    (copy / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    valid, _ = validate_datapackage(copy / "datapackage.json")
    assert valid, "frictionless checks Parquet hashes after all: the integrity note is wrong"
    checked = subprocess.run(["sha256sum", "-c", "--quiet", SUMS], cwd=copy, capture_output=True, text=True)
    assert checked.returncode != 0 and "datapackage.json: FAILED" in checked.stdout


def test_release_checks_the_raw_folder_its_build_recorded_unless_told_another(tmp_path):
    repo = make_checkout(tmp_path)
    subset = repo / "raw_subset"
    subset.mkdir()
    for path in sorted((repo / "raw").glob("*.txt"))[:4]:
        shutil.copy(path, subset / path.name)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "a subset", date_=OLD_COMMIT_DATE)
    out = tmp_path / "curated"
    publish_rows(out, subset, rows_from(subset))
    with pytest.raises(ReleaseRefused, match="was added after the build"):
        release(V1, out_dir=out, raw_dir=repo / "raw", repo=repo)  # another folder: its fifth file is new
    result = release(V1, out_dir=out, repo=repo)
    assert json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))["build"]["raw_dir"] == str(subset)
    assert build_parser().parse_args(["release", "--version", V1]).raw is None  # the CLI leaves it to the build


def test_an_empty_version_with_upload_is_refused_as_a_version_not_uploaded(seeds, tmp_path, capsys):
    _, out, *_ = seeds
    assert main(["release", "--version", "", "--out", str(out), "--upload", f"file://{tmp_path}/bucket"]) == 1
    assert "refused" in capsys.readouterr().err and not (tmp_path / "bucket").exists()
