"""Crash and concurrency safety: a run killed at any point (SIGKILL included) leaves the published
tables byte-for-byte as they were, the next run cleans up after it, and two runs on one output
never interleave."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from filelock import FileLock

from flows.contract.schema import TABLES
from tests.conftest import RAW, ROOT, copy_build

pytestmark = pytest.mark.e2e


def checksums(out: Path) -> dict[str, str]:
    """sha256 of every published table and the build record, read through the public links."""
    names = [f"{t}.parquet" for t in TABLES] + ["_build.json"]
    return {n: hashlib.sha256((out / n).read_bytes()).hexdigest() for n in names}


def cli(raw: Path, out: Path, *extra: str) -> subprocess.Popen:
    """``digigov run`` in its own process group, reporting to the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_LOGGING_LEVEL="WARNING")
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--raw", str(raw), "--out", str(out), "--runner", "threads", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from flows.tooling.bench import make_corpus

    dest = tmp_path_factory.mktemp("corpus") / "raw"
    make_corpus(RAW, dest, 120, seed=7, workers=1)
    return dest


def test_sigkill_mid_write_leaves_published_tables_untouched(prefect_harness, corpus, tmp_path):
    from flows.cli import main

    out = tmp_path / "out"
    # the runs before and after the killed one need no process of their own: `digigov run` here
    assert main(["run", "--raw", str(corpus), "--out", str(out), "--runner", "threads"]) == 0
    before = checksums(out)
    current = os.readlink(out / ".current")

    run = cli(corpus, out, "--full-refresh")
    deadline = time.monotonic() + 300
    staged = None
    while time.monotonic() < deadline and run.poll() is None:
        staged = [p for p in (out / ".builds").glob("*.staging") if any(p.iterdir())]
        if staged:
            os.killpg(run.pid, signal.SIGKILL)  # the run, and anything it started
            break
        time.sleep(0.002)
    run.wait(timeout=60)
    assert staged, "the run finished before it could be killed mid-write"
    assert run.returncode == -signal.SIGKILL
    assert checksums(out) == before and os.readlink(out / ".current") == current
    assert list((out / ".builds").glob("*.staging")), "expected the killed run's staging on disk"

    summary = tmp_path / "summary.json"
    assert main(["run", "--raw", str(corpus), "--out", str(out), "--runner", "threads",
                 "--summary-json", str(summary)]) == 0
    assert not list((out / ".builds").glob("*.staging"))
    assert os.readlink(out / ".current") != current
    assert pq.read_table(out / "documents.parquet").num_rows == 120
    # the killed run had processed everything before it wrote: its cache entries are whole and reused
    import json

    assert json.loads(summary.read_text())["processed"] == 0
    assert len(list((out / ".builds").iterdir())) == 2  # current + previous


@pytest.mark.slow
def test_two_runs_at_once_never_interleave(prefect_harness, corpus, tmp_path):
    out = tmp_path / "out"
    runs = [cli(corpus, out), cli(corpus, out)]
    logs = [r.communicate(timeout=600)[0].decode() for r in runs]
    codes = [r.returncode for r in runs]
    assert 0 in codes, logs
    for code, log in zip(codes, logs):  # the other one waited and succeeded, or refused clearly
        assert code == 0 or "another digigov run is writing" in log, log
    assert pq.read_table(out / "documents.parquet").num_rows == 120
    assert not list((out / ".builds").glob("*.staging"))


def test_a_held_lock_makes_a_run_refuse_clearly(prefect_harness, tmp_path, capsys, monkeypatch):
    from flows.cli import main
    from flows.orchestration import run_lock

    monkeypatch.setattr(run_lock, "LOCK_WAIT_SECONDS", 0.5)
    from flows.gate.verdict import EXIT_REFUSED

    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / ".lock"):
        assert main(["run", "--out", str(out), "--runner", "threads"]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "another digigov run is writing to" in err and "gave up without touching anything" in err
    assert not (out / ".current").exists()


def test_a_run_waits_for_a_lock_released_in_time(seeds_published, seed_raw, tmp_path):
    from flows.build import build_dataset

    out = copy_build(seeds_published[0], tmp_path / "out")  # a published build: the run reuses it
    held = threading.Event()

    def hold_for_a_second():  # another holder (filelock is thread-local: lock and unlock in one thread)
        with FileLock(out / ".lock"):
            held.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold_for_a_second)
    holder.start()
    held.wait(10)
    t0 = time.monotonic()
    summary = build_dataset(raw_dir=str(seed_raw), out_dir=str(out))
    holder.join()
    # it waited (a lower bound: the holder kept the lock a second after t0), then published
    assert summary["documents"] == 5 and summary["reused"] == 5 and time.monotonic() - t0 >= 0.5
