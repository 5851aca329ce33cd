"""The command's processes: killed with SIGKILL mid-run, it leaves no child behind; Ctrl-C ends it
within seconds with one line, its children with it, the published tables as they were."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, SEEDS, copy_seeds

pytestmark = pytest.mark.e2e

GRACE_SECONDS = 5.0
# more documents to process than the flow processes in its own process: the pool's workers run
DOCUMENTS = 30


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    return env


def _cli(tmp_path: Path, raw: Path, out: Path) -> subprocess.Popen:
    # a session of its own: the test signals the group as a terminal does on Ctrl-C
    return subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--raw", str(raw), "--out", str(out),
                             "--workers", "2", "--batch-size", "3"],
                            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _kind(p: psutil.Process) -> str:
    cmd = " ".join(p.cmdline())
    if "uvicorn" in cmd and "prefect.server" in cmd:
        return "server"
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "spawn_main" in cmd or "multiprocessing" in cmd:
        return "spawned"
    return p.name()


def _descendants_once_all_run(cli: subprocess.Popen, timeout: float = 180) -> list[psutil.Process]:
    """The command's descendants once the server, the resource tracker, the validation process
    and at least one pool worker all run (two spawned processes or more)."""
    deadline = time.monotonic() + timeout
    parent = psutil.Process(cli.pid)
    while time.monotonic() < deadline:
        assert cli.poll() is None, "the run ended before every child was seen: " + cli.stderr.read()[-2000:]
        try:
            kids = parent.children(recursive=True)
            kinds = [_kind(p) for p in kids]
        except psutil.NoSuchProcess:
            continue
        if "server" in kinds and "resource tracker" in kinds and kinds.count("spawned") >= 2:
            return kids + [p for p in parent.children(recursive=True) if p not in kids]
        time.sleep(0.05)
    raise AssertionError("the run never had its server, validation process and pool workers at once")


def _alive(processes: list[psutil.Process]) -> list[str]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{p.pid} {_kind(p)}: {' '.join(p.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return out


def _alive_after(processes: list[psutil.Process], grace: float = GRACE_SECONDS) -> list[str]:
    """The processes still alive once they had ``grace`` seconds to end (asked as they end)."""
    deadline = time.monotonic() + grace
    while (alive := _alive(processes)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def _fingerprint(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.parquet"))} | {
        ".current": os.readlink(out / ".current")}


@pytest.fixture(scope="module")
def published(tmp_path_factory, seed_rows):
    """An output folder with the seeds published, and a raw folder of the seeds and DOCUMENTS new
    documents (a run that would lose the published seeds is refused before it starts anything)."""
    from tests.test_release import publish_rows

    tmp = tmp_path_factory.mktemp("lifetime")
    out = tmp / "out"
    publish_rows(out, ROOT / "raw", seed_rows)
    raw = tmp / "raw"
    copy_seeds(raw)
    for i in range(DOCUMENTS):
        seed = SEEDS[i % len(SEEDS)]
        (raw / f"{i:03d}-{seed.name}").write_bytes(seed.read_bytes() + f"\n附件{i}：第{i}号补充说明。\n".encode())
    return tmp, raw, out


@contextmanager
def _running(tmp: Path, raw: Path, out: Path):
    """The command mid-run, every child started: (the command, its descendants); killed after."""
    cli = _cli(tmp, raw, out)
    try:
        yield cli, _descendants_once_all_run(cli)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def test_sigkill_mid_run_leaves_no_child_alive(published):
    tmp, raw, out = published
    before = _fingerprint(out)
    with _running(tmp, raw, out) as (cli, children):
        cli.kill()
        cli.wait()
    assert _alive_after(children) == []
    assert _fingerprint(out) == before


def test_ctrl_c_interrupts_the_run_in_one_line_with_the_tables_intact(published):
    tmp, raw, out = published
    before = _fingerprint(out)
    with _running(tmp, raw, out) as (cli, children):
        os.killpg(cli.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        # the timeout only keeps a hung run from hanging the suite: exit 130 (not 0, 3 or a
        # timeout) is what says the run stopped on the signal rather than finishing its build
        _, err = cli.communicate(timeout=120)
    assert cli.returncode == 130
    lines = [line for line in err.splitlines() if "interrupted" in line]
    assert len(lines) == 1 and lines[0].startswith("digigov run interrupted"), err[-2000:]
    assert err.rstrip().endswith(lines[0]), err[err.find("interrupted"):]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Connection refused" not in err, err[-3000:]
    assert _alive_after(children) == []
    assert _fingerprint(out) == before
