"""The dataset card (a release's README.md), its citation file and the limits it states."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Mapping, Sequence

import yaml

from flows.contract.dictionary import data_dictionary, md_code, md_table, md_text, tables_overview
from flows.contract.schema import load_schemas
from flows.ingest.manifest import sources_section
from flows.publishing.versions import iso

DATASET_NAME = "digigov"
DATASET_TITLE = "digigov: Chinese provincial digital-government plans (数字政府建设方案)"


DATASET_DESCRIPTION = (
    "Chinese provincial 'digital government' plans (数字政府建设方案 / 实施意见 / 总体规划) as a "
    "validated Parquet dataset: each plan's normalized text, section tree and identity, and the "
    "goals, quantified metrics, bandwidth targets and tasks it sets, every row traceable to its "
    "sentence by character offsets into documents.text."
)


KEYWORDS = ("digital government", "数字政府", "China", "policy documents", "e-government", "Parquet")


LICENCE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0 International",
}


AUTHOR = "digigov contributors"


def documents_covered(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: (d.get("province") or "\uffff", str(d.get("issue_date") or ""), d["source_file"]))


def doc_title(doc: Mapping[str, Any]) -> str:
    return doc.get("title") or doc.get("notice_title") or "(title not recovered)"


def citation_cff(version: str, released: datetime, commit: str | None) -> str:
    doc: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it as below.",
        "type": "dataset",
        "title": DATASET_TITLE,
        "version": version,
        "date-released": released.strftime("%Y-%m-%d"),
        "license": LICENCE["name"],
        "authors": [{"name": AUTHOR}],
        "abstract": DATASET_DESCRIPTION,
        "keywords": list(KEYWORDS),
    }
    if commit:
        doc["commit"] = commit
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def how_to_cite(version: str, released: datetime) -> str:
    return f"{AUTHOR} ({released.year}). *{DATASET_TITLE}* (Version {version}) [Data set]."


def dataset_card(*, version: str, created: datetime, manifest: Mapping[str, Any],
                 documents: list[dict[str, Any]], repairs: list[dict[str, Any]],
                 rejects: list[dict[str, Any]], validation: Mapping[str, Any],
                 raw_manifest: list[dict[str, str]] = (), parse_issues: Sequence[Mapping[str, Any]] = ()) -> str:
    counts = manifest["row_counts"]
    code = manifest["code_version"]
    lines = [
        f"# {DATASET_TITLE}, version {version}", "",
        DATASET_DESCRIPTION, "",
        f"Released {iso(created)} under {LICENCE['title']} ({LICENCE['name']}). "
        "Open `index.html` for an overview with charts; `datapackage.json` describes every file "
        "for Frictionless tools; `CHANGELOG.md` lists what changed since the previous release.", "",
        f"## Documents covered ({len(documents)})", "",
        md_table(["jurisdiction", "title", "issuer", "number", "issue date", "source file"],
                 [(d.get("jurisdiction") or d.get("province") or "—", doc_title(d), d.get("issuer") or "—", d.get("doc_number") or "—",
                   d.get("issue_date") or "—", md_code(d['source_file'])) for d in documents_covered(documents)]),
        "",
    ]
    if rejects:
        lines += [f"Raw files not used ({len(rejects)}):", ""]
        lines += [f"- {md_code(r['source_file'])}: {md_text(r['reason'])} ({md_text(r['detail'][:200])})" for r in rejects]
        lines.append("")
    lines += sources_section(raw_manifest, documents_covered(documents))
    dirty = manifest["state"]["dirty_reasons"]
    lines += [
        "## How it was built", "",
        "Each raw plan text was read as bytes, decoded (encoding detected), normalized to simplified "
        "Chinese with canonical punctuation (every repair recorded in `repairs`), split into its "
        "GB/T 9704 section tree, and mined for metadata, goals, metrics, bandwidth targets, tasks and "
        "keywords by rule-based extractors; every extracted row points back to its source sentence "
        "(`char_start`/`char_end` into `documents.text`). The tables were validated against the "
        "contract in `schemas/` before being published, and again before this release.", "",
        md_table(["", ""], [
            ("code (git commit)", md_code(code['git_commit'] or 'unknown')),
            ("package version", code["package_version"]),
            ("schema version", manifest.get("schema_version") or "not recorded"),
            ("lock file sha256", md_code(manifest['lock_file']['sha256'] or 'missing')),
            ("tables built", manifest["build"].get("created") or "unknown"),
            ("validation", f"{'passed' if validation['success'] else 'FAILED'} "
                           f"({validation['expectations']} checks, gate {validation['gate']})"),
            ("state", "clean" if not dirty else "released with --allow-dirty: " + "; ".join(dirty)),
        ]), "",
        "`manifest.json` records the sha256 of every raw source; `SHA256SUMS` the sha256 of every file "
        "here (`sha256sum -c SHA256SUMS`), the one check of the files' integrity. `frictionless validate "
        "datapackage.json` checks every table against its types, constraints, primary and foreign keys (not the "
        "files' hashes: its Parquet reader never reads the bytes); `validation/` holds the validation "
        "report of these tables.", "",
        "## Tables", "",
        tables_overview(load_schemas(), counts), "",
        "Every Parquet file carries each column's description in its field metadata and the dataset "
        "version in its file metadata (`dataset_version`).", "",
        data_dictionary(load_schemas(), counts, heading_level=3),
        "## Known limitations", "",
    ]
    lines += known_limitations(documents, repairs)
    lines += parse_issue_lines(parse_issues)
    lines += [
        "", "## Licence", "",
        f"The tables, documentation and overview are released under {LICENCE['title']} "
        f"({LICENCE['name']}, {LICENCE['path']}). The plan texts themselves are official documents of "
        "Chinese government bodies; attribute them to their issuers.", "",
        "## How to cite", "",
        how_to_cite(version, created), "",
        "`CITATION.cff` holds the same in Citation File Format 1.2.", "",
        "## Examples", "",
        "Run from this folder (Python with pandas, pyarrow and duckdb):", "",
        "```python",
        "import pandas as pd",
        "",
        "docs = pd.read_parquet(\"documents.parquet\")",
        "print(docs[[\"province\", \"title\", \"doc_number\", \"issue_date\"]])",
        "goals = pd.read_parquet(\"goals.parquet\").merge(docs[[\"doc_id\", \"province\"]], on=\"doc_id\")",
        "print(goals.groupby([\"province\", \"target_year\"], dropna=False).size())",
        "```", "",
        "```python",
        "import duckdb",
        "",
        "print(duckdb.sql(\"\"\"",
        "    select d.province, m.indicator, m.value, m.unit, m.target_year, m.source_text",
        "    from 'metrics.parquet' m join 'documents.parquet' d using (doc_id)",
        "    where m.unit = '%' and m.is_target",
        "    order by d.province, m.indicator",
        "\"\"\"))",
        "print(duckdb.sql(\"\"\"",
        "    select d.province, b.admin_level, max(b.bandwidth_mbps) as max_mbps",
        "    from 'bandwidth_targets.parquet' b join 'documents.parquet' d using (doc_id)",
        "    group by all order by all",
        "\"\"\"))",
        "```", "",
        "```python",
        "import pyarrow.parquet as pq",
        "",
        "schema = pq.read_schema(\"metrics.parquet\")",
        "print(schema.metadata[b\"dataset_version\"].decode())",
        "print(schema.field(\"value\").metadata[b\"description\"].decode())",
        "```", "",
    ]
    return "\n".join(lines)


def known_limitations(documents: list[dict[str, Any]], repairs: list[dict[str, Any]]) -> list[str]:
    out = [
        "- Extraction is rule-based: goals, metrics, bandwidth targets and tasks are found by patterns "
        "over the text; a statement phrased in an unforeseen way can be missed. Each row quotes its "
        "source sentence so it can be checked.",
    ]
    damaged = [d for d in documents if (d.get("unrecoverable_spans") or 0) > 0]
    total = sum(d["unrecoverable_spans"] for d in damaged)
    if damaged:
        out.append(f"- Unrecoverable text: {total} span(s) in {len(damaged)} document(s) could not be "
                   "recovered from damaged bytes (`documents.unrecoverable_spans`): "
                   + ", ".join(f"{md_code(d['source_file'])} ({d['unrecoverable_spans']})" for d in damaged) + ".")
    else:
        out.append("- Unrecoverable text: none; every document's bytes were decoded or repaired "
                   "(`documents.unrecoverable_spans` is 0 throughout).")
    flagged = [d for d in documents if d.get("metadata_flags")]
    if flagged:
        out.append(f"- Flagged metadata ({len(flagged)} document(s), `documents.metadata_flags`): "
                   + "; ".join(f"{md_code(d['source_file'])}: {md_text(', '.join(d['metadata_flags']))}" for d in flagged)
                   + ".")
    else:
        out.append("- Flagged metadata: no document carries a metadata conflict flag (`documents.metadata_flags`).")
    missing = Counter(c for d in documents for c in ("title", "province", "issuer", "issue_date", "doc_number")
                      if not d.get(c))
    if missing:
        out.append("- Metadata not recovered (null): " + ", ".join(f"{c} in {n} document(s)" for c, n in sorted(missing.items())) + ".")
    kinds = Counter(r["kind"] for r in repairs)
    if kinds:
        out.append("- Repaired text: " + ", ".join(f"{k} ({n} document(s))" for k, n in sorted(kinds.items()))
                   + "; see the `repairs` table for counts and examples.")
    dups = [d for d in documents if d.get("duplicate_of")]
    if dups:
        out.append(f"- {len(dups)} document(s) duplicate an earlier one (`documents.duplicate_of`); their "
                   "derived rows are not repeated.")
    return out


def parse_issue_lines(parse_issues: Sequence[Mapping[str, Any]]) -> list[str]:
    """The known-limitations item on what the stages saw but could not place, counted by kind."""
    if not parse_issues:
        return ["- Parse issues: none; every stage placed what it saw (the `parse_issues` table is empty)."]
    kinds = Counter((r["stage"], r["kind"]) for r in parse_issues)
    docs = len({r["doc_id"] for r in parse_issues})
    return [f"- Parse issues: {len(parse_issues)} in {docs} document(s), what a stage saw but could not place "
            "(see the `parse_issues` table, each with its text and offsets): "
            + ", ".join(f"{md_text(kind)} ({md_text(stage)}, {n})" for (stage, kind), n in sorted(kinds.items())) + "."]
