"""The Data Docs folder: values escaped before Great Expectations renders them, a record of the
build they describe, and a folder swapped in only once complete.

GX's Data Docs print the values a failing expectation quotes (``partial_unexpected_list``,
the offending rows' columns, observed values, exception messages) into HTML as given: a raw
plan whose title holds ``<img src=x onerror=…>`` would run script in whoever opens the
report, and in every release that ships it. ``escape_results`` HTML-escapes every string of
every stored validation result just before the pages are rendered (the failure messages of the
run were made from the results before). GX shows them as text then.

The pages are written into a hidden sibling of the Data Docs folder (``staging_dir``) and
renamed into place when complete (``swap_in``), with ``build.json`` naming the build whose
tables they validated: a release copies them only when that is the build it releases. GX takes
only absolute folders, so the path is made absolute here (``digigov validate --out curated``).
"""

from __future__ import annotations

import html
import json
import logging
import os
import shutil
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

RECORD = "build.json"  # in the Data Docs folder: which build's tables they validated
STAGING_PREFIX = ".tmp-"


def staging_dir(docs_dir: Path | str) -> Path:
    """A fresh hidden folder next to ``docs_dir`` (absolute) that the pages are written to;
    leftovers of a validation killed earlier are removed."""
    docs_dir = Path(docs_dir).absolute()
    if docs_dir.parent.is_dir():
        for stale in docs_dir.parent.glob(f".{docs_dir.name}{STAGING_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
    return docs_dir.with_name(f".{docs_dir.name}{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def swap_in(staging: Path, docs_dir: Path | str, build: str | None, success: bool) -> None:
    """Record the build the pages validated and put the complete folder in place of ``docs_dir``
    (the old one leaves by a rename first: never a mix of two validations)."""
    docs_dir = Path(docs_dir).absolute()
    record = {"build": build, "success": bool(success)}
    (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    old = None
    if docs_dir.exists() or docs_dir.is_symlink():
        old = docs_dir.with_name(f".{docs_dir.name}{STAGING_PREFIX}old-{uuid.uuid4().hex[:8]}")
        os.rename(docs_dir, old)
    os.rename(staging, docs_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() and not old.is_symlink() else old.unlink()


def validated_build(docs_dir: Path) -> dict[str, Any] | None:
    """What ``build.json`` of a Data Docs folder says (None: none, or unreadable)."""
    try:
        record = json.loads((Path(docs_dir) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def build_of(tables: Any) -> str | None:
    """The id of the build whose Parquet files ``tables`` reads (a staging build is named as it
    will be once published), None for tables held in memory."""
    folder = getattr(tables, "folder", None)
    if folder is None:
        return None
    folder = Path(folder).resolve()
    return folder.name.removesuffix(".staging")


@contextmanager
def rendering_errors_raised() -> Iterator[None]:
    """Within the block, an error GX's site builder catches and only logs (a page it could not
    write: a full disk) is raised at the end instead, so that incomplete Data Docs are never
    swapped in as if complete; GX's log of it (a traceback) is not printed."""
    caught: list[BaseException] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:  # logged inside GX's ``except`` block
                caught.append(sys.exc_info()[1] or RuntimeError(record.getMessage().splitlines()[0]))

    logger = logging.getLogger("great_expectations.render.renderer.site_builder")
    handler, propagate = Catch(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    if caught:
        raise caught[0]


def escape_results(context: Any) -> None:
    """HTML-escape every string in the stored validation results of a GX context."""
    store = context.validation_results_store
    for key in store.list_keys():
        suite_result = store.get(key)
        for result in suite_result.results:
            result.result = escaped(result.result)
            result.exception_info = escaped(result.exception_info)
        store.set(key, suite_result)


def escaped(value: Any) -> Any:
    """``value`` with every string in it (dict keys included) HTML-escaped, other values kept."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(escaped(v) for v in value)
    return value
