"""The embedded Prefect API server of a ``digigov`` command, started before anything heavy is imported.

Prefect starts its own embedded server lazily, from the first client call: the parent first
imports the server stack (seconds) only to spawn it, and the server's own start-up then
runs after all of the flow's imports. Spawning the same server command first thing and pointing
``PREFECT_API_URL`` at it lets both start-ups overlap with the flow's imports, and worker
processes (process pool, local Dask) inherit the URL instead of each starting a server of their
own. This module imports nothing heavy; the command line is Prefect 3.8's
``SubprocessASGIServer`` (the embedded server, UI off, services off).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flows.orchestration import lifetime
# What the server of one command does without (a setting in the environment wins):
QUIET_START = {
    # telemetry: offline it only fails (and logs an error) on every start
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # block types: on every start Prefect imports every installed Prefect collection to hash
    # their block types (prefect-dask imports dask, distributed, numpy: a good part of a start)
    # and registers any new ones. A run uses no blocks; `prefect server start` (serve, the UI)
    # still registers them in the same database.
    "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
    "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
}

_server: subprocess.Popen | None = None
_url: str | None = None


def start() -> str | None:
    """Spawn the server unless an API is configured; returns its API URL (not yet ready)."""
    global _server, _url
    if _server is not None or _api_configured():
        return _url
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PREFECT_UI_ENABLED="0", PREFECT__SERVER_EPHEMERAL="1", PREFECT__SERVER_FINAL="1")
    for name, value in QUIET_START.items():
        env.setdefault(name, value)
    _server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.submodule_search_locations[0]).parent),
         "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "error", "--lifespan", "on"],
        env=env, stdin=subprocess.DEVNULL,
        # killed when this process dies, however it dies; out of the terminal's process group, so
        # that Ctrl-C, which this process answers alone, does not shut it down under a running
        # flow (which then retried every call to it for minutes)
        preexec_fn=lifetime.preexec(os.getpid()), process_group=0)
    # Registered before Prefect registers its own exit handlers, so it runs after them (LIFO):
    # Prefect drains its logs and events into the server before the server goes.
    atexit.register(stop)
    _url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = _url  # read by Prefect's settings when it is first imported
    return _url


def _api_configured() -> bool:
    """Whether Prefect already has an API to use: environment, loaded settings or active profile."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect.settings" in sys.modules:  # e.g. a test harness's temporary settings
        from prefect.settings import PREFECT_API_URL

        return bool(PREFECT_API_URL.value())
    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect")).expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        import tomllib

        data = tomllib.loads(profiles.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    active = os.environ.get("PREFECT_PROFILE") or data.get("active", "ephemeral")
    return bool(data.get("profiles", {}).get(active, {}).get("PREFECT_API_URL"))


def started() -> bool:
    """Whether ``start`` spawned a server in this process (it stops when this process exits)."""
    return _server is not None


def starting() -> bool:
    """Whether the server ``start`` spawned is still starting (not yet answering)."""
    if _server is None or _server.poll() is not None:
        return False
    try:
        with urllib.request.urlopen(f"{_url}/health", timeout=0.5) as r:
            return r.status != 200
    except OSError:
        return True


def wait_ready(timeout: float = 120.0) -> None:
    """Block until the server started by ``start`` answers; no-op when there is none."""
    if _server is not None:
        wait_answering(_url, timeout, _server)


def wait_answering(url: str, timeout: float = 120.0, server: subprocess.Popen | None = None) -> None:
    """Block until the Prefect API at ``url`` answers (``server``: its process, if ours)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the embedded Prefect server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the Prefect server at {url} did not answer within {timeout:.0f} s")


def stop() -> None:
    global _server
    if _server is None:
        return
    _server.terminate()
    try:
        _server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _server.kill()
        _server.wait()
    _server = None
