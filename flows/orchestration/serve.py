"""``digigov serve``: the build as a Prefect deployment on a cron schedule, served from this process.

Runs are recorded by the Prefect API in ``PREFECT_API_URL``; start one on this machine with
``prefect server start`` (SQLite under ``~/.prefect``) and
``export PREFECT_API_URL=http://127.0.0.1:4200/api``. The embedded server ``digigov run`` starts
has no scheduler service, so ``serve`` refuses to start without a server. Team deployments to a work pool use ``prefect.yaml`` instead;
both point at ``flows.build.scheduled_build`` by module path, so that worker processes of the
process pool import the tasks by name.
"""

from __future__ import annotations

from typing import Any

DEPLOYMENT_ENTRYPOINT = "flows.build.scheduled_build"


def deployment(raw_dir: str, out_dir: str, cron: str, name: str = "digigov-nightly", runner: str = "local",
               workers: int | None = None, dask_address: str | None = None) -> Any:
    """The RunnerDeployment ``serve`` starts (built without contacting the API)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.types.entrypoint import EntrypointType

    from flows.build import scheduled_build

    parameters: dict[str, Any] = {"raw_dir": raw_dir, "out_dir": out_dir, "runner": runner}
    if workers:
        parameters["workers"] = workers
    if dask_address:
        parameters["dask_address"] = dask_address
    return scheduled_build.to_deployment(
        name=name, cron=cron, parameters=parameters, entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"digigov build of {raw_dir} into {out_dir}, on cron {cron!r}",
        tags=["digigov"],
        # one run at a time (as prefect.yaml): a run due while another builds is cancelled at
        # once instead of failing after waiting for the output folder's lock
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
    )


def serve(raw_dir: str, out_dir: str, cron: str, name: str = "digigov-nightly", runner: str = "local",
          workers: int | None = None, dask_address: str | None = None) -> None:
    """Serve the scheduled deployment until interrupted (Ctrl-C)."""
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise ServerRequired(
            "digigov serve needs a running Prefect server to create the scheduled runs (the embedded "
            "server of `digigov run` has no scheduler). Start one and point at it:\n"
            "  prefect server start &        # SQLite under ~/.prefect, UI on http://127.0.0.1:4200\n"
            "  export PREFECT_API_URL=http://127.0.0.1:4200/api")
    prefect_serve(deployment(raw_dir, out_dir, cron, name, runner, workers, dask_address))


class ServerRequired(RuntimeError):
    pass
