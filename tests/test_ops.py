"""Operations: task runners give identical tables, deployments and schedules, artifacts, progress."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from flows.tooling import progress
from flows.ingest.raw_files import discover
from flows.contract.schema import TABLES
from tests.conftest import RAW, ROOT


def _tables(out: Path) -> dict:
    return {t: pq.read_table(out / f"{t}.parquet") for t in TABLES}


@pytest.fixture(scope="module")
def threads_build(seeds_published):
    """The tables of the seeds built on the threads runner (conftest's shared build)."""
    return _tables(seeds_published[0])


@pytest.mark.e2e
def test_process_pool_gives_the_same_tables(threads_build, seed_raw, tmp_path):
    from flows.build import run_build

    summary = run_build(str(seed_raw), str(tmp_path), runner="local", workers=2, batch_size=2, serial_up_to=0)
    assert summary["batches"] >= 3  # several tasks: the pool really split the work
    for t, table in _tables(tmp_path).items():
        assert table.equals(threads_build[t]), t


@pytest.mark.e2e
def test_dask_local_cluster_gives_the_same_tables(threads_build, seed_raw, tmp_path):
    from flows.build import run_build

    summary = run_build(str(seed_raw), str(tmp_path), runner="dask", workers=2, batch_size=2, serial_up_to=0)
    assert summary["documents"] == 5 and summary["batches"] >= 3
    for t, table in _tables(tmp_path).items():
        assert table.equals(threads_build[t]), t


@pytest.mark.e2e
def test_each_run_publishes_a_summary_and_a_rejects_artifact(seed_build):
    import asyncio

    from prefect.client.orchestration import get_client

    async def latest(key):  # the REST filter directly: the 3.8 client sends null filters the server refuses
        async with get_client() as client:
            r = await client._client.post("/artifacts/filter", json={
                "artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1})
            found = r.json()
            return found[0] if found else None

    summary = asyncio.run(latest("build-summary"))
    rejects = asyncio.run(latest("build-rejects"))
    assert summary is not None and summary["type"] == "markdown"
    assert "documents in" in summary["data"] and "validation" in summary["data"] and "| sections |" in summary["data"]
    assert rejects is not None and rejects["type"] == "table" and "no rejects" in rejects["data"]


def test_serve_builds_a_cron_deployment_of_the_scheduled_flow():
    from flows.orchestration.serve import DEPLOYMENT_ENTRYPOINT, deployment

    d = deployment("raw", "curated", "0 3 * * *", runner="dask", dask_address="tcp://10.0.0.5:8786")
    assert d.entrypoint == DEPLOYMENT_ENTRYPOINT == "flows.build.scheduled_build"
    assert [s.schedule.cron for s in d.schedules] == ["0 3 * * *"]
    assert d.parameters == {"raw_dir": "raw", "out_dir": "curated", "runner": "dask", "dask_address": "tcp://10.0.0.5:8786"}


def test_serve_refuses_without_a_prefect_server(monkeypatch, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.cli import main

    with temporary_settings({PREFECT_API_URL: None}):
        assert main(["serve", "--cron", "0 3 * * *"]) == 2
    assert "prefect server start" in capsys.readouterr().err


def test_prefect_yaml_deploys_the_scheduled_flow_to_a_work_pool():
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    (dep,) = spec["deployments"]
    flow_ = load_flow_from_entrypoint(dep["entrypoint"])
    assert flow_.name == "scheduled_build"
    assert dep["work_pool"]["name"] and dep["schedules"][0]["cron"] == "0 3 * * *"
    assert set(dep["parameters"]) <= set(flow_.parameters.properties)


def test_cli_accepts_the_operations_flags():
    from flows.cli import build_parser

    args = build_parser().parse_args(["run", "--full-refresh", "--runner", "dask", "--dask-address", "tcp://h:8786"])
    assert args.full_refresh and args.runner == "dask" and args.dask_address == "tcp://h:8786"
    assert build_parser().parse_args(["bench", "--docs", "1000", "10000"]).docs == [1000, 10000]


def test_bar_on_a_terminal_shows_done_total_rate_and_eta():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = progress.for_stream(stream)
    assert isinstance(bar, progress.BarProgress)
    bar.start(4)
    bar.advance(4)
    bar.finish()
    last = stream.getvalue().split("\r")[-1]
    assert "4/4 documents" in last and "/s" in last and "ETA" in last and last.endswith("\n")


def test_plain_lines_when_not_a_terminal():
    lines: list[str] = []
    p = progress.LineProgress(lines.append)
    p.start(100)
    for _ in range(100):
        p.advance()
    p.finish()
    assert 10 <= len(lines) <= 13  # start, each tenth, the end: not one line per document
    assert lines[-1].startswith("done: 100/100 documents") and "\r" not in "".join(lines)
    assert isinstance(progress.for_stream(io.StringIO()), progress.LineProgress)


def test_embedded_server_defers_to_a_configured_api(tmp_path, monkeypatch):
    import sys

    from flows.orchestration import embedded_server
    monkeypatch.delitem(sys.modules, "prefect.settings", raising=False)  # as in a fresh CLI process (restored after)
    # nor a server an earlier test's in-process run started in this worker
    monkeypatch.setattr(embedded_server, "_server", None)
    monkeypatch.setattr(embedded_server, "_url", None)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    assert not embedded_server._api_configured()
    (tmp_path / "profiles.toml").write_text(
        'active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://prefect.internal:4200/api"\n', encoding="utf-8")
    assert embedded_server._api_configured()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert embedded_server.start() is None


@pytest.mark.e2e
def test_cli_in_a_fresh_process_boots_its_own_server_and_exits(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    run = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--out", str(tmp_path / "out")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert f"{len(discover(RAW))} documents read" in run.stdout
    assert (tmp_path / "prefect-home" / "prefect.db").exists()  # the runs were recorded
    # nothing left behind for the resource tracker to warn of (the killed validation process
    # once held tqdm's named semaphore: "There appear to be 1 leaked semaphore objects")
    assert "Warning" not in run.stderr and "leaked" not in run.stderr, run.stderr[-2000:]


def test_the_program_exits_with_mains_code_and_flushed_output(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "no-such-output"
    done = subprocess.run([sys.executable, "-m", "flows.cli", "validate", "--out", str(missing)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"output folder {missing} does not exist" in done.stderr
    helped = subprocess.run([sys.executable, "-m", "flows.cli", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert helped.returncode == 0 and "bench" in helped.stdout


def test_the_warm_up_loads_what_a_first_document_would_load():
    """``digigov run`` processes a short plan while the server starts, so that an incremental
    run's few documents do not load the lexicon, HMM, OpenCC and cn2an on its critical path."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import flows.build\n"
        "from flows.extract import segment\n"
        "from flows.pipeline import warm_up\n"
        "warm_up()\n"
        "assert {'jieba.finalseg', 'opencc', 'cn2an'} <= set(sys.modules), sorted(sys.modules)\n"
        "assert segment.lexicon.cache_info().currsize == 1\n"
        "from flows.ingest.raw_files import RawDoc\n"
        "from flows.pipeline import process_document\n"
        "data = '某省数字政府建设方案\\n一、目标\\n到2025年，新增三十项应用，个人事项90%移动办。\\n'.encode()\n"
        "loaded = set(sys.modules)\n"
        "rows = process_document(RawDoc('a.txt', 'ab' * 32, data))\n"
        "assert rows['metrics'] and not rows['rejects'], rows\n"
        "print(sorted(set(sys.modules) - loaded), segment.lexicon.cache_info().misses)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[]", "1"]  # the document imported nothing, loaded no lexicon again


def test_the_warm_up_runs_only_while_a_started_server_starts(monkeypatch):
    from flows.orchestration import embedded_server
    monkeypatch.setattr(embedded_server, "_server", None)
    assert not embedded_server.starting()  # no server of ours (an API configured): nothing to wait for


def test_a_run_on_a_server_of_its_own_sends_no_heartbeats_but_one_on_a_lasting_server_does(prefect_harness, monkeypatch):
    """Heartbeats let a lasting server mark a run crashed once its process is gone; the server
    ``digigov run`` starts is gone with the process (and Prefect joins the sleeping heartbeat
    thread as each flow run ends: up to a second)."""
    from prefect.settings import get_current_settings

    from flows.orchestration import embedded_server
    from flows.orchestration.runners import api_server

    from prefect.settings import temporary_settings

    # the session's test server stands for a lasting one (PREFECT_API_URL is set), with Prefect's
    # default heartbeats (the tests' own runs go without, tests/conftest.py NO_HEARTBEATS)
    with temporary_settings({"flows.heartbeat_frequency": 30}):
        with api_server():
            assert get_current_settings().flows.heartbeat_frequency == 30
        monkeypatch.setattr(embedded_server, "_server", object())  # as if this process had started it
        monkeypatch.setattr(embedded_server, "wait_ready", lambda: None)
        with api_server():
            assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().flows.heartbeat_frequency == 30
