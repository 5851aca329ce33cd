"""The commands as a careless or hostile user types them: versions, shell metacharacters through
make, one-line messages with a non-zero exit."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.cli import main
from flows.publishing.versions import parse_version
from tests.conftest import ROOT

BAD_VERSIONS = [
    "2026.1.0\n",  # `$` matched before a trailing newline: a second folder named with a newline
    "2026.1.0\r",
    " 2026.1.0",
    "2\u0660\u0662\u0666.1.0",  # Arabic-Indic digits: int() reads 2026, a duplicate of 2026.1.0
    "２０２６.1.0",  # fullwidth digits
    "1" * 300 + ".0.0",  # a name longer than the file system takes (raw OSError before)
    "2026.01.0",
    "2026.1",
    "2026.1.0.1",
    "../2026.1.0",
    "2026.1.0/..",
]


@pytest.mark.parametrize("version", BAD_VERSIONS, ids=repr)
def test_a_version_not_ascii_major_minor_patch_is_refused_in_one_line(version, tmp_path, capsys):
    with pytest.raises(ValueError):
        parse_version(version)
    assert main(["release", "--version", version, "--out", str(tmp_path / "out"), "--raw", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("digigov release ") and "MAJOR.MINOR.PATCH" in err
    assert len(err) < 400
    assert not (tmp_path / "out").exists()  # nothing written, not even the releases folder


@pytest.mark.parametrize("version", ["0.0.0", "2026.11.0", "2026.1.10", "999999999.0.1"])
def test_ascii_calendar_versions_are_accepted(version):
    assert parse_version(version) == tuple(int(p) for p in version.split("."))


# --- make: user values never reach a shell line unquoted --------------------------------------

def _make(target: str, tmp_path: Path, *options: str, env: dict[str, str] | None = None, **variables: str):
    """``make [OPTIONS] TARGET VAR=value …`` in the checkout, the venv's install step taken as done."""
    assert shutil.which("make"), "make is missing"
    digest = hashlib.sha256((ROOT / "requirements.lock").read_bytes() + (ROOT / "pyproject.toml").read_bytes())
    stamp = f".venv/.installed-{digest.hexdigest()[:12]}"
    args = ["make", "--no-print-directory", "-o", stamp, *options, target, *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(args, cwd=ROOT, env={**os.environ, "HOME": str(tmp_path), **(env or {})},
                          capture_output=True, text=True, timeout=120)


# every shell metacharacter the issue names, at once, twice over: for the shell, and `$$` for make's
# own expansion (which turns it into `$(…)` in the value the shell then sees)
PAYLOAD = "a'b\"c; touch PWNED_SEMI #$$(touch PWNED_SUB)`touch PWNED_TICK`\nd"
WITNESSES = ("PWNED_SEMI", "PWNED_SUB", "PWNED_TICK", "PWNED")


def _no_witness(*where: Path) -> None:
    for folder in where:
        for name in WITNESSES:
            assert not (folder / name).exists(), f"the shell ran a command from a make variable: {folder / name}"


def test_make_release_with_a_command_in_version_runs_nothing_and_fails(tmp_path):
    done = _make("release", tmp_path, VERSION="x; touch PWNED #", OUT=str(tmp_path / "out"), RAW=str(tmp_path))
    _no_witness(ROOT, tmp_path)
    assert done.returncode != 0
    assert "MAJOR.MINOR.PATCH" in done.stderr


@pytest.mark.parametrize("variable", ["VERSION", "OUT", "RAW"])
def test_make_release_passes_quotes_semicolons_substitutions_and_newlines_as_values(variable, tmp_path):
    values = {"VERSION": "2026.1.0", "OUT": str(tmp_path / "out"), "RAW": str(tmp_path)}
    values[variable] = (str(tmp_path) + "/" if variable != "VERSION" else "") + PAYLOAD
    done = _make("release", tmp_path, **values)
    _no_witness(ROOT, tmp_path, tmp_path / "out")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "digigov release" in done.stderr  # the command ran, got the value whole and refused it


def test_make_validate_quotes_out(tmp_path):
    folder = tmp_path / "x"
    done = _make("validate", tmp_path, OUT=f"{folder}/{PAYLOAD}")
    _no_witness(ROOT, tmp_path, folder)
    assert done.returncode != 0 and "digigov validate failed" in done.stderr, done.stdout + done.stderr


@pytest.mark.parametrize("target", ["run", "release", "validate", "bench", "clean"])
def test_no_recipe_pastes_a_user_value_into_its_shell_line(target, tmp_path):
    # `make -n` prints each recipe line as the shell would get it: the values must not be there
    done = _make(target, tmp_path, "-n", OUT="OUT_VALUE", RAW="RAW_VALUE", VERSION="VERSION_VALUE",
                 BENCH_DOCS="BENCH_VALUE")
    assert done.returncode == 0, done.stderr
    assert not any(v in done.stdout for v in ("OUT_VALUE", "RAW_VALUE", "VERSION_VALUE", "BENCH_VALUE")), done.stdout


def test_make_clean_removes_only_under_out(tmp_path):
    out = tmp_path / "o'ut; touch PWNED #"
    out.mkdir()
    (out / "documents.parquet").write_bytes(b"x")
    keep = tmp_path / "keep.parquet"
    keep.write_bytes(b"x")
    done = _make("clean", tmp_path, OUT=str(out))
    assert done.returncode == 0, done.stderr
    assert not (out / "documents.parquet").exists() and keep.exists()
    _no_witness(ROOT, tmp_path)
    assert _make("clean", tmp_path, OUT="").returncode != 0  # never `rm -rf /*.parquet`


def test_make_validate_exists_and_passes_the_exit_status_through(tmp_path):
    done = _make("validate", tmp_path, OUT=str(tmp_path / "missing"))
    assert "No rule to make target" not in done.stderr
    assert done.returncode != 0 and "digigov validate failed" in done.stderr
    assert "validate" in _make("help", tmp_path).stdout


# --- raw files re-checked by release: only regular files are ever opened ------------------------

@pytest.mark.parametrize("kind", ["fifo", "directory", "socket"])
def test_release_drift_check_never_opens_a_raw_file_replaced_by_a_special_file(kind, tmp_path):
    import signal
    import socket

    from flows.publishing.release import raw_drift

    raw = tmp_path / "raw"
    raw.mkdir()
    plan = raw / "plan.txt"
    plan.write_text("某省数字政府建设方案", encoding="utf-8")
    other = raw / "other.txt"
    other.write_text("另一个方案", encoding="utf-8")
    covered = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (plan, other)}
    plan.unlink()
    if kind == "fifo":
        os.mkfifo(plan)  # opening it for reading blocks until a writer comes: forever
    elif kind == "directory":
        plan.mkdir()
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(plan))

    def hung(*_):
        raise TimeoutError("the drift check blocked on the raw file")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        drift = raw_drift(raw, covered, {})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if kind == "directory":  # not listed as a raw file at all: the file was removed
        assert drift == ["raw file plan.txt was removed after the build"]
    else:
        assert len(drift) == 1 and drift[0].startswith("raw file plan.txt is no longer a regular file"), drift
        assert kind.upper()[:4] in drift[0].upper() or "socket" in drift[0]
