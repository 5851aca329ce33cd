"""Batches: the raw folder scanned into entries, planned into batches of about equal cost and
processed, as plain functions the flow's tasks call (tests call them directly, without a server)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from flows.budget import DEFAULT_DOC_TIMEOUT
from flows.contract.schema import TABLES, schema
from flows.gate.verdict import BuildRefused
from flows.ingest.raw_files import RawDoc, Rejected, discover, read_raw, relative_name
from flows.pipeline import copy_reject, duplicate_key, process_document, reject_row, timed
from flows.records import BatchResult, RawEntry
from flows.storage.cache import CachedDocument, DocumentCache
from flows.storage.reuse import PreviousBuild
from flows.storage.staging import _with_schema

DEFAULT_BATCH_SIZE = 200  # documents to process per task, at most; cached documents cost far less
CACHE_HITS_PER_DOCUMENT = 20  # a cache hit costs a small fraction of processing a document
MAX_BATCH_DOCUMENTS = 500
MAX_BATCH_BYTES = 32 * 2**20  # of raw files per batch: a batch's rows are held whole in its worker


# Below this many documents to process, batches run in the flow's own process: starting worker
# processes (seconds each: every worker imports Prefect and the stages) would cost more than
# loading cached documents serially (cheap, docs/performance.md).
IN_PROCESS_MAX_MISSES = 20


# Processed documents whose rows are held, as Python objects, to be turned into Arrow together
# (a few MB); conversion per document costs more (CachedDocument.from_many).
ARROW_DOCUMENTS = 50


# BatchResult.timings besides the stages' wall seconds: the batch's CPU seconds (its thread's),
# and the process's one-time warm-up (``pipeline.warm_up``, once in each new worker)
CPU_TIMING, WARM_UP_TIMING = "cpu", "warm_up"


def scan_folder(raw_dir: Path) -> list[RawEntry]:
    """Every raw file under ``raw_dir`` hashed (``scan_raw``), then a reject for each folder
    that cannot be read and each link to a folder that loops (``discover``)."""
    problems: list[tuple[str, Rejected]] = []
    entries = scan_raw(raw_dir, discover(raw_dir, problems))
    return entries + [RawEntry(name, reject=reject_row(name, None, exc.reason, exc.detail)) for name, exc in problems]


def scan_raw(raw_dir: Path, paths: list[Path]) -> list[RawEntry]:
    """Hash every raw file (or record why it is rejected); reads one file at a time.
    (Threads were slower here: docs/performance.md.)"""
    entries = []
    for path in paths:
        name = relative_name(raw_dir, path)
        try:
            raw = read_raw(raw_dir, path)
        except Rejected as exc:
            entries.append(RawEntry(name, reject=reject_row(name, None, exc.reason, exc.detail)))
            continue
        entries.append(RawEntry(name, sha256=raw.sha256, size=len(raw.data)))
    return entries


def process_entries(raw_dir: Path, entries: list[RawEntry], cache: DocumentCache | None,
                    doc_timeout: float | None = DEFAULT_DOC_TIMEOUT) -> BatchResult:
    """Rows of a batch of scanned raw files as Arrow tables: cached tables where the cache has
    them, ``process_document`` otherwise (plain function; the task wraps it), each document
    within ``doc_timeout`` seconds. Processed documents are turned into Arrow ``ARROW_DOCUMENTS``
    at a time (``CachedDocument.from_many``); every part still goes in in path order."""
    timings: dict[str, float] = {}
    cpu_started = time.thread_time()
    parts: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
    doc_keys: list[tuple[str, str, str, str]] = []
    processed = cached = 0
    pending: list[tuple[RawEntry, dict[str, list[dict[str, Any]]], str | None]] = []

    def add(entry: RawEntry, doc: CachedDocument) -> None:
        for name, table in doc.tables.items():
            parts[name].append(table)
        if doc.text_key is not None and "documents" in doc.tables:
            doc_keys.extend((entry.source_file, d, doc.text_key, entry.sha256)
                            for d in doc.tables["documents"].column("doc_id").to_pylist())

    def flush() -> None:
        with timed(timings, "arrow"):
            docs = CachedDocument.from_many([(rows, text_key) for _, rows, text_key in pending])
        for (entry, rows, _), doc in zip(pending, docs):
            # an `error` or `timeout` reject may be the machine's (memory, disk, a busy CPU), not
            # the document's: retry it next run
            if cache is not None and not any(r["reason"] in ("error", "timeout") for r in rows["rejects"]):
                with timed(timings, "cache_store"):
                    cache.put(entry.sha256, entry.suffix, doc)
            add(entry, doc)
        pending.clear()

    for entry in entries:
        doc = None
        if cache is not None and entry.cached:
            with timed(timings, "cache_load"):
                doc = cache.get(entry.sha256, entry.suffix, entry.source_file)
        if doc is not None:
            flush()
            add(entry, doc)
            cached += 1
            continue
        with timed(timings, "read"):
            raw = _reread(raw_dir, entry)
        if isinstance(raw, dict):
            flush()
            parts["rejects"].append(schema("rejects").table([raw], bare=True))
            continue
        rows = process_document(raw, timings, doc_timeout)
        with timed(timings, "arrow"):
            text_key = duplicate_key(rows["documents"][0]) if rows["documents"] else None
        pending.append((entry, rows, text_key))
        processed += 1
        if len(pending) >= ARROW_DOCUMENTS:
            flush()
    flush()
    with timed(timings, "arrow"):
        tables = {name: _with_schema(name, parts[name]) for name in TABLES}
    # the CPU time of all of the above (the stages' timings are wall time: a busy machine inflates them)
    timings[CPU_TIMING] = time.thread_time() - cpu_started
    return BatchResult(tables, doc_keys, processed, cached, timings)


def _reread(raw_dir: Path, entry: RawEntry) -> RawDoc | dict[str, Any]:
    try:
        raw = read_raw(raw_dir, raw_dir / entry.source_file)
    except Rejected as exc:
        return reject_row(entry.source_file, None, exc.reason, exc.detail)
    if raw.sha256 != entry.sha256:  # changed between the scan and now: the next run takes it
        return reject_row(entry.source_file, raw.sha256, "unreadable",
                          "the file changed while the run was reading it; it is read again next run")
    return raw


def plan_batches(entries: list[RawEntry], batch_size: int, parallelism: int = 1) -> list[list[RawEntry]]:
    """Consecutive batches (path order, so tables come out in a stable order) of about equal cost.

    A batch costs at most about ``batch_size`` documents to process (a cache hit counts 1/20),
    ``MAX_BATCH_DOCUMENTS`` documents and ``MAX_BATCH_BYTES`` of raw files; the number of
    batches is a multiple of ``parallelism``, at least two per worker when there are enough
    documents, so that the workers finish together instead of one waiting on the last batch.
    Each task run costs Prefect CPU (API calls, states, events), so batches are
    as large as those bounds allow."""
    if not entries:
        return []
    costs = [1 if e.cached else CACHE_HITS_PER_DOCUMENT for e in entries]
    total = sum(costs)
    k = max(-(-total // (max(1, batch_size) * CACHE_HITS_PER_DOCUMENT)),
            -(-len(entries) // MAX_BATCH_DOCUMENTS),
            -(-sum(e.size or 0 for e in entries) // MAX_BATCH_BYTES))
    if len(entries) >= 2 * parallelism:
        k = max(k, 2 * parallelism)
    k = min(len(entries), -(-k // parallelism) * parallelism)
    out: list[list[RawEntry]] = []
    current: list[RawEntry] = []
    done = 0
    for entry, cost in zip(entries, costs):
        current.append(entry)
        done += cost
        # cumulative thresholds: rounding never piles up into a last, short or long, batch
        if done * k >= total * (len(out) + 1) and len(out) < k - 1:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _split_reused(entries: list[RawEntry], previous: PreviousBuild | None) -> tuple[list[RawEntry], dict[str, str]]:
    """(entries to process or load from the cache, {doc_id: source_file} of the documents whose
    rows the previous build holds: its documents rows say which doc_id a raw file's bytes got)."""
    if previous is None:
        return entries, {}
    rest, reuse = [], {}
    for e in entries:
        doc_id = previous.doc_ids.get((e.sha256, e.suffix))
        if doc_id is not None and doc_id not in reuse:
            reuse[doc_id] = e.source_file
        else:
            rest.append(e)
    return rest, reuse


def _split_copies(entries: list[RawEntry]) -> tuple[list[RawEntry], list[dict[str, Any]]]:
    """Byte-identical files are processed once: the first by path; the others become rejects."""
    first: dict[str, RawEntry] = {}
    unique, copies = [], []
    for e in entries:  # entries are in path order
        if e.sha256 in first:
            copies.append(copy_reject(e.source_file, e.sha256, first[e.sha256].source_file))
        else:
            first[e.sha256] = e
            unique.append(e)
    return unique, copies


@dataclass
class RunPlan:
    """What a run does with each raw file: process it or load its cached rows (``unique``, in
    path order), reuse the published build's rows (``reuse``: {doc_id: source_file}) or reject
    it (``rejects``: unusable files and byte-identical copies)."""

    entries: list[RawEntry]
    unique: list[RawEntry]
    rejects: list[dict[str, Any]]
    order: list[str]  # every usable file, reused ones included, in path order
    reuse: dict[str, str] = field(default_factory=dict)
    reused_sha256: dict[str, str] = field(default_factory=dict)  # doc_id -> raw sha256, of ``reuse``

    @property
    def cached(self) -> int:
        return sum(e.cached for e in self.unique)

    @property
    def to_process(self) -> int:
        return len(self.unique) - self.cached

    def reused_keys(self, previous: PreviousBuild) -> list[tuple[str, str, str, str]]:
        """``BatchResult.doc_keys`` of the reused documents (their doc_id: the previous build's)."""
        return [(f, d, previous.text_keys[d], self.reused_sha256[d]) for d, f in self.reuse.items()]

    def describe(self, raw: Path) -> str:
        return (f"{len(self.entries)} raw files under {raw}: {self.to_process} to process, {self.cached} cached, "
                f"{len(self.reuse)} unchanged in the published build, {len(self.rejects)} rejected before processing")


def refuse_without_documents(entries: list[RawEntry], raw: Path) -> None:
    """Refuse the run now when no raw file is usable: nothing to process, validate or publish."""
    rejected = sum(1 for e in entries if e.reject)
    if rejected == len(entries):
        raise BuildRefused(f"the build would have no documents: the raw folder {raw} holds no usable plan files "
                           f"({len(entries)} found, {rejected} rejected; is it empty, unmounted or "
                           "unreadable?); the published tables are kept")


def plan_run(entries: list[RawEntry], previous: PreviousBuild | None, cache: DocumentCache | None) -> RunPlan:
    """Split the scanned entries: rejects and copies, documents whose rows ``previous`` (the
    published build of the same code) holds, and the rest, marked ``cached`` when ``cache``
    (None: a full refresh) holds their rows."""
    unique, copies = _split_copies([e for e in entries if not e.reject])
    rejects = [e.reject for e in entries if e.reject] + copies
    order = [e.source_file for e in unique]
    sha256_of = {e.source_file: e.sha256 for e in unique}
    unique, reuse = _split_reused(unique, previous)
    if cache is not None:
        unique = [RawEntry(e.source_file, e.sha256, e.size, cached=cache.has(e.sha256, e.suffix)) for e in unique]
    return RunPlan(entries, unique, rejects, order, reuse, {d: sha256_of[f] for d, f in reuse.items()})
