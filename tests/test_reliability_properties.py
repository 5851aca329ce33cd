"""Property tests: no text, however odd, makes normalize, structure, metadata or extraction raise
(anything but ``Rejected``). A short run is part of ``make test``; ``make test-slow`` runs
10,000 cases per property."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.extract import EXTRACTORS, read_document
from flows.ingest.raw_files import RawDoc, Rejected
from flows.structure.metadata import extract_metadata
from flows.normalize.text import normalize_bytes
from flows.pipeline import process_document
from flows.structure.sections import parse_sections

# Pieces of real plans, so that generated texts reach the parsers' interesting paths.
PLAN_PIECES = ["一、", "（一）", "(二)", "1.", "（1）", "十一、", "# ", "## ", "---\n", "title: x\n", "\n", "\n\n", "。",
               "；", "到2025年", "至2030年底", "达到", "95%", "以上", "1000兆", "千兆", "Mbps", "黔府发〔2023〕21号",
               "2023年13月45日", "2023年2月30日", "政务服务", "省大数据局", "牵头", "负责", "附件：", "<p>", "</p>",
               "<script>", "\ufeff", "\r\n", "\x00", "\u3000", "數位", "𠀀", "\ud7ff", "一二三四五六七八九十百千万"]
texts = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(PLAN_PIECES), st.text(max_size=8)), max_size=60).map("".join),
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _normalize(data: bytes):
    try:
        return normalize_bytes(data, "x.txt")
    except Rejected:
        return None


def check_bytes(data: bytes) -> None:
    norm = _normalize(data)
    if norm is None:
        return
    assert isinstance(norm.text, str)


def check_text(text: str) -> None:
    sections = parse_sections("d", text)
    assert sections and sections[0]["kind"] == "preamble"
    for s in sections:
        assert 0 <= s["char_start"] <= s["char_end"] <= len(text)
    extract_metadata(text, sections, {})
    doc = read_document(text, sections)
    for name, fn in EXTRACTORS.items():
        for row in fn("d", doc):
            if "char_start" in row and row.get("char_start") is not None:
                assert 0 <= row["char_start"] <= row["char_end"] <= len(text), (name, row)
                if "source_text" in row:
                    assert row["source_text"] == text[row["char_start"]:row["char_end"]], (name, row)


def check_document(data: bytes) -> None:
    rows = process_document(RawDoc("x.txt", hashlib.sha256(data).hexdigest(), data))
    assert len(rows["documents"]) + len(rows["rejects"]) == 1
    assert not [r for r in rows["rejects"] if r["reason"] == "error"], rows["rejects"]


encoded = st.tuples(texts, st.sampled_from(["utf-8", "gb18030", "utf-16", "utf-8-sig"])).map(
    lambda t: t[0].encode(t[1], errors="ignore"))


@FAST
@given(st.one_of(st.binary(), encoded))
def test_normalize_never_raises_on_any_bytes(data):
    check_bytes(data)


@FAST
@given(texts)
def test_structure_metadata_and_extraction_never_raise(text):
    check_text(text)


@FAST
@given(encoded)
def test_a_document_is_processed_or_rejected_never_an_error(data):
    check_document(data)


@pytest.mark.slow
@SLOW
@given(st.one_of(st.binary(), encoded))
def test_normalize_never_raises_10k(data):
    check_bytes(data)


@pytest.mark.slow
@SLOW
@given(texts)
def test_structure_metadata_and_extraction_never_raise_10k(text):
    check_text(text)


@pytest.mark.slow
@SLOW
@given(encoded)
def test_a_document_is_processed_or_rejected_never_an_error_10k(data):
    check_document(data)
