"""Incremental runs, fast path: an unchanged document's rows from the published build.

The per-document cache (``flows/storage/cache.py``) makes a document cheap to reuse (one entry to load
and convert), but a rerun over 10,000 documents would still open 10,000 entries and
concatenate 100,000 small tables. The published build already holds every unchanged document's
rows, and they passed validation when it was published. When that build was made by the same
code (same fingerprint: same stages, schemas, dictionaries, libraries, hence the same
dictionaries), the rows of a document with the same raw sha256 and suffix are exactly what
processing it again would give, so they are taken from its Parquet files with one vectorised
filter per table. When the validation rules are the same too (``rules_fingerprint``), they
need no row-level validation again; otherwise every row is validated under the new rules.

A document that was a duplicate in that build has no derived rows there (only its original
keeps them), so it is not taken from the build; it goes the per-document cache's way.

Duplicate detection needs each document's key id (an original's doc_id, not a duplicate's): the
build keeps them in a hidden file next to its tables (``TEXT_KEYS``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.contract.schema import schema
from flows.storage.publish import BUILD_META, BUILD_SUFFIX, changed_files, current_build, table_path

TEXT_KEYS = ".text_keys" + BUILD_SUFFIX  # Parquet, named for no glob (flows/storage/publish.py)


@dataclass
class PreviousBuild:
    path: Path
    # (raw sha256, lower-case suffix) -> the doc_id its documents row has, originals only
    doc_ids: dict[tuple[str, str], str]
    text_keys: dict[str, str]  # doc_id -> its key id (pipeline.duplicate_key: ids.document_id of document_key)
    rules_fingerprint: str | None = None  # of the rules its rows were validated under


def load_previous(out_dir: Path, fingerprint: str, problems: list[str] | None = None) -> PreviousBuild | None:
    """The published build of ``out_dir`` when the same code made it and its files are the
    bytes it published (``_build.json`` records their checksums), else None. Why a published
    build of the same code is not reused goes into ``problems``: its rows are then taken from
    the per-document cache or processed again, and every row is validated."""
    build = current_build(out_dir)
    if build is None:
        return None
    try:
        meta = json.loads((build / BUILD_META).read_text(encoding="utf-8"))
        if meta.get("code_fingerprint") != fingerprint:
            return None
        changed = changed_files(build, meta.get("checksums"), meta.get("file_stats"))
        if changed:
            if problems is not None:
                problems.append(f"the published build's files no longer match the checksums in its {BUILD_META} "
                                f"({', '.join(changed)}): none of its rows is reused, every row is validated")
            return None
        docs = pq.read_table(table_path(build, "documents"),
                             columns=["doc_id", "source_file", "source_sha256", "duplicate_of"])
        keys = pq.read_table(build / TEXT_KEYS)
    except (OSError, ValueError, pa.ArrowException) as exc:  # an older layout or a damaged build: no fast path
        if problems is not None:
            problems.append(f"the published build cannot be read ({type(exc).__name__}: {exc}): none of its rows is reused")
        return None
    text_keys = dict(zip(keys.column("doc_id").to_pylist(), keys.column("text_sha256").to_pylist()))
    doc_ids = {}
    for d, name, sha, dup in zip(*(docs.column(c).to_pylist() for c in docs.column_names)):
        if dup is None and d in text_keys:
            doc_ids[(sha, Path(name).suffix.lower())] = d
    return PreviousBuild(build, doc_ids, text_keys, meta.get("rules_fingerprint"))


def reused_rows(previous: PreviousBuild, name: str, source_files: dict[str, str]) -> pa.Table:
    """One table's rows of the documents ``source_files`` names (doc_id -> its current
    source_file) in the previous build, in its order: zero-copy slices of the table read when
    they are a few runs; documents.source_file is the file's current name."""
    if name == "rejects":  # a document with rows is no reject
        return schema(name).table([])
    ids = pa.array(sorted(source_files), pa.string())
    table = pq.read_table(table_path(previous.path, name), memory_map=True)
    keep = pc.indices_nonzero(pc.is_in(table.column("doc_id"), value_set=ids))
    table = take_rows(table, keep)
    if name == "documents":
        i = table.schema.get_field_index("source_file")
        names = [source_files[d] for d in table.column("doc_id").to_pylist()]
        table = table.set_column(i, table.schema.field(i), pa.array(names, pa.string()))
        # a document reused for its raw bytes is current, whatever that build kept it as
        for column in ("stale_since", "stale_reason"):
            i = table.schema.get_field_index(column)
            if i >= 0 and table.column(i).null_count < table.num_rows:
                table = table.set_column(i, table.schema.field(i), pa.nulls(table.num_rows, table.schema.field(i).type))
    return table


def write_text_keys(build: Path, text_keys: dict[str, str]) -> None:
    table = pa.table({"doc_id": pa.array(list(text_keys), pa.string()),
                      "text_sha256": pa.array(list(text_keys.values()), pa.string())})
    pq.write_table(table, build / TEXT_KEYS)


MAX_RUNS = 2000


def take_rows(table: pa.Table, indices: pa.Array) -> pa.Table:
    """``table.take(indices)``, without copying when the rows taken are a few runs of
    consecutive rows (the usual incremental case: the published build's rows less or plus a
    few documents'), as zero-copy slices; a copy otherwise."""
    import numpy as np

    idx = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    if len(idx) == 0:
        return table.slice(0, 0)
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    if len(breaks) >= MAX_RUNS:
        return table.take(indices)
    starts = idx[np.r_[0, breaks]]
    lengths = np.diff(np.r_[0, breaks, len(idx)])
    return pa.concat_tables([table.slice(int(a), int(n)) for a, n in zip(starts, lengths)])
