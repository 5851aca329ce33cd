"""Evaluation: the published tables scored against the hand labels in ``../shared/eval/``.

The scorer is ``../shared/eval/score.py`` itself, loaded by path (it needs only pyarrow), so the
project reports exactly what anyone running it by hand sees. Each gold file is scored on its own:
``gold_seeds.json`` (the five seeds, which must stay at 1.00 on every score) and
``gold_dev.json`` (the corpus of ten real documents nobody here wrote).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Where the labels live beside a checkout; DIGIGOV_EVAL_DIR points elsewhere.
DEFAULT_EVAL_DIR = ROOT.parent / "shared" / "eval"
GOLD_SETS = (("seeds", "gold_seeds.json"), ("corpus", "gold_dev.json"))
SCORE_NAMES = ("meta", "sections", "goals_f1", "metrics_recall", "pct_precision", "is_target_acc",
               "metric_year_acc", "bandwidth_f1", "text")


class EvaluationUnavailable(Exception):
    """The scorer or the labels cannot be found, or the tables are missing."""


@dataclass
class GoldScore:
    name: str  # "seeds" or "corpus"
    totals: dict[str, float]
    overall: float
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: str = ""  # what score.py printed: per-document scores and misses


def eval_dir(given: Path | str | None = None) -> Path:
    return Path(given or os.environ.get("DIGIGOV_EVAL_DIR") or DEFAULT_EVAL_DIR)


def load_scorer(folder: Path) -> ModuleType:
    path = folder / "score.py"
    if not path.is_file():
        raise EvaluationUnavailable(f"no scorer at {path}")
    spec = importlib.util.spec_from_file_location("digigov_eval_score", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score_tables(out_dir: Path | str, folder: Path | str | None = None) -> list[GoldScore]:
    """Score the tables in ``out_dir`` against each gold file present in the eval folder."""
    folder = eval_dir(folder)
    scorer = load_scorer(folder)
    results = []
    for name, gold_file in GOLD_SETS:
        gold = folder / gold_file
        if not gold.is_file():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            summary = Path(tmp) / "score.json"
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = scorer.main([str(out_dir), str(gold), "--json", str(summary)])
            if code or not summary.is_file():
                raise EvaluationUnavailable(printed.getvalue().strip().splitlines()[-1] if printed.getvalue() else
                                            f"score.py failed on {out_dir}")
            data = json.loads(summary.read_text(encoding="utf-8"))
        results.append(GoldScore(name, data["totals"], data["overall"], data["docs"], printed.getvalue()))
    if not results:
        raise EvaluationUnavailable(f"no gold files ({', '.join(f for _, f in GOLD_SETS)}) in {folder}")
    return results


def score_table(results: list[GoldScore]) -> str:
    """The scores side by side: one row per score, one column per gold set, overall last."""
    names = [r.name for r in results]
    width = max(len(n) for n in SCORE_NAMES + ("overall",))
    lines = [f"{'score':<{width}}  " + "  ".join(f"{n:>7}" for n in names)]
    for key in SCORE_NAMES:
        lines.append(f"{key:<{width}}  " + "  ".join(f"{r.totals.get(key, float('nan')):>7.2f}" for r in results))
    lines.append(f"{'overall':<{width}}  " + "  ".join(f"{r.overall:>7.3f}" for r in results))
    return "\n".join(lines)


def main(out_dir: Path | str, folder: Path | str | None = None, verbose: bool = False) -> int:
    try:
        results = score_tables(out_dir, folder)
    except EvaluationUnavailable as exc:
        print(f"digigov eval: {exc}")
        return 2
    if verbose:
        for r in results:
            print(f"== {r.name}\n{r.report.rstrip()}\n")
    print(score_table(results))
    return 0
