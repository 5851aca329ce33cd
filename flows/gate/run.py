"""Validate: the gate between a run's staged tables and the published ones.

``validate_tables`` runs every suite of ``flows.gate.rules`` with Great Expectations (one
ephemeral context per validation, one pandas data asset and validation definition per frame),
writes the Data Docs site when given a directory, and returns a ``ValidationResult`` whose
failures name the rule, the table and column, and a few offending values, e.g.
``metrics.value = 150.0 for unit %``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pyarrow as pa

from flows.contract.schema import TableSchema, load_schemas
from flows.gate import data_docs
from flows.gate.failures import SHOWN_VALUES, describe_failure, failing_documents
from flows.gate.frames import DocumentTexts, build_frame, build_frames, suite_reads
from flows.gate.rules import DOCUMENT, Suite, build_suites, rule_level
from flows.gate.two_cores import SuiteOutcome, _can_fork, _validate_on_two
from flows.gate.verdict import ValidationResult
from flows.orchestration import lifetime
from flows.storage.staging import StagedTables
from flows.tooling.memory import return_freed_memory

DOCS_DIR = "validation"  # Data Docs live in OUT/validation/
SUMMARY_FILE = "summary.md"  # the same summary as the Prefect artifact, next to the Data Docs


def _num_rows(tables: Mapping, name: str) -> int:
    if name not in tables:
        return 0
    return tables.num_rows(name) if isinstance(tables, StagedTables) else tables[name].num_rows


def validate_tables(tables: Mapping[str, pa.Table], docs_dir: Path | None = None, *,
                    schemas: dict[str, TableSchema] | None = None,
                    today: dt.date | None = None, checked_docs: list[str] | None = None,
                    helper: bool = False, docs_later: bool = False, fork_worker: bool = False) -> ValidationResult:
    """Run every suite on ``tables`` (the curated tables by name); Data Docs go to ``docs_dir``.

    ``checked_docs`` (an incremental run): the doc_ids whose rows the row-level suites check;
    the rows of the other documents passed the same suites when the previous build was
    published. Suites over whole tables (``Suite.scope == "all"``) always check every row.

    ``helper`` (staged tables only): derive the cross-table frames in a helper process while
    this one runs GX on the tables' own frames (see ``HelperFrames``).

    ``fork_worker`` (tables whose readiness other processes can see: files, ``StagedTables``):
    share the suites with a fork of this process where the system can fork, unless a helper
    derives the frames (see ``_validate_on_two``).

    ``docs_later``: return the result first; ``write_pending_docs`` writes the Data Docs
    (``result.docs_index``) and the summary after (the validation process writes them while
    the flow publishes, ``flows/gate/process.py``).
    """
    started = time.perf_counter()
    schemas = schemas or load_schemas()
    # the derived views are written once the tables they derive from passed (flows/compare/views.py);
    # where they are present (a published folder, a release) they are validated like the rest
    failures = [f"{name}: table missing (schemas/{name}.yaml defines it)" for name in schemas
                if name not in tables and not schemas[name].derived_from]
    failures += [f"{name}: table has no schema in schemas/" for name in tables if name not in schemas]
    present = tables if all(n in schemas for n in tables) else {n: t for n, t in tables.items() if n in schemas}
    suites = {n: s for n, s in build_suites(schemas, today).items() if s.table in present}
    checked = None if checked_docs is None else pa.array(sorted(set(checked_docs)), pa.string())
    texts = DocumentTexts(present, checked)  # texts are read on first use
    staging = None if docs_dir is None else data_docs.staging_dir(docs_dir)  # swapped in when complete
    context = _context(staging)
    source = context.data_sources.add_pandas("digigov")
    failed: dict[str, int] = {}
    systemic: list[str] = []
    by_document: dict[str, list[str]] = {}
    # documents' own suites first (their frames hold every text), then the integrity suites
    # (their span checks hold the checked documents' texts as Python strings, let go after
    # them), then the rest: never two of these at once
    order = sorted(suites.items(), key=lambda kv: (kv[1].table != "documents", not kv[0].endswith(".integrity")))
    if isinstance(present, StagedTables) and not present.complete:
        # a build still being staged (in ``present.names``' order): each suite as soon as the
        # tables it reads are written, instead of one that reads them all (documents.row_counts)
        # holding up the rest until the last is (its checked rows are few: memory is no concern)
        staged_at = {name: i for i, name in enumerate(present.names)}
        order = sorted(order, key=lambda kv: max(staged_at.get(t, -1) for t in suite_reads(kv[1], schemas)))
    elsewhere = None
    if helper and isinstance(present, StagedTables) and present.complete:
        try:
            elsewhere = HelperFrames(present, {n: s for n, s in order if HelperFrames.derives(s)}, schemas, checked)
        except OSError as exc:  # no process can be started here: derive every frame in this one
            logging.getLogger(__name__).warning("validation helper not started (%s): deriving frames here", exc)
        else:
            order = [kv for kv in order if kv[0] not in elsewhere] + [kv for kv in order if kv[0] in elsewhere]
    try:
        _validate_suites(order, elsewhere, schemas, present, checked, texts, context, source, failed, failures,
                         systemic, by_document, fork_worker=fork_worker)
    finally:
        if elsewhere is not None:
            elsewhere.close()
    counts = {name: len(suite.expectations) for name, suite in suites.items()}
    result = ValidationResult(
        success=not failures, failures=failures, expectations=sum(counts.values()), suites=counts,
        failed=failed, seconds=time.perf_counter() - started,
        docs_index=None if docs_dir is None else Path(docs_dir).absolute() / "index.html",
        checked_documents=None if checked is None else len(checked),
        documents=_num_rows(present, "documents"), systemic=systemic, document_failures=by_document,
    )
    if docs_dir is not None:
        build = data_docs.build_of(present)
        _pending_docs.append(lambda: _write_docs(context, staging, Path(docs_dir), result, build))
        if not docs_later:
            write_pending_docs()
    return result


_pending_docs: list[Callable[[], None]] = []  # Data Docs of validations run with docs_later


def write_pending_docs() -> None:
    """Write the Data Docs (and summary) of the validations run with ``docs_later``."""
    while _pending_docs:
        _pending_docs.pop(0)()


def _write_docs(context: Any, staging: Path, docs_dir: Path, result: ValidationResult, build: str | None) -> None:
    started = time.perf_counter()
    try:
        data_docs.escape_results(context)  # GX prints the values it quotes into HTML as given
        with data_docs.rendering_errors_raised():
            _build_docs(context, staging)
        data_docs.add_vendored_assets(staging)
        result.seconds += time.perf_counter() - started
        # the summary in Markdown, for readers without a browser
        (staging / SUMMARY_FILE).write_text(result.markdown() + "\n", encoding="utf-8")
        data_docs.swap_in(staging, docs_dir, build, result.success)
    except BaseException:  # a full disk, say: the Data Docs there stay as they were
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _validate_suites(order: list[tuple[str, Suite]], elsewhere: HelperFrames | None, schemas: dict[str, TableSchema],
                     present: Mapping[str, Any], checked: pa.Array | None, texts: DocumentTexts,
                     context: Any, source: Any, failed: dict[str, int], failures: list[str],
                     systemic: list[str], by_document: dict[str, list[str]], fork_worker: bool = False) -> None:
    last: list[str] = []  # the suite this process validated before

    def run(i: int) -> SuiteOutcome:
        name, suite = order[i]
        if last and last[0].endswith(".integrity") and not name.endswith(".integrity"):
            texts.__dict__.pop("text_of", None)
        last[:] = [name]
        return _validate_suite(name, suite, elsewhere, schemas, present, checked, texts, context, source)

    if fork_worker and elsewhere is None and len(order) > 1 and _can_fork():
        outcomes = _validate_on_two(run, len(order), context)
    else:
        outcomes = {i: run(i) for i in range(len(order))}
    for i, (name, _) in enumerate(order):  # in the suites' order, whichever process ran them
        failed[name], messages, of_build, of_documents = outcomes[i]
        failures += messages
        systemic += of_build
        for doc_id, details in of_documents.items():
            by_document.setdefault(doc_id, []).extend(details)


def _validate_suite(name: str, suite: Suite, elsewhere: HelperFrames | None, schemas: dict[str, TableSchema],
                    present: Mapping[str, Any], checked: pa.Array | None, texts: DocumentTexts,
                    context: Any, source: Any) -> SuiteOutcome:
    """One suite over its frames: (expectations failed, failure messages, systemic ones,
    failing documents)."""
    definition, merged, messages = None, None, []
    if elsewhere is not None and name in elsewhere:
        frames = elsewhere.frames(name, lambda: build_frames(suite, schemas, present, checked, texts))
    else:
        frames = build_frames(suite, schemas, present, checked, texts)
    while True:
        try:
            frame = next(frames, None)
        except Exception as exc:  # a table too broken to derive checks from fails, never crashes
            messages.append(f"{name}: cannot derive the checked frame ({type(exc).__name__}: {exc})")
            merged = None
            break
        if frame is None:
            break
        definition = definition or _definition(context, source, suite)
        merged = _merge_results(merged, _run(context, definition, suite, frame).results)
        # GX's execution engine keeps every batch it loaded (all frames, texts included) for
        # the life of the data source; a frame is needed only while it is validated
        batches = source.get_execution_engine().batch_manager
        batches.reset_batch_cache()
        batches.batch_data_cache.clear()  # the property is the cache itself; GX has no method for it
        del frame
        return_freed_memory()
    if merged is None:
        return len(suite.expectations), messages, messages, {}
    bad = [r for r in merged if not r.success]
    systemic: list[str] = []
    by_document: dict[str, list[str]] = {}
    for r in bad:
        message = describe_failure(suite, r.expectation_config, r.result, r.exception_info)
        messages.append(message)
        documents = failing_documents(suite, r.expectation_config, r.result, r.exception_info)
        if documents is None:
            systemic.append(message)
        for doc_id, details in (documents or {}).items():
            by_document.setdefault(doc_id, []).extend(details)
    return len(bad), messages, systemic, by_document


# ---------------------------------------------------------------------------------------------
# Two processes: this one and a fork of it


class HelperFrames:
    """The frames of the derived suites (``<table>.integrity``, ``documents.row_counts``),
    built in a helper process from the staged files while this process runs GX.

    A full validation spends nearly as long deriving these frames (links looked up, every
    quoted span compared with the document's text) as in GX on the tables' own frames, all on
    one core of a machine whose batch workers sit idle by then. The helper starts
    at once (it imports no GX), derives the frames in order while GX runs here, and sends each
    back pickled (booleans and keys: a few MB); the document texts the span checks read are
    held there, not here. A frame the helper cannot derive comes back as its exception."""

    def __init__(self, tables: StagedTables, suites: dict[str, Suite], schemas: dict[str, TableSchema],
                 checked: pa.Array | None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._futures = {name: self._pool.submit(_helper_frame, tables.folder, tables.names, _without_expectations(suite),
                                                 schemas, checked)
                         for name, suite in suites.items()}

    @staticmethod
    def derives(suite: Suite) -> bool:
        return suite.name != suite.table and suite.name != f"{suite.table}.keys"

    def __contains__(self, name: str) -> bool:
        return name in self._futures

    def frames(self, name: str, here: Callable[[], Iterator[Any]]) -> Iterator[Any]:
        """The suite's frame from the helper; when the helper process itself is gone (killed,
        out of memory), the frames ``here`` derives in this process instead."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            frame = self._futures.pop(name).result()
        except BrokenProcessPool as exc:
            logging.getLogger(__name__).warning("validation helper lost (%s): deriving %s here", exc, name)
            yield from here()
            return
        yield frame

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _without_expectations(suite: Suite) -> Suite:
    """What the helper needs of a suite to derive its frame (GX's objects stay here)."""
    return Suite(suite.name, suite.table, suite.key, suite.index_columns, [], suite.scope)


_helper_state: dict[str, Any] = {}


def _helper_frame(folder: Path, names: list[str], suite: Suite, schemas: dict[str, TableSchema],
                  checked: pa.Array | None) -> Any:
    """In the helper process: one derived frame; the tables and the documents' texts are kept
    for the next suite of the same validation."""
    key = (str(folder), tuple(names), None if checked is None else tuple(checked.to_pylist()))
    if _helper_state.get("key") != key:
        tables = StagedTables(folder, names)
        _helper_state.update(key=key, tables=tables, texts=DocumentTexts(tables, checked))
    try:
        return build_frame(suite, schemas, _helper_state["tables"], checked, _helper_state["texts"])
    finally:
        return_freed_memory()


def check_contract(tables: dict[str, pa.Table]) -> ValidationResult:
    """The gate without Data Docs (kept for callers of the first, minimal gate)."""
    return validate_tables(tables)


# ---------------------------------------------------------------------------------------------
# Great Expectations plumbing


def _context(docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.execution_engine import pandas_execution_engine

    # GX chatters at INFO and draws progress bars per metric; a scheduled run wants neither
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # Its bars are disabled, but tqdm starts a monitor thread for any bar: a process running
    # it may not fork (``_can_fork``), and it watches bars nobody sees. Nor is its lock across
    # processes needed for them: a named semaphore, which the resource tracker reports as leaked
    # ("There appear to be 1 leaked semaphore objects") once the validation process is killed
    try:
        from tqdm import tqdm
        from tqdm.std import TqdmDefaultWriteLock
    except ImportError:  # not installed with this GX: no bars, no thread
        pass
    else:
        if not hasattr(TqdmDefaultWriteLock, "mp_lock"):
            TqdmDefaultWriteLock.mp_lock = None  # what tqdm sets where no such lock can be made
        tqdm.monitor_interval = 0
        if tqdm.monitor is not None:  # started by an earlier bar: stopped
            tqdm.monitor.exit()
            tqdm.monitor = None
    # GX fingerprints every batch it loads (a "batch marker" for its own metadata): it hashes the
    # whole frame, or pickles it when a column holds lists, once per suite: a cost that grows
    # with the texts. The fingerprint decides nothing here, so it is switched off.
    pandas_execution_engine.HASH_THRESHOLD = 0
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
    # An ephemeral context "saves" its whole project config, serialized, into an in-memory store
    # that nothing reads back, each time a data asset, suite or validation definition is added:
    # a config that grows with every asset, saved again for each one (quadratic work). The live
    # config (``context.config``) is what GX reads; only the pointless copy is skipped.
    context._save_project_config = lambda: None
    return context


def _definition(context, source, suite: Suite):
    import great_expectations as gx

    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=suite.expectations))
    batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("staged")
    # One validation definition per suite, run on its own dataframes: a Checkpoint passes the same
    # batch parameters (one dataframe) to all its definitions, so it cannot serve many frames.
    return context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))


@dataclass
class MergedResult:
    """One expectation's results over the frames of a suite, as ``describe_failure`` reads them."""

    expectation_config: Any
    result: dict
    exception_info: dict | None
    success: bool


_COUNTS = ("element_count", "unexpected_count", "missing_count")
_LISTS = ("partial_unexpected_list", "partial_unexpected_index_list")
_ALL_ROWS = "unexpected_index_list"  # every failing row's index (COMPLETE results): never cut


def _merge_results(merged: list[MergedResult] | None, results: list) -> list[MergedResult]:
    """Add a frame's expectation results to those of the suite's earlier frames: counts add
    up, the first offending values are kept, the first failure's details stand."""
    if merged is None:
        return [MergedResult(r.expectation_config, dict(r.result or {}), r.exception_info, r.success) for r in results]
    for m, r in zip(merged, results, strict=True):
        if m.expectation_config.type != r.expectation_config.type:
            raise RuntimeError("GX returned a suite's results in another order")
        new = r.result or {}
        for key in _COUNTS:
            if isinstance(m.result.get(key), int) and isinstance(new.get(key), int):
                m.result[key] += new[key]
        for key in _LISTS:
            if new.get(key):
                m.result[key] = (list(m.result.get(key) or []) + list(new[key]))[:SHOWN_VALUES]
        if new.get(_ALL_ROWS):
            m.result[_ALL_ROWS] = list(m.result.get(_ALL_ROWS) or []) + list(new[_ALL_ROWS])
        if not r.success and m.success:  # observed values, exceptions: the first failing frame's
            m.result.update({k: v for k, v in new.items() if k not in (*_COUNTS, *_LISTS, _ALL_ROWS)})
            m.exception_info = r.exception_info
        m.success = m.success and r.success
    return merged


def _run(context, definition, suite: Suite, frame):
    """A frame's results: a quick run (GX's BASIC results: counts, no offending rows), and where
    an expectation fails, a detailed run in its place (SUMMARY with the rows' keys and shown
    columns, which the failure messages quote). Finding the offending rows' index values costs
    GX extra metrics for every expectation, passing or not: a large share of a passing validation.
    The quick run's result leaves the results store, so the Data Docs show the detailed one."""
    with configurations_built_once():
        quick = definition.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "BASIC"})
        if quick.success:
            return quick
        index = [c for c in suite.index_columns if c in frame.columns]
        # a suite with document-level rules lists every failing row (COMPLETE), so that every
        # failing document is known (``failing_documents``); SUMMARY quotes only the first few
        complete = "doc_id" in index and any(rule_level(e.meta["rule"], suite.table) == DOCUMENT for e in suite.expectations)
        result_format = {"result_format": "COMPLETE" if complete else "SUMMARY", "partial_unexpected_count": SHOWN_VALUES,
                         "unexpected_index_column_names": index, "return_unexpected_index_query": False}
        detailed = definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
    store = context.validation_results_store
    run_time = quick.meta["run_id"].run_time
    for key in store.list_keys():
        if key.expectation_suite_identifier.name == suite.name and key.run_id.run_time == run_time:
            store.remove_key(key)
    return detailed


@contextmanager
def configurations_built_once() -> Iterator[None]:
    """Within a block, each GX expectation builds its ``configuration`` once.

    GX 1.x's ``Expectation.configuration`` is a property that serializes the expectation
    (pydantic ``dict()``) into a new ``ExpectationConfiguration`` on every read, and a run reads
    it once per keyword argument per step, many times per expectation: on small frames (an
    incremental validation) that dominates the run. Nothing changes an expectation
    while a validation runs (GX validates the objects it builds from the suite for the run),
    so the block memoizes the property per object and restores it after; the objects are held
    until then, so an id is never reused."""
    from great_expectations.expectations.expectation import Expectation

    prop = Expectation.__dict__["configuration"]
    built: dict[int, tuple[Any, Any]] = {}

    def configuration(self):
        hit = built.get(id(self))
        if hit is None or hit[0] is not self:
            hit = built[id(self)] = (self, prop.fget(self))
        return hit[1]

    Expectation.configuration = property(configuration, doc=prop.__doc__)
    try:
        yield
    finally:
        Expectation.configuration = prop


def _build_docs(context, docs_dir: Path) -> Path:
    """The Data Docs site of the context's suites and results. Where the process can fork, half
    the pages are rendered by a fork of it (GX renders its pages one at a time, at an incremental
    run's tail, after everything else); the index page, which
    lists the pages on disk, comes when both halves are written."""
    docs_dir = Path(docs_dir)
    # one site per validation: pages of earlier runs would list suites that no longer exist
    shutil.rmtree(docs_dir, ignore_errors=True)
    docs_dir.mkdir(parents=True)
    keys = [*context.validation_results_store.list_keys(), *context.expectations_store.list_keys()]
    if len(keys) < 2 or not _can_fork():
        context.build_data_docs(site_names=["digigov"])
        return docs_dir / "index.html"
    import multiprocessing

    mine, theirs = keys[::2], keys[1::2]
    fork = multiprocessing.get_context("fork").Process(target=lifetime.as_child(os.getpid(), _render_pages),
                                                       args=(context, theirs), name="data-docs-fork", daemon=True)
    try:
        fork.start()
    except OSError:
        mine, theirs, fork = keys, [], None
    _render_pages(context, mine)
    if fork is not None:
        fork.join()
        if fork.exitcode != 0:
            logging.getLogger(__name__).warning("Data Docs fork lost (exit code %s): its pages rendered here",
                                                fork.exitcode)
            _render_pages(context, theirs)
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    # the index alone: no page is rendered for a key that names no suite
    context.build_data_docs(site_names=["digigov"], resource_identifiers=[ExpectationSuiteIdentifier(name="\0")])
    return docs_dir / "index.html"


def _render_pages(context: Any, keys: list) -> None:
    if keys:
        with data_docs.rendering_errors_raised():  # a fork that could not write its pages exits non-zero
            context.build_data_docs(site_names=["digigov"], resource_identifiers=keys, build_index=False)


# ---------------------------------------------------------------------------------------------
# Messages


def import_gx() -> None:
    """Import Great Expectations (seconds of CPU) ahead of the first suite: ``digigov run``'s validation
    process does it at low priority while the embedded server starts (``flows/gate/process.py``);
    the flow's process and the batch workers never import it (``flows.gate.rules._gx``)."""
    from flows.gate.rules import _gx

    _gx()
    import great_expectations  # noqa: F401  (the data context, checkpoints and renderers)
