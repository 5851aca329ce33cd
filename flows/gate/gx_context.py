"""The Great Expectations context of one validation, kept in memory and quiet; a suite's
definition (its GX suite and batch definition, run by ``flows/gate/lean_runs.py``); and GX
imported ahead of the first suite.

Three speed-ups of GX's own work, each a setting or a skipped no-op that changes no result: no
fingerprint of every frame GX loads, no serialized copy of the project config saved on every
addition, no tqdm monitor thread (which would also keep the validation process from forking,
``flows/gate/two_cores.py``)."""
from __future__ import annotations

import logging
from pathlib import Path

from flows.gate import data_docs
from flows.gate.lean_runs import LeanDefinition
from flows.gate.rules import Suite


def new_context(docs_dir: Path | None):
    """An ephemeral, in-memory GX context whose one Data Docs site, if any, is ``docs_dir``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # GX chatters at INFO and draws progress bars per metric; a scheduled run wants neither
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    _no_progress_monitor()
    _no_batch_fingerprints()
    sites = {}
    if docs_dir is not None:
        sites["digigov"] = data_docs.site_config(docs_dir)  # pages that load nothing from outside
    # In memory: suites are regenerated from schemas/ on every validation, so nothing on disk
    # can go stale; only the rendered Data Docs are written.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites, analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    _no_project_config_copies(context)
    return context


def _no_progress_monitor() -> None:
    """GX's bars are disabled, but tqdm starts a monitor thread for any bar: a process running
    it may not fork (``two_cores._can_fork``), and it watches bars nobody sees. Nor is its lock
    across processes needed for them: a named semaphore, which the resource tracker reports as
    leaked ("There appear to be 1 leaked semaphore objects") once the validation process is killed."""
    try:
        from tqdm import tqdm
        from tqdm.std import TqdmDefaultWriteLock
    except ImportError:  # not installed with this GX: no bars, no thread
        return
    if not hasattr(TqdmDefaultWriteLock, "mp_lock"):
        TqdmDefaultWriteLock.mp_lock = None  # what tqdm sets where no such lock can be made
    tqdm.monitor_interval = 0
    if tqdm.monitor is not None:  # started by an earlier bar: stopped
        tqdm.monitor.exit()
        tqdm.monitor = None


def _no_batch_fingerprints() -> None:
    """GX fingerprints every batch it loads (a "batch marker" for its own metadata): it hashes
    the whole frame, or pickles it when a column holds lists, once per suite: a cost that grows
    with the texts. The fingerprint decides nothing here, so it is switched off."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def _no_project_config_copies(context) -> None:
    """An ephemeral context "saves" its whole project config, serialized, into an in-memory
    store that nothing reads back, each time a data asset, suite or validation definition is
    added: a config that grows with every asset, saved again for each one (quadratic work). The
    live config (``context.config``) is what GX reads; only the pointless copy is skipped."""
    context._save_project_config = lambda: None


def suite_definition(context, source, suite: Suite) -> LeanDefinition:
    """The suite's GX suite and the batch definition its frames are validated through. Only
    where Data Docs are written is the suite added to the context's expectations store (its
    page is drawn from there) and are the results kept (``LeanDefinition``)."""
    import great_expectations as gx

    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=suite.expectations)
    docs = context if context.config.data_docs_sites else None
    if docs is not None:
        gx_suite = context.suites.add(gx_suite)
    # One batch definition per suite, run on its own dataframes: a Checkpoint passes the same
    # batch parameters (one dataframe) to all its definitions, so it cannot serve many frames.
    batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("staged")
    return LeanDefinition(batch, gx_suite, docs)


def import_gx() -> None:
    """Import Great Expectations (seconds of CPU) ahead of the first suite: ``digigov run``'s validation
    process does it at low priority while the embedded server starts (``flows/gate/process.py``);
    the flow's process and the batch workers never import it (``flows.gate.rules._gx``)."""
    from flows.gate.rules import _gx

    _gx()
    import great_expectations  # noqa: F401  (the data context, checkpoints and renderers)
