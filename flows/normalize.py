"""Normalize: raw bytes to one clean simplified-Chinese text per document, every repair recorded.

``normalize_bytes`` is the stage entry point: decode, strip wrappers (front matter, page
furniture) into metadata, convert the script, and return a ``Normalized`` whose ``text`` is what
every later offset refers to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from flows.ingest import Rejected


@dataclass
class Repair:
    kind: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, before: str, after: str, limit: int = 5) -> None:
        self.count += 1
        if len(self.examples) < limit:
            self.examples.append(f"{before} → {after}")


@dataclass
class Normalized:
    text: str
    raw_encoding: str
    script: str  # simplified | traditional | traditional_tw
    repairs: list[Repair] = field(default_factory=list)
    # What wrappers said about the document (front matter, header form, web metadata box):
    # title, doc_number, date, issuer, source_url, ... Read by the metadata stage.
    meta: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)  # kind, name, uri
    unrecoverable_spans: int = 0


def decode(data: bytes) -> tuple[str, str]:
    """Decode raw bytes; returns (text, encoding name)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise Rejected("unknown_encoding", "bytes are not UTF-8 or GB18030 text")


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def strip_front_matter(text: str) -> tuple[str, dict[str, Any]]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return text, {}
    try:
        data = yaml.safe_load(m.group(1).replace("\t", " "))
    except yaml.YAMLError:
        data = None
    return text[m.end():], data if isinstance(data, dict) else {}


@cache
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> tuple[str, str]:
    converted = _converter("t2s").convert(text)
    if converted == text:
        return text, "simplified"
    return converted, "traditional"


def normalize_bytes(data: bytes, source_file: str = "") -> Normalized:
    text, encoding = decode(data)
    return normalize_text(text, raw_encoding=encoding)


def normalize_text(text: str, raw_encoding: str = "utf-8") -> Normalized:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, front = strip_front_matter(text)
    meta = {k: v for k, v in front.items() if v is not None}
    text, script = to_simplified(text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        raise Rejected("no_text", "no text is left after stripping wrappers")
    return Normalized(text=text, raw_encoding=raw_encoding, script=script, meta=meta)
