"""What a worker process imports: the modules a batch task runs, without Great Expectations.

A process-pool or Dask worker imports ``flows.build`` to run ``process_batch_task`` and never
validates; GX (with scipy) costs each worker ~3.7 s of start-up, so it is imported only when a
suite is first built (``flows.expectations._gx``)."""

from __future__ import annotations

import subprocess
import sys

from flows.expectations import build_suites
from flows.schema import load_schemas


def _imports(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_worker_modules_do_not_import_great_expectations():
    loaded = _imports("import flows.build, flows.pipeline, flows.validate")
    assert "flows.build" in loaded and "flows.expectations" in loaded
    assert not [m for m in loaded if m.startswith("great_expectations")]


def test_suites_still_build_with_the_lazy_import():
    suites = build_suites(load_schemas())
    rules = {e.meta["rule"] for s in suites.values() for e in s.expectations}
    assert {"not_null", "percent_within_0_100", "rows_per_document", "offsets_inside_text"} <= rules
    # a row condition (GX's Column, imported lazily too) is on the percentage rule
    percent = [e for e in suites["metrics"].expectations if e.meta["rule"] == "percent_within_0_100"]
    assert percent and all(e.row_condition is not None for e in percent)
