"""Bytes to text: detect the encoding of a raw file, reject what is not text.

Handled: UTF-8 (with or without BOM), UTF-16/UTF-32 with BOM (and BOM-less UTF-16 when the
zero bytes say so, or when it decodes to almost only everyday Chinese), GB18030/GBK/GB2312 and
Big5. When more than one legacy
codec decodes the bytes, the one whose characters are more common Chinese wins. A character cut
off at the very end of the file is dropped and recorded; a file with a few undecodable bytes in
an otherwise clear encoding keeps them as U+FFFD (later marked unrecoverable). Anything else
(images, archives, PDFs, random binary) raises ``Rejected``.
"""

from __future__ import annotations

import codecs
import re
from functools import cache

from flows.ingest.raw_files import Rejected
from flows.normalize.repairs import RepairLog

# Magic numbers of file types that show up where a text was expected.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or DOCX/XLSX)"),
    (b"PK\x05\x06", "empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 file (DOC/XLS)"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"BM", "BMP image"),
    (b"{\\rtf", "RTF document"),
)
_BOMS = (  # UTF-32 before UTF-16: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
LEGACY_CODECS = ("gb18030", "big5")  # detection order; recorded names are gbk/gb18030/big5
MAX_BAD_BYTE_SHARE = 0.002  # a few damaged bytes are repairable; more means a wrong guess
MAX_CONTROL_SHARE = 0.01


def sniff_binary(data: bytes) -> str | None:
    """Name of the binary file type the bytes are, or None when they may be text."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            # "MZ"/"BM" are also plausible text starts: only trust them with binary bytes after
            if len(magic) <= 2 and magic in (b"MZ", b"BM") and b"\x00" not in data[:256]:
                continue
            return name
    return None


@cache
def _common_chars() -> frozenset[str]:
    """Characters of everyday Chinese: GB2312 level 1/2 hanzi and Big5 common hanzi."""
    chars = set()
    for lead in range(0xB0, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes([lead, trail]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for lead in range(0xA4, 0xC7):  # Big5 level 1 (frequently used) hanzi
        for trail in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            try:
                chars.add(bytes([lead, trail]).decode("big5"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


def char_class(chars) -> str:
    """A regex character-class body for ``chars``, as ranges of consecutive code points."""
    points = sorted(set(map(ord, chars)))
    parts, i = [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        parts.append(re.escape(chr(points[i])) + (f"-{re.escape(chr(points[j]))}" if j > i else ""))
        i = j + 1
    return "".join(parts)


_PUNCT_RANGES = ((0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2010, 0x2027))
_PUA = re.compile("[\ue000-\uf8ff]")  # what a wrong legacy guess yields
_HANZI = re.compile("[\u4e00-\u9fff]")


@cache
def _commonness_patterns() -> tuple[re.Pattern, str]:
    """(a non-ASCII character that is neither everyday Chinese nor CJK punctuation,
    the everyday characters that are also punctuation: they count twice)."""
    common = _common_chars()
    punct = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _PUNCT_RANGES)
    other = re.compile(f"[^\x00-\x7f{punct}{char_class(common)}]")
    both = "".join(sorted(c for c in common if any(a <= ord(c) <= b for a, b in _PUNCT_RANGES)))
    return other, both


def commonness(text: str) -> float:
    """Share of the non-ASCII characters that are everyday Chinese (1.0 for pure ASCII).

    CJK punctuation counts as everyday, a private-use character (what a wrong legacy guess
    yields) counts -3. Counted by C-level scans: almost every character of a right guess is
    everyday, so only the rare others are materialised."""
    wide = len(text) - len(text.encode("ascii", "ignore"))
    if not wide:
        return 1.0
    other, both = _commonness_patterns()
    good = wide - len(other.findall(text)) + sum(text.count(c) for c in both)
    return (good - 3 * len(_PUA.findall(text))) / wide


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")  # C1 (0x80-0x9F) is Latin-1 mojibake, a repairable text


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    return len(_CONTROL_CHARS.findall(text)) / len(text)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _gb_name(data: bytes) -> str:
    """gbk when the bytes stay within GBK, gb18030 when they use its four-byte sequences."""
    return "gbk" if _strict(data, "gbk") is not None else "gb18030"


def _decode_utf8(data: bytes, repairs: RepairLog) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A file cut inside its last character: drop the partial bytes and say so.
        if exc.reason == "unexpected end of data" and exc.end == len(data) and len(data) - exc.start < 4:
            repairs.add("truncated_character", data[exc.start:].hex(" "), "(dropped)")
            return data[: exc.start].decode("utf-8")
        return None


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    if len(data) < 4 or len(data) % 2:
        return None
    even_zero = data[0::2].count(0) / (len(data) / 2)
    odd_zero = data[1::2].count(0) / (len(data) / 2)
    codec = "utf-16-le" if odd_zero > 0.2 and even_zero < 0.05 else (
        "utf-16-be" if even_zero > 0.2 and odd_zero < 0.05 else None)
    if codec is None:
        return None
    text = _strict(data, codec)
    if text is None or _control_share(text) > MAX_CONTROL_SHARE:
        return None
    return text, codec


def decode_bytes(data: bytes, repairs: RepairLog) -> tuple[str, str]:
    """(text, raw_encoding) for raw bytes, or raise ``Rejected`` (binary / unknown_encoding)."""
    kind = sniff_binary(data)
    if kind:
        raise Rejected("binary", f"{kind} (magic bytes {data[:8].hex(' ')})")
    for bom, name, codec in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            if codec == "utf-8-sig":
                text = _decode_utf8(body, repairs)
            else:
                text = body.decode(name, errors="replace")
                if "\ufffd" in text and _strict(body, name) is None:
                    # the only tolerated damage is a cut last code unit
                    unit = 4 if "32" in name else 2
                    cut = len(body) - len(body) % unit
                    text = _strict(body[:cut], name)
                    if text is not None and cut < len(body):
                        repairs.add("truncated_character", body[cut:].hex(" "), "(dropped)")
            if text is None:
                raise Rejected("unknown_encoding", f"bytes after the {name} BOM are not {name}")
            return text, name
    if b"\x00" in data:
        found = _decode_utf16_without_bom(data) or _utf16_by_content(data)
        if found:
            return found
        raise Rejected("binary", f"zero bytes in a file without a text BOM ({data.count(0)} of {len(data)})")
    text = _decode_utf8(data, repairs)
    if text is not None:
        return _text_or_binary(text, data), "utf-8"
    return _decode_legacy(data, repairs)


def _text_or_binary(text: str, data: bytes) -> str:
    if _control_share(text) > MAX_CONTROL_SHARE:
        raise Rejected("binary", f"{_control_share(text):.0%} control characters: not a text file")
    return text


def _utf16_by_content(data: bytes) -> tuple[str, str] | None:
    """BOM-less UTF-16 recognised by what it decodes to: almost only everyday Chinese."""
    if len(data) % 2 or len(data) < 8:
        return None
    for codec in ("utf-16-le", "utf-16-be"):
        text = _strict(data, codec)
        if text is not None and _control_share(text) == 0 and commonness(text) >= 0.9 \
                and len(_HANZI.findall(text)) >= len(text) / 3:
            return text, codec
    return None


def _decode_legacy(data: bytes, repairs: RepairLog) -> tuple[str, str]:
    candidates: list[tuple[float, str, str]] = []
    for codec in LEGACY_CODECS:
        text = _strict(data, codec)
        if text is None and codec == "big5":
            text = _strict(data, "cp950")
        if text is not None:
            candidates.append((commonness(text), codec, text))
        elif len(data) > 1 and data[-1] >= 0x81:
            # a double-byte character cut at the very end still counts as this codec
            text = _strict(data[:-1], codec)
            if text is not None:
                candidates.append((commonness(text) - 0.001, codec + "+cut", text))
    found = _utf16_by_content(data)
    if found:
        candidates.append((commonness(found[0]) - 0.002, found[1], found[0]))
    if candidates:
        score, codec, text = max(candidates, key=lambda c: c[0])
        if score < 0.5:
            raise Rejected("unknown_encoding", f"best legacy decoding ({codec}) is not Chinese text")
        if codec.endswith("+cut"):
            codec = codec[:-4]
            repairs.add("truncated_character", data[-1:].hex(), "(dropped)")
            data = data[:-1]
        name = _gb_name(data) if codec == "gb18030" else codec
        return _text_or_binary(text, data), name
    # Nothing decodes cleanly: accept a clear encoding with a few damaged bytes.
    best = None
    for codec in ("utf-8",) + LEGACY_CODECS:
        text = data.decode(codec, errors="replace")
        bad = text.count("\ufffd")
        if best is None or bad < best[0]:
            best = (bad, codec, text)
    bad, codec, text = best
    if bad <= max(1, len(data) * MAX_BAD_BYTE_SHARE) and commonness(text) >= 0.5:
        repairs.add("undecodable_bytes", f"{bad} byte sequence(s) not {codec}", "U+FFFD", n=bad)
        return _text_or_binary(text, data), codec
    if _control_share(data.decode("latin-1")) > MAX_CONTROL_SHARE:
        raise Rejected("binary", "bytes decode in no text encoding and hold control bytes")
    raise Rejected("unknown_encoding", "bytes are not UTF-8, UTF-16/32, GB18030 or Big5 text")
