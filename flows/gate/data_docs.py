"""The Data Docs folder: values escaped before Great Expectations renders them, a record of the
build they describe, and a folder swapped in only once complete.

GX's Data Docs print the values a failing expectation quotes (``partial_unexpected_list``,
the offending rows' columns, observed values, exception messages) into HTML as given: a raw
plan whose title holds ``<img src=x onerror=…>`` would run script in whoever opens the
report, and in every release that ships it. ``store_escaped`` HTML-escapes every string
a validation result quotes as it stores the result for the pages (the failure messages of the
run are made from the result as GX returned it). GX shows them as text then.

The pages are written into a hidden sibling of the Data Docs folder (``staging_dir``) and
renamed into place when complete (``swap_in``), with ``build.json`` naming the build whose
tables they validated: a release copies them only when that is the build it releases. GX takes
only absolute folders, so the path is made absolute here (``digigov validate --out curated``).

The pages open offline. GX's templates load Bootstrap, jQuery, bootstrap-table, Vega, Font Awesome
and a logo from CDNs; the site is configured (``site_config``) with view classes (``flows/gate/data_docs_views.py``: GX's ``view``
hook) whose template loader points each such address at a
copy vendored in ``flows/vendor/data_docs/`` (pinned versions with their licences; ``vendor.json``
maps address to copy), which ``add_vendored_assets`` puts under the site's ``static/vendor/``. The
links are relative, so the pages work wherever the folder is copied (a release's ``data_docs/``).
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import sys
import uuid
from contextlib import contextmanager
from functools import lru_cache
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


def store_escaped(context: Any, result: Any) -> None:
    """Store a suite's validation result (``ExpectationSuiteValidationResult``) in the context's
    results store for the Data Docs, every string of what its expectations' results quote
    HTML-escaped. Serialized as the store itself serializes a result, in its JSON form, so
    escaping that form is escaping what the pages are rendered from."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    as_json = result.to_json_dict()
    for expectation_result in as_json["results"]:
        for field in ("result", "exception_info"):
            if field in expectation_result:
                expectation_result[field] = escaped(expectation_result[field])
    store = context.validation_results_store
    key = ValidationResultIdentifier(batch_identifier=result.batch_id, run_id=result.meta["run_id"],
                                     expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name))
    # what ``store.set`` writes (``ValidationResultsStore.serialize``), from the escaped JSON form
    serialized = ExpectationSuiteValidationResultSchema().dumps(as_json, indent=2, sort_keys=True)
    store.store_backend.set(store.key_to_tuple(key), serialized)


def escaped(value: Any) -> Any:
    """``value`` with every string in it (dict keys included) HTML-escaped, other values kept."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(escaped(v) for v in value)
    return value


VENDOR_DIR = Path(__file__).resolve().parents[1] / "vendor" / "data_docs"
VENDORED_AS = "vendor"  # the copies' folder under the site's static/
GX_STATIC = "static/"  # a copy named so in vendor.json is one of GX's own static files


@lru_cache(maxsize=1)
def vendored() -> dict[str, str]:
    """Each outside address GX's templates load → its path relative to the site's ``static/``."""
    mapping = json.loads((VENDOR_DIR / "vendor.json").read_text(encoding="utf-8"))
    return {url: local.removeprefix(GX_STATIC) if local.startswith(GX_STATIC) else f"{VENDORED_AS}/{local}"
            for url, local in mapping.items() if url != "_"}


def site_config(docs_dir: Path | str) -> dict[str, Any]:
    """GX's Data Docs site writing into ``docs_dir``, every page drawn by an offline view."""
    views = "flows.gate.data_docs_views"  # imported by GX when it renders (GX is never imported here)
    view = {"module_name": views, "class_name": "OfflinePageView"}
    return {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "view": {"module_name": views, "class_name": "OfflineIndexPageView"}},
        "site_section_builders": {"expectations": {"view": view}, "validations": {"view": view},
                                  "profiling": {"view": view}},
    }


def add_vendored_assets(docs_dir: Path | str) -> None:
    """Copy the vendored scripts, styles, fonts and their licences into the site's static folder."""
    shutil.copytree(VENDOR_DIR, Path(docs_dir) / "static" / VENDORED_AS, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("fetch.sh"))


def offline_source(source: str) -> str:
    """A GX template's source with every vendored address replaced by a relative link to its copy
    (``digigov_static()`` is the page's way up to the site's ``static/``), and the subresource-
    integrity attributes of those tags dropped: Chromium refuses a script with ``crossorigin`` from
    a file:// page, and the copies are pinned by version here instead."""
    addresses = sorted(vendored(), key=len, reverse=True)  # a longer address before its prefix
    pattern = re.compile(r"([\"'])(" + "|".join(map(re.escape, addresses)) + r")\1")

    def local(match: re.Match) -> str:
        quote, path = match.group(1), vendored()[match.group(2)]
        in_statement = source.rfind("{%", 0, match.start()) > source.rfind("%}", 0, match.start())
        if in_statement:  # a Jinja expression: `{% set x = "https://…" %}`
            return f"(digigov_static() ~ {quote}{path}{quote})"
        return f"{quote}{{{{ digigov_static() }}}}{path}{quote}"

    # GX's images: every page finds them the same way (favicon.j2 counts one folder short on a
    # validation page; top_navbar.j2 takes the logo from S3)
    images = re.sub(r"\{%-?\s*set static_images_dir\s*=[^%]*%\}",
                    '{% set static_images_dir = digigov_static() ~ "images/" -%}', source)
    rewritten = pattern.sub(local, images)
    if rewritten != images:
        rewritten = re.sub(r"""\s+(?:integrity|crossorigin)=(["'])[^"']*\1""", "", rewritten)
    return rewritten
