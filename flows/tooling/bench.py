"""``digigov bench``: full and incremental runs on a synthetic corpus, measured.

The corpus holds N *unique* documents made from the seeds in ``raw/``: numbers perturbed (years
and heading numbers kept), a distinct document number per copy, paragraphs shuffled inside their
section, and a mix of scripts and encodings (every 10th copy in traditional script, others in
GB18030 or UTF-8 with a BOM). Each size is run as the CLI runs (a subprocess, embedded Prefect
server included): a full build into an empty output folder, then an incremental build after one
document changed. Reported: wall time, documents/s, MB/s, seconds per stage, Prefect overhead,
peak RSS of the whole process tree, and a plain single-process regex script over the same bytes
for comparison.
"""

from __future__ import annotations

from functools import cache

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from flows.gate.verdict import EXIT_PUBLISHED, EXIT_QUARANTINED
from flows.ingest.raw_files import discover
from flows.patterns.doc_number import DOC_NUMBER

ROOT = Path(__file__).resolve().parents[2]
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_YEAR = re.compile(r"(?:19|20)\d\d")
_HEADING_LINE = re.compile(r"^\s*(?:#+\s|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d+[.．、])")
_DATE_UNITS = ("月", "日", "号", "年", "-", "/")
ENCODINGS = ("utf-8", "traditional", "gb18030", "utf-8-sig", "utf-8", "utf-8", "utf-8", "gb18030", "utf-8", "utf-8")


def _decode(data: bytes) -> str:
    # the pipeline's own decoder, so the corpus starts from the text the pipeline would read
    from flows.normalize.encoding import decode_bytes
    from flows.normalize.repairs import RepairLog

    return decode_bytes(data, RepairLog())[0]


def seed_texts(raw: Path) -> list[tuple[str, str]]:
    """(stem, text) of every raw document under ``raw``."""
    return [(p.stem, _decode(p.read_bytes())) for p in discover(raw)]


def _numbered(m: re.Match[str], year: int, serial: int) -> str:
    """A document number as written, with another year and serial."""
    def cut(a: int, b: int) -> str:
        return m.string[a:b]
    return f"{cut(m.start(), m.start('year'))}{year}{cut(m.end('year'), m.start('serial'))}{serial}{cut(m.end('serial'), m.end())}"


def perturb(text: str, serial: int, rng: random.Random) -> str:
    """A new, distinct document from ``text``: numbers, document number and paragraph order change."""
    def number(m: re.Match) -> str:
        s = m.group(0)
        line_start = text.rfind("\n", 0, m.start()) + 1
        if (_YEAR.fullmatch(s) or not text[line_start:m.start()].strip() or text[m.end():m.end() + 1] in _DATE_UNITS
                or text.startswith("|", line_start) or rng.random() < 0.5):
            # years, dates and heading numbers carry structure; a table cell's unit may stand in
            # its header (一窗综合受理率（%） | 100): keep them
            return s
        if "." in s:
            whole, frac = s.split(".")
            return f"{max(0, int(whole) + rng.randint(-2, 2))}.{rng.randint(0, 10 ** len(frac) - 1):0{len(frac)}d}"
        n = int(s)
        new = max(1, n + rng.randint(-max(1, n // 5), max(1, n // 5)))
        if text[m.end():m.end() + 1] in "%％":
            new = min(new, 100)  # a percentage stays a percentage (validation rejects 108%)
        return str(new)

    text = _NUMBER.sub(number, text)
    year = rng.randint(2018, 2024)
    text, found = DOC_NUMBER.subn(lambda m: _numbered(m, year, serial), text, count=1)
    lines = text.split("\n")
    if not found:  # every copy gets a document number of its own
        lines.insert(1, f"某府办发〔{year}〕{serial}号")
    out: list[str] = []
    block: list[str] = []
    for line in lines + [None]:
        if line is None or _HEADING_LINE.match(line) or not line.strip():
            if len(block) > 1 and rng.random() < 0.5:
                rng.shuffle(block)
            out.extend(block)
            block = []
            if line is not None:
                out.append(line)
        else:
            block.append(line)
    return "\n".join(out)


@cache
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def _to_traditional(text: str) -> str:
    return _s2t().convert(text)


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "traditional":
        return _to_traditional(text).encode("utf-8")
    return text.encode(encoding)


def _make_one(args: tuple[int, str, str, int, str]) -> tuple[str, int]:
    i, stem, text, seed, dest = args
    rng = random.Random(seed * 1_000_003 + i)
    encoding = ENCODINGS[i % len(ENCODINGS)]
    data = _encode(perturb(text, i + 1, rng), encoding)
    name = f"{i // 1000:02d}/{stem}-{i:05d}-{encoding}.txt"
    path = Path(dest) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return name, len(data)


def make_corpus(raw: Path, dest: Path, n: int, seed: int = 0, workers: int | None = None) -> dict[str, Any]:
    """Write ``n`` unique documents into ``dest`` (reused when a complete one is already there)."""
    manifest = dest / "corpus.json"
    if manifest.is_file():
        info = json.loads(manifest.read_text())
        if info.get("docs") == n and info.get("seed") == seed:
            return info
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    seeds = seed_texts(raw)
    if not seeds:
        raise FileNotFoundError(f"no seed documents under {raw}")
    jobs = [(i, *seeds[i % len(seeds)], seed, str(dest)) for i in range(n)]
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        made = list(pool.map(_make_one, jobs, chunksize=64))
    info = {"docs": n, "seed": seed, "bytes": sum(size for _, size in made), "files": [name for name, _ in made]}
    (dest / ".corpus.json.tmp").write_text(json.dumps(info))
    os.replace(dest / ".corpus.json.tmp", manifest)
    return info


def touch_one(corpus: Path, info: dict[str, Any]) -> tuple[Path, bytes]:
    """Change one document's content (append a sentence); returns its path and original bytes."""
    path = corpus / next(f for f in info["files"] if f.endswith("-utf-8.txt"))
    original = path.read_bytes()
    path.write_bytes(original + f"\n到2030年，新增{time.time_ns() % 1000}项应用。\n".encode())
    return path, original


def regex_baseline(corpus: Path) -> dict[str, float]:
    """A plain script: read, decode, and find headings, deadlines and percentages with regexes."""
    heading = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]).*$", re.M)
    deadline = re.compile(r"(?:到|至)\s*(20\d\d)\s*年")
    percent = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
    t0 = time.perf_counter()
    n = size = found = 0
    for path in discover(corpus):
        data = path.read_bytes()
        text = _decode(data)
        found += len(heading.findall(text)) + len(deadline.findall(text)) + len(percent.findall(text))
        n += 1
        size += len(data)
    seconds = time.perf_counter() - t0
    return {"docs": n, "seconds": round(seconds, 2), "docs_per_s": round(n / seconds, 1), "matches": found}


def run_cli(raw: Path, out: Path, runner: str, workers: int | None, extra: list[str] = ()) -> dict[str, Any]:
    """One ``digigov run`` in a subprocess: its summary, wall time and peak RSS of the process tree."""
    import psutil

    summary_path = out.parent / f"{out.name}-summary-{time.time_ns()}.json"
    cmd = [sys.executable, "-m", "flows.cli", "run", "--raw", str(raw), "--out", str(out), "--runner", runner,
           "--summary-json", str(summary_path), *extra]
    if workers:
        cmd += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # measure server start-up too
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # the run's output goes to a file: a pipe read only after the run would fill up (64 KB of
    # per-document warnings) and block it for good
    output = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    peak_tree = peak_one = peak_pss = 0
    tick = 0
    while proc.poll() is None:
        try:
            procs = [proc] + proc.children(recursive=True)
            rss = [p.memory_info().rss for p in procs if p.is_running()]
            # PSS shares each page among the processes that map it (libraries, which RSS counts
            # once per process): the sum of PSS is the memory the run really takes. Reading it
            # walks every mapping (/proc/PID/smaps), so it is sampled every 2 s only, lest the
            # sampler itself take CPU from the run it measures
            pss = sum(p.memory_full_info().pss for p in procs if p.is_running()) if tick % 10 == 0 else 0
        except (psutil.Error, AttributeError):
            rss, pss = [], 0
        tick += 1
        if rss:
            peak_tree, peak_one, peak_pss = max(peak_tree, sum(rss)), max(peak_one, max(rss)), max(peak_pss, pss)
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    output.seek(0)
    log = output.read().decode(errors="replace")
    output.close()
    if proc.returncode not in (EXIT_PUBLISHED, EXIT_QUARANTINED):  # both published a build
        raise RuntimeError(f"digigov run failed ({proc.returncode}):\n{log[-3000:]}")
    summary = json.loads(summary_path.read_text())
    summary_path.unlink()
    return {"wall": wall, "peak_tree_rss_mb": peak_tree / 2**20, "peak_process_rss_mb": peak_one / 2**20,
            "peak_tree_pss_mb": peak_pss / 2**20, "summary": summary}


def extractor_profile(corpus: Path, sample: int = 100) -> dict[str, float]:
    """Milliseconds per document of each sub-extractor, on a sample of the corpus (in process)."""
    from flows.extract import EXTRACTORS, read_document
    from flows.ingest.raw_files import Rejected, read_raw
    from flows.normalize.text import normalize_bytes
    from flows.structure.sections import parse_sections

    totals = {name: 0.0 for name in ("document", *EXTRACTORS)}
    n = 0
    for path in discover(corpus)[:sample]:
        try:
            raw = read_raw(corpus, path)
            norm = normalize_bytes(raw.data, raw.source_file)
        except Rejected:
            continue
        sections = parse_sections(raw.handle, norm.text)
        t0 = time.perf_counter()
        doc = read_document(norm.text, sections)  # what every extractor reads, built once
        totals["document"] += time.perf_counter() - t0
        for name, fn in EXTRACTORS.items():
            t0 = time.perf_counter()
            fn(raw.handle, doc)
            totals[name] += time.perf_counter() - t0
        n += 1
    return {name: round(1000 * s / max(n, 1), 2) for name, s in totals.items()}


def hot_spots(corpus: Path, sample: int = 50, top: int = 12) -> list[tuple[str, float]]:
    """The functions ``process_document`` spends its own time in, on a sample (cProfile)."""
    import cProfile
    import pstats

    from flows.ingest.raw_files import Rejected, read_raw
    from flows.pipeline import process_document

    raws = []
    for path in discover(corpus)[:sample]:
        try:
            raws.append(read_raw(corpus, path))
        except Rejected:
            continue
    profiler = cProfile.Profile()
    profiler.enable()
    for raw in raws:
        process_document(raw)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (calls, ncalls, tottime, cumtime, callers)
    ranked = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return [(f"{Path(f).parent.name}/{Path(f).name}:{line} {name}", round(1000 * tt / max(len(raws), 1), 2))
            for (f, line, name), (_, _, tt, _, _) in ranked]


def measure(n: int, workdir: Path, raw: Path, seed: int, runner: str, workers: int | None) -> dict[str, Any]:
    corpus = workdir / f"corpus-{n}-{seed}"
    t0 = time.perf_counter()
    info = make_corpus(raw, corpus, n, seed)
    corpus_seconds = time.perf_counter() - t0
    out = workdir / f"out-{n}"
    shutil.rmtree(out, ignore_errors=True)
    mb = info["bytes"] / 1e6
    full = run_cli(corpus, out, runner, workers)
    touched, original = touch_one(corpus, info)
    try:
        incremental = run_cli(corpus, out, runner, workers)
    finally:
        touched.write_bytes(original)  # the corpus stays reusable
    workers = workers or os.cpu_count() or 1
    report = {"docs": n, "mb": round(mb, 1), "corpus_seconds": round(corpus_seconds, 1), "runner": runner,
              "workers": workers, "full": _run_report(full, n, mb, workers),
              "incremental": _run_report(incremental, n, mb, workers),
              "regex_baseline": regex_baseline(corpus), "extract_ms_per_doc": extractor_profile(corpus),
              "hot_spots_ms_per_doc": hot_spots(corpus)}
    return report


def _run_report(run: dict[str, Any], n: int, mb: float, workers: int) -> dict[str, Any]:
    s = run["summary"]
    t = s["timings"]
    in_tasks = sum(v for k, v in t.items() if k.startswith("stage:") and k != "stage:cpu")  # wall seconds
    docs = s["processed"] + s["cached"]
    return {
        "wall_s": round(run["wall"], 1),
        "flow_s": round(t.get("flow", 0), 1),
        "docs_per_s": round(n / run["wall"], 1),
        "mb_per_s": round(mb / run["wall"], 2),
        "ms_per_doc": round(1000 * run["wall"] / n, 2),
        # the batches' own CPU (their threads' CPU time, worker warm-up apart) per document they
        # processed or loaded: what a document costs, whatever else runs on the machine
        "stage_cpu_ms_per_doc": round(1000 * t["stage:cpu"] / docs, 2) if docs and "stage:cpu" in t else None,
        "processed": s["processed"],
        "cached": s["cached"],
        "reused": s.get("reused", 0),
        "peak_tree_rss_mb": round(run["peak_tree_rss_mb"]),
        "peak_tree_pss_mb": round(run["peak_tree_pss_mb"]),
        "peak_process_rss_mb": round(run["peak_process_rss_mb"]),
        # start-up and shut-down outside the flow body: imports, embedded server, worker teardown
        "prefect_startup_s": round(run["wall"] - t.get("flow", 0), 1),
        # batch phase not spent inside the tasks' own code: scheduling, pickling, worker start
        "task_overhead_s": round(max(0.0, t.get("batches", 0) - in_tasks / workers), 1),
        "stages_s": {k: round(v, 2) for k, v in t.items()},
    }


def render(reports: list[dict[str, Any]]) -> str:
    lines = ["| docs | MB | run | wall s | docs/s | MB/s | ms/doc | processed / cached / reused | "
             "stage CPU ms/doc | peak memory MB (tree PSS / tree RSS / largest process RSS) | "
             "Prefect start-up s | task overhead s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in reports:
        for kind in ("full", "incremental"):
            x = r[kind]
            lines.append(f"| {r['docs']} | {r['mb']} | {kind} | {x['wall_s']} | {x['docs_per_s']} | {x['mb_per_s']} | "
                         f"{x['ms_per_doc']} | {x['processed']} / {x['cached']} / {x.get('reused', 0)} | "
                         f"{x.get('stage_cpu_ms_per_doc') or '-'} | "
                         f"{x.get('peak_tree_pss_mb', '-')} / {x['peak_tree_rss_mb']} / "
                         f"{x['peak_process_rss_mb']} | {x['prefect_startup_s']} | {x['task_overhead_s']} |")
    lines.append("")
    for r in reports:
        stages = ", ".join(f"{k} {v}" for k, v in r["full"]["stages_s"].items())
        lines.append(f"- {r['docs']} docs, full run, seconds per stage (stage:* summed over workers; stage:cpu is "
                     f"their CPU seconds, the rest wall seconds): {stages}")
        lines.append(f"- {r['docs']} docs, extractors, ms/doc: " + ", ".join(f"{k} {v}" for k, v in r["extract_ms_per_doc"].items()))
        lines.append(f"- {r['docs']} docs, where process_document spends its own time (cProfile, ms/doc): "
                     + ", ".join(f"{name} {ms}" for name, ms in r["hot_spots_ms_per_doc"][:6]))
        b = r["regex_baseline"]
        lines.append(f"- {r['docs']} docs, plain regex script (1 process): {b['seconds']} s, {b['docs_per_s']} docs/s")
    return "\n".join(lines)


def main(docs: list[int], workdir: Path | None = None, seed: int = 0, runner: str = "local",
         workers: int | None = None, raw: Path = ROOT / "raw", keep: bool = False) -> int:
    own = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="digigov-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    reports = []
    try:
        for n in docs:
            print(f"bench: {n} documents ...", file=sys.stderr, flush=True)
            reports.append(measure(n, workdir, Path(raw), seed, runner, workers))
            print(render(reports[-1:]), file=sys.stderr, flush=True)
    finally:
        (workdir / "bench.json").write_text(json.dumps(reports, indent=2))
        if own and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(render(reports))
    if len(reports) > 1:
        for key, what in (("ms_per_doc", "wall ms/doc"), ("stage_cpu_ms_per_doc", "stage CPU ms/doc")):
            per_doc = [r["full"].get(key) for r in reports]
            if per_doc[0] and per_doc[-1]:
                print(f"\nfull run, {what} from {reports[0]['docs']} to {reports[-1]['docs']} docs: "
                      f"{per_doc[0]} → {per_doc[-1]} ({100 * (per_doc[-1] / per_doc[0] - 1):+.0f}%)")
    print(f"\n(JSON: {workdir / 'bench.json'}{'' if keep or not own else ', removed'})")
    return 0
