"""Extraction cost per document on the seeds (CPU time, after the one-time jieba setup)."""

from __future__ import annotations

import time

import pytest

from flows.extract import EXTRACTORS, extract_all, read_document
from flows.normalize.text import normalize_bytes
from flows.structure.sections import parse_sections
from tests.conftest import SEEDS


def extraction_ms_per_doc(rounds: int = 5) -> dict[str, float]:
    docs = []
    for path in SEEDS:
        text = normalize_bytes(path.read_bytes(), path.name).text
        docs.append((path.name[:3], text, parse_sections(path.name[:3], text)))
    extract_all(*docs[0])  # jieba's dictionary and the TF-IDF table load once per process
    spent = dict.fromkeys(["document", *EXTRACTORS], 0.0)
    for _ in range(rounds):
        for doc_id, text, sections in docs:
            t0 = time.process_time()
            doc = read_document(text, sections)  # sentences, tables and deadlines, read once for all
            spent["document"] += time.process_time() - t0
            for table, fn in EXTRACTORS.items():
                t0 = time.process_time()
                fn(doc_id, doc)
                spent[table] += time.process_time() - t0
    out = {t: round(1000 * s / rounds / len(docs), 2) for t, s in spent.items()}
    out["all"] = round(sum(out.values()), 2)
    return out


@pytest.mark.slow
def test_extraction_stays_within_the_build_budget():
    # 10,000 documents in 200 s on 2 cores leaves 40 ms of CPU per document for every stage;
    # extraction must stay well inside that.
    assert extraction_ms_per_doc()["all"] < 30


if __name__ == "__main__":
    print(extraction_ms_per_doc(10))
