"""Structure: the section tree of a normalized text.

``parse_sections(doc_id, text)`` returns one row per section (schemas/sections.yaml). The rows
tile the text: level-0 blocks (``preamble``, ``signature``, ``toc``, ``boilerplate`` and the
containers ``interpretation`` / ``attachment``) and the body's heading sections, each spanning
from its heading to the next heading of its rank or above.

Heading shapes, from the outermost rank to the innermost (GB/T 9704 plus common variants)::

    第一篇 / 第一章 / 第一部分  >  第一节  >  一、 一． 一.  >  （一） (一)  >  1. 1、 １． (1,)
    >  （1） (1)  >  1） 1)  >  ①

Each may be wrapped in a Markdown ``#`` heading or ``**bold**``; Markdown headings without a
label take the rank the document gives their ``#`` depth. A document may skip ranks (``一、``
straight to ``1.``) or start below ``一、``: a heading's *level* is its depth in the tree, so a
parent is always exactly one level up (body top-level sections have no parent; a container's
children have the level-0 container as parent).

Decisions worth knowing:

* Run-in headings: the heading is the label's first sentence (up to ``。！？；：``), the rest of
  the line is the section's own text (``（一）指导思想。以…`` → 指导思想).
* A numbered list whose items are sentences, not headings (``1.到2025年，全省…达到95%以上，…``):
  items whose first sentence is longer than ``_MAX_HEADING_CHARS`` characters or holds three or
  more commas are sentence-like; a group of sibling items with one shape and no sub-headings is
  demoted to plain text of its parent when at least half of its items are sentence-like. The
  decision is per list, so one list is never half headings, half text. Markdown headings are
  never demoted.
* ``——`` / ``•`` bullet lines never start a section.
* A table of contents (a ``目录`` line followed by entries, or a run of three or more bare
  headings that recur later) becomes one ``toc`` row; its entries are not sections.
* ``内容解读`` / ``《…》解读`` after the body opens an ``interpretation`` container; ``附件…``
  after the body opens an ``attachment`` container; headings inside take the container's kind.
* An issuer line followed by a date line (or a bare date line) is a ``signature``; text after a
  signature is a new ``preamble`` before the body starts and ``boilerplate`` (版记) after it.
* Numbering that skips, repeats, runs backwards or does not start at one is kept as written,
  flagged on the row (``flags``) and logged. A damaged separator (``4,建设``) is accepted only
  where it continues its siblings' numbering, and flagged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from flows.budget import CHECK_EVERY, check
from flows.patterns.numerals import cn_int

log = logging.getLogger(__name__)

_MAX_HEADING_CHARS = 40
_CN_NUM = "零〇一二三四五六七八九十百两"
_CN_DIGITS = "零〇一二三四五六七八九"
_SPACE = " \t\u3000\u00a0\ufeff"

# shape -> rank (smaller is outer)
_RANKS = {"part": 0.0, "chapter": 1.0, "subchapter": 2.0, "cn": 3.0, "paren_cn": 4.0,
          "arabic": 5.0, "paren_arabic": 6.0, "half_paren_arabic": 6.5, "circled": 7.0}

# `## 标题` (CommonMark wants the space); `##一、` without it only before a label (`#数字政府#` is a tag)
_MD_MARK = re.compile(rf"^(#{{1,6}})(?:[ \t\u3000]+|(?=[{_CN_NUM}（(\d第①-⑳]))")
_BOLD = re.compile(r"^\*\*(.+?)\*\*(.*)$")
_LABELS = [
    ("chapter_like", re.compile(rf"^第([{_CN_NUM}\d]+)(篇|章|部分|节)(?:[{_SPACE}]+|[：:、.．]\s*)?")),
    ("cn", re.compile(rf"^([{_CN_NUM}]+)[{_SPACE}]*[、.．](?![\d])[{_SPACE}]*")),
    ("paren_cn", re.compile(rf"^[（(][{_SPACE}]*([{_CN_NUM}]+)[{_SPACE}]*[）)][、.．]?[{_SPACE}]*")),
    ("paren_arabic", re.compile(rf"^[（(][{_SPACE}]*(\d{{1,3}})[{_SPACE}]*[）)][、.．]?[{_SPACE}]*")),
    ("arabic", re.compile(rf"^(\d{{1,3}})[{_SPACE}]*[.．、](?![\d.．])[{_SPACE}]*")),
    ("arabic_damaged", re.compile(rf"^(\d{{1,3}})[,，](?![\d])[{_SPACE}]*")),
    ("half_paren_arabic", re.compile(rf"^(\d{{1,2}})[)）][{_SPACE}]*")),
    ("circled", re.compile(r"^([\u2460-\u2473])[、.．]?\s*")),
]
_HEADING_END = re.compile(r"[。！？；：:;!?]")
_DATE_LINE = re.compile(
    rf"^(?:\d{{4}}[{_SPACE}]*年[{_SPACE}]*\d{{1,2}}[{_SPACE}]*月[{_SPACE}]*\d{{1,2}}[{_SPACE}]*日"
    rf"|[{_CN_DIGITS}○]{{4}}年[{_CN_NUM}]{{1,2}}月[{_CN_NUM}]{{1,3}}日)$"
)
_ISSUER_LINE = re.compile(
    r"^[\u4e00-\u9fff（）()·]{2,40}(?:政府|办公厅|办公室|委员会|管委会|管理委员会|常委会|党委|省委|市委|县委"
    r"|厅|局|委|部|院|署|中心|小组)$"
)
_INTERPRETATION = re.compile(
    r"^(?:(?:内容|政策|文件|相关|官方)?解读(?:材料|文章)?|图解.*|图文解读.*|一图读懂.*|《.{2,80}》(?:政策)?解读"
    r"|关于《.{2,80}》的(?:政策)?解读)$"
)
_ATTACHMENT = re.compile(rf"^附件(?:[{_SPACE}]*[\d{_CN_NUM}]+)?(?:$|[{_SPACE}：:．.、])")
_BOILERPLATE_TAIL = re.compile(
    r"^(?:相关词条|热门词条|联络我们|扫一扫|【打印】|【关闭】|【字体|打印本页|关闭窗口|相关链接|相关文件|相关阅读"
    r"|相关稿件|责任编辑|分享到|上一篇|下一篇|网站地图|版权所有|主办单位|主办：|.{0,20}ICP备)"
)
_BOILERPLATE_LINE = re.compile(
    r"^(?:[（(]此件.{1,12}[）)]|抄送[：:].*|.{2,40}\d{4}年\d{1,2}月\d{1,2}日印发|[（(]信息公开形式.{1,20}[）)])$"
)
_NOTICE_TITLE = re.compile(r"(?:印发|转发).{2,80}的通知$")
_TOC_MARKERS = {"目录", "目次"}
# a toc entry's page number and leader, `[\s.．·…—-]*\d{0,4}$`, matched at the start of the reversed
# text (a pattern ending in `$` is tried at every position of a line); digits are not in the
# class, so the greedy match is the longest such suffix
_PAGE_SUFFIX_REVERSED = re.compile(r"\d{0,4}[\s.．·…—-]*")
_WHITESPACE = re.compile(r"\s+")
# every label pattern starts with one of these (a line starting otherwise is not a labelled heading)
_LABEL_START = re.compile(rf"[第{_CN_NUM}（(\d\u2460-\u2473]")


@dataclass
class _Line:
    start: int  # offset of the line's first character
    end: int  # offset just past its last character (newline excluded)
    lead: int  # offset of its first non-space character
    content: str  # the line without surrounding spaces, Markdown marks or bold wrappers
    hashes: int = 0  # Markdown heading depth, 0 if not a Markdown heading


@dataclass
class _Head:
    line: int
    start: int
    shape: str
    rank: float
    ordinal: int | None
    label: str | None
    heading: str | None
    body_start: int  # where the section's own text begins (after the heading, run-in or not)
    markdown: bool
    damaged: bool = False
    sentence_like: bool = False


def _lines(text: str) -> list[_Line]:
    out = []
    pos, n = 0, len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        indent, content, hashes = _line_parts(text[pos:end])
        out.append(_Line(pos, end, pos + indent, content, hashes))
        if nl < 0:
            break
        pos = nl + 1
    return out


@lru_cache(maxsize=4096)
def _line_parts(raw: str) -> tuple[int, str, int]:
    """(indentation width, content, Markdown heading depth) of a line: a function of the line
    alone, and plans repeat their lines (headings, stock sentences), so the answers are kept."""
    stripped = raw.lstrip(_SPACE)
    content = stripped.rstrip(_SPACE + "\r")
    hashes = 0
    m = _MD_MARK.match(content)
    if m and len(content) > m.end():
        hashes = len(m.group(1))
        content = content[m.end():].rstrip("# ")
    b = _BOLD.match(content)
    if b:
        content = (b.group(1) + b.group(2)).strip(_SPACE)
    return len(raw) - len(stripped), content, hashes


def _canonical_label(shape: str, num: str, suffix: str = "") -> str:
    return {"cn": f"{num}、", "paren_cn": f"（{num}）", "arabic": f"{num}.", "paren_arabic": f"（{num}）",
            "half_paren_arabic": f"{num}）", "circled": num}.get(shape, f"第{num}{suffix}")


def _heading(line: _Line, text: str) -> _Head | None:
    content = line.content
    if not content or not _LABEL_START.match(content):
        return None
    parsed = _labelled(content)
    if parsed is None:
        return None
    shape, ordinal, label, heading, damaged, sentence_like, rest, run_in_at = parsed
    body_start = line.end
    if run_in_at is not None:  # the body starts on the heading's line, after its title
        rest_at = text.find(rest, line.lead, line.end + 1)
        if rest_at >= 0:
            body_start = rest_at + run_in_at
    return _Head(
        line=-1, start=line.lead, shape=shape, rank=_RANKS[shape], ordinal=ordinal, label=label,
        heading=heading, body_start=body_start, markdown=line.hashes > 0, damaged=damaged,
        sentence_like=sentence_like,
    )


@lru_cache(maxsize=4096)
def _labelled(content: str) -> tuple | None:
    """What a line's content says as a labelled heading: (shape, ordinal, label, heading, damaged,
    sentence_like, the text after the label, where a run-in body starts in it or None), or None.
    A function of the content alone, and headings recur (一、总体要求 ...): the answers are kept."""
    for shape, rx in _LABELS:
        m = rx.match(content)
        if not m:
            continue
        num = m.group(1)
        rest = content[m.end():]
        if not rest.strip(_SPACE):
            return None  # a bare label is not a heading we can name
        damaged = shape == "arabic_damaged"
        if damaged:
            shape = "arabic"
        suffix = ""
        if shape == "chapter_like":
            suffix = m.group(2)
            shape = {"篇": "part", "部分": "part", "章": "chapter", "节": "subchapter"}[suffix]
            if not m.group(0).endswith(tuple(_SPACE + "：:、.．")) and (
                    len(rest) > 25 or re.search(r"[，。；,;]", rest)):
                return None  # 第一部分是总体要求。… is prose; 第一章发展基础 (spaces removed) is not
        ordinal = (ord(num) - 0x2460 + 1) if shape == "circled" else cn_int(num.translate(_FULLWIDTH))
        cut = _HEADING_END.search(rest)
        run_in_at = None
        if cut and cut.start() > 0:
            heading = rest[:cut.start()]
            if rest[cut.end():].strip(_SPACE):
                run_in_at = cut.end()
        else:
            heading = rest
        heading = heading.strip(_SPACE + "*")
        commas = heading.count("，") + heading.count(",")
        return (shape, ordinal, _canonical_label(shape, num.translate(_FULLWIDTH), suffix), heading, damaged,
                len(heading) > _MAX_HEADING_CHARS or commas >= 3, rest, run_in_at)
    return None


_CJK = re.compile(r"[\u4e00-\u9fff]")
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def _markdown_heads(lines: list[_Line], heads: dict[int, _Head], marker_lines: set[int]) -> None:
    """Unlabelled Markdown headings: rank them by their # depth; a lone top one is the title."""
    # `## 政策标题：` is a field of a header form and `# -*- coding…` a stray line, not headings
    unlabelled = [i for i, ln in enumerate(lines)
                  if ln.hashes and i not in heads and i not in marker_lines and _CJK.search(ln.content)
                  and not ln.content.endswith(("：", ":"))]
    if not unlabelled:
        return
    depth_rank: dict[int, float] = {}
    for i, h in heads.items():
        if h.markdown:
            depth_rank.setdefault(lines[i].hashes, h.rank)
    all_md = sorted(unlabelled + [i for i, h in heads.items() if h.markdown])
    top = min(lines[i].hashes for i in all_md)
    if (lines[all_md[0]].hashes == top and all_md[0] in unlabelled
            and sum(1 for i in all_md if lines[i].hashes == top) == 1):
        unlabelled = unlabelled[1:]  # `# 某某方案` over the whole text: the title, not a section
    if not depth_rank:
        shallowest = min((lines[i].hashes for i in unlabelled), default=0)
        depth_rank = {d: 1.0 + d - shallowest for d in range(1, 7)}
    known = sorted(depth_rank)
    for i in unlabelled:
        d = lines[i].hashes
        if d in depth_rank:
            rank = depth_rank[d]
        elif d < known[0]:
            rank = depth_rank[known[0]] - 0.5 * (known[0] - d)
        else:
            below = max(k for k in known if k < d)
            rank = depth_rank[below] + 0.5 * (d - below) / 6
        ln = lines[i]
        heads[i] = _Head(line=i, start=ln.lead, shape=f"md{d}", rank=rank, ordinal=None, label=None,
                         heading=ln.content, body_start=ln.end, markdown=True)


def _without_page_suffix(s: str) -> str:
    """``s`` without spaces and without a trailing page number or leader (`…… 12`)."""
    s = _WHITESPACE.sub("", s)
    return s[:len(s) - _PAGE_SUFFIX_REVERSED.match(s[::-1]).end()]


def _key(ln: _Line, head: _Head | None) -> tuple:
    if head is not None and head.ordinal is not None:  # a toc entry may carry dots and a page number
        return (head.shape, head.ordinal, _without_page_suffix(head.heading or ""))
    return ("line", _without_page_suffix(ln.content))


def _line_keys(lines: list[_Line], heads: dict[int, _Head]) -> tuple[list[tuple | None], dict[tuple, int]]:
    """Each line's key (what a toc entry and its heading share), and the last line of each key."""
    keys = [_key(ln, heads.get(i)) if ln.content else None for i, ln in enumerate(lines)]
    last_seen: dict[tuple, int] = {}
    for i, k in enumerate(keys):
        if k is not None:
            last_seen[k] = i
    return keys, last_seen


def _toc_lines(lines: list[_Line], heads: dict[int, _Head]) -> set[int]:
    """Lines of a table of contents: entries that repeat headings found later in the text.
    The line keys are computed once a candidate is found (a toc marker, a run of three bare
    headings), not for every document: most have neither."""
    line_keys = cache(lambda: _line_keys(lines, heads))
    toc: set[int] = set()
    for i, ln in enumerate(lines):
        if ln.content.replace(" ", "").replace("\u3000", "") in _TOC_MARKERS:
            keys, last_seen = line_keys()
            first_key, j, last = None, i + 1, i
            while j < len(lines):
                c, k = lines[j].content, keys[j]
                if not c:
                    j += 1
                    continue
                if k == first_key or len(c) > 60 or "。" in c:
                    break
                if j not in heads and last_seen.get(k, j) <= j:
                    break
                first_key = first_key or k
                last = j
                j += 1
            if last > i:
                toc.update(range(i, last + 1))
            break
    if toc:
        return toc
    # no marker: a run of three or more bare headings that mostly recur later, before the first
    # heading that has text of its own (a body whose sections repeat a template is not a toc)
    run: list[int] = []
    for i, ln in enumerate(lines + [_Line(0, 0, 0, "<end>")]):
        if i < len(lines) and not ln.content:
            continue
        h = heads.get(i)
        if h is not None and h.body_start >= ln.end and not h.markdown:
            run.append(i)
            continue
        if len(run) >= 3:
            keys, last_seen = line_keys()
            if sum(last_seen[keys[j]] > j for j in run) * 3 >= len(run) * 2:
                toc.update(range(run[0], run[-1] + 1))
        if run or h is not None:
            break
    return toc


def _signature_lines(lines: list[_Line], heads: dict[int, _Head]) -> set[int]:
    out: set[int] = set()
    for i, ln in enumerate(lines):
        if not _DATE_LINE.match(ln.content):
            continue
        out.add(i)
        j, found = i - 1, 0
        while j >= 0 and found < 3:
            c = lines[j].content
            if not c:
                j -= 1
                continue
            if j in heads or not _ISSUER_LINE.match(c.replace(" ", "").replace("\u3000", "")):
                break
            out.update(range(j, i))
            found += 1
            j -= 1
    return out


def _marker(ln: _Line) -> str | None:
    c = ln.content
    if not c or len(c) > 80:
        return None
    return _marker_of(c)


@lru_cache(maxsize=4096)
def _marker_of(c: str) -> str | None:
    """The structural marker a short line is, if any: four regexes a line, on lines that recur
    (headings, signatures, 附件), so the answers are kept."""
    if _INTERPRETATION.match(c):
        return "interpretation"
    if _ATTACHMENT.match(c):
        return "attachment"
    if _BOILERPLATE_TAIL.match(c):
        return "boilerplate_tail"
    if _BOILERPLATE_LINE.match(c):
        return "boilerplate"
    return None


@dataclass
class _Tree:
    doc_id: str
    text: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    own: list[list[int]] = field(default_factory=list)  # [own text start, own text end] per row
    stack: list[tuple[float, int]] = field(default_factory=list)  # (rank, row index)
    block: int | None = None  # index of the open level-0 row
    container: bool = False  # the open block holds headed children
    last_ordinal: dict[tuple[int | None, str], int] = field(default_factory=dict)
    groups: dict[tuple[int | None, str], list[int]] = field(default_factory=dict)  # -> head lines
    has_children: set[int] = field(default_factory=set)
    irregular: list[str] = field(default_factory=list)  # headings kept as written, for the log

    def _new_row(self, **kw: Any) -> int:
        i = len(self.rows)
        kw.setdefault("flags", None)
        kw.setdefault("extractor", None)  # a block (preamble, toc, signature …) no heading rule opened
        # a positional handle: flows/contract/ids.py gives the section its stable id once the document's key is known
        self.rows.append(dict(section_id=f"{self.doc_id}-{i:04d}", doc_id=self.doc_id, **kw))
        return i

    def _close_sections(self, at: int) -> None:
        while self.stack:
            self._end(self.stack.pop()[1], at)

    def _end(self, row: int, at: int) -> None:
        self.rows[row]["char_end"] = at
        if self.own[row][1] < 0:
            self.own[row][1] = at

    def open_block(self, kind: str, start: int, heading: str | None, body_start: int,
                   container: bool = False) -> None:
        self._close_sections(start)
        if self.block is not None:
            self._end(self.block, start)
        i = self._new_row(parent_id=None, level=0, label=None, ordinal=None, heading=heading,
                          kind=kind, char_start=start, char_end=len(self.text))
        self.own.append([body_start, -1])
        self.block, self.container = i, container

    def close_block(self, at: int) -> None:
        if self.block is not None:
            self._end(self.block, at)
        self.block, self.container = None, False

    def parent_for(self, rank: float) -> tuple[int | None, int]:
        """(parent row, level) a heading of this rank gets, without changing the stack."""
        depth = len(self.stack)
        while depth and self.stack[depth - 1][0] >= rank:
            depth -= 1
        if depth:
            parent = self.stack[depth - 1][1]
        else:
            parent = self.block if self.container else None
        return parent, depth + 1

    def accepts(self, h: _Head) -> bool:
        """A damaged label (`4,建设`) is a heading only where it continues its siblings' numbering."""
        if not h.damaged:
            return True
        last = self.last_ordinal.get((self.parent_for(h.rank)[0], h.shape))
        return last is not None and h.ordinal == last + 1

    def add_heading(self, h: _Head, kind: str) -> None:
        parent, level = self.parent_for(h.rank)
        group = (parent, h.shape)
        last = self.last_ordinal.get(group)
        while self.stack and self.stack[-1][0] >= h.rank:
            self._end(self.stack.pop()[1], h.start)
        if parent is not None and self.own[parent][1] < 0:
            self.own[parent][1] = h.start
        flags = []
        if h.damaged:
            flags.append("label_separator_nonstandard")
        if h.ordinal is not None:
            if last is None and h.ordinal != 1:
                flags.append("numbering_not_from_one")
            elif last is not None and h.ordinal == last:
                flags.append("numbering_repeat")
            elif last is not None and h.ordinal < last:
                flags.append("numbering_backwards")
            elif last is not None and h.ordinal > last + 1:
                flags.append("numbering_gap")
            self.last_ordinal[group] = h.ordinal
        if not h.heading:
            flags.append("heading_empty")
        i = self._new_row(
            parent_id=None if parent is None else self.rows[parent]["section_id"], level=level,
            label=h.label, ordinal=h.ordinal, heading=h.heading or None, kind=kind,
            char_start=h.start, char_end=len(self.text), flags=flags or None, extractor=h.shape,
        )
        self.own.append([h.body_start, -1])
        if flags:
            self.irregular.append(f"{h.label}{h.heading or ''} ({', '.join(flags)})")
        if parent is not None:
            self.has_children.add(parent)
        self.groups.setdefault(group, []).append(h.line)
        self.stack.append((h.rank, i))

    def finish(self) -> list[dict[str, Any]]:
        n = len(self.text)
        self._close_sections(n)
        self.close_block(n)
        for row, (s, e) in zip(self.rows, self.own):
            row["text"] = self.text[s:max(s, e)].strip()
        return self.rows


def _build(doc_id: str, text: str, lines: list[_Line], heads: dict[int, _Head], toc: set[int],
           signature: set[int], markers: dict[int, str]) -> tuple[list[dict[str, Any]], _Tree, dict[int, int]]:
    t = _Tree(doc_id, text)
    t.open_block("preamble", 0, None, 0)
    body_started = False
    tail = False  # inside trailing page furniture: everything until a structural marker
    # A notice (关于印发…的通知) may number its own points; the plan it issues then follows its
    # signature as `附件`: that first attachment is the plan, not an appendix.
    notice = any(_NOTICE_TITLE.search(ln.content) for ln in [x for x in lines if x.content][:5])
    plan_follows_notice = notice
    head_rows: dict[int, int] = {}  # head line -> row
    for i, ln in enumerate(lines):
        if not i % CHECK_EVERY:
            check()
        if not ln.content:
            continue
        kind_open = t.rows[t.block]["kind"] if t.block is not None else "body"
        if i in toc:
            if kind_open != "toc":
                tail = False
                t.open_block("toc", ln.lead, None, ln.lead)
            continue
        if i in signature:
            if kind_open != "signature":
                tail = False
                t.open_block("signature", ln.lead, None, ln.lead)
            continue
        marker = markers.get(i)
        if (marker == "attachment" and plan_follows_notice and body_started
                and kind_open in ("signature", "boilerplate")):
            plan_follows_notice = False
            t.open_block("preamble", ln.lead, None, ln.lead)
            continue
        if marker in ("interpretation", "attachment") and body_started:
            plan_follows_notice = False
            if not (kind_open == "interpretation" and marker == "interpretation"):
                tail = False
                t.open_block(marker, ln.lead, ln.content, ln.end, container=True)
            continue
        if marker == "boilerplate_tail" and body_started:
            if not tail:
                tail = True
                t.open_block("boilerplate", ln.lead, None, ln.lead)
            continue
        if marker == "boilerplate":
            if kind_open != "boilerplate" or tail:
                tail = False
                t.open_block("boilerplate", ln.lead, None, ln.lead)
            continue
        if tail:
            continue
        h = heads.get(i)
        if h is not None and t.accepts(h):
            if not t.container and t.block is not None:
                t.close_block(h.start)
            kind = t.rows[t.block]["kind"] if t.container else "body"
            t.add_heading(h, kind)
            head_rows[i] = len(t.rows) - 1
            body_started = body_started or kind == "body"
            continue
        # plain text
        if kind_open in ("signature", "toc", "boilerplate"):
            t.open_block("boilerplate" if body_started and kind_open != "toc" else "preamble",
                         ln.lead, None, ln.lead)
        elif kind_open == "body" and t.block is None and not t.stack:
            t.open_block("preamble", ln.lead, None, ln.lead)
    return t.finish(), t, head_rows


def parse_sections(doc_id: str, text: str) -> list[dict[str, Any]]:
    """One row per section; the first row is the preamble (the text before the first heading)."""
    lines = _lines(text)
    markers = {i: m for i, ln in enumerate(lines) if (m := _marker(ln))}
    heads: dict[int, _Head] = {}
    for i, ln in enumerate(lines):
        if not i % CHECK_EVERY:
            check()
        if i in markers:
            continue
        h = _heading(ln, text)
        if h is not None:
            h.line = i
            heads[i] = h
    _markdown_heads(lines, heads, set(markers))
    toc = _toc_lines(lines, heads)
    signature = _signature_lines(lines, heads)
    candidates = {i: h for i, h in heads.items() if i not in toc and i not in signature}
    rows, tree, head_rows = _build(doc_id, text, lines, candidates, toc, signature, markers)
    demoted: set[int] = set()
    for group, members in tree.groups.items():
        hs = [candidates[i] for i in members]
        if any(h.markdown for h in hs) or any(head_rows[i] in tree.has_children for i in members):
            continue
        if sum(h.sentence_like for h in hs) * 2 >= len(hs):
            demoted.update(members)
    if demoted:
        log.info("%s: %d numbered sentence-like list items kept as text", doc_id, len(demoted))
        kept = {i: h for i, h in candidates.items() if i not in demoted}
        rows, tree, _ = _build(doc_id, text, lines, kept, toc, signature, markers)
    if tree.irregular:
        log.warning("%s: %d headings with irregular labels kept as written, e.g. %s", doc_id,
                    len(tree.irregular), "; ".join(tree.irregular[:5]))
    return rows
