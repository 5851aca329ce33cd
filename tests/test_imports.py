"""What a worker process imports: the modules a batch task runs, without Great Expectations.

A process-pool or Dask worker imports ``flows.build`` to run ``process_batch_task`` and never
validates; GX (with scipy) costs each worker ~3.7 s of start-up, so it is imported only when a
suite is first built (``flows.gate.rules._gx``)."""

from __future__ import annotations

import subprocess
import sys

from flows.gate.rules import build_suites
from flows.contract.schema import load_schemas


def _imports(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_worker_modules_do_not_import_great_expectations():
    loaded = _imports("import flows.build, flows.pipeline, flows.gate.run")
    assert "flows.build" in loaded and "flows.gate.rules" in loaded
    assert not [m for m in loaded if m.startswith("great_expectations")]


def test_suites_still_build_with_the_lazy_import():
    suites = build_suites(load_schemas())
    rules = {e.meta["rule"] for s in suites.values() for e in s.expectations}
    assert {"not_null", "percent_within_0_100", "rows_per_document", "offsets_inside_text"} <= rules
    # a row condition (GX's Column, imported lazily too) is on the percentage rule
    percent = [e for e in suites["metrics"].expectations if e.meta["rule"] == "percent_within_0_100"]
    assert percent and all(e.row_condition is not None for e in percent)


def test_great_expectations_leaves_scipy_stats_unloaded_until_used():
    """GX imports scipy.stats (~0.75 s) for expectations no suite here runs: it is loaded lazily,
    on first use, which still works."""
    code = ("import sys\nfrom flows.gate.gx_context import import_gx\nimport_gx()\n"
            "print(type(sys.modules['scipy.stats']).__name__)\n"
            "from scipy import stats\nprint(round(float(stats.entropy([0.5, 0.5], [0.5, 0.5])), 3))\n"
            "print(type(sys.modules['scipy.stats']).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["_LazyModule", "0.0", "module"]


def test_lazy_import_runs_a_module_on_first_use_only(tmp_path, monkeypatch):
    from flows.gate.rules import lazy_import

    (tmp_path / "lazy_probe_pkg").mkdir()
    (tmp_path / "lazy_probe_pkg" / "__init__.py").write_text("")
    (tmp_path / "lazy_probe_pkg" / "mod.py").write_text("import sys\nsys.lazy_probe_ran = True\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_probe_pkg.mod", raising=False)
    monkeypatch.delattr(sys, "lazy_probe_ran", raising=False)
    lazy_import("lazy_probe_pkg.mod")
    assert not hasattr(sys, "lazy_probe_ran")
    from lazy_probe_pkg import mod

    assert not hasattr(sys, "lazy_probe_ran")  # bound by name, still not run
    assert mod.VALUE == 42 and sys.lazy_probe_ran
    lazy_import("lazy_probe_pkg.mod")  # imported already: left as it is
    assert sys.modules["lazy_probe_pkg.mod"] is mod
    lazy_import("no_such_module_anywhere.sub")  # not installed: nothing
    assert "no_such_module_anywhere.sub" not in sys.modules
    sys.modules.pop("lazy_probe_pkg.mod")
    sys.modules.pop("lazy_probe_pkg")
    del sys.lazy_probe_ran
