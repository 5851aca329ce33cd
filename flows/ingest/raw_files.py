"""Ingest: find the raw files under the raw root and read their bytes.

Plain functions: ``discover`` lists candidate files, ``read_raw`` turns one into a ``RawDoc``
or raises ``Rejected`` with a reason from the ``rejects`` vocabulary.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from flows.records import RawDoc

RAW_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_RAW_BYTES = 256 * 1024 * 1024  # a plan is rarely over 1 MB; beyond this it is not a plan text


# Leading bytes of file formats that are never plan text, whatever their file name says. This is
# the one place binary input is recognised (normalize only ever sees bytes that passed here).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (or DOCX/XLSX)"),
    (b"PK\x05\x06", "ZIP archive (empty)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 document (DOC/XLS/WPS)"),
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"{\\rtf", "RTF document"),
)
_SNIFF_BYTES = 8192
# Bytes below 0x20 that text does not contain (tab, newline, form feed, carriage return and
# escape are allowed: they occur in real plan texts).
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r\x0c\x1b")
# UTF-16/32 text carries NUL bytes; recognise it by its byte-order mark before the NUL test.
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def sniff_binary(data: bytes) -> str | None:
    """What binary format ``data`` is (a short description), or None when it may be text.

    Magic numbers name the common formats; otherwise control bytes decide: text in any encoding
    we read (UTF-8, GB18030, Big5, UTF-16 with a BOM) has almost no bytes below 0x20 other than
    tab/newline/carriage return/form feed/escape.
    """
    head = data[:_SNIFF_BYTES]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if magic == b"MZ" and b"This program cannot be run in DOS mode" not in head[:512]:
                continue  # "MZ" alone is too short a signature to refuse a text on
            return kind
    if head.startswith(_UTF16_32_BOMS):
        return None
    nul = head.count(0)
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if (nul or control / len(head) > 0.05) and not _looks_like_bomless_utf16(head):
        if nul:
            return f"binary data ({nul} NUL bytes in the first {len(head)})"
        return f"binary data ({control} control bytes in the first {len(head)})"
    return None


def _looks_like_bomless_utf16(head: bytes) -> bool:
    """UTF-16 without a BOM: decodes strictly, and to Chinese/ASCII text rather than noise."""
    head = head[: len(head) // 2 * 2]
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = head.decode(enc)
        except UnicodeDecodeError:
            continue
        plain = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f"
                    or "\uff00" <= ch <= "\uffef" or ch.isascii() and (ch.isprintable() or ch in "\r\n\t"))
        if text and plain / len(text) >= 0.6:
            return True
    return False


class Rejected(Exception):
    """A raw file the pipeline cannot use; ``reason`` is one of the rejects.reason values."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# A folder holding this file is a digigov output folder (``flows/storage/publish.py``), never raw input.
OUTPUT_MARKER = ".digigov-output"


def discover(raw_dir: Path, problems: list[tuple[str, Rejected]] | None = None) -> list[Path]:
    """Every file under ``raw_dir`` with a raw-text suffix, recursively, in a stable order.

    Output folders of digigov (``is_output_folder``) are never entered. ``problems``, when
    given, receives (relative name, ``Rejected``) for each folder that cannot be listed
    (``unreadable``) and each link to a folder that leads back into itself (``symlink_loop``);
    other links to folders are not followed."""
    raw_dir = Path(raw_dir)
    found = []

    def unreadable(error: OSError) -> None:
        if problems is not None:
            name = relative_name(raw_dir, error.filename) if Path(error.filename) != raw_dir else "."
            problems.append((name, Rejected("unreadable", f"the folder cannot be read ({type(error).__name__}: "
                                                          f"{error.strerror or error}); its files are not in the build")))

    for root, dirs, files in os.walk(raw_dir, onerror=unreadable):
        kept = []
        for d in sorted(d for d in dirs if not d.startswith(".")):
            path = Path(root) / d
            if os.path.islink(path):
                if problems is not None and _loops(path):
                    problems.append((relative_name(raw_dir, path),
                                     Rejected("symlink_loop", f"a link to a folder that contains it ({os.readlink(path)})")))
            elif not is_output_folder(path):
                kept.append(d)
        dirs[:] = kept
        for name in files:
            if not name.startswith(".") and name.lower().endswith(RAW_SUFFIXES):
                found.append(Path(root) / name)
    if problems is not None:
        problems.sort(key=lambda p: p[0])
    return sorted(found, key=lambda p: relative_name(raw_dir, p))


def is_output_folder(path: Path) -> bool:
    """A digigov output folder: its marker, or (made before the marker existed) a published build."""
    path = Path(path)
    return (path / OUTPUT_MARKER).is_file() or ((path / ".current").is_symlink() and (path / "_build.json").exists())


def _loops(link: Path) -> bool:
    """Whether a link to a folder leads back to a folder that contains it (or round in a circle)."""
    try:
        target = link.resolve(strict=True)
    except (RuntimeError, OSError):  # "Symlink loop" (Python 3.11) or ELOOP
        return True
    return link.parent.resolve().is_relative_to(target)


def relative_name(raw_dir: Path | str, path: Path | str) -> str:
    """``path`` relative to ``raw_dir``, with forward slashes (what tables call source_file).

    String slicing for the usual case, a path under the folder as ``discover`` spelled it
    (pathlib's ``relative_to`` parses both paths: a third of a 10,000-file scan's time)."""
    root, full = os.fspath(raw_dir).rstrip(os.sep), os.fspath(path)
    rest = full[len(root) + 1:]
    if full.startswith(root + os.sep) and rest and os.path.normpath(rest) == rest and rest[0] not in (os.sep, "."):
        return rest.replace(os.sep, "/")
    return Path(path).relative_to(raw_dir).as_posix()


def read_raw(raw_dir: Path, path: Path) -> RawDoc:
    name = relative_name(raw_dir, path)
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            try:
                target = Path(path).resolve()
            except RuntimeError:  # Python 3.11 raises "Symlink loop from …" instead of an OSError
                raise Rejected("symlink_loop", f"{name} is a link that leads back to itself") from None
            if not target.is_relative_to(Path(raw_dir).resolve()):
                raise Rejected("symlink_outside_raw", f"{name} points to {target}, outside the raw folder")
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the run, a device never ends
            raise Rejected("unreadable", f"not a regular file ({_file_kind(info.st_mode)})")
        size = info.st_size
        if size > MAX_RAW_BYTES:
            raise Rejected("too_large", f"{size} bytes, over the {MAX_RAW_BYTES} byte limit")
        data = _read_regular_file(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Rejected("symlink_loop", f"{name} is a link that leads back to itself") from exc
        raise Rejected("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}") from exc
    if not data or data.isspace():
        raise Rejected("empty", "the file is empty" if not data else "the file holds only whitespace")
    kind = sniff_binary(data)
    if kind:
        raise Rejected("binary", f"{kind}, not text (despite the {os.path.splitext(path)[1] or 'missing'} suffix)")
    return RawDoc(source_file=name, sha256=hashlib.sha256(data).hexdigest(), data=data)


def _read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, opened without blocking and checked again on the open file: a file
    swapped for a FIFO or a device after it was checked is refused, never waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Rejected("unreadable", f"not a regular file ({_file_kind(info.st_mode)})")
        data = f.read(MAX_RAW_BYTES + 1)  # a file that grew past the limit since it was checked
    if len(data) > MAX_RAW_BYTES:
        raise Rejected("too_large", f"over the {MAX_RAW_BYTES} byte limit")
    return data


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return kind
    return "special file"
