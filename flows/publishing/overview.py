"""The analyst overview: one self-contained ``index.html`` per release, with SVG charts.

Everything is inlined (styles, a few lines of script for sortable tables, the charts as SVG), so
the page opens from a USB stick or an upload with no network. Charts are drawn here directly as
SVG from the released rows: the stack's charting library (altair) emits Vega-Lite specs that
need the Vega JavaScript runtime in the browser, which is not available offline.

Every mark carries ``data-*`` attributes with the numbers it shows (and a ``<title>`` tooltip),
so a test can read the page back and compare it with the tables.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable, Mapping, Sequence

from flows.compare.views import shared_targets
from flows.compare.indicators import load_catalog

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")
ADMIN_LEVELS = ("province", "prefecture", "county", "township", "village")
ADMIN_LEVEL_LABELS = {"province": "省 province", "prefecture": "市/州 prefecture", "county": "县/区 county",
                      "township": "乡镇 township", "village": "村/社区 village", None: "level not stated"}
BANDWIDTH_WORDS = {100: "百兆", 1000: "千兆", 10000: "万兆", 100000: "十万兆"}
FONT = "'WenQuanYi Micro Hei','Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif"
UNKNOWN_PROVINCE = "(province unknown)"


# --- SVG primitives -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Linear:
    """A linear scale from a data interval onto a pixel interval."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def attrs(**kw: Any) -> str:
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in kw.items() if v is not None)


def svg(width: int, height: int, body: Iterable[str], label: str, chart: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg"{attrs(width=width, height=height, viewBox=f"0 0 {width} {height}", role="img", aria_label=label, data_chart=chart)}>'
            f"<title>{escape(label)}</title>" + "".join(body) + "</svg>")


def text(x: float, y: float, s: str, anchor: str = "start", size: int = 12, **kw: Any) -> str:
    return f'<text{attrs(x=f"{x:.1f}", y=f"{y:.1f}", text_anchor=anchor, font_size=size, **kw)}>{escape(str(s))}</text>'


def line(x1: float, y1: float, x2: float, y2: float, stroke: str = "#ccc", width: float = 1, **kw: Any) -> str:
    return f'<line{attrs(x1=f"{x1:.1f}", y1=f"{y1:.1f}", x2=f"{x2:.1f}", y2=f"{y2:.1f}", stroke=stroke, stroke_width=width, **kw)}/>'


def mark(tag: str, tip: str, **kw: Any) -> str:
    return f"<{tag}{attrs(**kw)}><title>{escape(tip)}</title></{tag}>"


def empty_chart(label: str, chart: str, message: str, width: int = 900) -> str:
    return svg(width, 60, [f'<rect x="0" y="0" width="{width}" height="60" fill="#f6f6f6"/>',
                           text(width / 2, 35, message, "middle", 14, fill="#666")], label, chart)


def shorten(s: str | None, n: int) -> str:
    s = s or ""
    return s if len(s) <= n else s[: n - 1] + "…"


def palette(keys: Iterable[str]) -> dict[str, str]:
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(sorted(set(keys)))}


def legend(x: float, y: float, colors: Mapping[str, str]) -> list[str]:
    out = []
    for i, (name, color) in enumerate(colors.items()):
        out += [f'<rect x="{x:.1f}" y="{y + i * 18 - 9:.1f}" width="12" height="12" fill="{color}"/>',
                text(x + 18, y + i * 18 + 2, name, size=12)]
    return out


def year_axis(scale: Linear, years: range, top: float, bottom: float) -> list[str]:
    out = []
    for yr in years:
        x = scale(yr)
        out += [line(x, top, x, bottom, "#e3e3e3"), text(x, bottom + 16, str(yr), "middle", 11, fill="#555")]
    return out


def tick_step(hi: float, most: int = 10) -> int:
    """A round step for an axis from 0 to ``hi`` (20, 50, 100, 200, 500, 1000, …) giving at most
    ``most`` intervals: a growth target of 5000 % gets a few gridlines, not one per 20 %."""
    step, factors = 20, itertools.cycle((2.5, 2, 2))
    while hi / step > most:
        step = round(step * next(factors))
    return step


# --- charts ---------------------------------------------------------------------------------------

def province_of(doc: Mapping[str, Any] | None) -> str:
    """The place a document governs: its jurisdiction (贵州省, 大连市, 全国 for a national one)."""
    doc = doc or {}
    return doc.get("jurisdiction") or doc.get("province") or UNKNOWN_PROVINCE


def doc_label(doc: Mapping[str, Any]) -> str:
    return f"{province_of(doc)} · {shorten(doc.get('title') or doc.get('notice_title') or doc['source_file'], 18)}"


def rows_chart(row_counts: Mapping[str, int]) -> str:
    """Horizontal bars: rows per released table."""
    items = list(row_counts.items())
    width, left, row_h = 900, 160, 24
    height = 30 + row_h * len(items)
    top = max(row_counts.values(), default=0) or 1
    x = Linear(0, top, left, width - 80)
    body = []
    for i, (name, n) in enumerate(items):
        y = 10 + i * row_h
        body += [text(left - 8, y + 15, name, "end"),
                 mark("rect", f"{name}: {n} rows", x=left, y=y + 3, width=f"{x(n) - left:.1f}", height=row_h - 8,
                      fill="#4e79a7", data_table=name, data_rows=n),
                 text(x(n) + 6, y + 15, str(n), size=11, fill="#333")]
    return svg(width, height, body, "Rows per table", "rows")


def coverage_chart(documents: Sequence[Mapping[str, Any]]) -> str:
    """Documents by province (rows) and issue date (x): when each plan was issued."""
    dated = [d for d in documents if d.get("issue_date")]
    if not dated:
        return empty_chart("Documents by issue date", "coverage", "No document has an issue date.")
    provinces = sorted({province_of(d) for d in documents})
    years = [d["issue_date"].year + (d["issue_date"].timetuple().tm_yday - 1) / 366 for d in dated]
    y0, y1 = math.floor(min(years)), math.floor(max(years)) + 1
    width, left, row_h = 900, 170, 30
    height = 50 + row_h * len(provinces)
    x = Linear(y0, y1, left, width - 30)
    body = year_axis(x, range(y0, y1 + 1), 5, height - 35)
    colors = palette(provinces)
    for i, prov in enumerate(provinces):
        body.append(text(left - 8, 24 + i * row_h, prov, "end"))
    for d, fy in zip(dated, years):
        i = provinces.index(province_of(d))
        tip = f"{province_of(d)} {d['issue_date'].isoformat()} {d.get('doc_number') or ''} {d.get('title') or ''}"
        body.append(mark("circle", tip, cx=f"{x(fy):.1f}", cy=20 + i * row_h, r=7, fill=colors[province_of(d)],
                         data_doc=d["doc_id"], data_date=d["issue_date"].isoformat()))
    undated = len(documents) - len(dated)
    if undated:
        body.append(text(left, height - 4, f"{undated} document(s) without an issue date are not shown.", size=11, fill="#a00"))
    return svg(width, height, body, "Documents by province and issue date", "coverage")


def goals_chart(documents: Sequence[Mapping[str, Any]], goals: Sequence[Mapping[str, Any]]) -> str:
    """Per document: target years of its goals (phases as spans), and its issue date."""
    if not goals:
        return empty_chart("Goals timeline", "goals", "No goals in this release.")
    by_doc = {d["doc_id"]: d for d in documents}
    docs = sorted({g["doc_id"] for g in goals}, key=lambda i: (province_of(by_doc.get(i)), i))
    years = [g["target_year"] for g in goals] + [g["start_year"] for g in goals if g.get("start_year")]
    years += [by_doc[i]["issue_date"].year for i in docs if i in by_doc and by_doc[i].get("issue_date")]
    y0, y1 = min(years), max(years)
    width, left, row_h = 900, 300, 34
    height = 80 + row_h * len(docs)
    x = Linear(y0 - 0.5, y1 + 0.5, left, width - 30)
    body = year_axis(x, range(y0, y1 + 1), 5, height - 65)
    kinds = {"overall": "#e15759", "phase": "#4e79a7", "milestone": "#59a14f"}
    for i, doc_id in enumerate(docs):
        cy = 22 + i * row_h
        doc = by_doc.get(doc_id, {"doc_id": doc_id, "source_file": doc_id})
        body.append(text(left - 8, cy + 4, doc_label(doc), "end"))
        if doc.get("issue_date"):
            dx = x(doc["issue_date"].year)
            body.append(mark("path", f"issued {doc['issue_date'].isoformat()}", d=f"M{dx:.1f},{cy - 7} l6,7 l-6,7 l-6,-7 z",
                             fill="none", stroke="#333", data_issued=doc["issue_date"].year))
        per_year = Counter()
        for g in (g for g in goals if g["doc_id"] == doc_id):
            tip = f"{g['goal_type']} {g['deadline_text']}: {shorten(g['statement'], 80)}"
            if g.get("start_year"):
                body.append(mark("rect", tip, x=f"{x(g['start_year']):.1f}", y=cy - 4,
                                 width=f"{max(x(g['target_year']) - x(g['start_year']), 2):.1f}", height=8, rx=4,
                                 fill=kinds["phase"], opacity=0.35))
            offset = per_year[g["target_year"]] * 5
            per_year[g["target_year"]] += 1
            body.append(mark("circle", tip, cx=f"{x(g['target_year']) + offset:.1f}", cy=cy, r=6,
                             fill=kinds.get(g["goal_type"], "#999"), stroke="#fff",
                             data_goal=g["goal_id"], data_doc=doc_id, data_year=g["target_year"]))
    body += legend(left, height - 30, {"overall goal": kinds["overall"], "phase (span = years)": kinds["phase"]})
    body += legend(left + 260, height - 30, {"milestone": kinds["milestone"]})
    body.append(mark("path", "issue date", d=f"M{left + 420},{height - 39} l6,7 l-6,7 l-6,-7 z", fill="none", stroke="#333"))
    body.append(text(left + 432, height - 28, "issue date"))
    return svg(width, height, body, "Goals timeline: target years per document", "goals")


def percent_targets(metrics: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [m for m in metrics if m.get("unit") == "%" and m.get("is_target")]


def indicator_label(m: Mapping[str, Any]) -> str:
    """A chart row's label: the catalog indicator's Chinese and English names, else the wording."""
    if m.get("indicator_id"):
        ind = load_catalog().by_id(m["indicator_id"])
        return f"{ind.name_zh} · {ind.name_en}"
    return f"{m['indicator']} (not in the catalog)"


def metrics_chart(documents: Sequence[Mapping[str, Any]], metrics: Sequence[Mapping[str, Any]]) -> str:
    """Percentage targets: one row per catalog indicator (a wording the catalog does not map keeps
    a row of its own), one dot per (jurisdiction, value), 0–100 %."""
    rows = percent_targets(metrics)
    if not rows:
        return empty_chart("Percentage targets by indicator and province", "metrics",
                           "No percentage targets in this release.")
    by_doc = {d["doc_id"]: d for d in documents}
    # mapped indicators first (they line up across jurisdictions), then the unmapped wordings
    indicators = sorted({indicator_label(m) for m in rows}, key=lambda k: (k.endswith("(not in the catalog)"), k))
    provinces = palette(province_of(by_doc.get(m["doc_id"])) for m in rows)
    width, left, row_h = 900, 380, 22
    height = 60 + row_h * len(indicators) + 18 * len(provinces)
    hi = max(100.0, max(max(m["value"], m.get("value_max") or 0) for m in rows))
    x = Linear(0, hi, left, width - 30)
    plot_bottom = 10 + row_h * len(indicators)
    body = []
    step = tick_step(hi)
    for v in range(0, int(hi) + 1, step):
        body += [line(x(v), 5, x(v), plot_bottom, "#e3e3e3"), text(x(v), plot_bottom + 16, f"{v}%", "middle", 11, fill="#555")]
    for i, ind in enumerate(indicators):
        cy = 10 + i * row_h + row_h / 2
        body.append(text(left - 8, cy + 4, shorten(ind, 36), "end"))
        body.append(line(left, cy, width - 30, cy, "#f0f0f0"))
    for m in rows:
        prov = province_of(by_doc.get(m["doc_id"]))
        cy = 10 + indicators.index(indicator_label(m)) * row_h + row_h / 2
        tip = f"{prov} {m['indicator']} {m['comparator']} {m['value']:g}% ({m.get('target_year') or 'no year'}): {shorten(m['source_text'], 80)}"
        if m.get("value_max") is not None:
            body.append(line(x(m["value"]), cy, x(m["value_max"]), cy, provinces[prov], 3))
        body.append(mark("circle", tip, cx=f"{x(m['value']):.1f}", cy=f"{cy:.1f}", r=6, fill=provinces[prov],
                         stroke="#fff", data_metric=m["metric_id"], data_value=f"{m['value']:g}", data_province=prov))
    body += legend(left, plot_bottom + 40, provinces)
    return svg(width, height, body, "Percentage targets by indicator and province", "metrics")


def bandwidth_matrix(documents: Sequence[Mapping[str, Any]], bandwidth: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str | None], int]:
    """Highest bandwidth target (Mbit/s) per (province, administrative level)."""
    by_doc = {d["doc_id"]: d for d in documents}
    out: dict[tuple[str, str | None], int] = {}
    for b in bandwidth:
        key = (province_of(by_doc.get(b["doc_id"])), b.get("admin_level"))
        out[key] = max(out.get(key, 0), int(b["bandwidth_mbps"]))
    return out


def bandwidth_label(mbps: int) -> str:
    return BANDWIDTH_WORDS.get(mbps) or (f"{mbps // 1000}G" if mbps >= 1000 and mbps % 1000 == 0 else f"{mbps}M")


def bandwidth_chart(documents: Sequence[Mapping[str, Any]], bandwidth: Sequence[Mapping[str, Any]]) -> str:
    """Province × administrative level; each cell the highest bandwidth target, shaded by log size."""
    matrix = bandwidth_matrix(documents, bandwidth)
    if not matrix:
        return empty_chart("Bandwidth targets: province × administrative level", "bandwidth",
                           "No bandwidth targets in this release.")
    provinces = sorted({p for p, _ in matrix})
    levels = [lv for lv in ADMIN_LEVELS if any(l == lv for _, l in matrix)]
    levels += [None] if any(l is None for _, l in matrix) else []
    width, left, cell_w, cell_h = 900, 170, 130, 34
    height = 40 + cell_h * len(provinces)
    values = list(matrix.values())
    lo, hi = math.log10(min(values)), math.log10(max(values))
    shade = Linear(lo, hi if hi > lo else lo + 1, 0.25, 1.0)
    body = []
    for j, lv in enumerate(levels):
        body.append(text(left + j * cell_w + cell_w / 2, 18, ADMIN_LEVEL_LABELS.get(lv, str(lv)), "middle", 12))
    for i, prov in enumerate(provinces):
        y = 28 + i * cell_h
        body.append(text(left - 8, y + cell_h / 2 + 4, prov, "end"))
        for j, lv in enumerate(levels):
            xx = left + j * cell_w
            v = matrix.get((prov, lv))
            if v is None:
                body.append(f'<rect x="{xx + 2}" y="{y + 2}" width="{cell_w - 4}" height="{cell_h - 4}" fill="#f4f4f4"/>')
                continue
            alpha = shade(math.log10(v))
            body.append(mark("rect", f"{prov} {ADMIN_LEVEL_LABELS.get(lv, lv)}: {v} Mbit/s", x=xx + 2, y=y + 2,
                             width=cell_w - 4, height=cell_h - 4, fill="#4e79a7", fill_opacity=f"{alpha:.2f}",
                             data_province=prov, data_level=lv or "", data_mbps=v))
            body.append(text(xx + cell_w / 2, y + cell_h / 2 + 5, f"{bandwidth_label(v)} ({v} Mbit/s)", "middle", 12,
                             fill="#fff" if alpha > 0.6 else "#111"))
    return svg(width, height, body, "Bandwidth targets: province × administrative level", "bandwidth")


def repairs_chart(documents: Sequence[Mapping[str, Any]], repairs: Sequence[Mapping[str, Any]]) -> str:
    """Repair kinds: how many documents each was applied to (bar) and how often in all (label)."""
    if not repairs:
        return empty_chart("Repairs applied, by kind", "repairs", "No repairs were needed in this release.")
    docs_per_kind: dict[str, set[str]] = defaultdict(set)
    applied = Counter()
    for r in repairs:
        docs_per_kind[r["kind"]].add(r["doc_id"])
        applied[r["kind"]] += r["count"]
    kinds = sorted(docs_per_kind, key=lambda k: (-len(docs_per_kind[k]), -applied[k], k))
    n_docs = max(len(documents), max(len(v) for v in docs_per_kind.values()))
    width, left, row_h = 900, 220, 22
    height = 40 + row_h * len(kinds)
    x = Linear(0, n_docs, left, width - 170)
    body = [line(x(n_docs), 4, x(n_docs), 12 + row_h * len(kinds), "#999", 1, stroke_dasharray="4 3"),
            text(x(n_docs), height - 8, f"all {n_docs} documents", "middle", 11, fill="#555")]
    for i, kind in enumerate(kinds):
        y = 8 + i * row_h
        n = len(docs_per_kind[kind])
        body += [text(left - 8, y + 14, kind, "end"),
                 mark("rect", f"{kind}: {n} document(s), applied {applied[kind]} times", x=left, y=y + 3,
                      width=f"{max(x(n) - left, 1):.1f}", height=row_h - 7, fill="#f28e2b",
                      data_kind=kind, data_documents=n, data_count=applied[kind]),
                 text(x(n) + 6, y + 14, f"{n} doc · {applied[kind]}×", size=11, fill="#333")]
    return svg(width, height, body, "Repairs applied, by kind: documents affected", "repairs")


# --- tables and page ------------------------------------------------------------------------------

def html_table(table_id: str, header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f'<th{attrs(class_="num" if i in numeric else None)}>{escape(h)}</th>' for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(f'<td{attrs(class_="num" if i in numeric else None)}>{escape("" if v is None else str(v))}</td>'
                        for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr class="empty"><td colspan="{len(header)}">none</td></tr>')
    return f'<table class="sortable" id="{escape(table_id)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def metric_value(m: Mapping[str, Any]) -> str:
    value = f"{m['value']:g}" + (f"–{m['value_max']:g}" if m.get("value_max") is not None else "")
    return f"{'' if m['comparator'] == '=' else m['comparator'] + ' '}{value} {m['unit']}"


def target_value(t: Mapping[str, Any]) -> str:
    """A targets row's value as the shared-targets table shows it: >=93%, 万兆 (10000 Mbit/s)."""
    comparator = "" if t["comparator"] == "=" else t["comparator"]
    if t["unit"] == "Mbit/s":
        return f"{comparator}{bandwidth_label(int(t['value']))} ({t['value']:g} Mbit/s)"
    return f"{comparator}{t['value']:g}{t['unit']}"


STYLE = f"""
body {{ font-family: {FONT}; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #222; }}
h1 {{ font-size: 26px; margin-bottom: 4px; }} h2 {{ margin-top: 36px; border-bottom: 2px solid #4e79a7; }}
.lead {{ color: #555; }} .figure {{ margin: 12px 0 20px; overflow-x: auto; }}
table {{ border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; width: 100%; }}
th, td {{ border: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }}
th {{ background: #eef2f7; cursor: pointer; user-select: none; }} th.sorted-asc::after {{ content: " ▲"; }}
th.sorted-desc::after {{ content: " ▼"; }} td.num, th.num {{ text-align: right; }}
tr.empty td {{ color: #888; font-style: italic; }} .ok {{ color: #2a7d2a; font-weight: bold; }}
.fail {{ color: #b00; font-weight: bold; }} nav a {{ margin-right: 12px; }}
.cards {{ display: flex; gap: 12px; flex-wrap: wrap; }} .card {{ background: #f6f8fb; padding: 8px 14px; border-radius: 6px; }}
.card b {{ display: block; font-size: 22px; }}
"""

# Click a header to sort its table; numbers sort as numbers. No dependencies, no network.
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return !r.classList.contains('empty'); });
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, 'zh');
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def parse_issue_kinds(parse_issues: Sequence[Mapping[str, Any]],
                      by_doc: Mapping[str, Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """One row per (stage, kind): documents, issues, and the first issue's source file and text
    (html_table escapes them)."""
    kinds: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for r in sorted(parse_issues, key=lambda r: (r["stage"], r["kind"], r["doc_id"], r["char_start"])):
        kinds[(r["stage"], r["kind"])].append(r)
    return [(stage, kind, len({r["doc_id"] for r in rs}), len(rs),
             by_doc.get(rs[0]["doc_id"], {}).get("source_file"), shorten(rs[0]["text"], 120))
            for (stage, kind), rs in sorted(kinds.items())]


def render_overview(*, version: str, created: str, documents: Sequence[Mapping[str, Any]],
                    goals: Sequence[Mapping[str, Any]], metrics: Sequence[Mapping[str, Any]],
                    bandwidth: Sequence[Mapping[str, Any]], repairs: Sequence[Mapping[str, Any]],
                    rejects: Sequence[Mapping[str, Any]], validation: Mapping[str, Any],
                    row_counts: Mapping[str, int], targets: Sequence[Mapping[str, Any]] = (),
                    parse_issues: Sequence[Mapping[str, Any]] = ()) -> str:
    """The whole page as one string (documents rows without their text are enough)."""
    by_doc = {d["doc_id"]: d for d in documents}
    docs_sorted = sorted(documents, key=lambda d: (province_of(d), str(d.get("issue_date") or ""), d["source_file"]))
    pct = percent_targets(metrics)
    flagged = [d for d in documents if d.get("metadata_flags")]
    damaged = [d for d in documents if (d.get("unrecoverable_spans") or 0) > 0]
    status = '<span class="ok">passed</span>' if validation.get("success") else '<span class="fail">FAILED</span>'
    cards = [("documents", len(documents)), ("provinces", len({d.get("province") for d in documents if d.get("province")})),
             ("goals", len(goals)), ("metrics", len(metrics)), ("percentage targets", len(pct)),
             ("bandwidth targets", len(bandwidth)), ("rejected files", len(rejects)),
             ("parse issues", len(parse_issues))]
    goal_years: dict[str, list[int]] = defaultdict(list)
    for g in goals:
        goal_years[g["doc_id"]].append(g["target_year"])

    counts_json = json.dumps(dict(row_counts)).replace("</", "<\\/")  # never closes the script element

    def prov(doc_id: str) -> str:
        return province_of(by_doc.get(doc_id))

    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>digigov {escape(version)}: overview</title><style>{STYLE}</style></head><body>",
        f"<h1>digigov {escape(version)}</h1>",
        f'<p class="lead">Chinese provincial digital-government plans as a validated dataset. Released {escape(created)}; '
        f"validation {status}. Tables are in this folder as Parquet; see README.md and datapackage.json.</p>",
        '<nav><a href="#coverage">Coverage</a><a href="#goals">Goals</a><a href="#metrics">Metrics</a>'
        '<a href="#bandwidth">Bandwidth</a><a href="#quality">Quality</a></nav>',
        '<div class="cards" id="summary">' + "".join(
            f'<div class="card" data-count="{escape(k)}"><b>{v}</b>{escape(k)}</div>' for k, v in cards) + "</div>",
        '<h2>Rows per table</h2><div class="figure">', rows_chart(row_counts), "</div>",
        '<h2 id="coverage">Coverage</h2>',
        "<p>Documents by province and issue date (one dot per dated document).</p>",
        '<div class="figure">', coverage_chart(documents), "</div>",
        html_table("documents", ["province", "issue date", "title", "issuer", "number", "source file", "script"],
                   [(province_of(d), d.get("issue_date"), d.get("title") or d.get("notice_title"), d.get("issuer"),
                     d.get("doc_number"), d["source_file"], d.get("script")) for d in docs_sorted]),
        '<h2 id="goals">Goals</h2>',
        "<p>Target years of each document's goals: red = overall deadline, blue = phase (bar from its start year), "
        "green = milestone; ◇ = the document's issue date.</p>",
        '<div class="figure">', goals_chart(documents, goals), "</div>",
        html_table("goal-years", ["province", "document", "goals", "target years"],
                   [(province_of(d), doc_label(d), len(goal_years[d["doc_id"]]),
                     ", ".join(str(y) for y in sorted(set(goal_years[d["doc_id"]])))) for d in docs_sorted], numeric=(2,)),
        '<h2 id="metrics">Metrics</h2>',
        "<p>Percentage targets (unit %, is_target) by catalog indicator (<code>indicators</code> table); "
        "colour = jurisdiction. A line marks a range.</p>",
        '<div class="figure">', metrics_chart(documents, metrics), "</div>",
        "<h3>Targets shared by three or more jurisdictions</h3>",
        "<p>Catalog indicators that three or more jurisdictions set targets for (the <code>targets</code> table): "
        "percentage and count targets, and the e-government network's bandwidth per administrative level.</p>",
        html_table("shared-targets", ["indicator", "jurisdictions", "targets (jurisdiction: value, year)"],
                   [(f"{zh} · {en}", len({t["jurisdiction"] for t in ts}),
                     "; ".join(f"{t['jurisdiction'] or UNKNOWN_PROVINCE}: {target_value(t)} ({t['target_year'] or 'no year'})"
                               for t in ts))
                    for _, zh, en, ts in shared_targets(targets)], numeric=(1,)),
        f"<p>All {len(metrics)} metrics with their source sentences:</p>",
        html_table("metrics", ["province", "indicator", "subject", "value", "target year", "target?", "source sentence"],
                   [(prov(m["doc_id"]), m["indicator"], m.get("subject"), metric_value(m), m.get("target_year"),
                     "target" if m.get("is_target") else "baseline", m["source_text"])
                    for m in sorted(metrics, key=lambda m: (prov(m["doc_id"]), m["indicator"]))]),
        '<h2 id="bandwidth">Bandwidth</h2>',
        "<p>Highest bandwidth target per province and administrative level (百兆 = 100, 千兆 = 1000, 万兆 = 10000 Mbit/s).</p>",
        '<div class="figure">', bandwidth_chart(documents, bandwidth), "</div>",
        html_table("bandwidth", ["province", "network", "level", "as written", "bandwidth", "Mbit/s", "year", "source sentence"],
                   [(prov(b["doc_id"]), b.get("network"), b.get("admin_level"), b.get("admin_level_text"),
                     b["bandwidth_label"], b["bandwidth_mbps"], b.get("target_year"), b["source_text"])
                    for b in sorted(bandwidth, key=lambda b: (prov(b["doc_id"]), b["bandwidth_mbps"]))], numeric=(5,)),
        '<h2 id="quality">Quality</h2>',
        f'<h3>Validation</h3><p id="validation" data-success="{str(bool(validation.get("success"))).lower()}" '
        f'data-expectations="{validation.get("expectations", 0)}" data-failures="{len(validation.get("failures", []))}">'
        f"Gate <code>{escape(str(validation.get('gate', '')))}</code>: {status}, {validation.get('expectations', 0)} checks, "
        f"{len(validation.get('failures', []))} failures. The full validation report is in the "
        "<code>validation/</code> folder next to this page.</p>",
        "<ul>" + "".join(f"<li>{escape(f)}</li>" for f in validation.get("failures", [])) + "</ul>",
        "<h3>Repairs applied</h3>",
        "<p>Each repair kind: the documents it was applied to, and how many times in all. Every repair is a row of "
        "the <code>repairs</code> table (below, with up to three examples each).</p>", '<div class="figure">', repairs_chart(documents, repairs), "</div>",
        html_table("repairs", ["province", "source file", "kind", "count", "examples"],
                   [(prov(r["doc_id"]), by_doc.get(r["doc_id"], {}).get("source_file"), r["kind"], r["count"],
                     " | ".join(shorten(e, 60) for e in (r.get("examples") or [])[:3]))
                    for r in sorted(repairs, key=lambda r: (prov(r["doc_id"]), r["doc_id"], r["kind"]))], numeric=(3,)),
        "<h3>Parse issues</h3>",
        "<p>What a stage saw but could not place, by kind: the documents it was seen in, how many times, and "
        "the first one's text. Every issue is a row of the <code>parse_issues</code> table.</p>",
        html_table("parse-issues", ["stage", "kind", "documents", "issues", "first seen in", "text"],
                   parse_issue_kinds(parse_issues, by_doc), numeric=(2, 3)),
        "<h3>Rejected raw files</h3>",
        html_table("rejects", ["source file", "reason", "detail"],
                   [(r["source_file"], r["reason"], shorten(r["detail"], 300)) for r in rejects]),
        "<h3>Flagged metadata conflicts</h3>",
        html_table("flags", ["province", "source file", "flags", "source url"],
                   [(province_of(d), d["source_file"], ", ".join(d["metadata_flags"]), d.get("source_url")) for d in flagged]),
        "<h3>Unrecoverable text</h3>",
        html_table("unrecoverable", ["province", "source file", "spans"],
                   [(province_of(d), d["source_file"], d["unrecoverable_spans"]) for d in damaged], numeric=(2,)),
        f'<script type="application/json" id="row-counts">{counts_json}</script>',
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)
