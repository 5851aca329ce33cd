"""CHANGELOG.md: what a release changed since the previous one, for readers."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from flows.contract.dictionary import md_code, md_table
from flows.publishing.card import DATASET_NAME


def target_keys(rows: Iterable[Mapping[str, Any]], source_of: Mapping[str, str], key_cols: tuple[str, ...],
                value_cols: tuple[str, ...]) -> dict[tuple, list[tuple]]:
    """Targets grouped by what they are about (document file + key columns) → sorted values."""
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for r in rows:
        key = (source_of.get(r["doc_id"], r["doc_id"]),) + tuple(r.get(c) for c in key_cols)
        out[key].append(tuple(r.get(c) for c in value_cols))
    return {k: sorted(v, key=repr) for k, v in out.items()}


def _metric_value(v: tuple) -> str:
    value, value_max, comparator = v
    return f"{comparator} {value:g}" + (f"–{value_max:g}" if value_max is not None else "")


def _bandwidth_value(v: tuple) -> str:
    mbps, label = v
    return f"{label} ({mbps} Mbit/s)"


# Tables whose target values the changelog compares: (what a target is about, its value, how to show it)
TARGET_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[[tuple], str]]] = {
    "metrics": (("indicator", "subject", "unit", "is_target", "target_year"), ("value", "value_max", "comparator"),
                _metric_value),
    "bandwidth_targets": (("network", "admin_level", "admin_level_text", "target_year"),
                          ("bandwidth_mbps", "bandwidth_label"), _bandwidth_value),
}


def read_release_rows(release_dir: Path, name: str, columns: list[str]) -> list[dict[str, Any]]:
    path = release_dir / f"{name}.parquet"
    if not path.is_file():
        return []
    available = set(pq.read_schema(path).names)
    return pq.read_table(path, columns=[c for c in columns if c in available]).to_pylist()


# Document identity columns whose re-reading (same raw bytes, newer code) the changelog reports.
IDENTITY = ("title", "province", "issuer", "doc_number", "issue_date")


def changelog(version: str, created: str, previous: str | None, prev_dir: Path | None,
              tables: Mapping[str, pa.Table], row_counts: Mapping[str, int], commit: str | None = None) -> str:
    lines = [f"# Changelog: {DATASET_NAME} {version}", "", f"Released {created}."]
    docs_now = tables["documents"].select(["doc_id", "source_file", "source_sha256"]).to_pylist()
    if previous is None or prev_dir is None:
        lines += ["", "First release: there is no earlier version to compare with.", "",
                  f"## Documents ({len(docs_now)})", ""]
        lines += [f"- added: {md_code(d['source_file'])} (sha256 {md_code(d['source_sha256'])})"
                  for d in sorted(docs_now, key=lambda d: d["source_file"])]
        return "\n".join(lines) + "\n"
    prev_manifest = json.loads((prev_dir / "manifest.json").read_text(encoding="utf-8"))
    lines[2] += f" Compared with the previous release, {previous}."
    prev_sources: dict[str, str] = prev_manifest.get("sources", {})
    now_sources = {d["source_file"]: d["source_sha256"] for d in docs_now}
    added = sorted(set(now_sources) - set(prev_sources))
    removed = sorted(set(prev_sources) - set(now_sources))
    changed = sorted(f for f in set(now_sources) & set(prev_sources) if now_sources[f] != prev_sources[f])
    lines += ["", "## Documents", ""]
    if not (added or removed or changed):
        lines.append("No document was added, removed or changed.")
    lines += [f"- added: {md_code(f)} (sha256 {md_code(now_sources[f])})" for f in added]
    lines += [f"- removed: {md_code(f)} (sha256 {md_code(prev_sources[f])})" for f in removed]
    lines += [f"- changed: {md_code(f)} (sha256 {md_code(prev_sources[f])} → {md_code(now_sources[f])})" for f in changed]

    prev_code = (prev_manifest.get("code_version") or {}).get("git_commit")
    if prev_code != commit:
        lines[2] += f" Code: {md_code((prev_code or 'unknown')[:12])} → {md_code((commit or 'unknown')[:12])}."

    prev_meta = {d["source_file"]: d for d in read_release_rows(prev_dir, "documents", ["source_file", *IDENTITY])}
    now_meta = tables["documents"].select(["source_file", *IDENTITY]).to_pylist()
    meta_changes = [(d["source_file"], c, prev_meta[d["source_file"]].get(c), d[c])
                    for d in now_meta if d["source_file"] in prev_meta and d["source_file"] not in changed
                    for c in IDENTITY if c in prev_meta[d["source_file"]] and prev_meta[d["source_file"]][c] != d[c]]
    if meta_changes:
        lines += ["", "Metadata read differently from unchanged documents:", "",
                  md_table(["source_file", "column", previous, version],
                           [(f, c, "—" if a is None else a, "—" if b is None else b) for f, c, a, b in meta_changes])]

    prev_counts: dict[str, int] = prev_manifest.get("row_counts", {})
    lines += ["", "## Rows per table", "", md_table(
        ["table", previous, version, "change"],
        [(t, prev_counts.get(t, 0), row_counts.get(t, 0), f"{row_counts.get(t, 0) - prev_counts.get(t, 0):+d}")
         for t in sorted(set(prev_counts) | set(row_counts))])]

    prev_docs = read_release_rows(prev_dir, "documents", ["doc_id", "source_file"])
    prev_source_of = {d["doc_id"]: d["source_file"] for d in prev_docs}
    now_source_of = {d["doc_id"]: d["source_file"] for d in docs_now}
    for name, (key_cols, value_cols, show) in TARGET_TABLES.items():
        cols = ["doc_id", *key_cols, *value_cols]
        before = target_keys(read_release_rows(prev_dir, name, cols), prev_source_of, key_cols, value_cols)
        after = target_keys(tables[name].select(cols).to_pylist(), now_source_of, key_cols, value_cols)
        rows = []
        for key in sorted(set(before) | set(after), key=repr):
            old, new = before.get(key), after.get(key)
            if old != new:
                what = "added" if old is None else "removed" if new is None else "changed"
                rows.append((what, key[0], *("" if v is None else v for v in key[1:]),
                             _values(old, show), _values(new, show)))
        lines += ["", f"## {name}: values changed", ""]
        if rows:
            lines.append(md_table(["change", "source_file", *key_cols, previous, version], rows))
        else:
            lines.append("No value changed.")
    return "\n".join(lines) + "\n"


def _values(values: list[tuple] | None, show: Callable[[tuple], str]) -> str:
    return "—" if values is None else "; ".join(show(v) for v in values)
