"""Normalize: bytes to one clean simplified-Chinese text per document (encodings, mojibake, script,
page wrappers, web pages), every repair recorded."""

from __future__ import annotations

from flows.normalize.text import normalize_bytes
from flows.records import NormalizedDoc, RawDoc


def normalize(raw: RawDoc) -> NormalizedDoc:
    """The normalize stage: one raw document's bytes to its clean text."""
    normalized = normalize_bytes(raw.data, raw.source_file)
    normalized.raw = raw
    return normalized
