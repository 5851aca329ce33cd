"""Validate: the gate between a run's staged tables and the published ones.

``validate_tables`` runs every suite of ``flows.gate.rules`` over the tables with Great
Expectations (one ephemeral context per validation, one pandas data asset and batch
definition per suite), collects the failures, writes the Data Docs site when given a directory,
and returns a ``ValidationResult`` whose failures name the rule, the table and column, and a few
offending values, e.g. ``metrics.value = 150.0 for unit %``.

What only makes it faster lives in modules named for it, each one the gate can do without:
``gx_context`` (GX's settings), ``lean_runs`` (GX's runs without their store bookkeeping),
``quick_runs`` (detailed results only where a rule fails), ``expectation_configurations``,
``helper_frames`` (derived frames built in a helper process) and ``two_cores`` (suites shared
with a fork).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import pyarrow as pa

from flows.contract.schema import TableSchema, load_schemas
from flows.gate import data_docs
from flows.gate.failures import describe_failure, failing_documents
from flows.gate.frames import DocumentTexts, build_frames, suite_reads
from flows.gate.gx_context import new_context, suite_definition
from flows.gate.helper_frames import HelperFrames
from flows.gate.quick_runs import merge_results, run_frame
from flows.gate.rules import Suite, build_suites
from flows.gate.two_cores import SuiteOutcome, _can_fork, _validate_on_two
from flows.gate.verdict import ValidationResult
from flows.orchestration import lifetime
from flows.storage.staging import StagedTables
from flows.tooling.memory import return_freed_memory

DOCS_DIR = "validation"  # Data Docs live in OUT/validation/
SUMMARY_FILE = "summary.md"  # the same summary as the Prefect artifact, next to the Data Docs


# Starting the helper (an interpreter importing pyarrow) costs more than it saves on small tables:
# below this size the frames are derived here (the crossover is measured in docs/performance.md).
HELPER_MIN_BYTES = 10 * 2**20


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
    context = new_context(staging)
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
    if helper and isinstance(present, StagedTables) and present.complete and present.nbytes() >= HELPER_MIN_BYTES:
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
        definition = definition or suite_definition(context, source, suite)
        merged = merge_results(merged, run_frame(definition, suite, frame).results)
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


def check_contract(tables: dict[str, pa.Table]) -> ValidationResult:
    """The gate without Data Docs (kept for callers of the first, minimal gate)."""
    return validate_tables(tables)


# ---------------------------------------------------------------------------------------------
# Data Docs


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

