"""Reproducing a release: rebuild its tables from what its manifest records and compare the rows.

``verify_release(release_dir, raw_dir, repo)``:

1. reads ``manifest.json``: the code's git commit, the lock file's sha256, every raw source's
   sha256 (documents and rejects);
2. copies the raw files the manifest lists from ``raw_dir`` into a temporary folder, each
   checked against its recorded sha256 (a missing or changed file means the release cannot be
   reproduced from this raw folder, and nothing is built);
3. extracts the recorded commit's code (``git archive``: flows/, schemas/, pyproject.toml,
   requirements.lock) into the temporary folder and runs that code's ``digigov run
   --full-refresh`` on the copied raw files, in a fresh output folder (no cache reused);
4. compares every released table with the rebuilt one row by row (``flows.publishing.diff``, keyed by the
   primary keys; release-only metadata such as the dataset version in the Parquet metadata and
   the Parquet JSON type is ignored), and reports per table whether the rows are identical.

Limits, stated in the result rather than hidden:

* the rebuild runs in this Python environment: where the installed packages differ from the
  lock file the release recorded, the result says which (a difference there can change rows);
* a release made with ``--allow-dirty`` recorded uncommitted code: its rows may not come from
  the commit alone;
* only the tables are compared, not the documentation files (whose timestamps differ by design).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from io import BytesIO
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from flows.publishing.diff import diff_table, release_keys, release_tables
from flows.storage.publish import BUILD_SUFFIX, CURRENT

CODE_PATHS = ("flows", "schemas", "pyproject.toml", "requirements.lock")
LOCK_FILE = "requirements.lock"


@dataclass
class TableCheck:
    table: str
    released_rows: int
    rebuilt_rows: int
    changes: int

    @property
    def identical(self) -> bool:
        return self.changes == 0 and self.released_rows == self.rebuilt_rows


@dataclass
class VerifyResult:
    version: str
    commit: str | None
    reproduced: bool  # every table's rows identical
    tables: list[TableCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why it could not be checked, or what differs
    limits: list[str] = field(default_factory=list)  # what the check could not hold fixed
    examples: list[dict[str, Any]] = field(default_factory=list)  # a few of the differing cells

    def lines(self) -> list[str]:
        verdict = "reproduced: every table's rows are identical" if self.reproduced else "NOT reproduced"
        out = [f"digigov release --verify {self.version}: {verdict} (commit {(self.commit or 'unknown')[:12]})"]
        out += [f"  {t.table}: {t.released_rows} released, {t.rebuilt_rows} rebuilt, "
                f"{'identical' if t.identical else f'{t.changes} change(s)'}" for t in self.tables]
        out += [f"  problem: {p}" for p in self.problems]
        out += [f"  {e['table']} {e['row_id'] or '(column)'} {e['change']} {e['column'] or ''}: "
                f"{str(e['old'])[:60]!r} → {str(e['new'])[:60]!r}" for e in self.examples]
        out += [f"  limit: {lim}" for lim in self.limits]
        return out


def lock_differences(lock_text: str) -> list[str]:
    """Packages whose installed version differs from the lock file's pin (or that are missing)."""
    out = []
    for line in lock_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" not in line:
            continue
        name, pinned = (part.strip() for part in line.split("==", 1))
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            out.append(f"{name} {pinned} is not installed")
            continue
        if installed != pinned:
            out.append(f"{name} {installed} installed, {pinned} locked")
    return out


def copy_checked_raw(raw_dir: Path, sources: dict[str, str | None], dest: Path) -> list[str]:
    """Copy each recorded raw file into ``dest``; returns what is missing or differs."""
    from flows.publishing.versions import sha256_file

    problems = []
    for name, digest in sorted(sources.items()):
        src = raw_dir / name
        if not src.is_file():
            if digest is not None:
                problems.append(f"raw file {name} is not in {raw_dir}")
            continue
        if digest is not None and sha256_file(src) != digest:
            problems.append(f"raw file {name} in {raw_dir} differs from its sha256 in the manifest")
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return problems


def extract_code(repo: Path, commit: str, dest: Path) -> None:
    """The recorded commit's code into ``dest`` (``git archive``; no working-tree state)."""
    listed = subprocess.run(["git", "-C", str(repo), "ls-tree", "--name-only", commit], capture_output=True,
                            text=True, timeout=60)
    if listed.returncode != 0:
        raise RuntimeError(listed.stderr.strip() or f"git ls-tree {commit} failed")
    present = [p for p in CODE_PATHS if p in listed.stdout.splitlines()]
    done = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit, "--", *present],
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace").strip() or f"git archive {commit} failed")
    with tarfile.open(fileobj=BytesIO(done.stdout)) as tar:
        tar.extractall(dest, filter="data")


def run_code(code_dir: Path, raw_dir: Path, out_dir: Path) -> None:
    """That code's ``digigov run --full-refresh`` in a fresh process, importing flows from
    ``code_dir`` (not from this checkout)."""
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    probe = subprocess.run([sys.executable, "-c", "import flows; print(flows.__file__)"], cwd=code_dir, env=env,
                           capture_output=True, text=True, timeout=120)
    if not probe.stdout.strip().startswith(str(code_dir.resolve())):
        raise RuntimeError(f"the rebuild would import flows from {probe.stdout.strip() or probe.stderr.strip()}, "
                           f"not from the extracted code in {code_dir}")
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--raw", str(raw_dir), "--out", str(out_dir),
                           "--full-refresh"], cwd=code_dir, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the rebuild failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def built_tables(out_dir: Path) -> dict[str, pa.Table]:
    """The tables of the build ``OUT/.current`` points to (its build internals, dot files, left out)."""
    import pyarrow.parquet as pq

    build = (Path(out_dir) / CURRENT).resolve()
    if not build.is_dir():
        return {}
    return {p.stem: pq.read_table(p) for p in sorted(build.iterdir())
            if p.suffix in (".parquet", BUILD_SUFFIX) and not p.name.startswith(".")}


def comparable(table: pa.Table) -> pa.Table:
    """The table without what only a release adds: schema and field metadata, Parquet's JSON type."""
    fields = [pa.field(f.name, pa.string() if isinstance(f.type, pa.JsonType) else f.type, nullable=f.nullable)
              for f in table.schema]
    return pa.Table.from_arrays([c.cast(f.type) for c, f in zip(table.columns, fields)], schema=pa.schema(fields))


def compare_tables(released: dict[str, pa.Table], rebuilt: dict[str, pa.Table],
                   keys: dict[str, tuple[str, ...]]) -> tuple[list[TableCheck], list[dict[str, Any]]]:
    checks, changes = [], []
    for name in sorted(set(released) | set(rebuilt)):
        a, b = released.get(name), rebuilt.get(name)
        found = diff_table(name, comparable(a) if a is not None else None, comparable(b) if b is not None else None,
                           keys[name])
        checks.append(TableCheck(name, a.num_rows if a is not None else 0, b.num_rows if b is not None else 0, len(found)))
        changes += found
    return checks, changes


def verify_release(release_dir: Path, raw_dir: Path, repo: Path, *,
                   rebuild: Callable[[Path, Path, Path], None] = run_code, workdir: Path | None = None) -> VerifyResult:
    """Rebuild a release's tables from its manifest and compare (see the module docstring)."""
    from flows.publishing.versions import sha256_file

    release_dir, raw_dir, repo = Path(release_dir), Path(raw_dir), Path(repo)
    manifest = json.loads((release_dir / "manifest.json").read_text(encoding="utf-8"))
    commit = (manifest.get("code_version") or {}).get("git_commit")
    result = VerifyResult(version=manifest.get("version", release_dir.name), commit=commit, reproduced=False)
    if (manifest.get("state") or {}).get("allow_dirty"):
        result.limits.append("released with --allow-dirty: " + "; ".join(manifest["state"].get("dirty_reasons", []))
                             + "; the rows may not come from the commit alone")
    if not commit:
        result.problems.append("the manifest records no git commit: the code cannot be recovered")
        return result
    with tempfile.TemporaryDirectory(prefix="digigov-verify-", dir=workdir) as tmp:
        tmp = Path(tmp)
        sources = {**(manifest.get("rejected_sources") or {}), **(manifest.get("sources") or {})}
        result.problems += copy_checked_raw(raw_dir, sources, tmp / "raw")
        if result.problems:
            return result
        (tmp / "raw").mkdir(exist_ok=True)
        try:
            extract_code(repo, commit, tmp / "code")
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
            result.problems.append(f"commit {commit[:12]} cannot be read from {repo}: {exc}")
        if result.problems:
            return result
        lock = tmp / "code" / LOCK_FILE
        recorded_lock = (manifest.get("lock_file") or {}).get("sha256")
        if lock.is_file():
            if recorded_lock and sha256_file(lock) != recorded_lock:
                result.limits.append(f"the commit's {LOCK_FILE} differs from the one the release recorded")
            drift = lock_differences(lock.read_text(encoding="utf-8"))
            if drift:
                result.limits.append(f"rebuilt with {len(drift)} package(s) differing from the lock: "
                                     + ", ".join(drift[:10]) + (" …" if len(drift) > 10 else ""))
        else:
            result.limits.append(f"the commit has no {LOCK_FILE}: package versions unchecked")
        try:
            rebuild(tmp / "code", tmp / "raw", tmp / "out")
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
            result.problems.append(str(exc))
            return result
        rebuilt = built_tables(tmp / "out")
        released = release_tables(release_dir)
        checks, changes = compare_tables(released, rebuilt, release_keys(release_dir))
    result.tables = checks
    result.examples = changes[:10]
    result.reproduced = all(t.identical for t in checks) and bool(checks)
    if not result.reproduced:
        result.problems.append(f"{len(changes)} difference(s) between the released and the rebuilt rows")
    return result


def verify_version(version: str, out_dir: Path, raw_dir: Path | None = None, repo: Path | None = None,
                   **kwargs: Any) -> VerifyResult:
    """``verify_release`` of ``OUT/releases/<version>``; the raw folder defaults to the one the
    release's tables were built from (its manifest), the code to this checkout's repository."""
    from flows.publishing.diff import release_folder
    from flows.publishing.versions import REPO_ROOT

    folder = release_folder(version, out_dir)
    if raw_dir is None:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        raw_dir = Path((manifest.get("build") or {}).get("raw_dir") or "raw")
    return verify_release(folder, raw_dir, repo or REPO_ROOT, **kwargs)
