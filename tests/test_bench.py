"""The benchmark's synthetic corpus and report (the timed runs themselves are `make bench`)."""

from __future__ import annotations

import hashlib
import random
import re

from flows.tooling.bench import ENCODINGS, _run_report, hot_spots, make_corpus, perturb, regex_baseline, render, touch_one
from flows.ingest.raw_files import discover, read_raw
from flows.normalize.text import normalize_bytes
from tests.conftest import RAW

SAMPLE = "贵州省人民政府办公厅文件\n黔府办发〔2023〕21号\n一、总体要求\n（一）发展目标\n到2025年，建成120个应用，覆盖率达到95.5%。\n2023年6月30日\n"


def test_perturb_changes_numbers_but_keeps_years_dates_and_headings():
    out = perturb(SAMPLE, 7, random.Random(1))
    assert "到2025年" in out and "2023年6月30日" in out
    assert "一、总体要求" in out and "（一）发展目标" in out
    assert "〔" in out and "〕7号" in out  # a document number of its own
    assert perturb(SAMPLE, 7, random.Random(1)) == out  # reproducible


def test_perturb_keeps_the_numbers_of_table_rows():
    table = "| 序号 | 主要指标 | 目标值 |\n| 1 | 一窗综合受理率（%） | 100 |\n| 2 | 用证率（%） | 95 |\n"
    for seed in range(20):  # a cell's unit in the header: 100 must not become 108 (%)
        out = perturb("一、总体要求\n" + table, 3, random.Random(seed)).splitlines()
        assert set(table.splitlines()) <= set(out)


def test_corpus_is_unique_mixed_and_readable(tmp_path):
    info = make_corpus(RAW, tmp_path / "c", 20, seed=3, workers=1)
    files = discover(tmp_path / "c")
    assert len(files) == info["docs"] == 20
    digests, texts = set(), set()
    for p in files:
        raw = read_raw(tmp_path / "c", p)
        digests.add(raw.sha256)
        texts.add(normalize_bytes(raw.data).text)
    assert len(digests) == 20 and len(texts) == 20  # unique even after normalization
    kinds = {re.search(r"-\d{5}-(.+)$", p.stem).group(1) for p in files}
    assert {"traditional", "gb18030", "utf-8-sig", "utf-8"} <= kinds <= set(ENCODINGS)
    assert any(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in files)
    assert make_corpus(RAW, tmp_path / "c", 20, seed=3) == info  # reused, not rebuilt


def test_touch_one_changes_exactly_one_document(tmp_path):
    info = make_corpus(RAW, tmp_path / "c", 10, seed=1, workers=1)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in discover(tmp_path / "c")}
    path, original = touch_one(tmp_path / "c", info)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in discover(tmp_path / "c")}
    assert [p for p in before if before[p] != after[p]] == [path]
    assert original == b"" or path.read_bytes().startswith(original)


def test_regex_baseline_and_hot_spots_measure_the_corpus(tmp_path):
    make_corpus(RAW, tmp_path / "c", 10, seed=2, workers=1)
    base = regex_baseline(tmp_path / "c")
    assert base["docs"] == 10 and base["matches"] > 0
    spots = hot_spots(tmp_path / "c", sample=3, top=5)
    assert len(spots) == 5 and all(ms >= 0 for _, ms in spots)


def test_report_renders_one_row_per_run():
    run = {"wall_s": 10.0, "docs_per_s": 100.0, "mb_per_s": 3.7, "ms_per_doc": 10.0, "processed": 1000, "cached": 0,
           "peak_tree_rss_mb": 900, "peak_process_rss_mb": 400, "prefect_startup_s": 7.0, "task_overhead_s": 1.0,
           "stages_s": {"scan": 0.5, "stage:normalize": 5.0}}
    report = {"docs": 1000, "mb": 37.0, "full": run, "incremental": dict(run, processed=1, cached=999),
              "extract_ms_per_doc": {"goals": 0.5}, "hot_spots_ms_per_doc": [("x.py:1 f", 2.0)],
              "regex_baseline": {"seconds": 1.0, "docs_per_s": 1000.0}}
    text = render([report])
    assert "| 1000 | 37.0 | full | 10.0 |" in text and "| 1000 | 37.0 | incremental |" in text
    assert "stage:normalize 5.0" in text and "x.py:1 f 2.0" in text


def test_the_report_gives_stage_cpu_per_document_and_overhead_from_wall_time():
    timings = {"flow": 60.0, "batches": 50.0, "stage:normalize": 40.0, "stage:extract": 40.0, "stage:warm_up": 1.0,
               "stage:cpu": 75.0}
    run = {"wall": 70.0, "peak_tree_rss_mb": 1, "peak_process_rss_mb": 1, "peak_tree_pss_mb": 1,
           "summary": {"timings": timings, "processed": 9000, "cached": 1000, "reused": 0}}
    report = _run_report(run, 10000, 350.0, 2)
    assert report["stage_cpu_ms_per_doc"] == 7.5  # 75 CPU s over the 10,000 documents the batches gave
    assert report["task_overhead_s"] == 9.5  # 50 s of batches less 81 wall s of stage work on 2 workers
    assert report["prefect_startup_s"] == 10.0
    no_batches = dict(run, summary={"timings": {"flow": 1.0}, "processed": 0, "cached": 0, "reused": 10000})
    assert _run_report(no_batches, 10000, 350.0, 2)["stage_cpu_ms_per_doc"] is None
