"""The validation process of ``digigov run`` (flows/gate/process.py): same results as validating
in the flow's process, waits for a build still being staged, and never loses a run."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import flows.gate.run as validate_mod
from flows.contract.schema import TABLES
from flows.gate import process as validator
from flows.gate.run import validate_tables
from flows.storage.staging import FilesWritten, StagedTables, mark_staging_failed
from tests.test_validate import TODAY, broken, good_rows, tables_of

pytestmark = pytest.mark.validation_process

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def failing_rows():
    rows = broken(good_rows(), "metrics", value=150.0)
    rows["sections"][1]["doc_id"] = "no-such-document"
    return rows


def _write(folder, rows, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables_of(rows).items():
        if names is None or name in names:
            # renamed into place when complete, as the staging writer does (flows/storage/publish.py)
            pq.write_table(table, folder / f"{name}.parquet.tmp", row_group_size=3)
            os.replace(folder / f"{name}.parquet.tmp", folder / f"{name}.parquet")


def _same(a, b) -> None:
    assert sorted(a.failures) == sorted(b.failures) and a.failures  # a staging build's suites run as tables come
    assert (a.expectations, a.failed, a.suites, a.checked_documents, a.documents) == \
        (b.expectations, b.failed, b.suites, b.checked_documents, b.documents)


@pytest.fixture(scope="module")
def _stopped_after_the_module():
    yield
    validator.stop()


@pytest.fixture
def validation_process(_stopped_after_the_module):
    validator.start()  # one process for the module's tests, started again after a test lost it


def test_the_validation_process_gives_the_results_of_this_one(validation_process, failing_rows, tmp_path):
    _write(tmp_path / "build", failing_rows)
    here = validate_tables(StagedTables(tmp_path / "build", TABLES), tmp_path / "docs-here", today=TODAY)
    there = validator.validate(StagedTables(tmp_path / "build", TABLES), tmp_path / "docs-there", today=TODAY)
    _same(there, here)
    validator.wait_docs()  # written after the result came back
    assert there.docs_index == tmp_path / "docs-there" / "index.html" and there.docs_index.exists()
    doc = failing_rows["documents"][0]["doc_id"]  # an incremental run's checked documents
    _same(validator.validate(StagedTables(tmp_path / "build", TABLES), None, today=TODAY, checked_docs=[doc]),
          validate_tables(StagedTables(tmp_path / "build", TABLES), None, today=TODAY, checked_docs=[doc]))


def test_a_build_being_staged_is_validated_as_its_files_are_written(validation_process, failing_rows, tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    first = ["documents", "sections"]
    _write(build, failing_rows, first)
    never = threading.Event()  # this process's own signal: the validation process cannot wait on it
    staging = StagedTables(build, TABLES, ready=lambda name: never.wait())
    writer = threading.Timer(0.5, _write, (build, failing_rows))  # the rest, while it validates
    writer.start()
    doc = failing_rows["documents"][0]["doc_id"]
    result = validator.validate(staging, None, today=TODAY, checked_docs=[doc])
    writer.join()
    _same(result, validate_tables(StagedTables(build, TABLES), None, today=TODAY, checked_docs=[doc]))


def test_staging_that_fails_stops_the_validation_with_its_reason(validation_process, failing_rows, tmp_path):
    build = tmp_path / "build"
    _write(build, failing_rows, ["documents"])
    staging = StagedTables(build, TABLES, ready=lambda name: None)
    threading.Timer(0.3, mark_staging_failed, (build, OSError("disk full"))).start()
    result = validator.validate(staging, None, today=TODAY)  # the flow then raises the staging error itself
    assert not result.success
    assert any(f.endswith("staging the build failed before sections: OSError: disk full)") for f in result.failures)
    assert validator.started()  # the process itself is fine: the next run validates there again


def test_a_lost_validation_process_only_moves_validation_here(validation_process, failing_rows, tmp_path, caplog):
    _write(tmp_path / "build", failing_rows)
    for process in validator._pool._processes.values():
        process.kill()
    time.sleep(0.5)
    with caplog.at_level(logging.WARNING, logger="flows.gate.process"):
        result = validator.validate(StagedTables(tmp_path / "build", TABLES), None, today=TODAY)
    assert "validation process lost" in caplog.text and not validator.started()
    _same(result, validate_tables(StagedTables(tmp_path / "build", TABLES), None, today=TODAY))


def test_files_written_waits_for_the_file_and_gives_up_on_a_failed_or_orphaned_build(tmp_path):
    ready = FilesWritten(tmp_path)
    threading.Timer(0.2, (tmp_path / "documents.parquet").write_bytes, (b"x",)).start()
    started = time.perf_counter()
    ready("documents")
    assert time.perf_counter() - started >= 0.15
    orphan = FilesWritten(tmp_path)
    orphan.owner = 2 ** 22 + 7  # neither this process nor its parent: the staging run is gone
    with pytest.raises(RuntimeError, match="is gone before sections"):
        orphan("sections")
    mark_staging_failed(tmp_path, ValueError("bad row group"))
    with pytest.raises(RuntimeError, match="failed before sections: ValueError: bad row group"):
        ready("sections")
    ready("documents")  # a file written before the failure still reads


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="no /proc here")
def test_files_written_in_a_fork_of_the_validation_process_follows_the_staging_process(tmp_path):
    """The fork that shares the suites is the staging process's grandchild: it waits while that
    process runs, and gives up once it has died, even before its parent reaps it (a zombie)."""
    staging = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        grandchild = FilesWritten(tmp_path)
        grandchild.owner = staging.pid  # neither this process nor its parent
        threading.Timer(0.2, (tmp_path / "tasks.parquet").write_bytes, (b"x",)).start()
        grandchild("tasks")  # waits: the staging process runs
        staging.stdin.close()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{staging.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(RuntimeError, match="is gone before goals"):
            grandchild("goals")  # dead, not yet reaped
    finally:
        staging.wait()


def test_without_a_started_process_validation_runs_here(failing_rows, tmp_path, monkeypatch):
    validator.stop()
    _write(tmp_path / "build", failing_rows)
    calls = []
    monkeypatch.setattr(validate_mod, "validate_tables", lambda *a, **k: calls.append(a) or "here")
    assert validator.validate(StagedTables(tmp_path / "build", TABLES), None) == "here" and calls


def test_the_run_command_keeps_great_expectations_out_of_its_own_process(tmp_path, failing_rows):
    """What the process is for: the command's process never imports GX, yet validates."""
    _write(tmp_path / "build", failing_rows)
    script = (
        "import sys\n"
        "from flows.gate import process as validator\n"
        "from flows.gate.run import StagedTables\n"
        "from flows.contract.schema import TABLES\n"
        "from tests.test_validate import TODAY\n"
        "validator.start()\n"
        f"result = validator.validate(StagedTables({str(tmp_path / 'build')!r}, TABLES), None, today=TODAY)\n"
        "assert 'great_expectations' not in sys.modules\n"
        "print(len(result.failures), result.expectations)\n"
        "validator.stop()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    expected = validate_tables(StagedTables(tmp_path / "build", TABLES), None, today=TODAY)
    assert done.stdout.split() == [str(len(expected.failures)), str(expected.expectations)]


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is Linux's")
def test_a_validation_waits_for_the_import_and_restores_its_priority(failing_rows, tmp_path, monkeypatch):
    """A validation that comes while the lowered thread still imports GX (a busy machine)."""
    seen = {}

    def importing():
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, validator.NICE)
        monkeypatch.setattr(validator, "_importer_id", tid)
        started.set()
        time.sleep(0.5)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen["done"] = time.perf_counter()

    started = threading.Event()
    thread = threading.Thread(target=importing)
    monkeypatch.setattr(validator, "_importer", thread)
    thread.start()
    started.wait()
    _write(tmp_path / "build", failing_rows)
    result = validator._validate_there(StagedTables(tmp_path / "build", TABLES), None, {"today": TODAY})
    assert "done" in seen and not result.success  # it waited for the import, then validated
    if os.geteuid() == 0:  # others may not raise a priority back (RLIMIT_NICE)
        assert seen["nice"] == 0


def test_data_docs_are_written_after_the_result_and_waited_for(validation_process, failing_rows, tmp_path):
    _write(tmp_path / "build", failing_rows)
    docs = tmp_path / "docs"
    result = validator.validate(StagedTables(tmp_path / "build", TABLES), docs, today=TODAY)
    validator.wait_docs()
    assert result.docs_index == docs / "index.html" and result.docs_index.exists()
    summary = (docs / "summary.md").read_text(encoding="utf-8")
    assert "FAILED" in summary and "metrics.value = 150.0 for unit %" in summary
    again = validator.validate(StagedTables(tmp_path / "build", TABLES), docs, today=TODAY)
    validator.stop()  # waits for them too
    assert again.docs_index.exists() and (docs / "summary.md").exists()


def test_data_docs_that_cannot_be_written_are_an_error_in_the_log(validation_process, failing_rows, tmp_path, caplog):
    _write(tmp_path / "build", failing_rows)
    (tmp_path / "file").write_text("not a folder")
    with caplog.at_level(logging.ERROR, logger="flows.gate.process"):
        result = validator.validate(StagedTables(tmp_path / "build", TABLES), tmp_path / "file" / "docs", today=TODAY)
        validator.wait_docs()
    assert not result.success and "Data Docs of this validation were not written" in caplog.text
