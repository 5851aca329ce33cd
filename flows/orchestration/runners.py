"""Where the flow's tasks run and which Prefect API they report to: the task runner chosen
by ``--runner`` and the API server of a run (the embedded server of ``embedded_server.py``)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from flows.orchestration import embedded_server


def task_runner(kind: str = "local", workers: int | None = None, dask_address: str | None = None):
    """The task runner for ``--runner``: ``local`` = a process pool over the machine's cores,
    ``threads`` = one process (debugging), ``dask`` = an existing Dask cluster at
    ``dask_address`` or a local one."""
    workers = workers or os.cpu_count() or 1
    if kind == "local":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=workers)
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"unknown runner {kind!r} (local, threads or dask)")


# Settings of a run whose API is a server this process started (it stops with this process):
# no flow-run heartbeats. They let a lasting server's services mark a run crashed once its
# process is gone; this server is gone with it. And Prefect joins the heartbeat thread as the
# flow run ends while that thread sleeps in whole seconds, at the end of every run.
OWN_SERVER_SETTINGS = {"flows.heartbeat_frequency": None}


@contextmanager
def api_server() -> Iterator[str]:
    """The Prefect API this process and its worker processes report to.

    With no ``PREFECT_API_URL`` configured Prefect starts an embedded server per *process*; a
    process pool or a local Dask cluster would then start one server per worker (seconds each,
    and the runs split across them). So the embedded server is started once, by this process
    (``embedded_server.start``: the CLI usually did so first thing), and its URL reaches the
    workers through the environment.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = PREFECT_API_URL.value() or embedded_server.start()
    embedded_server.wait_ready()
    if not embedded_server.started():  # a server of its own, with its own services
        yield url
        return
    with temporary_settings({PREFECT_API_URL: url, **OWN_SERVER_SETTINGS}):
        yield url
