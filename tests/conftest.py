"""Shared fixtures. Prefect runs offline against one temporary embedded server per session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

# Before prefect is imported anywhere: a private PREFECT_HOME and no analytics (tests run offline).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="digigov-prefect-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "raw"
SHARED = ROOT.parent / "shared"
# The five seed texts (../shared/seeds), by name: raw/ also holds the corpus documents of
# ../shared/corpus, and the seeds' golden tests are about these five only.
SEED_NAMES = (
    "000_feb186371ffc1669.txt", "001_a7d205057cfc02ba.txt", "002_9a13bcdb1ac5e404.txt",
    "003_cc9bc0bda87098e7.txt", "004_38b79ef29f752b55.txt",
)
SEEDS = [RAW / name for name in SEED_NAMES]


def copy_seeds(dest: Path) -> Path:
    """A raw folder holding only the five seeds (for tests of the flow's mechanics, which need a
    few real documents, not the whole corpus)."""
    dest.mkdir(parents=True, exist_ok=True)
    for p in SEEDS:
        shutil.copy2(p, dest / p.name)
    return dest


def pytest_collection_modifyitems(items):
    """A test that needs the Prefect server (directly or through a build fixture) runs the flow:
    it is an e2e test, left out of ``make test-fast`` (``-m "not slow and not e2e"``)."""
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def validation_in_this_process(request, monkeypatch):
    """``digigov run`` validates in a process of its own that imports Great Expectations anew
    (``flows/gate/process.py``). Its tests (marked ``validation_process``: test_validator.py, and
    the CLI's end-to-end run in test_flow_e2e.py) start it; the other tests' in-process runs
    validate in the test's process, which imports GX once, with the same results
    (``test_the_validation_process_gives_the_results_of_this_one``)."""
    if request.node.get_closest_marker("validation_process") is None:
        monkeypatch.setattr("flows.gate.process.start", lambda: None)


# Under pytest-xdist the controller starts one Prefect server for all its workers (a server
# start costs seconds of CPU, once instead of once per worker) and hands its URL down here; the
# variable is not PREFECT_API_URL, so that only tests using ``prefect_harness`` talk to it.
SHARED_API_URL = "DIGIGOV_TESTS_PREFECT_API_URL"


def pytest_configure(config):
    """The xdist controller spawns the shared server (``flows.orchestration.embedded_server``:
    it imports nothing heavy, and the server stops with the controller), unless the run leaves
    out the tests that use it (``make test-fast``)."""
    distributed = config.getoption("dist", "no") != "no" and not os.environ.get("PYTEST_XDIST_WORKER")
    if not distributed or "not e2e" in (config.getoption("markexpr") or ""):
        return
    from flows.orchestration import embedded_server

    url = embedded_server.start()
    if url and embedded_server.started():
        os.environ[SHARED_API_URL] = url
    os.environ.pop("PREFECT_API_URL", None)  # set by start() for this process's own Prefect


# A flow run's heartbeats let a lasting server mark the run crashed once its process is gone;
# the test server goes with the session, and Prefect joins the heartbeat thread, asleep in whole
# seconds, as each flow run ends. Off, as on the server `digigov run` starts for itself
# (flows.orchestration.runners.OWN_SERVER_SETTINGS).
NO_HEARTBEATS = {"flows.heartbeat_frequency": None}


@pytest.fixture(scope="session")
def prefect_harness():
    """Prefect's settings point at a test server for the session: the controller's shared one
    (see ``pytest_configure``), else one of this process's own (Prefect's test harness)."""
    import contextlib

    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = os.environ.get(SHARED_API_URL)
    with contextlib.ExitStack() as stack:
        if url is None:
            from prefect.testing.utilities import prefect_test_harness

            stack.enter_context(prefect_test_harness(server_startup_timeout=120))
        else:
            from flows.orchestration.embedded_server import wait_answering

            wait_answering(url)
        # what the harness sets besides its server (the API URL), also for contexts copied before
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url or PREFECT_API_URL.value(), **NO_HEARTBEATS}))
        stack.enter_context(prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()))
        yield


def _shared_folder(tmp_path_factory) -> Path:
    """This run's base temporary folder, the same for every pytest-xdist worker."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def seed_raw(tmp_path_factory) -> Path:
    """A raw folder with the five seeds only (see ``copy_seeds``), one for the whole run (the
    shared builds record it as their raw folder). Never write into it."""
    from filelock import FileLock

    shared = _shared_folder(tmp_path_factory)
    with FileLock(str(shared / "seeds.lock")):
        if not (shared / "seeds" / SEED_NAMES[-1]).is_file():
            copy_seeds(shared / "seeds")
    return shared / "seeds"


def _built_once(tmp_path_factory, name: str, build) -> tuple[Path, dict]:
    """The output folder ``name`` built by ``build(out) -> summary`` once per test run: under
    pytest-xdist the workers share one build (the first builds it under a file lock, the others
    wait and read it), so a session build costs one build, not one per worker."""
    from filelock import FileLock

    shared = _shared_folder(tmp_path_factory)
    out, done = shared / name, shared / f"{name}.summary.json"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.is_file():
            shutil.rmtree(out, ignore_errors=True)  # a build a crashed worker left half done
            out.mkdir(parents=True)
            summary = build(out)
            done.write_text(json.dumps(summary, ensure_ascii=False, default=str), encoding="utf-8")
    return out, json.loads(done.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def seed_build(prefect_harness, tmp_path_factory):
    """The flow run once on the whole raw folder, the seeds and the corpus documents: its output
    folder and summary (shared by e2e tests and the evaluation test, which scores it against
    ../shared/eval; ten more documents cost the build a fraction of a second of processing).
    Never write into it."""
    from flows.build import build_dataset

    return _built_once(tmp_path_factory, "curated",
                       lambda out: build_dataset(raw_dir=str(RAW), out_dir=str(out)))


@pytest.fixture(scope="session")
def seeds_published(prefect_harness, seed_raw, tmp_path_factory):
    """The flow run once on the five seeds, on the threads runner with every document sent
    through a batch task: its output folder and summary. Tests that need a previous build start
    from a copy of it (``copy_build``) instead of building the seeds again; the other runners'
    tables are compared with its tables (test_ops). Never write into it."""
    from flows.build import run_build

    return _built_once(tmp_path_factory, "seeds-published",
                       lambda out: run_build(str(seed_raw), str(out), runner="threads", workers=1, serial_up_to=0))


def copy_build(out: Path, dest: Path) -> Path:
    """A copy of the output folder ``out`` at ``dest``: its links are relative, so the copy's
    ``.current`` is its own published build (the per-document cache comes along)."""
    shutil.copytree(out, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def seed_rows():
    """The five seeds through the plain pipeline (no Prefect): rows per table."""
    from flows.ingest.raw_files import read_raw
    from flows.pipeline import mark_duplicates, merge, process_document

    return mark_duplicates(merge([process_document(read_raw(RAW, p)) for p in SEEDS]))


def seed_doc(rows, prefix: str) -> dict:
    """The documents row of the seed whose file name starts with ``prefix`` (e.g. "003")."""
    (doc,) = [d for d in rows["documents"] if d["source_file"].startswith(prefix)]
    return doc


# The release gate's verdicts in this worker, by (today, the tables' content): see release_gate_once.
_GATE_VERDICTS: dict[tuple[str, str], dict] = {}


def tables_digest(tables) -> str:
    """A digest of tables' names, schemas (field metadata included) and rows."""
    import hashlib

    import pyarrow as pa

    digest = hashlib.sha256()
    for name in sorted(tables):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, tables[name].schema) as writer:
            writer.write_table(tables[name])
        digest.update(name.encode() + b"\0" + sink.getvalue().to_pybytes())
    return digest.hexdigest()


@pytest.fixture(autouse=True)
def release_gate_once(monkeypatch):
    """Releases validate the tables they release (``release.validation_gate``: every suite on
    every table, a pure function of the tables and today's date). Many tests release the same
    seed tables; each distinct set of tables is validated once per worker and its verdict reused.
    Tables that differ in any value, type or field description are validated again."""
    import copy
    import datetime as dt

    from flows.publishing import release

    gate = release.validation_gate

    def once(tables):
        key = (dt.date.today().isoformat(), tables_digest(tables))
        if key not in _GATE_VERDICTS:
            _GATE_VERDICTS[key] = gate(tables)
        return copy.deepcopy(_GATE_VERDICTS[key])

    monkeypatch.setattr(release, "validation_gate", once)
