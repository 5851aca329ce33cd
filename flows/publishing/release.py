"""Release: cut an immutable, checksummed, self-describing version of the current tables.

``release(version, out_dir, raw_dir)`` writes ``OUT/releases/<version>/`` from the build that
``OUT/.current`` points to:

    <table>.parquet   the tables, rewritten through pyarrow with the dataset version in the
                      Parquet file metadata and the column descriptions of schemas/ per field
    datapackage.json  Frictionless Data Package v2 (flows.contract.datapackage)
    README.md         dataset card (tables and columns from schemas/ via flows.contract.dictionary)
    CITATION.cff      CFF 1.2, type dataset
    CHANGELOG.md      documents, row counts and target values changed since the previous release
    manifest.json     version, code commit, lock-file hash, raw sources, row counts, state
    index.html        the analyst overview (flows.publishing.overview)
    validation/       the validation report of these tables
    SHA256SUMS        sha256 of every other file (``sha256sum -c SHA256SUMS``)

It refuses, before writing anything, to overwrite a version, to release tables that fail the
validation gate or that no longer match the raw folder they claim to cover, and to release from
a state it cannot describe (no build record, not a git checkout, uncommitted changes to the code,
schemas, lock file or raw folder, code committed after the tables were built) unless
``allow_dirty`` is given, in which case the manifest says so and why.

A version is staged in ``releases/.<version>.tmp-XXXX`` and renamed into place once complete;
``releases/latest`` (a one-line text file naming the newest version) is replaced atomically
after that. A crash leaves at most a hidden staging folder, which the next release removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from flows import __version__
from flows.contract.datapackage import (
    json_field_type,
    package_descriptor,
    resource_descriptor,
    validate_datapackage,
    write_datapackage,
)
from flows.contract.dictionary import md_code, md_text
from flows.contract.schema import PUBLISHED_TABLES, load_schemas, schema, schema_version
from flows.gate.data_docs import validated_build
from flows.ingest.manifest import read_manifest
from flows.ingest.raw_files import _file_kind as file_kind
from flows.ingest.raw_files import discover
from flows.publishing.card import (
    AUTHOR,
    DATASET_DESCRIPTION,
    DATASET_NAME,
    DATASET_TITLE,
    KEYWORDS,
    LICENCE,
    citation_cff,
    dataset_card,
    doc_title,
    how_to_cite,
)
from flows.publishing.changelog import changelog
from flows.publishing.diff import (
    CHANGES_FILE,
    changelog_section,
    changes_table,
    diff_releases,
    release_table_names,
    schema_section,
    write_changes,
)
from flows.publishing.formats import formats_card_section, json_ld_script, with_json_columns, write_release_formats
from flows.publishing.versions import (
    LATEST,
    RELEASES,
    REPO_ROOT,
    SUMS,
    existing_versions,
    is_version,
    iso,
    latest_version,
    parse_version,
    sha256_file,
    shown_version,
    utc_now,
)
from flows.storage.publish import BUILD_META, CURRENT, LOCK_WAIT_SECONDS, _fsync, _fsync_dir, table_path

VALIDATION_DIR = "validation"
# What the code version of a release is made of: a change here changes what the tables mean.
CODE_PATHS = ("flows", "schemas", "requirements.lock", "pyproject.toml")
LOCK_FILE = "requirements.lock"


class ReleaseRefused(RuntimeError):
    """The release was not written; ``reasons`` says why, one line each."""

    def __init__(self, version: str, reasons: list[str]):
        shown = shown_version(version)
        if len(reasons) == 1 and "\n" not in reasons[0]:
            super().__init__(f"release {shown} refused: {reasons[0]}")
        else:
            super().__init__(f"release {shown} refused:\n" + "\n".join(f"  - {r}" for r in reasons))
        self.version = version
        self.reasons = reasons


@dataclass
class ReleaseResult:
    version: str
    path: Path
    files: int
    bytes: int
    seconds: float
    previous: str | None
    latest: str
    dirty_reasons: list[str] = field(default_factory=list)


@dataclass
class ReleaseSource:
    """What a release is cut from, read and checked once by ``preflight``."""

    build: Path
    meta: dict[str, Any]
    tables: dict[str, pa.Table]
    gate: dict[str, Any]
    documents: dict[str, str]  # source_file → sha256 of the documents rows
    rejects: dict[str, str | None]  # source_file → sha256 of the rejects rows
    code: dict[str, Any]  # git commit, package version, dirty paths
    dirty: list[str]  # why the state cannot be fully described (released only with allow_dirty)


# --- the validation gate: the one place a release calls flows.gate.run ---------------------------

def validation_gate(tables: Mapping[str, pa.Table]) -> dict[str, Any]:
    """Validate the tables to be released; returns {success, failures, expectations, gate}."""
    from flows.gate import run as validate
    result = validate.check_contract(dict(tables))
    return {"gate": "flows.gate.run.check_contract", "success": bool(result.success),
            "failures": list(result.failures), "expectations": int(result.expectations)}


# --- reading the current state --------------------------------------------------------------------


def read_current_build(out_dir: Path) -> tuple[Path | None, dict[str, Any] | None, dict[str, pa.Table]]:
    """The build OUT/.current points to, read once (a concurrent run may swap .current later)."""
    link = out_dir / CURRENT
    build = link.resolve() if link.is_symlink() else None
    if build is None or not build.is_dir():
        return None, None, {}
    meta_path = build / BUILD_META
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
    tables = {name: pq.read_table(table_path(build, name)) for name in PUBLISHED_TABLES if table_path(build, name).is_file()}
    return build, meta, tables


def covered_sources(tables: Mapping[str, pa.Table]) -> tuple[dict[str, str], dict[str, str | None]]:
    """Raw files the tables cover: documents {source_file: sha256}, rejects {source_file: sha256|None}."""
    docs = tables["documents"].select(["source_file", "source_sha256"]).to_pylist()
    rejects = tables["rejects"].select(["source_file", "source_sha256"]).to_pylist()
    return ({d["source_file"]: d["source_sha256"] for d in docs},
            {r["source_file"]: r["source_sha256"] for r in rejects})


def raw_drift(raw_dir: Path, documents: Mapping[str, str], rejects: Mapping[str, str | None]) -> list[str]:
    """How the raw folder differs from what the tables cover: one line per file, empty if fresh."""
    current = {p.relative_to(raw_dir).as_posix(): p for p in discover(raw_dir)}
    # a quarantined new version of a file whose last good version is kept (stale) is in both:
    # the reject holds what the raw folder holds now
    covered: dict[str, str | None] = {**documents, **rejects}
    out = []
    for name in sorted(set(current) | set(covered)):
        if name not in covered:
            out.append(f"raw file {name} was added after the build")
        elif name not in current:
            out.append(f"raw file {name} was removed after the build")
        elif covered[name] is not None:
            try:
                digest = sha256_regular_file(current[name])
            except NotRegularFile as exc:
                out.append(f"raw file {name} is no longer a regular file ({exc})")
            except OSError as exc:
                out.append(f"raw file {name} cannot be read any more ({exc.strerror or exc})")
            else:
                if digest != covered[name]:
                    out.append(f"raw file {name} changed after the build (sha256 {covered[name][:12]}… in the tables)")
    return out


class NotRegularFile(OSError):
    pass


def sha256_regular_file(path: Path) -> str:
    """The sha256 of a raw file, opened only if it is a regular file: opening a FIFO blocks until
    a writer comes (forever), a device never ends. Opened without blocking and checked on the
    open descriptor, so a file swapped for a FIFO after a check is never read either."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):  # a socket would not even open
        raise NotRegularFile(f"a {file_kind(mode)}")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"a {file_kind(mode)}")
        os.set_blocking(fd, True)
        h = hashlib.sha256()
        while block := os.read(fd, 1 << 20):
            h.update(block)
        return h.hexdigest()
    finally:
        os.close(fd)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


def code_state(repo: Path, raw_dir: Path, built: datetime | None) -> tuple[dict[str, Any], list[str]]:
    """Git commit of the code and what keeps it from describing the tables (dirty reasons)."""
    state: dict[str, Any] = {"git_commit": None, "package_version": __version__, "dirty_paths": []}
    try:
        state["git_commit"] = _git(repo, "rev-parse", "HEAD").strip()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return state, [f"{repo} is not a git checkout with a commit ({exc}): the code version is unknown"]
    paths = [p for p in CODE_PATHS if (repo / p).exists()]
    raw = raw_dir.resolve()
    if raw.is_relative_to(repo.resolve()):
        paths.append(raw.relative_to(repo.resolve()).as_posix() or ".")
    reasons = []
    status = _git(repo, "status", "--porcelain=v1", "--untracked-files=all", "--", *paths)
    dirty = sorted(line[3:] for line in status.splitlines() if line.strip())
    state["dirty_paths"] = dirty
    if dirty:
        shown = ", ".join(dirty[:8]) + (f" and {len(dirty) - 8} more" if len(dirty) > 8 else "")
        reasons.append(f"uncommitted changes in {', '.join(paths)}: {shown}")
    last = _git(repo, "log", "-1", "--format=%H %ct", "--", "flows", "schemas").split()
    if last and built is not None:
        committed = datetime.fromtimestamp(int(last[1]), timezone.utc)
        if committed > built:
            reasons.append(f"flows/ or schemas/ changed in commit {last[0][:12]} ({iso(committed)}), after the "
                           f"tables were built ({iso(built)}): rebuild with `digigov run` first")
    return state, reasons


# --- what goes into the release ---------------------------------------------------------------------

def release_table(name: str, table: pa.Table, version: str) -> pa.Table:
    """The table with the schemas/ field metadata and the dataset version in the schema metadata."""
    target = schema(name).arrow_schema({"dataset": DATASET_NAME, "dataset_version": version,
                                        "schema_version": schema_version(), "licence": LICENCE["name"]})
    return with_json_columns(pa.Table.from_arrays(table.select(target.names).columns, schema=target), schema(name))


def write_sums(root: Path) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != SUMS)
    text = "".join(f"{sha256_file(p)}  {p.relative_to(root).as_posix()}\n" for p in files)
    (root / SUMS).write_text(text, encoding="utf-8")


def copy_validation_report(out_dir: Path, dest: Path, gate: Mapping[str, Any], build: str) -> None:
    """The Data Docs of the validation of ``build`` (the build released) where ``OUT/validation/``
    holds them, never those of another build (a failed run's, an older one's), and always this
    release's own gate result."""
    dest.mkdir()
    docs = out_dir / VALIDATION_DIR
    record = validated_build(docs) if docs.is_dir() else None
    ours = record is not None and record.get("build") == build
    if ours:
        shutil.copytree(docs, dest / "data_docs", symlinks=False)
    (dest / "release_gate.json").write_text(json.dumps(gate, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    status = "passed" if gate["success"] else "failed"
    lines = [f"# Validation of the released tables: {status}", "",
             f"Gate {md_code(gate['gate'])}: {gate['expectations']} checks, {len(gate['failures'])} failures.", ""]
    lines += [f"- {md_text(f)}" for f in gate["failures"]]
    if ours:
        lines += ["", f"`data_docs/` holds the Data Docs of the validation of build {md_code(build)}, the build "
                      f"released here (from `{VALIDATION_DIR}/` of the output folder); `release_gate.json` is "
                      "the validation of exactly the tables released here."]
    else:
        seen = "none" if not docs.is_dir() else (
            "they have no record of the build they validated" if record is None
            else f"they are of build {md_code(str(record.get('build')))}")
        lines += ["", f"No Data Docs are included: none of build {md_code(build)}, the build released here, were "
                      f"in `{VALIDATION_DIR}/` of the output folder ({seen}); `digigov validate` writes them. "
                      "`release_gate.json` is the validation of exactly the tables released here."]
    (dest / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- the command ------------------------------------------------------------------------------

def preflight(version: str, out_dir: Path, raw_dir: Path | None, repo: Path, allow_dirty: bool) -> ReleaseSource:
    """Everything a release needs, read once, or ReleaseRefused with every reason at once. With no
    ``raw_dir``, the tables are checked against the raw folder their build recorded (else raw/)."""
    try:
        parse_version(version)
    except ValueError as exc:
        raise ReleaseRefused(version, [str(exc)]) from None
    releases = out_dir / RELEASES
    if (releases / version).exists():
        raise ReleaseRefused(version, [f"{releases / version} already exists; a release is never overwritten "
                                       "(choose a new version)"])
    build, meta, tables = read_current_build(out_dir)
    if build is None:
        raise ReleaseRefused(version, [f"no current build in {out_dir} (run `digigov run --out {out_dir}` first)"])
    missing = [f"the current build {build.name} has no {name}.parquet" for name in PUBLISHED_TABLES if name not in tables]
    if missing:
        raise ReleaseRefused(version, missing)
    if raw_dir is None:
        raw_dir = Path((meta or {}).get("raw_dir") or "raw")
    hard: list[str] = []
    unknown = [] if meta is not None else [f"the current build {build.name} has no {BUILD_META}: "
                                           "when and from what it was built is unknown"]
    gate = validation_gate(tables)
    if not gate["success"]:
        hard += [f"validation failed: {f}" for f in gate["failures"]]
    documents, rejects = covered_sources(tables)
    if meta is not None and meta.get("sources") is not None and meta["sources"] != documents:
        unknown.append(f"{BUILD_META} lists other sources than the documents table holds")
    if not raw_dir.is_dir():
        hard.append(f"raw folder {raw_dir} does not exist; the tables cannot be checked against their inputs")
    else:
        drift = raw_drift(raw_dir, documents, rejects)
        if drift:
            built_from = (meta or {}).get("raw_dir", "unknown")
            hard.append(f"the tables are older than the raw folder {raw_dir} (built from {built_from}); "
                        "rebuild with `digigov run` first:")
            hard += [f"  {d}" for d in drift]
    built = None
    if meta and meta.get("created"):
        try:
            built = datetime.fromisoformat(str(meta["created"]).replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            unknown.append(f"{BUILD_META} has an unreadable created time {meta['created']!r}")
    state, dirty = code_state(repo, raw_dir, built)
    dirty = unknown + dirty
    if not (repo / LOCK_FILE).is_file():
        dirty.append(f"{LOCK_FILE} is missing: the dependency versions are unknown")
    if dirty and not allow_dirty:
        hard += [f"{d} (pass --allow-dirty to release anyway; the manifest will say so)" for d in dirty]
    if hard:
        raise ReleaseRefused(version, hard)
    return ReleaseSource(build=build, meta=meta or {}, tables=tables, gate=gate, documents=documents,
                         rejects=rejects, code=state, dirty=dirty)


def release(version: str, out_dir: Path | str = "curated", raw_dir: Path | str | None = None, *,
            allow_dirty: bool = False, repo: Path | str = REPO_ROOT,
            now: Callable[[], datetime] = utc_now, after_stage: Callable[[Path], None] | None = None) -> ReleaseResult:
    """Write OUT/releases/<version>/ from the current tables (see the module docstring).

    ``after_stage`` is called with the staging folder once every file is written and before it
    is renamed into place (tests use it to simulate a crash there).
    """
    started = time.perf_counter()
    out_dir, repo = Path(out_dir), Path(repo)
    raw_dir = Path(raw_dir) if raw_dir is not None else None
    source = preflight(version, out_dir, raw_dir, repo, allow_dirty)
    releases = out_dir / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    try:
        lock = FileLock(releases / ".lock").acquire(timeout=LOCK_WAIT_SECONDS)
    except Timeout:
        raise ReleaseRefused(version, [f"another release holds {releases / '.lock'}"]) from None
    with lock:
        if (releases / version).exists():  # released by a concurrent run meanwhile
            raise ReleaseRefused(version, [f"{releases / version} already exists; a release is never overwritten"])
        for stale in releases.glob(".*.tmp-*"):  # left by a crashed release; we hold the lock
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
        versions = existing_versions(releases)
        older = [v for v in versions if parse_version(v) < parse_version(version)]
        previous = older[-1] if older else None
        stage = Path(tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=releases))
        try:
            stage.chmod(0o755)  # mkdtemp's 0700 would make a published folder private
            created = now()
            write_release(stage, version=version, created=created, out_dir=out_dir, source=source, repo=repo,
                          previous=previous, prev_dir=releases / previous if previous else None, raw_dir=raw_dir)
            if after_stage is not None:
                after_stage(stage)
            os.rename(stage, releases / version)
            _fsync_dir(releases)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        latest = latest_version(releases)
        if latest is None or not is_version(latest) or parse_version(version) > parse_version(latest):
            point_latest(releases, version)
            latest = version
    final = releases / version
    files = [p for p in final.rglob("*") if p.is_file()]
    return ReleaseResult(version=version, path=final, files=len(files), bytes=sum(p.stat().st_size for p in files),
                         seconds=round(time.perf_counter() - started, 2), previous=previous, latest=latest,
                         dirty_reasons=source.dirty)


def point_latest(releases: Path, version: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{LATEST}.tmp-", dir=releases)
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, releases / LATEST)
    _fsync_dir(releases)


def write_release(stage: Path, *, version: str, created: datetime, out_dir: Path, source: ReleaseSource,
                  repo: Path, previous: str | None, prev_dir: Path | None, raw_dir: Path | None = None) -> None:
    from flows.publishing.overview import render_overview

    tables, gate, state, meta = source.tables, source.gate, source.code, source.meta

    row_counts = {name: t.num_rows for name, t in tables.items()}
    resources = []
    released: dict[str, pa.Table] = {}
    for name in PUBLISHED_TABLES:
        path = stage / f"{name}.parquet"
        table = released[name] = release_table(name, tables[name], version)
        pq.write_table(table, path, compression="zstd")
        json_types = {c.name: json_field_type(table.column(c.name).to_pylist())
                      for c in schema(name).columns if c.type == "json"}
        resources.append(resource_descriptor(schema(name), path.name, path.stat().st_size, sha256_file(path),
                                             table.num_rows, json_types))
    formats, croissant_doc = write_release_formats(
        stage, released, load_schemas(), dataset=DATASET_NAME, title=DATASET_TITLE, description=DATASET_DESCRIPTION,
        version=version, published=iso(created), licence_url=LICENCE["path"], cite_as=how_to_cite(version, created),
        keywords=KEYWORDS, creator=AUTHOR, schema_version=schema_version())
    changes = diff_releases(prev_dir, stage, released) if prev_dir is not None else changes_table([])
    prev_schema = (json.loads((prev_dir / "manifest.json").read_text(encoding="utf-8")).get("schema_version")
                   if prev_dir is not None else None)
    schema_problems, schema_text = schema_section(
        changes, previous, prev_schema, schema_version(),
        removed_tables=set(release_table_names(prev_dir)) - set(released) if prev_dir is not None else (),
        added_tables=set(released) - set(release_table_names(prev_dir)) if prev_dir is not None else ())
    if schema_problems:
        raise ReleaseRefused(version, schema_problems)
    write_changes(stage / CHANGES_FILE, changes)
    doc_rows = tables["documents"].drop_columns(["text"]).to_pylist()
    lock = repo / LOCK_FILE
    manifest = {
        "dataset": DATASET_NAME,
        "version": version,
        "schema_version": schema_version(),
        "created": iso(created),
        "licence": LICENCE["name"],
        "code_version": state,
        "lock_file": {"path": LOCK_FILE, "sha256": sha256_file(lock) if lock.is_file() else None},
        "build": {"id": source.build.name, "created": meta.get("created"), "code_version": meta.get("code_version"),
                  "raw_dir": meta.get("raw_dir")},
        "sources": dict(sorted(source.documents.items())),
        "rejected_sources": dict(sorted(source.rejects.items())),
        "row_counts": row_counts,
        "validation": {k: gate[k] for k in ("gate", "success", "expectations")} | {"failures": len(gate["failures"])},
        "state": {"allow_dirty": bool(source.dirty), "dirty_reasons": list(source.dirty)},
        "previous_release": previous,
        "formats": formats,
        "changes": {"file": CHANGES_FILE, "rows": changes.num_rows},
    }
    sources = [{"title": f"{d['source_file']}: {d.get('province') or '?'} {doc_title(d)}",
                **({"path": d["source_url"]} if d.get("source_url") else {}),
                "sha256": d["source_sha256"]} for d in sorted(doc_rows, key=lambda d: d["source_file"])]
    write_datapackage(stage / "datapackage.json", package_descriptor(
        version=version, created=iso(created), title=DATASET_TITLE, description=DATASET_DESCRIPTION,
        licence=LICENCE, resources=resources, sources=sources, keywords=KEYWORDS, schema_version=schema_version()))
    valid, problems = validate_datapackage(stage / "datapackage.json")
    if not valid:  # the package must pass `frictionless validate` as published, or not be published
        raise ReleaseRefused(version, ["datapackage.json fails Frictionless validation:"] + [f"  {p}" for p in problems[:20]])
    repairs = tables["repairs"].to_pylist()
    reject_rows = tables["rejects"].to_pylist()
    copy_validation_report(out_dir, stage / VALIDATION_DIR, gate, source.build.name)
    (stage / "README.md").write_text(dataset_card(
        version=version, created=created, manifest=manifest, documents=doc_rows, repairs=repairs,
        rejects=reject_rows, validation=gate, raw_manifest=read_manifest(raw_dir) if raw_dir else [],
        parse_issues=tables["parse_issues"].to_pylist())
        + "\n" + formats_card_section(formats), encoding="utf-8")
    (stage / "CITATION.cff").write_text(citation_cff(version, created, state.get("git_commit")), encoding="utf-8")
    (stage / "CHANGELOG.md").write_text(changelog(version, iso(created), previous, prev_dir, tables, row_counts,
                                                  state.get("git_commit"))
                                        + changelog_section(changes, PUBLISHED_TABLES, previous) + schema_text,
                                        encoding="utf-8")
    (stage / "index.html").write_text(render_overview(
        version=version, created=iso(created), documents=doc_rows,
        goals=tables["goals"].to_pylist(), metrics=tables["metrics"].to_pylist(),
        bandwidth=tables["bandwidth_targets"].to_pylist(), repairs=repairs, rejects=reject_rows,
        validation=gate, row_counts=row_counts, targets=tables["targets"].to_pylist(),
        parse_issues=tables["parse_issues"].to_pylist()).replace("</head>", json_ld_script(croissant_doc) + "\n</head>", 1),
        encoding="utf-8")
    (stage / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n",
                                         encoding="utf-8")
    write_sums(stage)
    for p in stage.rglob("*"):
        if p.is_file():
            _fsync(p)
    _fsync_dir(stage)
