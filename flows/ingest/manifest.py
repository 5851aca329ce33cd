"""The raw folder's manifest (`raw/manifest.csv`): where each raw text came from and on what basis
it is published.

One row a file: file, sha256, bytes, origin, received_via, date_added, source_url (the official
page the copy reproduces, where known) and rights_basis (why the text may be republished: an
official document of a state organ is not protected by copyright under Article 5 of the PRC
Copyright Law; anything a third party added to a copy is not such a document and says so).
The dataset card of a release renders it as its "Sources and rights" section.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Mapping

from flows.contract.dictionary import Markdown, md_code, md_table

MANIFEST = "manifest.csv"
COLUMNS = ("file", "sha256", "bytes", "origin", "received_via", "date_added", "source_url", "rights_basis")
ARTICLE_5 = (
    "Official documents of Chinese state organs (laws, regulations, resolutions, decisions, orders and "
    "other documents of a legislative, administrative or judicial nature) are not protected by "
    "copyright under Article 5 of the Copyright Law of the People's Republic of China; the plan "
    "texts are republished on that basis, attributed to their issuers."
)


def read_manifest(raw_dir: Path | str) -> list[dict[str, str]]:
    """The manifest's rows (no rows when the folder has no manifest)."""
    path = Path(raw_dir) / MANIFEST
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]


def _link(url: str) -> str:
    # a URL with characters Markdown would read as link syntax is shown as code instead
    # (an autolink's content is literal: it renders as the URL itself, never as markup)
    return Markdown(f"<{url}>") if url and not any(c in url for c in "<> ") else (md_code(url) if url else "not recorded")


def sources_section(manifest: Iterable[Mapping[str, str]], documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """The card's "Sources and rights" lines for the documents a release covers: each file's
    origin, source URL and rights basis, from the raw manifest."""
    by_file = {r.get("file"): r for r in manifest}
    covered = sorted({d["source_file"] for d in documents})
    rows = []
    for name in covered:
        r = by_file.get(name.rsplit("/", 1)[-1]) or by_file.get(name) or {}
        rows.append((md_code(name), r.get("origin") or "not in raw/manifest.csv", _link(r.get("source_url", "")),
                     r.get("rights_basis") or "not recorded"))
    third_party = [n for n, *_ , basis in rows if "third-party" in basis or "not covered" in basis]
    lines = ["## Sources and rights", "", ARTICLE_5, ""]
    if third_party:
        lines += ["Parts that are not official documents are marked in the rights column: "
                  + ", ".join(third_party) + ".", ""]
    lines += [md_table(["source file", "origin", "source URL", "rights basis"], rows), ""]
    return lines
