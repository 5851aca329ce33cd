"""A saved web page → the plan's text: body text by trafilatura, the rest from the raw HTML.

Government pages wrap a plan in navigation, tool bars, share boxes and footers, often with the
whole body inside one ``<form>`` (the ASP.NET layout). trafilatura finds the main text; what it
flattens or drops is read from the raw HTML instead:

* **tables**: each data table is swapped for a placeholder paragraph before trafilatura reads the
  page and put back as a pipe table where its placeholder landed (an indicator table stays a
  table); a layout table (one holding other tables or long running text) is left to trafilatura;
* **the metadata box** (索引号, 发文字号, 发布机构, 成文日期 …, as a table or as labelled ``<div>``/
  ``<li>`` items): its lines are put above the body, where ``wrappers.strip_metadata_box`` reads
  them like a text copy's box;
* **the title**: the page's headline (``ArticleTitle`` meta, else its ``<h1>``), not the window
  title, which carries the site's name (``…_政府文件_某省人民政府门户网站``);
* **attachments and images**, by ``wrappers``' own parser (links to .pdf/.doc …, ``<img>``).

When trafilatura finds no main text (a very short page), the page's own text is used, as the
wrappers' parser reads it. The wrappers' text rules (furniture, page numbers …) run afterwards
on either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flows.contract.issues import document_issue, issue

_TABLE_TOKEN = "DIGIGOVTABLE{}X"
_TOKEN = re.compile(r"DIGIGOVTABLE(\d+)X")
_SPACE = re.compile(r"[ \t\r\n\u3000\xa0]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# Elements that never hold a plan's text (the wrappers' parser skips the same, and <form> neither).
NOT_CONTENT = ("script", "style", "nav", "noscript", "header", "footer", "iframe", "select", "button",
               "svg", "template", "object", "textarea", "aside")
# A cell this long is running text laid out by a table, not a table's value.
MAX_DATA_CELL = 400
# A window title's site part: `标题_栏目_站点` / `标题 - 站点` / `标题|站点`.
_SITE_SUFFIX = re.compile(r"\s*(?:[_|｜]|\s[-–—]\s).*$")


@dataclass
class Page:
    text: str  # body text, the metadata box's lines first, tables as pipe tables
    title: str | None = None
    box_lines: list[str] = field(default_factory=list)
    tables: int = 0  # data tables put back into the text
    extractor: str = "trafilatura"  # or "page" when trafilatura found no main text


def _han(text: str) -> int:
    return len(_HAN.findall(text))


def _cell_text(el: Any) -> str:
    return _SPACE.sub(" ", el.text_content()).strip()


def _table_rows(table: Any) -> list[list[str]]:
    rows = []
    for tr in table.iter("tr"):
        cells = [_cell_text(c) for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
        if any(cells):
            rows.append(cells)
    return rows


def pipe_table(rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(c.replace("|", "｜") for c in row) + " |" for row in rows)


def _is_data_table(table: Any, rows: list[list[str]]) -> bool:
    if next(table.iterdescendants("table"), None) is not None or not rows:
        return False
    return all(len(c) <= MAX_DATA_CELL for row in rows for c in row)


def headline(tree: Any, meta: dict[str, str]) -> str | None:
    """The page's headline: its ArticleTitle meta, else its first <h1>, else the window title
    without the site's name."""
    for key in ("articletitle", "og:title"):
        if meta.get(key, "").strip():
            return _SPACE.sub(" ", meta[key]).strip()
    for tag in ("h1", "h2"):
        for h in tree.iter(tag):
            text = _cell_text(h)
            if len(text) >= 6 and re.search(r"[\u4e00-\u9fff]", text):
                return text
    title = next(tree.iter("title"), None)
    if title is not None:
        text = _SITE_SUFFIX.sub("", _cell_text(title))
        return text or None
    return None


def _meta_tags(tree: Any) -> dict[str, str]:
    out = {}
    for m in tree.iter("meta"):
        name = (m.get("name") or m.get("property") or "").strip().lower()
        if name and m.get("content"):
            out.setdefault(name, m.get("content"))
    return out


def read_page(html_text: str, box_line: Any, fallback_text: str) -> Page:
    """The page's text and title. ``box_line(line) -> bool`` says whether a line of the page's own
    text is a metadata-box line; ``fallback_text`` is that own text (the wrappers' parser's)."""
    import lxml.html
    import trafilatura

    source = _XML_DECLARATION.sub("", html_text)
    try:
        tree = lxml.html.document_fromstring(source)
    except Exception:  # lxml refuses some pathological inputs: the page's own text then
        return Page(text=fallback_text, extractor="page")
    meta = _meta_tags(tree)
    title = headline(tree, meta)
    for el in [el for el in tree.iter(*NOT_CONTENT)]:
        if el.getparent() is not None:  # (inside one already dropped: nothing to do)
            el.drop_tree()  # what the wrappers' parser skips is never body text here either
    tables: dict[int, str] = {}
    for table in list(tree.iter("table")):
        rows = _table_rows(table)
        if not _is_data_table(table, rows):
            continue
        n = len(tables)
        if all(box_line(line) for line in pipe_table(rows).splitlines()):
            tables[n] = ""  # the metadata box: its lines go above the body (below)
        else:
            tables[n] = pipe_table(rows)
        placeholder = lxml.html.Element("p")
        placeholder.text = _TABLE_TOKEN.format(n)
        placeholder.tail = table.tail
        table.getparent().replace(table, placeholder)
    body = trafilatura.extract(lxml.html.tostring(tree, encoding="unicode"), output_format="txt",
                               include_tables=False, include_comments=False, include_images=False,
                               include_links=False, favor_recall=True, deduplicate=False)
    # the box as the page shows it: its lines of the page's own text, above the document
    lines = fallback_text.split("\n")
    box = [ln.strip() for ln in lines[:80] if ln.strip() and box_line(ln)]
    if _han(body or "") * 4 < _han(fallback_text) or not _han(body or ""):
        # no main text found, or only a fraction of the page's (a comment box taken for the
        # article): the page's own text
        return Page(text=fallback_text, title=title, box_lines=box, tables=0, extractor="page")
    put_back = 0

    def table_at(m: re.Match) -> str:
        nonlocal put_back
        table = tables.get(int(m.group(1)), "")
        put_back += bool(table)
        return table
    body = _TOKEN.sub(table_at, body)
    text = "\n".join(box + [body.strip()])
    return Page(text=text, title=title, box_lines=box, tables=put_back)


# A tag of page markup (bare or with attributes). In a normalized text it means a page wrapper
# no rule recognised. Single-letter tags (<a>, <b>) are left out: they also stand in plain text.
_LEFT_MARKUP = re.compile(
    r"</?(?:html|head|body|div|span|p|br|hr|table|tbody|thead|tr|td|th|ul|ol|li|img|font|strong|em|"
    r"h[1-6]|script|style|meta|iframe|form|input)(?:\s+[A-Za-z-]+\s*=[^<>\n]{0,200})?\s*/?>",
    re.I,
)


def wrapper_issues(text: str, repair_kinds: set[str]) -> list[dict[str, Any]]:
    """parse_issues rows for wrappers normalization did not take off ``text`` (the normalized
    text): markup left in it (one row, at the first tag, with the count) and a page the HTML
    parser refused (``repair_kinds`` holds html_unparsed)."""
    out = []
    tags = list(_LEFT_MARKUP.finditer(text))
    if tags:
        first = tags[0]
        out.append(issue("normalize", "markup_not_recognised",
                         f"{len(tags)} markup tag(s) left in the text, the first {first.group(0)[:40]!r}",
                         text, first.start(), first.end()))
    if "html_unparsed" in repair_kinds:
        out.append(document_issue("normalize", "html_unparsed", "the HTML parser refused the page: markup kept as text",
                                  text))
    return out
