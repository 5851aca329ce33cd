"""Incremental runs: the rows of each processed document, cached by content and code.

A document's rows depend only on its raw bytes (and file suffix, which may select a parser) and on
the code and configuration that process it. So an entry is keyed on the raw sha256 + suffix and
lives under a directory named by the *code fingerprint*: a hash of the source of every
processing module in ``flows/``, the table schemas, the dictionaries, the versions of the
libraries that change text (opencc, jieba, cn2an ...) and ``EPOCH``. Edit a stage, a schema or
a dictionary and the fingerprint changes, so every document is processed again; change one raw
file and only that file misses. File names and times are never part of a key: a renamed or
touched file is a hit (its ``source_file`` is filled in at load time).

Layout: ``OUT/.cache/<fingerprint>/<sha[:2]>/<sha256><suffix>.rows`` — one zstd-compressed
entry per document holding its non-empty tables as Arrow IPC streams (bare schemas: the column
descriptions are put back once per batch), written atomically (temp file + rename), so a killed
run leaves only whole entries and concurrent writers of the same entry are harmless. Loading IPC is
an order of magnitude faster than pickled row dicts turned back into Arrow. One
file per document keeps hits independent of how documents fall into batches.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import struct
import sys
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa

from flows.contract.schema import schema

# Bump to invalidate every cache without a code change (e.g. after fixing a bug in a library).
EPOCH = 1
CACHE_DIR = ".cache"
FLOWS_DIR = Path(__file__).resolve().parents[1]
SCHEMA_DIR = FLOWS_DIR.parent / "schemas"
# Subpackages (and top-level modules) that orchestrate, store, judge or report but never change a
# document's rows. Everything else under flows/ is processing code, a new subpackage included, so
# forgetting to list one here costs a rebuild, never a stale row.
NOT_PROCESSING = {"orchestration", "storage", "gate", "publishing", "tooling", "vendor", "build.py", "cli.py",
                  "__main__.py"}
# The subpackage that decides which rows pass validation (with schemas/, already in the code fingerprint).
VALIDATION_RULES = "gate"
# Libraries whose behaviour is part of the output (script conversion, segmentation, numerals ...).
TEXT_LIBRARIES = ("opencc-python-reimplemented", "jieba", "cn2an", "PyYAML", "pyarrow", "pycountry", "trafilatura",
                  "lxml")

_HEADER = struct.Struct("<Q")  # uncompressed size, needed by the zstd codec
_CODEC = pa.Codec("zstd", compression_level=1)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


@cache
def code_fingerprint() -> str:
    """Hash of everything that decides a document's rows; 16 hex digits."""
    h = hashlib.sha256(f"epoch={EPOCH};python={sys.version_info[:2]}".encode())
    files = [p for p in _files(FLOWS_DIR) if p.relative_to(FLOWS_DIR).parts[0] not in NOT_PROCESSING]
    files += [p for p in SCHEMA_DIR.rglob("*") if p.is_file()]  # the tables and their reference data (catalog, codes)
    for path in sorted(files):
        h.update(path.relative_to(FLOWS_DIR.parent).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    for lib in TEXT_LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{lib}={version};".encode())
    return h.hexdigest()[:16]


@cache
def rules_fingerprint() -> str:
    """Hash of the code fingerprint and the validation rules; 16 hex digits. Rows made by the
    same code but validated under other rules are reused, and validated again whole."""
    h = hashlib.sha256(code_fingerprint().encode())
    for path in sorted(_files(FLOWS_DIR / VALIDATION_RULES)):
        h.update(path.relative_to(FLOWS_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclass
class CachedDocument:
    """A document's non-empty tables (``TableSchema.bare_schema``) and its text key."""

    tables: dict[str, pa.Table]
    text_key: str | None  # pipeline.duplicate_key (duplicate detection); None if rejected

    @classmethod
    def from_rows(cls, rows: dict[str, list[dict[str, Any]]], text_key: str | None) -> "CachedDocument":
        return cls.from_many([(rows, text_key)])[0]

    @classmethod
    def from_many(cls, docs: list[tuple[dict[str, list[dict[str, Any]]], str | None]]) -> list["CachedDocument"]:
        """``from_rows`` of several documents (rows, text key), each table converted once for
        all of them and sliced per document: a conversion has a fixed cost per table (nine
        tables a document) and runs faster on many rows at once, the more so since, interleaved
        with processing, its code and data are cold."""
        out = [cls({}, text_key) for _, text_key in docs]
        for name in dict.fromkeys(name for rows, _ in docs for name in rows):
            counts = [len(rows.get(name, ())) for rows, _ in docs]
            if not any(counts):
                continue
            table = schema(name).table([r for rows, _ in docs for r in rows.get(name, ())], bare=True)
            start = 0
            for doc, n in zip(out, counts):
                if n:
                    doc.tables[name] = table.slice(start, n)
                start += n
        return out


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class DocumentCache:
    def __init__(self, out_dir: Path, fingerprint: str | None = None):
        self.fingerprint = fingerprint or code_fingerprint()
        self.root = Path(out_dir) / CACHE_DIR
        self.dir = self.root / self.fingerprint

    def path(self, sha256: str, suffix: str) -> Path:
        return self.dir / sha256[:2] / f"{sha256}{suffix.lower()}.rows"

    def has(self, sha256: str, suffix: str) -> bool:
        return self.path(sha256, suffix).is_file()

    def get(self, sha256: str, suffix: str, source_file: str) -> CachedDocument | None:
        """The cached rows with ``source_file`` filled in, or None (missing or unreadable entry)."""
        try:
            blob = self.path(sha256, suffix).read_bytes()
            (size,) = _HEADER.unpack_from(blob)
            streams, text_key = pickle.loads(_CODEC.decompress(blob[_HEADER.size:], decompressed_size=size, asbytes=True))
            tables = {name: pa.ipc.open_stream(data).read_all() for name, data in streams.items()}
        except FileNotFoundError:
            return None
        except Exception:  # a damaged entry is a miss; it is rewritten after processing
            return None
        for name in ("documents", "rejects"):
            if name in tables:
                t = tables[name]
                i = t.schema.get_field_index("source_file")
                tables[name] = t.set_column(i, t.schema.field(i), pa.array([source_file] * t.num_rows, pa.string()))
        return CachedDocument(tables, text_key)

    def put(self, sha256: str, suffix: str, entry: CachedDocument) -> None:
        path = self.path(sha256, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        streams = {name: _ipc(t) for name, t in entry.tables.items()}
        data = pickle.dumps((streams, entry.text_key), protocol=pickle.HIGHEST_PROTOCOL)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        with open(tmp, "wb") as f:
            f.write(_HEADER.pack(len(data)))
            f.write(_CODEC.compress(data, asbytes=True))
        os.replace(tmp, path)

    def prune(self) -> list[Path]:
        """Remove caches of other code fingerprints (they can never hit again)."""
        if not self.root.is_dir():
            return []
        old = [p for p in self.root.iterdir() if p.is_dir() and p.name != self.fingerprint]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
        return old
