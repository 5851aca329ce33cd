"""Bytes to text: encodings detected, truncation tolerated, binary and undecodable rejected."""

from __future__ import annotations

import codecs
import random
import struct
import zlib

import pytest

from flows.normalize.encoding import decode_bytes
from flows.ingest.raw_files import Rejected
from flows.normalize.text import normalize_bytes
from flows.normalize.repairs import RepairLog

SIMPLIFIED = "关于加强数字政府建设的实施意见\n一、总体要求\n（一）指导思想。推进政务服务一网通办，提升治理能力。\n"
TRADITIONAL = "關於加強數字政府建設的實施意見\n一、總體要求\n（一）指導思想。推進政務服務一網通辦，提升治理能力。\n"


def decode(data: bytes) -> tuple[str, str, RepairLog]:
    repairs = RepairLog()
    text, enc = decode_bytes(data, repairs)
    return text, enc, repairs


@pytest.mark.parametrize("data,encoding", [
    (SIMPLIFIED.encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF16_LE + SIMPLIFIED.encode("utf-16-le"), "utf-16-le"),
    (codecs.BOM_UTF16_BE + SIMPLIFIED.encode("utf-16-be"), "utf-16-be"),
    (codecs.BOM_UTF32_LE + SIMPLIFIED.encode("utf-32-le"), "utf-32-le"),
    (codecs.BOM_UTF32_BE + SIMPLIFIED.encode("utf-32-be"), "utf-32-be"),
    (SIMPLIFIED.encode("gbk"), "gbk"),
    (SIMPLIFIED.encode("gb2312"), "gbk"),
    ((SIMPLIFIED + "𠀀").encode("gb18030"), "gb18030"),
    (TRADITIONAL.encode("gbk"), "gbk"),
    (TRADITIONAL.encode("big5"), "big5"),
])
def test_encodings_are_detected(data, encoding):
    text, enc, repairs = decode(data)
    assert enc == encoding
    assert text.startswith(("关于", "關於"))
    assert not repairs.by_kind


def test_big5_file_normalizes_to_simplified():
    result = normalize_bytes(TRADITIONAL.encode("big5"), "plan.txt")
    assert result.raw_encoding == "big5"
    assert result.script == "traditional"
    assert result.text.startswith("关于加强数字政府建设的实施意见\n一、总体要求")


def test_gbk_and_utf16_files_normalize_like_utf8():
    expected = normalize_bytes(SIMPLIFIED.encode("utf-8")).text
    assert normalize_bytes(SIMPLIFIED.encode("gbk")).text == expected
    assert normalize_bytes(codecs.BOM_UTF16_LE + SIMPLIFIED.encode("utf-16-le")).text == expected


def test_bomless_utf16_is_recognised_by_its_zero_bytes():
    text, enc, _ = decode(("Plan 2025: " + SIMPLIFIED).encode("utf-16-le"))
    assert enc == "utf-16-le" and "数字政府" in text


@pytest.mark.parametrize("codec,cut", [("utf-8", 1), ("utf-8", 2), ("gbk", 1)])
def test_truncated_last_character_is_tolerated_and_recorded(codec, cut):
    data = SIMPLIFIED.rstrip("\n").encode(codec)[:-cut]
    text, _, repairs = decode(data)
    assert text == SIMPLIFIED.rstrip("\n")[:-1]
    assert repairs.count("truncated_character") == 1


def test_truncated_utf16_code_unit_is_tolerated():
    data = codecs.BOM_UTF16_LE + SIMPLIFIED.encode("utf-16-le") + b"\x41"
    text, _, repairs = decode(data)
    assert text == SIMPLIFIED and repairs.count("truncated_character") == 1


def _png() -> bytes:
    raw = b"\x00" + b"\xff\x00\x00" * 4
    ihdr = struct.pack(">IIBBBBB", 4, 1, 8, 2, 0, 0, 0)
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data", [
    _png(),
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n",
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)),
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100),
    random.Random(7).randbytes(4096),
    random.Random(9).randbytes(64),
    b"\x00\x01\x02\x03\x04binary\x00\x00",
])
def test_binary_files_are_rejected_as_binary(data):
    with pytest.raises(Rejected) as exc:
        normalize_bytes(data, "x.txt")
    assert exc.value.reason == "binary"


def test_undecodable_bytes_are_rejected_as_unknown_encoding():
    # text-like bytes (no zero or control bytes) that no codec decodes: 0xFF is a lead byte nowhere
    data = b"plan text " + b"\xff\xfe\xff\xff " * 50 + b"more text"
    with pytest.raises(Rejected) as exc:
        normalize_bytes(data, "x.txt")
    assert exc.value.reason == "unknown_encoding"


def test_a_few_damaged_bytes_in_a_clear_encoding_become_unrecoverable_spans():
    data = (SIMPLIFIED * 40).encode("utf-8")
    data = data[:300] + b"\xff" + data[300:]
    result = normalize_bytes(data, "x.txt")
    assert result.unrecoverable_spans == 1
    assert "□" in result.text
    assert {r.kind for r in result.repairs} >= {"undecodable_bytes", "unrecoverable"}


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_of_all_chinese_text(codec):
    text = "关于加强数字政府建设的实施意见。推进政务服务一网通办，提升治理能力。"
    decoded, enc, _ = decode(text.encode(codec))
    assert (decoded, enc) == (text, codec)
