"""Wrappers around a plan text: parse them into metadata/attachments and strip them.

Handled: YAML front matter, the policy-database header form (`## 政策标题：`), editor lines
(`# -*- coding: utf-8 -*-`), encyclopedia pages (基本介绍 fact box, block navigation line,
trailing 相关词条/热门词条 lists), government web-page furniture (【打印】, 浏览次数, 无障碍 ...),
web metadata boxes (索引号 | … | 发文字号 | … in colon, pipe or label-over-value form), page
numbers of PDF/Word copies (- 3 -, 第3页 共10页), HTML
markup, Markdown images/attachment lines/quote and bullet marks/emphasis/links. Markdown heading
marks are made canonical (`## 背景`), not stripped: normalization decides where they stay.
Markdown tables stay as pipe tables. Text the later stages read (notice wrapper, signature, table of contents, the
内容解读 interpretation block) is kept.

Keys written into ``meta`` (all values strings; dates as YYYY-MM-DD where they parse):
  title          document title (front matter `title`, fact box 中文名, box 标题/名称, HTML title)
  doc_number     document number 文号 (front matter `subtitle` when it is one, 发文字号, 文号)
  subtitle       front matter `subtitle` as given (a document number or a real subtitle)
  date           document date from front matter `date` or fact box 印发日期/发布日期
  author, unit   front matter `author` / `unit`
  source_url     front matter `source`/`url`/`link`, HTML canonical link
  notice_title   header form 政策标题 (also the `title` candidate when no title is known)
  issuer         header form 政策来源, fact box 印发机关/发文机关
  index_no, written_date, publish_date, publisher   web metadata box 索引号 / 成文日期 /
                 发布日期·生成日期·发布时间 / 发布机构·发布单位
  topic, keywords, validity, source, department, effective_date   other box fields
  front_matter   dict of every front matter field as given (strings)
  front_matter_error   why front matter could not be read as YAML (fields were read line-wise)
  page_kind      "encyclopedia" | "web" | "html" | "header_form" when such a wrapper was found
"""

from __future__ import annotations

import datetime as dt
import html
import re
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

import yaml

from flows.normalize.markdown import _ATTACHMENT_EXT, bare_line, strip_markdown
from flows.normalize.repairs import RepairLog
from flows.normalize.web_pages import NOT_CONTENT, read_page
from flows.patterns.dates import arabic_date
from flows.patterns.doc_number import DOC_NUMBER
from flows.records import Attachments, Meta



def iso_date(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    date = arabic_date(text)
    return date.isoformat() if date else text


def _set(meta: Meta, key: str, value: Any, overwrite: bool = False) -> None:
    if value is None:
        return
    value = value if isinstance(value, dict) else str(value).strip()
    if value and (overwrite or not meta.get(key)):
        meta[key] = value


def clean_doc_number(value: str, repairs: RepairLog) -> str:
    fixed = re.sub(r"号{2,}$", "号", value.strip())
    if fixed != value.strip():
        repairs.add("metadata_value", value, fixed)
    return fixed


# ---------------------------------------------------------------- editor lines, front matter
_EDITOR_LINE = re.compile(r"^(?:#.*-\*-.*coding[:=].*|#!.*|<\?xml[^>]*\?>)[^\S\n]*\n?", re.M)


def strip_editor_lines(text: str, repairs: RepairLog) -> str:
    head = text[:500]
    if not _EDITOR_LINE.search(head):
        return text
    def drop(m):
        repairs.add("editor_line", m.group().strip(), "(removed)")
        return ""
    return _EDITOR_LINE.sub(drop, head) + text[500:]


# libyaml's safe loader when built in (10x faster); both refuse tags such as !!python/object
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FRONT_MATTER = re.compile(r"\A\s*---[^\S\n]*\n(.*?)\n(?:---|\.\.\.)[^\S\n]*(?:\n|\Z)", re.S)
MAX_FRONT_MATTER_LINES = 60
_FM_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")
_FM_KEYS = {"title": "title", "date": "date", "author": "author", "unit": "unit",
            "source": "source_url", "url": "source_url", "link": "source_url"}


def _front_matter_fields(block: str, repairs: RepairLog, meta: Meta) -> dict[str, Any]:
    try:
        # YAML forbids tabs as indentation; editors put them after the colon (seed 003)
        data = yaml.load(block.replace("\t", " "), Loader=_SAFE_LOADER)
        if isinstance(data, dict):
            return data
        raise yaml.YAMLError(f"front matter is a {type(data).__name__}, not a mapping")
    except yaml.YAMLError as exc:  # includes tags safe_load refuses (!!python/... never runs)
        reason = str(exc).splitlines()[0][:120]
        meta["front_matter_error"] = reason
        repairs.add("front_matter_malformed", reason, "fields read line by line")
        data = {}
        for line in block.splitlines():
            m = _FM_LINE.match(line.strip())
            if m and not m.group(2).lstrip().startswith("!"):
                data[m.group(1)] = m.group(2).strip().strip("'\"")
        return data


def _looks_like_front_matter(block: str) -> bool:
    """Short and mostly `key: value` lines: not a text between two Markdown rules."""
    lines = [l for l in block.splitlines() if l.strip()]
    if len(lines) > MAX_FRONT_MATTER_LINES:
        return False
    keyed = sum(1 for l in lines if re.match(r"\s*[A-Za-z_][\w-]*\s*:", l) or l.lstrip().startswith("- "))
    return keyed * 2 >= len(lines)


def strip_front_matter(text: str, repairs: RepairLog, meta: Meta) -> str:
    m = _FRONT_MATTER.match(text)
    if not m or not _looks_like_front_matter(m.group(1)):
        return text
    fields = _front_matter_fields(m.group(1), repairs, meta)
    given = {str(k): (iso_date(v) if isinstance(v, (dt.date, dt.datetime)) else str(v))
             for k, v in fields.items() if v is not None and not isinstance(v, (dict, list))}
    meta["front_matter"] = given
    for key, value in given.items():
        name = _FM_KEYS.get(key.lower())
        if name == "date":
            value = iso_date(value)
        if name:
            _set(meta, name, value, overwrite=True)
    sub = given.get("subtitle")
    if sub:
        _set(meta, "subtitle", sub, overwrite=True)
        if DOC_NUMBER.fullmatch(sub.strip()):
            _set(meta, "doc_number", clean_doc_number(sub, repairs), overwrite=True)
    repairs.add("front_matter", m.group(0)[:40].replace("\n", " "), f"{len(given)} fields to meta")
    return text[m.end():]


# ---------------------------------------------------------------- header form (seed 000)
_HEADER_FIELD = re.compile(r"^[^\S\n]*#{0,6}[^\S\n]*(政策标题|政策来源|政策内容|发文字号|发布日期|成文日期)[^\S\n]*[:：][^\S\n]*(.*)$", re.M)
MAX_HEADER_FORM = 2000  # characters from the first header field to 政策内容
_HEADER_KEYS = {"政策标题": "notice_title", "政策来源": "issuer", "发文字号": "doc_number",
                "发布日期": "publish_date", "成文日期": "written_date"}


def strip_header_form(text: str, repairs: RepairLog, meta: Meta) -> str:
    if "政策内容" not in text:  # the marker the pattern below needs: skip the line-by-line search
        return text
    body = re.search(r"^[^\S\n]*#{0,6}[^\S\n]*政策内容[^\S\n]*[:：][^\S\n]*$", text, re.M)
    if not body:
        return text
    head = text[:body.start()]
    fields = list(_HEADER_FIELD.finditer(head))
    if not fields or fields[0].start() > 1000 or body.start() - fields[0].start() > MAX_HEADER_FORM:
        return text  # a header form sits at the top and is short: never strip a body
    for i, f in enumerate(fields):
        end = fields[i + 1].start() if i + 1 < len(fields) else len(head)
        value = (f.group(2) + "\n" + head[f.end():end]).strip()
        value = " ".join(v.strip() for v in value.splitlines() if v.strip())
        key = _HEADER_KEYS.get(f.group(1))
        if key is None:  # a second 政策内容 line: the body marker is the first one only
            continue
        if key.endswith("date"):
            value = iso_date(value)
        _set(meta, key, value)
    if meta.get("notice_title"):
        _set(meta, "title", meta["notice_title"])
    meta["page_kind"] = "header_form"
    repairs.add("header_form", head[fields[0].start():][:40].replace("\n", " "),
                f"{len(fields)} fields to meta")
    return head[:fields[0].start()] + text[body.end():]


# ---------------------------------------------------------------- metadata boxes
_BOX_LABELS = {
    "索引号": "index_no", "发文字号": "doc_number", "文号": "doc_number", "发文编号": "doc_number",
    "成文日期": "written_date", "发文日期": "written_date", "发布日期": "publish_date",
    "生成日期": "publish_date", "发布时间": "publish_date", "公开日期": "publish_date",
    "发布机构": "publisher", "发布单位": "publisher", "发文机关": "publisher", "发文单位": "publisher",
    "主题分类": "topic", "主题词": "keywords", "关键词": "keywords", "关键字": "keywords",
    "公开形式": None, "公开方式": None, "公开范围": None, "公开时限": None, "体裁分类": None,
    "组配分类": None, "服务对象": None, "信息分类": "topic", "责任部门": "department",
    "是否有效": "validity", "有效性": "validity", "时效": "validity", "信息来源": "source",
    "来源": "source", "实施日期": "effective_date", "标题": "title", "名称": "title",
}
_LABEL_ALT = "|".join(sorted(_BOX_LABELS, key=len, reverse=True))
_COLON_PAIR = re.compile(rf"({_LABEL_ALT})\s*[:：]\s*(.*?)(?=\s*(?:{_LABEL_ALT})\s*[:：]|\s*$)")
_LABEL_ONLY = re.compile(rf"^\s*({_LABEL_ALT})\s*[:：]?\s*$")


def _box_value(label: str, value: str, meta: Meta, repairs: RepairLog) -> None:
    key = _BOX_LABELS[label]
    value = value.strip().strip("|").strip()
    if not key or not value:
        return
    if key == "doc_number":
        value = clean_doc_number(value, repairs)
    elif key.endswith("date"):
        value = iso_date(value)
    _set(meta, key, value)


_BOX_NOISE = re.compile(r"【[^】\n]{0,12}】|(?:浏览|阅读|访问|点击)(?:次数|量|数)[:：]?\s*\d*次?")


def _parse_box_line(line: str, meta: Meta, repairs: RepairLog) -> bool:
    """Read one metadata-box line into meta; False when the line is not a box line."""
    stripped = _BOX_NOISE.sub(" ", bare_line(line)).strip()  # 浏览次数：12 【打印】 share box lines
    if not stripped or len(stripped) > 200:
        return False
    if "|" in stripped or "｜" in stripped:
        cells = [c.strip().rstrip(":：") for c in re.split(r"[|｜]", stripped)]
        if not any(c in _BOX_LABELS for c in cells):
            return False
        if sum(1 for c in cells if c and c not in _BOX_LABELS) > sum(1 for c in cells if c in _BOX_LABELS):
            return False  # a data table that happens to have a 来源 column
        for i, cell in enumerate(cells):
            if cell in _BOX_LABELS:
                nxt = cells[i + 1] if i + 1 < len(cells) else ""
                if nxt and nxt not in _BOX_LABELS:
                    _box_value(cell, nxt, meta, repairs)
        return True
    pairs = list(_COLON_PAIR.finditer(stripped))
    if not pairs or pairs[0].start() != 0:
        return False
    if len(pairs) == 1 and len(stripped) > 60:
        return False  # prose that starts with 来源：… is not a box
    for p in pairs:
        _box_value(p.group(1), p.group(2), meta, repairs)
    return True


def strip_metadata_box(lines: list[str], repairs: RepairLog, meta: Meta) -> list[str]:
    head = "".join(lines[:60]) + "".join(lines[-30:])
    if not any(lab in head for lab in ("索引号", "发文字号", "文号", "成文日期", "发布机构", "生成日期",
                                       "发布日期", "发布时间", "信息来源")):
        return lines
    out = []
    i = 0
    n_box = 0
    while i < len(lines):
        line = lines[i]
        if i < 60 or len(lines) - i < 30:  # boxes sit above or below the document
            if _parse_box_line(line, meta, repairs):
                repairs.add("metadata_box", line.strip(), "(to meta)")
                n_box += 1
                i += 1
                continue
            m = _LABEL_ONLY.match(bare_line(line))
            if m and i + 1 < len(lines) and 0 < len(lines[i + 1].strip()) <= 40 \
                    and not _LABEL_ONLY.match(lines[i + 1]):
                _box_value(m.group(1), lines[i + 1], meta, repairs)
                repairs.add("metadata_box", f"{line.strip()} / {lines[i + 1].strip()}", "(to meta)")
                n_box += 1
                i += 2
                continue
        out.append(line)
        i += 1
    if n_box:
        meta.setdefault("page_kind", "web")
    return out


# ---------------------------------------------------------------- web-page furniture
_FURNITURE_WORDS = (
    r"(?:浏览|阅读|访问|点击)(?:次数|量|数)[:：]?\s*\d*次?|字[体号][:：]?\s*(?:[大中小]\s*){0,3}"
    r"|无障碍(?:浏览|阅读)?|长者(?:助手|模式)|关怀版|适老化|扫一扫在手机(?:上)?打开当前页面?|扫一扫"
    r"|手机扫码|分享到[:：]?|打印本?页?|关闭(?:本页|窗口)?|收藏|返回顶部|我要纠错|纠错|网站地图"
    r"|上一篇|下一篇|当前位置[:：].*|您现在的位置[:：].*|首页\s*[>＞»].*|保存本页|微信|微博|QQ空间"
    r"|我的(?:收藏|订阅|空间)|个人中心|用户(?:登录|注册)|登录|注册|搜索|繁體版?|简体版?|English|听全文|朗读|语音播报")
_FURNITURE_TOKEN = re.compile(rf"[【\[]?(?:{_FURNITURE_WORDS})[】\]]?")
_SEPARATORS = re.compile(r"[\s|｜/:：>＞»·•,，、]+")


def is_furniture(line: str) -> bool:
    """A short line made only of page tools and navigation (【打印】【关闭】, 浏览次数：12 ...)."""
    stripped = line.strip()
    if not stripped or len(stripped) > 80 or not _FURNITURE_TOKEN.search(stripped):
        return False
    return not _SEPARATORS.sub("", _FURNITURE_TOKEN.sub("", stripped))


_PAGE_FOOTER = re.compile(r"版权所有|ICP备|公网安备|主办单位[:：]|承办单位[:：]|技术支持[:：]|网站标识码")


# page numbers of a PDF or Word copy: "- 3 -", "—3—", "第3页 共10页"; a bare number only where
# the document has several (a page-numbering pattern, not a stray value)
_PAGE_NUMBER = re.compile(r"^(?:[-—－–_·]+\s*\d{1,3}\s*[-—－–_·]+|第\s*\d{1,3}\s*页(?:\s*[/，,、]?\s*共\s*\d{1,3}\s*页)?"
                          r"|\d{1,3}\s*/\s*\d{1,3})$")
_BARE_NUMBER = re.compile(r"^\d{1,3}$")


def strip_page_numbers(lines: list[str], repairs: RepairLog) -> list[str]:
    out = []
    bare_numbers = sum(1 for line in lines if _BARE_NUMBER.match(line.strip())) >= 2
    for line in lines:
        s = line.strip()
        if s and len(s) <= 20 and (_PAGE_NUMBER.match(s) or (bare_numbers and _BARE_NUMBER.match(s))):
            repairs.add("page_number", s, "(removed)")
            continue
        out.append(line)
    return out


@lru_cache(maxsize=4096)
def _furniture_or_footer(s: str) -> bool:
    """Whether a bare line of at most 100 characters is page furniture or a page footer: two
    regex searches tried at every character, on short lines that recur (in both
    normalization passes; headings and tool bars across documents), so the answers are kept."""
    return is_furniture(s) or _PAGE_FOOTER.search(s) is not None


# A line of nothing but question marks: what a converter wrote for characters its output
# encoding lacked (a no-break space, a full-width space, an emoji) on an otherwise empty line.
_PLACEHOLDER_LINE = re.compile(r"^[?？\ufffd]{1,3}$")


def strip_furniture(lines: list[str], repairs: RepairLog) -> list[str]:
    out = []
    for line in lines:
        s = bare_line(line)
        if s and len(s) <= 3 and _PLACEHOLDER_LINE.match(s):
            repairs.add("converter_placeholder", s, "(removed)")
            continue
        # furniture has at most 80 characters, a footer line 100: a longer line is neither
        if s and len(s) <= 100 and _furniture_or_footer(s):
            repairs.add("web_furniture", s, "(removed)")
            continue
        out.append(line)
    return out


# ---------------------------------------------------------------- encyclopedia pages
_FACT_KEYS = {"中文名": "title", "中文名称": "title", "名称": "title", "外文名": None,
              "印发机关": "issuer", "发布机关": "issuer", "发文机关": "issuer", "颁布机关": "issuer",
              "发布单位": "issuer", "印发单位": "issuer", "印发日期": "date", "发布日期": "date",
              "颁布日期": "date", "发布时间": "date", "印发时间": "date", "发文字号": "doc_number",
              "文号": "doc_number", "实施日期": "effective_date", "施行日期": "effective_date"}
_FACT_LINE = re.compile(r"^\s*[•·●▪\-*]?\s*([^:：\s]{1,8})\s*[:：]\s*(.+?)\s*$")
_TRAILING_LISTS = ("相关词条", "热门词条", "词条标签", "参考资料", "联络我们", "词条统计", "百科协作")


def strip_encyclopedia(lines: list[str], repairs: RepairLog, meta: Meta) -> list[str]:
    if "基本介绍" not in map(bare_line, lines[:40]) and not any(
            bare_line(s) in _TRAILING_LISTS for s in lines[-40:]):
        return lines  # (decided on the first and last lines only)
    stripped = [bare_line(l) for l in lines]
    meta["page_kind"] = "encyclopedia"
    out = []
    in_box = False
    block_titles = set(stripped)
    for i, (line, s) in enumerate(zip(lines, stripped)):
        if s == "基本介绍" and i < 40:
            in_box = True
            repairs.add("encyclopedia", s, "(removed)")
            continue
        if in_box:
            m = _FACT_LINE.match(s)
            if m:
                key = _FACT_KEYS.get(m.group(1))
                value = m.group(2)
                if key == "doc_number":
                    value = clean_doc_number(value, repairs)
                elif key and key.endswith("date"):
                    value = iso_date(value)
                if key:
                    _set(meta, key, value)
                repairs.add("encyclopedia_fact_box", s, "(to meta)")
                continue
            if not s:
                continue
            in_box = False
        # the block navigation line: names of blocks that follow as their own lines
        items = [x for x in re.split(r"[,，、\s]+", s) if x]
        if 2 <= len(items) <= 8 and all(len(x) <= 8 for x in items) and i < 60 \
                and all(x in block_titles for x in items) and s not in items:
            repairs.add("encyclopedia_navigation", s, "(removed)")
            continue
        out.append(line)
    # trailing lists: from the first list title near the end, if nothing long follows
    for k in range(max(0, len(out) - 40), len(out)):
        s = bare_line(out[k])
        if s in _TRAILING_LISTS and all(len(x.strip()) <= 40 for x in out[k:]):
            for x in out[k:]:
                if x.strip():
                    repairs.add("encyclopedia_trailing_list", x.strip(), "(removed)")
            out = out[:k]
            break
    return out


# ---------------------------------------------------------------- HTML
_HTML_HINT = re.compile(r"<(?:!doctype|html|body|p|div|br|table|span|head|meta|td|li|h[1-6])\b", re.I)
_HTML_START = re.compile(r"<(?:!doctype|html)\b", re.I)
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
               "table", "section", "article", "blockquote", "pre", "hr", "title", "dd", "dt", "center"}
# not <form>: the ASP.NET layout of many government sites puts the whole page inside one
_SKIP_TAGS = set(NOT_CONTENT)


class _PageText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.meta: dict[str, str] = {}
        self.attachments: Attachments = []
        self.in_title = False
        self.title = ""
        self.link: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "meta" and a.get("name") and a.get("content"):
            self.meta[a["name"].lower()] = a["content"]
        elif tag == "img" and not self.skip:
            self.attachments.append(dict(kind="image", name=a.get("alt") or a.get("title") or None,
                                         uri=a.get("src") or None))
        elif tag == "a" and _ATTACHMENT_EXT.search(a.get("href", "")):
            self.link = {"uri": a["href"], "text": ""}
        if tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in _SKIP_TAGS:
            self.skip -= 1

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif tag == "a" and self.link is not None:
            self.attachments.append(dict(kind="attachment", name=self.link["text"].strip() or None,
                                         uri=self.link["uri"]))
            self.link = None
        if tag == "tr":
            self.parts.append(" |\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.in_title:
            self.title += data
            return
        if self.skip:
            return
        if self.link is not None:
            self.link["text"] += data
        self.parts.append(data)


def looks_like_html(text: str) -> bool:
    head = text[:20000]
    return len(_HTML_HINT.findall(head)) >= 3 or bool(_HTML_START.search(head[:2000]))


def html_to_text(text: str, repairs: RepairLog, meta: Meta, attachments: Attachments) -> str:
    parser = _PageText()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:  # html.parser is lenient; this only guards pathological input
        repairs.add("html_unparsed", str(exc)[:60], "markup left as text")
        return text
    body = "".join(parser.parts)
    body = re.sub(r"[ \t\xa0]*\|[ \t\xa0]*\|", "|", body)  # "| |" from <tr><td>
    body = re.sub(r"\n[^\S\n]*\|\s*\n", "\n", body)
    lines = []
    for line in body.split("\n"):
        s = line.strip()
        if s.startswith("|") and not s.endswith("|"):
            s += " |"
        lines.append(s)
    body = re.sub(r"\n{2,}", "\n", "\n".join(lines))  # block elements are lines; no blank lines
    page = read_page(text, lambda line: _parse_box_line(line, {}, RepairLog()), body)
    _set(meta, "title", page.title or parser.title.strip())
    _set(meta, "publish_date", iso_date(parser.meta["pubdate"]) if parser.meta.get("pubdate") else None)
    _set(meta, "source", parser.meta.get("contentsource"))
    attachments.extend(parser.attachments)
    meta["page_kind"] = "html"
    repairs.add("html", text[:40].replace("\n", " "),
                f"markup removed ({page.extractor}), {len(page.box_lines)} box lines, {page.tables} tables, "
                f"{len(parser.attachments)} links/images")
    return page.text


_ENTITY = re.compile(r"&(?:#\d{2,6}|#x[0-9a-fA-F]{2,5}|nbsp|ldquo|rdquo|lsquo|rsquo|mdash|hellip|middot|amp|lt|gt|quot|emsp|ensp|times);")


def unescape_entities(text: str, repairs: RepairLog) -> str:
    if "&" not in text or not _ENTITY.search(text):
        return text
    def swap(m):
        new = html.unescape(m.group())
        repairs.add("html_entity", m.group(), new)
        return new
    return _ENTITY.sub(swap, text)


# ---------------------------------------------------------------- counts split by a list converter
# `1个中心` at a line start read as a Markdown ordered list becomes `1. 个中心`: the count's number
# turned into a list mark. Measure words that open such items, and words that open real items.
_MEASURE_WORDS = "个项条张朵棵轮步类种套批级横纵位支家座片端网屏库"
_NOT_A_COUNT = re.compile(r"^(?:个人|个性|个体|项目|条件|条例|条款|类型|种类|级别|批准|批复|支持|支撑|"
                          r"家庭|位置|端口|网络|网上|网站|屏幕|库存|座谈|片区|步伐|套餐)")
_LIST_ITEM = re.compile(r"^([ \t\u3000]*)(\d{1,2})[.．][ \t\u3000]+(?=\S)")


def join_split_counts(lines: list[str], repairs: RepairLog) -> list[str]:
    """`1. 个中心 … 2. 轮驱动 … 4. 大体系` → `1个中心 … 2轮驱动 … 4大体系`.

    Decided per list (items numbered 1, 2, 3 … in order, other lines between them allowed): a
    list of at least three items most of which (two in three) open with a measure word is a list
    of counts the converter split, and every item of it is joined again (`4. 大体系` too, whose
    大 alone would say nothing). A real list (`1. 项目审批提速`, `2. 加强组织领导`) is left alone."""
    items = [(i, _LIST_ITEM.match(line)) for i, line in enumerate(lines) if line[:8].lstrip()[:1].isdigit()]
    items = [(i, m) for i, m in items if m]
    runs: list[list[tuple[int, re.Match[str]]]] = []
    for i, m in items:
        n = int(m.group(2))
        if runs and n == int(runs[-1][-1][1].group(2)) + 1:
            runs[-1].append((i, m))
        elif n == 1:
            runs.append([(i, m)])
    out = list(lines)
    for run in runs:
        led = [lines[i][m.end():m.end() + 1] in _MEASURE_WORDS and not _NOT_A_COUNT.match(lines[i][m.end():])
               for i, m in run]
        if len(run) < 3 or sum(led) * 3 < len(run) * 2:
            continue
        for i, m in run:
            out[i] = m.group(1) + m.group(2) + lines[i][m.end():]
            repairs.add("split_count", lines[i][:m.end() + 3].strip(), out[i][:len(m.group(1)) + 4].strip())
    return out


def strip_wrappers(text: str, repairs: RepairLog) -> tuple[str, Meta, Attachments]:
    """Text without wrappers, what they said (meta) and the attachments they listed."""
    meta: Meta = {}
    attachments: Attachments = []
    text = strip_editor_lines(text, repairs)
    text = strip_front_matter(text, repairs, meta)
    text = strip_header_form(text, repairs, meta)
    lines = text.split("\n")
    lines = strip_page_numbers(lines, repairs)  # before Markdown reads "- 3 -" as a bullet
    lines = join_split_counts(lines, repairs)  # before a split count is read as a numbered heading
    # Markdown next: its marks would hide the lines the page parsers look for
    lines = strip_markdown(lines, repairs, attachments)
    lines = strip_encyclopedia(lines, repairs, meta)
    lines = strip_metadata_box(lines, repairs, meta)
    lines = strip_furniture(lines, repairs)
    return "\n".join(lines), meta, attachments
