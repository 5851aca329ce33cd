"""Deployments: prefect.yaml deployed for real with `prefect deploy --all` against a real Prefect server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

PREFECT = Path(sys.executable).with_name("prefect")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, path: str, body: dict | None = None) -> object:
    request = urllib.request.Request(f"{url}{path}", data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def prefect_server():
    """`prefect server start` on a free port with a home of its own; its API URL and environment."""
    home = tempfile.mkdtemp(prefix="digigov-deploy-")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=home, DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_UI_ENABLED="false", PREFECT_API_URL=f"http://127.0.0.1:{port}/api")
    log = open(Path(home) / "server.log", "wb")
    server = subprocess.Popen([str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    url = env["PREFECT_API_URL"]
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (Path(home) / "server.log").read_text(errors="replace")[-3000:]
            try:
                _api(url, "/health")
                break
            except OSError:
                assert time.monotonic() < deadline, "prefect server start did not answer within 120 s"
                time.sleep(0.3)
        yield url, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the uvicorn process it spawned
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_prefect_deploy_all_creates_the_scheduled_deployment_and_exits_0(prefect_server):
    url, env = prefect_server
    env = dict(env, DIGIGOV_HOME=str(ROOT))
    pool = subprocess.run([str(PREFECT), "work-pool", "create", "digigov", "--type", "process"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = subprocess.run([str(PREFECT), "--no-prompt", "deploy", "--all"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    # fastapi >= 0.151 made the server answer the deploy's worker check with 422 (exit 1)
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    (dep,) = _api(url, "/deployments/filter", {"deployments": {"name": {"any_": ["digigov-nightly"]}}})
    assert dep["entrypoint"] == "flows.build.scheduled_build"
    assert [s["schedule"]["cron"] for s in dep["schedules"]] == ["0 3 * * *"]
    assert dep["schedules"][0]["active"] is True
    assert dep["work_pool_name"] == "digigov"
    assert dep["global_concurrency_limit"]["limit"] == 1
    assert dep["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"


def test_served_deployment_runs_one_at_a_time_cancelling_new_runs():
    from flows.orchestration.serve import deployment

    d = deployment("raw", "curated", "0 3 * * *")
    assert d.concurrency_limit == 1
    assert d.concurrency_options.collision_strategy.value == "CANCEL_NEW"


def test_every_task_of_the_build_has_a_timeout():
    import flows.build as build_mod
    from prefect.tasks import Task

    tasks = [obj for obj in vars(build_mod).values() if isinstance(obj, Task)]
    assert {t.name for t in tasks} >= {"scan-raw", "process-batch", "validate", "publish"}
    assert {t.name: t.timeout_seconds for t in tasks if not t.timeout_seconds} == {}


def test_a_run_shows_its_progress_as_a_prefect_artifact_updated_as_batches_finish(monkeypatch):
    import prefect.artifacts as artifacts

    from flows.tooling import progress
    calls = []
    monkeypatch.setattr(artifacts, "create_progress_artifact",
                        lambda p, key=None, description=None: calls.append(("create", p, key)) or "id-1")
    monkeypatch.setattr(artifacts, "update_progress_artifact",
                        lambda artifact_id, p, description=None: calls.append(("update", p, artifact_id)))
    lines = []
    bar = progress.ArtifactProgress(progress.LineProgress(lines.append))
    bar.start(10)
    for _ in range(5):
        bar.advance(2)
    bar.finish()
    assert calls == [("create", 0, "build-progress"), ("update", 20, "id-1"), ("update", 40, "id-1"),
                     ("update", 60, "id-1"), ("update", 80, "id-1"), ("update", 100, "id-1")]
    assert lines and lines[-1].startswith("done: 10/10")  # still shown as before


def test_the_seed_run_left_a_finished_progress_artifact(seed_build):
    import asyncio

    from prefect.client.orchestration import get_client

    async def progress_artifacts():
        async with get_client() as client:
            r = await client._client.post("/artifacts/filter", json={
                "artifacts": {"key": {"any_": ["build-progress"]}}, "sort": "CREATED_DESC", "limit": 1})
            return r.json()

    (artifact,) = asyncio.run(progress_artifacts())
    assert artifact["type"] == "progress" and float(artifact["data"]) == 100.0
