"""The head start: the raw folder's scan and the published build's reuse begun before the flow
starts, while the Prefect server comes up; taken only by the run it was made for."""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from flows.orchestration.batches import _split_copies, _split_reused, scan_folder
from flows.storage.publish import current_build
from flows.storage.reuse import PreviousBuild, load_previous
from flows.storage.staging import ReusedReads


@dataclass
class EarlyReuse:
    """What a head start found to reuse: the published build and its first reads."""

    previous: PreviousBuild
    fingerprint: str  # the code fingerprint it was loaded for
    reuse: dict[str, str]
    reads: ReusedReads | None


class HeadStart:
    """A run's first steps, begun on a thread before its flow can start (``digigov run``, while
    the embedded server starts: seconds in which the CLI's process has nothing else to do).

    It scans the raw folder, then, unless ``full_refresh``, loads the published build of the
    same code and starts reading its reused rows (``ReusedReads``: the first table, the
    documents with their texts, is the longest read). The flow takes them once it holds the
    output folder's lock (``take_head_start``), only if no other run published a build since the
    head start began (else the raw folder may have changed for it too): the scan as its scan
    task's result, so the run sees the raw folder as it was when the command started; the reads
    if the flow reuses exactly the same documents of that build. Otherwise the flow does that
    work itself. Nothing is written before the lock."""

    def __init__(self, raw_dir: Path | str, out_dir: Path | str, full_refresh: bool = False):
        self.raw, self.out = Path(raw_dir).resolve(), Path(out_dir).resolve()
        self.full_refresh = full_refresh
        self.published_then = current_build(self.out)  # before anything is scanned
        self.entries: Future = Future()  # list[RawEntry]
        self.early: Future = Future()  # EarlyReuse | None
        self.scan_seconds = 0.0
        self._closed = False
        threading.Thread(target=self._run, name="head-start", daemon=True).start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            entries = scan_folder(self.raw)
        except BaseException as exc:  # noqa: BLE001 (the flow's own scan reports it)
            self.entries.set_exception(exc)
            self.early.set_result(None)
            return
        self.scan_seconds = time.perf_counter() - started
        self.entries.set_result(entries)
        early = None
        try:
            if not self.full_refresh and self.raw.is_dir():
                from flows.storage.cache import code_fingerprint

                fingerprint = code_fingerprint()
                previous = load_previous(self.out, fingerprint)
                if previous is not None and not self._closed:
                    unique, _ = _split_copies([e for e in entries if not e.reject])
                    _, reuse = _split_reused(unique, previous)
                    early = EarlyReuse(previous, fingerprint, reuse, ReusedReads(previous, reuse) if reuse else None)
        except Exception:  # noqa: BLE001 (an unreadable build: the flow finds out under its lock)
            early = None
        self.early.set_result(early)
        if self._closed and early is not None and early.reads is not None:  # let go meanwhile
            early.reads.close()

    def reuse_for(self, previous: PreviousBuild | None, reuse: dict[str, str]) -> ReusedReads | None:
        """The head start's reads if they are of ``previous`` (the build the flow loaded under
        its lock) and of the same documents; None otherwise (and they are let go)."""
        early = self.early.result()
        if early is None or early.reads is None:
            return None
        if previous is not None and early.previous.path == previous.path and early.reuse == reuse:
            return early.reads
        early.reads.close()
        return None

    def published(self, fingerprint: str) -> PreviousBuild | None:
        """The published build the head start loaded for ``fingerprint`` (builds are never
        changed once published: only replaced, which ``take_head_start`` checks)."""
        early = self.early.result()
        return early.previous if early is not None and early.fingerprint == fingerprint else None

    def close(self) -> None:
        self._closed = True
        early = self.early.result() if self.early.done() else None
        if early is not None and early.reads is not None:
            early.reads.close()


_head_start: HeadStart | None = None


def begin_head_start(raw_dir: Path | str, out_dir: Path | str, full_refresh: bool = False) -> HeadStart:
    """Start the next run's first steps now (see ``HeadStart``); its flow takes them."""
    global _head_start
    if _head_start is not None:
        _head_start.close()
    _head_start = HeadStart(raw_dir, out_dir, full_refresh)
    return _head_start


def take_head_start(raw: Path, out: Path, full_refresh: bool) -> HeadStart | None:
    """The head start begun for this run (same folders, same refresh), once, while the build it
    began under is still the published one (call it holding the lock); any other is let go."""
    global _head_start
    head, _head_start = _head_start, None
    if head is None:
        return None
    if ((head.raw, head.out, head.full_refresh) != (Path(raw).resolve(), Path(out).resolve(), full_refresh)
            or current_build(head.out) != head.published_then):
        head.close()
        return None
    return head


def published_build(head: HeadStart | None, out: Path, fingerprint: str,
                    full_refresh: bool) -> tuple[PreviousBuild | None, list[str]]:
    """The published build whose rows this run may reuse (the head start's, or loaded now; none
    on a full refresh), and why the published build's rows are not reused, if they are not."""
    not_reused: list[str] = []
    if full_refresh:
        return None, not_reused
    previous = (head and head.published(fingerprint)) or load_previous(out, fingerprint, not_reused)
    return previous, not_reused


def reused_reads(head: HeadStart | None, previous: PreviousBuild | None, reuse: dict[str, str]) -> ReusedReads | None:
    """The reads of the published build's reused rows, begun on a thread (by the head start when
    it read the same rows); None when nothing is reused."""
    return (head and head.reuse_for(previous, reuse)) or (ReusedReads(previous, reuse) if reuse else None)
