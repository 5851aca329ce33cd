"""A full disk or a folder it may not write: one line, exit 1, nothing half-written, the
published tables and releases as they were. Simulated by a write that raises ENOSPC, and for
real on a tmpfs of a few hundred KiB."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from flows.cli import main
from flows.gate.run import DOCS_DIR
from flows.publishing.versions import RELEASES
from tests.conftest import RAW

VERSION = "2026.11.0"


def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/invented/out/file.parquet")


@pytest.fixture()
def published(tmp_path, seed_rows, seed_raw):
    from tests.test_release import publish_rows

    out = tmp_path / "out"
    publish_rows(out, seed_raw, seed_rows)
    return out


def _state(out: Path) -> dict[str, str]:
    """Every file under the output folder (links followed) with its sha256."""
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.name != ".lock"}


def _one_line_error(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"digigov {command} failed: "), err
    assert "Traceback" not in err
    return lines[0]


def _release(out: Path) -> int:
    """Release what ``published`` built from the seeds (their raw folder is the build's record)."""
    import json

    raw = json.loads((out / "_build.json").read_text())["raw_dir"]
    return main(["release", "--version", VERSION, "--out", str(out), "--raw", raw, "--allow-dirty"])


@pytest.mark.parametrize("where", ["pyarrow.parquet.write_table", "pathlib.Path.write_text", "shutil.copytree"])
def test_release_on_a_full_disk_fails_in_one_line_and_writes_nothing(published, monkeypatch, capsys, where):
    import flows.publishing.release as rel

    if where == "shutil.copytree":  # the Data Docs' copy: shutil.Error lists each file it failed on
        (published / DOCS_DIR).mkdir()
        (published / DOCS_DIR / "index.html").write_text("docs")
        (published / DOCS_DIR / "build.json").write_text(f'{{"build": "{(published / ".current").resolve().name}"}}')

        def copytree(src, dst, **kw):
            raise shutil.Error([(str(src), str(dst), "[Errno 28] No space left on device")])

        monkeypatch.setattr(rel.shutil, "copytree", copytree)
    elif where == "pyarrow.parquet.write_table":
        monkeypatch.setattr(rel.pq, "write_table", _full)
    else:
        real = Path.write_text
        monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: _full() if self.name == "CHANGELOG.md"
                            else real(self, *a, **k))
    before = _state(published)
    assert _release(published) == 1
    line = _one_line_error(capsys.readouterr().err, "release")
    assert "No space left on device" in line and "free some space" in line
    assert not (published / RELEASES / VERSION).exists()
    assert [p.name for p in (published / RELEASES).iterdir() if p.name != ".lock"] == []
    assert _state(published) == before


def test_validate_on_a_full_disk_fails_in_one_line_and_keeps_the_data_docs(published, monkeypatch, capsys):
    import flows.gate.run as validate_mod

    assert main(["validate", "--out", str(published)]) == 0
    docs = _state(published / DOCS_DIR)
    capsys.readouterr()
    monkeypatch.setattr(validate_mod, "_build_docs", _full)
    assert main(["validate", "--out", str(published)]) == 1
    assert "No space left on device" in _one_line_error(capsys.readouterr().err, "validate")
    assert _state(published / DOCS_DIR) == docs  # the last complete report, never half of a new one
    assert [p.name for p in published.iterdir() if p.name.startswith(f".{DOCS_DIR}")] == []


def test_run_on_a_full_disk_fails_in_one_line(monkeypatch, capsys, tmp_path):
    import flows.build as build_mod
    from flows.gate import process as validator
    from flows.orchestration import embedded_server
    monkeypatch.setattr(embedded_server, "start", lambda: None)
    monkeypatch.setattr(embedded_server, "starting", lambda: False)
    monkeypatch.setattr(validator, "start", lambda: None)
    monkeypatch.setattr(build_mod, "run_build", _full)
    assert main(["run", "--raw", str(RAW), "--out", str(tmp_path / "out")]) != 0
    assert "No space left on device" in _one_line_error(capsys.readouterr().err, "run")


@pytest.mark.parametrize("command", ["release", "validate"])
def test_a_folder_it_may_not_write_fails_in_one_line(published, monkeypatch, capsys, command):
    import flows.gate.run as validate_mod
    import flows.publishing.release as rel

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(published / "x"))

    monkeypatch.setattr(rel.tempfile, "mkdtemp", denied)
    monkeypatch.setattr(validate_mod, "_build_docs", denied)
    code = _release(published) if command == "release" else main(["validate", "--out", str(published)])
    assert code == 1
    assert "Permission denied" in _one_line_error(capsys.readouterr().err, command)


# --- a real full disk ---------------------------------------------------------------------------

@pytest.fixture()
def small_disk(tmp_path):
    """A tmpfs mounted for the test (we run as root); resized with ``remount`` to fill it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", f"digigov-test-{uuid.uuid4().hex[:6]}",
                           str(mount)], capture_output=True, text=True)
    assert done.returncode == 0, f"cannot mount a tmpfs to fill (root is needed): {done.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_to(mount: Path, headroom_kib: int) -> None:
    used = shutil.disk_usage(mount).used
    size_kib = used // 1024 + headroom_kib
    subprocess.run(["mount", "-o", f"remount,size={size_kib}k", str(mount)], check=True)


def test_release_onto_a_really_full_disk_fails_in_one_line_and_leaves_nothing(small_disk, seed_rows, seed_raw, capsys):
    from tests.test_release import publish_rows

    out = small_disk / "out"
    publish_rows(out, seed_raw, seed_rows)
    before = _state(out)
    _fill_to(small_disk, 64)  # the release's copy of the tables needs far more
    assert _release(out) == 1
    line = _one_line_error(capsys.readouterr().err, "release")
    assert "No space left on device" in line
    assert not (out / RELEASES / VERSION).exists()
    assert [p.name for p in (out / RELEASES).iterdir() if p.name != ".lock"] == []
    assert _state(out) == before


def test_validate_onto_a_really_full_disk_fails_in_one_line_and_keeps_the_data_docs(small_disk, seed_rows, seed_raw,
                                                                                    capsys):
    from tests.test_release import publish_rows

    out = small_disk / "out"
    publish_rows(out, seed_raw, seed_rows)
    (out / DOCS_DIR).mkdir()
    (out / DOCS_DIR / "index.html").write_text("the last complete report")
    _fill_to(small_disk, 8)  # Data Docs take ~1 MB
    assert main(["validate", "--out", str(out)]) == 1
    assert "No space left on device" in _one_line_error(capsys.readouterr().err, "validate")
    assert (out / DOCS_DIR / "index.html").read_text() == "the last complete report"
    assert [p.name for p in out.iterdir() if p.name.startswith(f".{DOCS_DIR}")] == []
