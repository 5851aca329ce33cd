"""Values from raw texts, wherever they land in HTML or Markdown, show as text in a browser:
Data Docs, the dataset card, the changelog, the data dictionary, the overview page.

Each document is opened in headless Chromium (Markdown rendered first by a CommonMark renderer
with raw HTML on, as forges and registries render a README) and its DOM, after the page has
loaded and run its scripts, must hold no element or attribute a value brought in."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from flows.contract.dictionary import data_dictionary, md_code, md_table, md_text
from flows.contract.schema import TABLES, parse_schema
from flows.gate.run import validate_tables
from flows.publishing.card import dataset_card
from flows.publishing.changelog import changelog
from flows.publishing.overview import render_overview
from flows.publishing.release import copy_validation_report
from tests.test_validate import TODAY, good_rows, tables_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=3000"]
MARK = "PWNED"
# what a hostile raw plan puts in a title, an issuer, a file name, an offending value: markup that
# runs script, makes elements and attributes, links and images in HTML and in Markdown
PAYLOAD = (f"<img src=x data-{MARK.lower()}=1 onerror=\"document.title='{MARK}'\">"
           f"<script>document.title='{MARK}'</script><iframe src=\"javascript:'{MARK}'\"></iframe>"
           f"[{MARK}](javascript:alert('{MARK}')) ![x](x?{MARK}) <https://example.org/{MARK}> "
           f"`co|de` *em* &lt;b&gt; | pipe \\ ` {MARK}")


ACTIVE_ATTRIBUTES = {"src", "href", "srcdoc", "action", "formaction", "data", "xlink:href", "style"}


class Dom(HTMLParser):
    """What a payload could have made of a page: elements or attributes carrying the mark."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.injected: list[str] = []
        self.text: list[str] = []
        self._script = False
        self.title = ""  # the document's title: what the payload's scripts set
        self._in_title = False
        self.titles_seen = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            # a value may sit in an attribute as data (data-province="…", escaped); it may not
            # make one, nor become a handler, a link or a source
            made = MARK.lower() in name.lower()
            active = (name.startswith("on") or name in ACTIVE_ATTRIBUTES) and value and MARK in value
            if made or active:
                self.injected.append(f"<{tag} {name}={value!r}>")
        self._script = tag == "script"
        self._in_title = tag == "title" and not self.titles_seen  # the document's own title
        self.titles_seen += tag == "title"

    def handle_endtag(self, tag):
        self._script = self._in_title = False

    def handle_data(self, data):
        if self._script and MARK in data:
            self.injected.append(f"<script>{data[:80]}")
        if self._in_title:
            self.title += data
        elif not self._script:
            self.text.append(data)


def dom_after_load(page: Path) -> Dom:
    """The page's DOM as Chromium holds it once loaded (scripts run, images failed)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make browser` installs it (apt-get install chromium)"
    profile = tempfile.mkdtemp(prefix="digigov-chromium-")
    try:
        done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                               page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return Dom(done.stdout)


def rendered_markdown(markdown: str, tmp_path: Path, name: str) -> Path:
    """The Markdown as a CommonMark renderer with tables and raw HTML makes it (a forge's README)."""
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    page = tmp_path / f"{name}.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{name}</title></head>"
                    f"<body>{body}</body></html>", encoding="utf-8")
    return page


def assert_shown_as_text(dom: Dom, *values: str) -> None:
    assert dom.injected == [], dom.injected
    assert dom.title.strip() != MARK, "a script from a value ran"
    text = " ".join(" ".join(dom.text).split())
    for value in values:
        assert " ".join(value.split()) in text, f"{value[:60]!r} not shown as text"


def test_the_browser_check_finds_an_injected_element_and_a_script_that_ran(tmp_path):
    page = rendered_markdown(f"# t\n\n{PAYLOAD}\n", tmp_path, "unescaped")
    dom = dom_after_load(page)
    assert dom.injected and dom.title.strip() == MARK


# --- Markdown ---------------------------------------------------------------------------------

def _commonmark_text(markdown: str) -> str:
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    assert not re.search(r"<(?!/?(p|table|thead|tbody|tr|th|td|code)\b)", html), html
    return unescape(re.sub(r"<[^>]+>", "", html))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&\\`*_[]()!|~#-+=.:/\"' \n\tab中_1;{}")), max_size=40))
def test_md_text_renders_as_exactly_the_text(value):
    shown = _commonmark_text(f"x {md_text(value)} x")
    assert " ".join(shown.split()) == " ".join(f"x {value} x".split())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&\\`*_[]|a \n")), min_size=1, max_size=30))
def test_a_table_cell_and_a_code_span_hold_any_text(value):
    shown = _commonmark_text(md_table(["h", "c"], [(value, md_code(value))]))
    assert shown.count("\n") >= 2  # a header row and one body row: no cell or row was split
    cells = re.findall(r"<td>(.*?)</td>", MarkdownIt("commonmark").enable("table").render(
        md_table(["h", "c"], [(value, md_code(value))])), flags=re.S)
    flat = " ".join(value.split())
    assert [" ".join(unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells] == [flat, flat]


def _hostile_documents() -> list[dict]:
    return [dict(doc_id="aaaa", source_file=f"a`b{PAYLOAD[:40]}.txt", source_sha256="a" * 64, title=PAYLOAD,
                 notice_title=None, province=f"甲省{PAYLOAD}", issuer=PAYLOAD, doc_number=PAYLOAD,
                 issue_date=dt.date(2023, 6, 1), metadata_flags=[PAYLOAD], unrecoverable_spans=1,
                 duplicate_of=None, source_url=None)]


def test_the_dataset_card_shows_hostile_values_as_text_in_chromium(tmp_path):
    manifest = {"row_counts": {t: 1 for t in TABLES}, "lock_file": {"sha256": "b" * 64},
                "code_version": {"git_commit": "c" * 40, "package_version": "0.1.0"},
                "build": {"created": "2026-11-22T00:00:00Z"}, "state": {"dirty_reasons": [f"raw/{PAYLOAD} changed"]}}
    card = dataset_card(version="2026.11.0", created=dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc),
                        manifest=manifest, documents=_hostile_documents(), repairs=[],
                        rejects=[dict(source_file=PAYLOAD, source_sha256=None, reason="binary", detail=PAYLOAD)],
                        validation={"success": True, "expectations": 3, "gate": "g"})
    dom = dom_after_load(rendered_markdown(card, tmp_path, "card"))
    assert_shown_as_text(dom, PAYLOAD, f"甲省{PAYLOAD}", f"a`b{PAYLOAD[:40]}.txt")


def test_the_changelog_shows_hostile_values_as_text_in_chromium(tmp_path):
    before = good_rows()
    after = copy.deepcopy(before)
    after["documents"][0]["title"] = PAYLOAD  # metadata read differently from an unchanged document
    after["metrics"][0]["indicator"] = PAYLOAD
    prev = tmp_path / "2026.1.0"
    prev.mkdir()
    for name, table in tables_of(before).items():
        pq.write_table(table, prev / f"{name}.parquet")
    docs = before["documents"]
    (prev / "manifest.json").write_text(json.dumps({
        "sources": {d["source_file"]: d["source_sha256"] for d in docs} | {PAYLOAD: "d" * 64},
        "row_counts": {}, "code_version": {"git_commit": PAYLOAD}}))
    log = changelog("2026.2.0", "2026-11-22T00:00:00Z", "2026.1.0", prev, tables_of(after), {}, commit="e" * 40)
    assert "Metadata read differently" in log and "removed" in log
    dom = dom_after_load(rendered_markdown(log, tmp_path, "changelog"))
    assert_shown_as_text(dom, PAYLOAD)


def test_the_data_dictionary_shows_hostile_schema_text_as_text_in_chromium(tmp_path):
    table = parse_schema({"name": "plans", "description": PAYLOAD, "primary_key": ["plan_id"], "columns": [
        {"name": "plan_id", "type": "string", "nullable": False, "unique": True, "description": PAYLOAD},
        {"name": "kind", "type": "string", "nullable": True, "allowed": [PAYLOAD, "a`b"], "description": "k"},
    ]})
    dom = dom_after_load(rendered_markdown(data_dictionary({"plans": table}, {"plans": 2}), tmp_path, "dictionary"))
    assert_shown_as_text(dom, PAYLOAD)


def test_the_overview_page_shows_hostile_values_as_text_in_chromium(tmp_path):
    docs = _hostile_documents()
    metric = dict(metric_id="m1", doc_id="aaaa", section_id="aaaa-0001", indicator=PAYLOAD, subject=PAYLOAD,
                  value=90.0, value_max=None, unit="%", comparator=">=", target_year=2025, is_target=True,
                  value_text="90%", source_text=PAYLOAD, char_start=0, char_end=1)
    page = tmp_path / "index.html"
    page.write_text(render_overview(
        version="2026.11.0", created="2026-11-22T00:00:00Z", documents=docs, goals=[], metrics=[metric],
        bandwidth=[], repairs=[dict(doc_id="aaaa", kind="mojibake", count=1, examples=[PAYLOAD])],
        rejects=[dict(source_file=PAYLOAD, reason="binary", detail=PAYLOAD)],
        validation={"gate": "g", "success": False, "failures": [PAYLOAD], "expectations": 1},
        row_counts={t: 1 for t in TABLES}), encoding="utf-8")
    assert_shown_as_text(dom_after_load(page), PAYLOAD)


# --- Data Docs ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_data_docs(tmp_path_factory):
    """Data Docs of a validation whose failing values are markup (script, doc_number), and of
    one whose passing title is."""
    rows = good_rows()
    rows["documents"][0].update(script=PAYLOAD, doc_number=PAYLOAD, title=f"某省{PAYLOAD}")
    docs = tmp_path_factory.mktemp("hostile") / "validation"
    result = validate_tables(tables_of(rows), docs, today=TODAY)
    assert not result.success and any(PAYLOAD[:30] in f for f in result.failures)
    return docs, result


def test_data_docs_quote_failing_values_as_text_in_chromium(hostile_data_docs):
    docs, _ = hostile_data_docs
    pages = [p for p in (docs / "validations").rglob("*.html") if "documents" in p.as_posix()]
    assert pages
    shown = []
    for page in pages:
        dom = dom_after_load(page)
        assert_shown_as_text(dom)
        shown.append(PAYLOAD[:40] in " ".join(dom.text))
    assert any(shown), "the offending values are no longer quoted in the Data Docs"


def test_the_validation_summary_next_to_the_data_docs_quotes_values_as_text(hostile_data_docs, tmp_path):
    docs, result = hostile_data_docs
    summary = (docs / "summary.md").read_text(encoding="utf-8")
    assert_shown_as_text(dom_after_load(rendered_markdown(summary, tmp_path, "summary")))
    assert_shown_as_text(dom_after_load(rendered_markdown(result.markdown(), tmp_path, "artifact")))


def test_a_release_validation_readme_quotes_gate_failures_as_text(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    copy_validation_report(out, tmp_path / "validation", {"gate": "g", "success": False, "expectations": 1,
                                                          "failures": [PAYLOAD]}, "0123456789ab")
    page = rendered_markdown((tmp_path / "validation" / "README.md").read_text(), tmp_path, "gate")
    assert_shown_as_text(dom_after_load(page), PAYLOAD)
