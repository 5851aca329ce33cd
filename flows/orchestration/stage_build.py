"""Staging the build, in one of two ways, and validating it.

With nothing to reuse from the published build, each batch's rows go straight into the staging
build's files as the batch comes back (``stream_batches``): this process never holds more than a
batch, and validation then reads the files back one table at a time. Otherwise the published
build's reused rows and the batches' are merged one table at a time (``stage_merged``); with few
documents to check, that runs on a thread while this one validates each table as soon as its
file is complete. Plain functions: validation is handed in (the flow's task)."""
from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from flows.contract.schema import TABLES
from flows.gate.verdict import ValidationResult
from flows.orchestration.batches import RunPlan
from flows.pipeline import duplicate_roles, timed
from flows.records import BatchResult
from flows.storage.publish import Checksums, new_build_dir, table_file
from flows.storage.reuse import PreviousBuild
from flows.storage.staging import (
    MERGE_ORDER,
    ReusedReads,
    Staged,
    StagedTables,
    StagingProgress,
    _staging_failed,
    stage_merged,
    stream_batches,
)

# the order in which ``stage_merged`` writes the tables' files (rejects when the rest are closed)
STAGING_ORDER = (*(n for n in MERGE_ORDER if n != "rejects"), "rejects")

Validate = Callable[[StagedTables, "list[str] | None"], ValidationResult]


@dataclass
class StagingArea:
    """A run's staging builds and the checksums of the one being staged: discarded when the run
    is refused, kept once published."""

    out: Path
    builds: list[Path] = field(default_factory=list)
    checksums: Checksums | None = None

    def new_build(self) -> Path:
        self.builds.append(new_build_dir(self.out))
        return self.builds[-1]

    def checksums_of(self, build: Path) -> Checksums:
        """The checksums of ``build``'s files: those taken while it was staged, or new ones (a
        build staged again without quarantined documents)."""
        if self.checksums is None or self.checksums.build != build:
            if self.checksums is not None:
                self.checksums.close()
            self.checksums = Checksums(build)
        return self.checksums

    def published(self) -> None:
        self.builds.clear()

    def discard(self) -> None:
        if self.checksums is not None:
            self.checksums.close()
        for build in self.builds:
            shutil.rmtree(build, ignore_errors=True)


def stage_build(batches: Iterator[BatchResult], run: RunPlan, previous: PreviousBuild | None,
                reads: ReusedReads | None, area: StagingArea, validate: Validate, rules_fingerprint: str,
                timings: dict[str, float], batches_done: Callable[[], None] = lambda: None
                ) -> tuple[Staged, ValidationResult, list[str] | None]:
    """Stage the batches' rows (and the published build's reused ones) into a new staging build
    and validate it. Returns the staged build, the validation's result and the documents whose
    rows the row-level suites checked (None: every one: nothing reused, or the rules changed
    since the published build was validated)."""
    if not run.reuse:
        build = area.new_build()
        with timed(timings, "batches"):
            staged = stream_batches(batches, run.rejects, build)
        area.checksums = Checksums(staged.build)  # taken on a thread while the build is validated
        area.checksums.add(*(table_file(n) for n in TABLES))
        batches_done()
        return staged, _validated(staged, validate, None, timings), None
    with timed(timings, "batches"):
        results = list(batches)
    batches_done()
    reused_keys = run.reused_keys(previous)
    same_rules = previous.rules_fingerprint == rules_fingerprint
    # the batches' documents by their final doc_id (processing gave them their file's)
    roles = duplicate_roles([*reused_keys, *(k for r in results for k in r.doc_keys)])
    checked = [roles.final(d) for r in results for _, d, _, _ in r.doc_keys] if same_rules else None
    # one table at a time: the published build's reused rows and the batches' merged, written
    # and let go (only the row groups holding checked documents are read back for the
    # row-level suites). With few documents to check, a thread stages while this one validates
    # each table as soon as its file is complete (documents first: Parquet encoding releases the
    # GIL, GX holds it); when every row is checked, the build is staged first, lest a whole
    # table be read back while another is merged.
    build, progress_ = area.new_build(), StagingProgress()
    checksums = area.checksums = Checksums(build)  # each table's file, on a thread, once it is staged

    def table_staged(name: str) -> None:
        progress_.staged(name)
        checksums.add(table_file(name))

    args = (results, run.rejects, iter(reads), reused_keys, run.order, build, timings, table_staged)
    del results
    result = None
    if checked is None:
        staged = stage_merged(*args)
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="stage") as pool:
            staging = pool.submit(stage_merged, *args)
            staging.add_done_callback(lambda f: f.exception() and _staging_failed(progress_, build, f.exception()))
            try:
                with timed(timings, "validate"):
                    result = validate(StagedTables(build, STAGING_ORDER, ready=progress_.wait), checked)
            finally:  # a staging error is the run's error (validation only waited on it)
                staged = staging.result()
    del args
    timings["reuse"], timings["reuse_read"] = reads.waited, reads.seconds
    if result is None:
        result = _validated(staged, validate, checked, timings)
    return staged, result, checked


def _validated(staged: Staged, validate: Validate, checked: list[str] | None,
               timings: dict[str, float]) -> ValidationResult:
    """Validate a build staged in full, reading its files back one table at a time."""
    with timed(timings, "validate"):
        return validate(StagedTables(staged.build, list(TABLES)), checked)
