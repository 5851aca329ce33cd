"""Ingest: find the raw files under the raw root and read their bytes.

Plain functions: ``discover`` lists candidate files, ``read_raw`` turns one into a ``RawDoc``
or raises ``Rejected`` with a reason from the ``rejects`` vocabulary.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

RAW_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_RAW_BYTES = 256 * 1024 * 1024  # a plan is rarely over 1 MB; beyond this it is not a plan text


class Rejected(Exception):
    """A raw file the pipeline cannot use; ``reason`` is one of the rejects.reason values."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RawDoc:
    source_file: str  # path relative to the raw root, with forward slashes
    sha256: str
    data: bytes

    @property
    def doc_id(self) -> str:
        return self.sha256[:16]


def discover(raw_dir: Path) -> list[Path]:
    """Every file under ``raw_dir`` with a raw-text suffix, recursively, in a stable order."""
    raw_dir = Path(raw_dir)
    found = []
    for root, dirs, files in os.walk(raw_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and name.lower().endswith(RAW_SUFFIXES):
                found.append(Path(root) / name)
    return sorted(found, key=lambda p: p.relative_to(raw_dir).as_posix())


def relative_name(raw_dir: Path, path: Path) -> str:
    return Path(path).relative_to(raw_dir).as_posix()


def read_raw(raw_dir: Path, path: Path) -> RawDoc:
    raw_dir = Path(raw_dir)
    path = Path(path)
    name = relative_name(raw_dir, path)
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(raw_dir.resolve()):
            raise Rejected("symlink_outside_raw", f"{name} points to {target}, outside the raw folder")
    try:
        size = path.stat().st_size
        if size > MAX_RAW_BYTES:
            raise Rejected("too_large", f"{size} bytes, over the {MAX_RAW_BYTES} byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise Rejected("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise Rejected("empty", "the file is empty" if not data else "the file holds only whitespace")
    return RawDoc(source_file=name, sha256=hashlib.sha256(data).hexdigest(), data=data)
