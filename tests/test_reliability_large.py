"""A very large raw file (tens of MB, hundreds of thousands of lines) is processed in bounded
memory and linear time. Run in a child process so that its peak RSS is its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

CHILD = r"""
import hashlib, json, resource, sys, time
from flows.ingest.raw_files import RawDoc
from flows.pipeline import process_document

target = float(sys.argv[1]) * 1e6
para = "到2025年，全省政务服务事项网上可办率达到95%以上，数据共享交换平台接入部门100个。\n"
parts, size, i = [], 0, 0
while size < target:  # a heading every 40 lines: thousands of sections
    if i % 40 == 0:
        line = f"（{i % 9 + 1}）第{i}项重点任务\n" if i % 400 else f"{'一二三四五六七八九'[i // 400 % 9]}、第{i // 400}部分\n"
    else:
        line = para
    parts.append(line)
    size += len(line.encode())
    i += 1
data = "".join(parts).encode()
del parts
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
timings = {}
t0 = time.perf_counter()
rows = process_document(RawDoc("big.txt", hashlib.sha256(data).hexdigest(), data), timings)
print(json.dumps({"mb": len(data) / 1e6, "lines": i, "seconds": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_mb": base / 1024, "timings": timings,
                  "rows": {k: len(v) for k, v in rows.items()}, "rejects": rows["rejects"]}))
"""


def run_child(mb: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(mb)], cwd=ROOT, capture_output=True, text=True,
                         timeout=1800, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_30_mb_file_is_processed_in_bounded_memory_and_linear_time():
    small = run_child(3)
    big = run_child(30)
    print(json.dumps({"3MB": small, "30MB": {k: v for k, v in big.items() if k != "rejects"}}, indent=1))
    assert big["lines"] > 250_000 and not big["rejects"] and big["rows"]["documents"] == 1
    assert big["rows"]["sections"] > 5000
    # bounded: the text, its rows and the parsers' working copies, not a blow-up of the input
    assert big["peak_rss_mb"] < 1500, big["peak_rss_mb"]
    # linear: ten times the input may cost up to 25 times the time in a stage (a shared machine is
    # noisy), a quadratic stage would cost 100 times
    for stage, seconds in big["timings"].items():
        assert seconds <= 25 * max(small["timings"][stage], 0.05), (stage, seconds, small["timings"][stage])
