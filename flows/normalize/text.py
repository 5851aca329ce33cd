"""Normalize: raw bytes to one clean simplified-Chinese text per document, every repair recorded.

``normalize_bytes`` is the stage entry point; ``normalize_text`` does the same from a decoded
string. Steps, each recording what it changed in ``NormalizedDoc.repairs`` (one entry per kind):

1. bytes to text (``flows.normalize.encoding``): encoding detection, binary/undecodable files rejected;
2. HTML pages to text, stray HTML entities unescaped (``flows.normalize.page_wrappers``);
3. mojibake repaired: UTF-8 read as GBK or Latin-1, GBK decoded one byte off; pinyin
   annotations stripped (``flows.normalize.mojibake``);
4. script decided and converted to simplified (``flows.normalize.script``);
5. wrappers parsed into ``meta``/``attachments`` and stripped (``flows.normalize.page_wrappers``; the meta keys
   are listed in that module's docstring);
6. the punctuation and layout policy below.

Punctuation and layout policy (the same sentence from any source comes out identical):
- Chinese prose uses full-width ，；：？！（） : a half-width one becomes full-width next to a
  Han character (`,` `;` after or before Han; `:` `?` `!` after Han or Chinese punctuation;
  a `(...)` pair holding Han or following Han; a straight `"..."` pair holding Han becomes
  “...”); `.` between Han (or at a line end after Han) becomes 。. Digits, Latin letters and `%`, `+`, `-`, `.`, `/`, `~` are
  half-width: full-width forms (`１．`, `ＩＰｖ６`, `％`) are folded; NBSP and other wide
  spaces become plain spaces (U+3000 inside a line is kept; at a line start it is indentation).
  Corner brackets 「」『』 become “” ‘’; half-width ｡ ､ become 。、.
- Heading labels at a line start are canonical: `一、` `（一）` `1.` `（1）`. So `一.`/`一，`
  become `一、`; `(一)`/`（一)` become `（一）`; `1、` `１．` `1，` `4,建设` become `1.`;
  `(1)` `1)` become `（1）`; spaces after a label are dropped.
- Document numbers use 〔〕: `国发[2022]14号`, `国发(2022)14号`, `国发﹝2022﹞14号` become
  `国发〔2022〕14号` (a doubled 号号 becomes 号).
- One-glyph labels ⑴ ㈠ become （1） （一）.
- Space runs become one space; spaces between two Han characters (or Han and a Chinese
  punctuation mark) and between Han and a Latin letter or digit are removed.
- Lines: leading/trailing whitespace (indentation, U+3000) is stripped; one paragraph or heading
  per line; blank lines are removed (copies that differ only in blank lines give the same text,
  which is what duplicate detection compares). A line is joined with the next when it is cut
  mid-sentence: the next line starts with a closing mark (`》`, `，`, `。` ...), the line ends with `，` `、`
  or an opening bracket/quote or leaves a `《`/`（`/`“` open, or the document is hard-wrapped
  at a fixed width and the line reaches that width without ending a sentence (title, signature
  and date lines excepted). A heading line (one starting with a label) is joined only in a
  hard-wrapped text where it is cut at full width or its next line starts with a closing mark;
  the line before a heading and table rows (`| … |`) are never joined.
- Markdown tables stay pipe tables, one row per line.
- Markdown headings are `#`×depth, one space, the text (``flows.normalize.page_wrappers``). An unlabelled one
  (`## 背景`) keeps its marks, the only sign it is a heading; a labelled one (`## 一、总体要求`)
  loses them unless the document also has unlabelled section headings, whose depths must then be
  comparable (``settle_markdown_headings``). A heading line is never joined with another line.
Normalization is idempotent: normalizing a normalized text changes nothing (the rules are
ordered so that one pass is stable; ``normalize_text`` still confirms with a second pass).
Unrecoverable characters are written as □ and counted in ``unrecoverable_spans``.

Repair kinds (``Repair.kind``; each with a count and up to five "before → after" examples):
  bytes      truncated_character, undecodable_bytes, control_characters
  mojibake   double_encoding (UTF-8 read as GBK/Latin-1), mojibake (GBK one byte off),
             mojibake_inferred (a lost byte restored from evidence), unrecoverable (□ left in
             the text, also counted in ``unrecoverable_spans``), pinyin_annotation
  script     script_conversion, tw_phrasing
  wrappers   html, html_entity, html_unparsed, editor_line, front_matter, front_matter_malformed,
             header_form, encyclopedia, encyclopedia_fact_box, encyclopedia_navigation,
             encyclopedia_trailing_list, metadata_box, metadata_value, web_furniture, page_number,
             converter_placeholder, split_count,
             markdown_heading/_quote/_bullet/_link/_emphasis/_image/_rule, attachment_line
  policy     fullwidth_and_spaces, indentation, blank_lines, hard_wrap, heading_label,
             punctuation, spaces_in_text, doc_number_brackets
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

from flows.budget import CHECK_EVERY, check
from flows.normalize.encoding import decode_bytes
from flows.ingest.raw_files import Rejected
from flows.normalize.mojibake import UNRECOVERABLE, repair_double_encoding, repair_gbk_shift, strip_pinyin
from flows.normalize.repairs import Repair, RepairLog
from flows.normalize.script import to_simplified
from flows.normalize.page_wrappers import html_to_text, looks_like_html, strip_wrappers, unescape_entities
from flows.patterns import doc_number
from flows.records import NormalizedDoc

__all__ = ["NormalizedDoc", "Repair", "normalize_bytes", "normalize_text"]



# ---------------------------------------------------------------- character-level folding
_KEEP_FULL = set("，：；（）！？")
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _KEEP_FULL}
_FOLD.update({0x00A0: 0x20, 0x2002: 0x20, 0x2003: 0x20, 0x2004: 0x20, 0x2005: 0x20, 0x2006: 0x20,
              0x2007: 0x20, 0x2008: 0x20, 0x2009: 0x20, 0x200A: 0x20, 0x202F: 0x20, 0x205F: 0x20,
              0x09: 0x20, 0x0B: 0x0A, 0x0C: 0x0A, 0x2028: 0x0A, 0x2029: 0x0A, 0x85: 0x0A,
              0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None, 0xAD: None,
              # corner brackets (Taiwan/Hong Kong copies) are mainland quotes; half-width forms
              0x300C: "“", 0x300D: "”", 0x300E: "‘", 0x300F: "’", 0xFF61: "。", 0xFF64: "、",
              0xFF62: "“", 0xFF63: "”"})
# parenthesised numbers as single characters (⑴, ㈠) are heading labels written in one glyph
_FOLD.update({0x2474 + i: f"（{i + 1}）" for i in range(20)})
_FOLD.update({0x3220 + i: f"（{n}）" for i, n in enumerate("一二三四五六七八九十")})
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in _FOLD) + "]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")  # not U+00AD: a Latin-1 mojibake byte
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = "，。、；：？！（）《》〈〉“”‘’【】〔〕—…·"
_H = f"[{HAN}]"
_HP = f"[{HAN}{_CJK_PUNCT}]"
# before a half-width mark that becomes full-width: Han, Chinese punctuation, or a half-width mark
# that itself becomes full-width in the same pass (so `一!:` needs one pass, not two)
_HPM = f"[{HAN}{_CJK_PUNCT},;:?!]"
_NUM_CN = "一二三四五六七八九十百零〇"

HEADING_LABEL = re.compile(
    rf"^(?:[（(][{_NUM_CN}]+[）)]|[{_NUM_CN}]+、|[（(]\d{{1,3}}[)）]|\d{{1,3}}\.(?!\d)|"
    rf"第[{_NUM_CN}\d]+[章节部分条篇]|[①-⑳]|附件|目\s*录)")

_MD_MARKS = r"^(#{1,6} )?"  # a label may follow the marks of a Markdown heading kept by flows.normalize.page_wrappers
_LABEL_RULES = [  # (pattern at a line start, replacement, kind)
    (re.compile(rf"{_MD_MARKS}[(（][ ]*([{_NUM_CN}]+|\d{{1,3}})[ ]*[)）][ ]*", re.M), r"\1（\2）", "heading_label"),
    (re.compile(rf"{_MD_MARKS}([{_NUM_CN}]+)[ ]*(?:[.．,，][ ]*|、[ ]+)(?=[^\s\d])", re.M), r"\1\2、", "heading_label"),
    (re.compile(rf"{_MD_MARKS}(\d{{1,2}})[ ]*(?:[、．,，]|\.[ ]+|[ ]+\.)[ ]*(?=[{HAN}“《（(])", re.M), r"\1\2.",
     "heading_label"),
    (re.compile(rf"{_MD_MARKS}(\d{{1,2}})[ ]*[)）][ ]*(?=[{HAN}])", re.M), r"\1（\2）", "heading_label"),
]
_MD_HEADING_LINE = re.compile(r"^(#{1,6}) ([^\s#].*)$", re.M)  # the canonical form flows.normalize.page_wrappers leaves
_PUNCT_RULES = [  # (mark, pattern, replacement)
    # each pattern starts with its mark, so the regex engine jumps from mark to mark
    (",", re.compile(rf",(?:(?<={_HPM},)|(?<={_HP} ,)|(?=[ ]*{_H}))"), "，"),
    (";", re.compile(rf";(?:(?<={_HPM};)|(?<={_HP} ;)|(?=[ ]*{_H}))"), "；"),
    (":", re.compile(rf":(?<={_HPM}:)(?!//)"), "："),
    ("?", re.compile(rf"\?(?<={_HPM}\?)"), "？"),
    ("!", re.compile(rf"!(?<={_HPM}!)"), "！"),
    (".", re.compile(rf"\.(?<=[{HAN}%）”》]\.)(?={_H}|$)", re.M), "。"),
]
# a bracket pair with a half-width bracket (a full-width pair stays as it is: not matched at all)
_PAREN_PAIR = re.compile(r"([(（])(?:(?<=\()|(?=[^()（）\n]{0,200}\)))([^()（）\n]{0,200})([)）])")
_HAN_CHAR = re.compile(_H)
_QUOTE_PAIR = re.compile(r'"([^"\n]{1,200})"')
_DOC_OPEN, _DOC_CLOSE = re.escape(doc_number.OPEN), re.escape(doc_number.CLOSE)
# a Han character, an optional space, an opening bracket: written to start with the character
# class of its first character, so that the regex engine scans for it instead of trying the
# look-behind at every position
_DOC_NUMBER = re.compile(rf"[ {_DOC_OPEN}](?:(?<={_H} )[{_DOC_OPEN}]|(?<={_H}[{_DOC_OPEN}]))[ ]?((?:19|20)\d\d)[ ]?[{_DOC_CLOSE}][ ]?(\d{{1,4}})[ ]?号(?:号(?!码))*")
_SPACE_HAN = re.compile(rf" (?<={_HP} )(?={_HP})")  # after runs became one space
_SPACE_HAN_ALNUM = re.compile(rf" (?:(?<={_H} )(?=[A-Za-z0-9])|(?<=[A-Za-z0-9%] )(?={_H}))")
_SPACE_RUN = re.compile(r"  +")
# a full-width line ending like a title, signature or date is a line of its own, not a wrap
_STANDALONE_END = re.compile(r"(?:通知|意见|方案|规划|办法|决定|纲要|计划|要点|细则|报告|公告|通告|批复|"
                             r"政府|办公厅|办公室|委员会|管委会|[局厅]|\d+日|目录)$")
_CONTINUES = tuple("，,、“《（(—")
_SENTENCE_END = tuple("。！？；…”）)」』】!?;:：.")


@cache
def _template(repl: str) -> list[str] | None:
    """A ``\\1``-style template split once into literals (even places) and group numbers (odd
    places); None when it holds other escapes (``re`` then expands it). ``Match.expand`` would
    parse the template again for every match."""
    parts = re.split(r"\\(\d)", repl)
    return None if "\\" in "".join(parts[0::2]) else parts


def _expander(repl: str):
    parts = _template(repl)
    if parts is None:
        return lambda m: m.expand(repl)
    return lambda m: "".join(p if i % 2 == 0 else (m.group(int(p)) or "") for i, p in enumerate(parts))


def _sub(pattern: re.Pattern, repl, text: str, kind: str, repairs: RepairLog) -> str:
    """pattern.sub that records the replacements under ``kind`` (a replacement that changes
    nothing is not a repair). A plain-string ``repl`` runs in C; examples come from finditer.
    A template first runs in C too: when the text comes out unchanged there is nothing to record
    (the usual case: labels and document numbers already in canonical form)."""
    if isinstance(repl, str) and "\\" not in repl:
        new, n = pattern.subn(repl, text)
        if n:
            for k, m in enumerate(pattern.finditer(text)):
                if k >= 3:
                    break
                a = max(0, m.start() - 4)
                repairs.add(kind, text[a:m.end() + 2], text[a:m.start()] + repl + text[m.end():m.end() + 2], n=0)
            repairs.count_only(kind, n)
        return new
    if isinstance(repl, str):
        if pattern.sub(repl, text) == text:
            return text
        repl = _expander(repl)

    def swap(m: re.Match) -> str:
        new = repl(m)
        if new != m.group():
            a = max(0, m.start() - 4)
            repairs.add(kind, text[a:m.end() + 2], text[a:m.start()] + new + text[m.end():m.end() + 2])
        return new
    return pattern.sub(swap, text)


@cache
def _after_newline(pattern: re.Pattern) -> re.Pattern:
    """A line-start rule (`^…` under re.M) as `\\n…`: run on the text after a newline, it finds
    the same matches, but the regex engine jumps from newline to newline instead of trying `^` at
    every character. (The rules never match across a line end.)"""
    assert pattern.pattern.startswith("^") and pattern.flags & re.M
    return re.compile("\n" + pattern.pattern[1:])


def fold_characters(text: str, repairs: RepairLog) -> str:
    if _FOLDABLE.search(text):
        def one(m: re.Match) -> str:
            return m.group().translate(_FOLD)
        text = _sub(_FOLDABLE, one, text, "fullwidth_and_spaces", repairs)
    if _CONTROL.search(text):
        text = _sub(_CONTROL, "", text, "control_characters", repairs)
    return text


def drop_invisible(text: str, repairs: RepairLog) -> str:
    """C0 controls and zero-width characters, before the byte-level repairs (they would split a
    garbled run). C1 controls stay until then: they are bytes of Latin-1 mojibake."""
    if _INVISIBLE.search(text):
        text = _sub(_INVISIBLE, "", text, "control_characters", repairs)
    return text


def _paren(m: re.Match) -> str:
    opening, inner, closing = m.groups()  # one of them half-width (_PAREN_PAIR)
    before = m.string[m.start() - 1] if m.start() else ""
    if _HAN_CHAR.search(inner) or _HAN_CHAR.match(before) or (before and before in _CJK_PUNCT + ",;:?!") \
            or "（" in (opening, closing) or "）" in (opening, closing):
        return f"（{inner}）"
    return m.group()


def punctuate(text: str, repairs: RepairLog) -> str:
    lined = "\n" + text
    for pattern, repl, kind in _LABEL_RULES:
        if _after_newline(pattern).sub("\n" + repl, lined) != lined:
            text = _sub(pattern, repl, text, kind, repairs)
            lined = "\n" + text
    # brackets and quotes first: the marks after them look at what they became
    if "(" in text or ")" in text:
        for _ in range(4):  # nested pairs: inner first
            new = _sub(_PAREN_PAIR, _paren, text, "punctuation", repairs)
            if new == text:
                break
            text = new
    if '"' in text:
        text = _sub(_QUOTE_PAIR, lambda m: f"“{m.group(1)}”" if _HAN_CHAR.search(m.group(1)) else m.group(),
                    text, "punctuation", repairs)
    for mark, pattern, repl in _PUNCT_RULES:
        if mark in text:
            text = _sub(pattern, repl, text, "punctuation", repairs)
    if " " in text:
        text = _SPACE_RUN.sub(" ", text)
        text = _sub(_SPACE_HAN, "", text, "spaces_in_text", repairs)
        text = _sub(_SPACE_HAN_ALNUM, "", text, "spaces_in_text", repairs)
    if "号" in text:
        text = _sub(_DOC_NUMBER, r"〔\1〕\2号", text, "doc_number_brackets", repairs)
    return text


def _is_heading(line: str) -> bool:
    return bool(HEADING_LABEL.match(line))


def _wrap_width(lines: list[str]) -> int | None:
    """The width a hard-wrapped document was cut at, or None when it is not hard-wrapped."""
    long_lines = [len(l) for l in lines if len(l) >= 20]
    if len(long_lines) < 3:
        return None
    width, count = Counter(long_lines).most_common(1)[0]
    near = sum(1 for n in long_lines if width - 1 <= n <= width + 1)
    return width if near >= 3 and near >= 0.4 * len(long_lines) and width <= 120 else None


_CLOSERS = tuple("》）)”’」』】〕，,。、；;：！？…")


def _unbalanced(line: str) -> bool:
    """An opening mark left open (half- and full-width alike: punctuation may convert them)."""
    return line.count("《") > line.count("》") or line.count("“") > line.count("”") \
        or line.count("（") + line.count("(") > line.count("）") + line.count(")")


def _joinable(line: str, nxt: str, width: int | None) -> bool:
    """Whether ``nxt`` continues ``line`` (the line was cut mid-sentence)."""
    if width is None and line.endswith(_SENTENCE_END):
        # the usual line (shortcut of the rules below): ended, in a text not hard-wrapped, so only
        # a closing mark starting the next line joins it (no heading starts with one)
        return nxt.startswith(_CLOSERS) and not line.startswith(("|", "#"))
    if not line or not nxt or line.startswith(("|", "#")) or nxt.startswith(("|", "#")) or _is_heading(nxt):
        return False  # a Markdown heading is one line by definition
    if nxt.startswith(_CLOSERS):
        return True  # no line starts with a closing mark: it was cut off its sentence
    at_width = width is not None and len(line) >= width - 1 and not line.endswith(_SENTENCE_END)
    if _is_heading(line):
        # a heading stays on its own line unless the text is hard-wrapped and cut it at full width
        return at_width and len(line) >= width
    if line.endswith(_CONTINUES) and len(line) >= 6:
        return True
    if _unbalanced(line) and not line.endswith(_SENTENCE_END):
        return True
    return at_width and not _STANDALONE_END.search(line)


def layout(text: str, repairs: RepairLog) -> str:
    raw_lines = text.split("\n")
    lines = []
    for line in raw_lines:
        s = line.strip(" \t\u3000\xa0")
        if s != line and s:
            repairs.add("indentation", line[:12], s[:12], n=1)
        lines.append(s)
    width = _wrap_width(lines)
    out: list[str] = []
    blank_run = 0
    for k, line in enumerate(lines):
        if not k % CHECK_EVERY:
            check()
        if not line:
            blank_run += 1
            continue
        if blank_run and out:
            repairs.add("blank_lines", f"{blank_run} blank line(s)", "(removed)", n=1)
        blank_run = 0
        # blank lines do not decide joins: the output has none, and a second pass must agree
        if out and _joinable(out[-1], line, width):
            # fixed-width wrapping cuts anywhere, even inside a number or word: join without a space
            repairs.add("hard_wrap", out[-1][-10:] + "⏎" + line[:10], out[-1][-10:] + line[:10])
            out[-1] = out[-1] + line
        else:
            out.append(line)
    return "\n".join(out)


def settle_markdown_headings(text: str, repairs: RepairLog) -> tuple[str, bool]:
    """Keep the marks of Markdown headings only where they say something a line cannot.

    An unlabelled heading (`## 背景`) keeps its marks: they are all that makes it a heading. A
    labelled one (`## 一、总体要求`) loses them, its label carries the level, unless the document
    also has unlabelled section headings: then every heading keeps its marks so that their depths
    relate the two kinds (`## 背景` is a sibling of `## 一、…`, `### 工作目标` a child). A first
    heading that is the lone top one or is named like a document (…方案) is the title, not a section. Marks on a line that names nothing
    (no Han, or a field label ending in a colon) are dropped. Returns the text and whether it
    changed."""
    if "#" not in text:
        return text, False
    found = [(m, bool(HEADING_LABEL.match(m.group(2)))) for m in _MD_HEADING_LINE.finditer(text)]
    headings = [(m, labelled) for m, labelled in found
                if labelled or (_HAN_CHAR.search(m.group(2)) and not m.group(2).endswith(("：", ":")))]
    # Unlabelled headings below the deepest labelled one are run-in subheads of a numbered item
    # (`###### ——数字底座更加坚实` under `##### （1）`): plain lines, marks dropped, like the
    # labels' own marks; they relate no depths.
    deepest = max((len(m.group(1)) for m, labelled in headings if labelled), default=7)
    headings = [(m, labelled) for m, labelled in headings if labelled or len(m.group(1)) <= deepest]
    unlabelled = [m for m, labelled in headings if not labelled]
    if unlabelled and unlabelled[0] is headings[0][0]:
        depths = [len(m.group(1)) for m, _ in headings]
        lone_top = depths.count(min(depths)) == 1 and depths[0] == min(depths)
        if lone_top or _STANDALONE_END.search(unlabelled[0].group(2)):
            unlabelled = unlabelled[1:]  # the title (`# 某市…方案` may share its depth with `# 一、…`)
    keep = {m.start() for m, labelled in headings if not labelled or unlabelled}
    if len(keep) == len(found):
        return text, False

    def settle(m: re.Match) -> str:
        if m.start() in keep:
            return m.group()
        repairs.add("markdown_heading", m.group(), m.group(2))
        return m.group(2)
    return _MD_HEADING_LINE.sub(settle, text), True


def apply_policy(text: str, repairs: RepairLog) -> str:
    text = layout(text, repairs)
    text = punctuate(text, repairs)
    text, settled = settle_markdown_headings(text, repairs)  # after punctuate: labels are canonical
    # punctuation may have made a line end mid-sentence (`(` -> `（`), a heading that lost its
    # marks may be a wrapped line's start: lay out again
    return layout(text, repairs) if settled or "，\n" in text or "、\n" in text or "（\n" in text else text


# ---------------------------------------------------------------- the stage
def _normalize_once(text: str, raw_encoding: str, repairs: RepairLog, html: bool = False,
                    known_script: str | None = None) -> NormalizedDoc:
    meta: dict[str, Any] = {}
    attachments: list[dict[str, Any]] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text and (looks_like_html(text) or (html and "</" in text)):
        text = html_to_text(text, repairs, meta, attachments)
    text = unescape_entities(text, repairs)
    text = drop_invisible(text, repairs)
    text, lost = repair_double_encoding(text, repairs)
    if _CONTROL.search(text):  # C1 controls left once Latin-1 mojibake is undone are noise
        text = _sub(_CONTROL, "", text, "control_characters", repairs)
    text, shifted_lost = repair_gbk_shift(text, repairs)
    lost += shifted_lost
    if "\ufffd" in text:
        n = text.count("\ufffd")
        repairs.add("unrecoverable", "U+FFFD (undecodable bytes)", UNRECOVERABLE, n=n)
        text = text.replace("\ufffd", UNRECOVERABLE)
        lost += n
    text = strip_pinyin(text, repairs)
    text = fold_characters(text, repairs)  # after the byte-level repairs, which need ５ as A3B5
    check()
    text, script = to_simplified(text, repairs, known_script)
    text, wrapper_meta, wrapper_attachments = strip_wrappers(text, repairs)
    check()
    for k, v in wrapper_meta.items():
        meta.setdefault(k, v)
    attachments.extend(wrapper_attachments)
    text = apply_policy(text, repairs)
    return NormalizedDoc(text=text, raw_encoding=raw_encoding, script=script, meta=meta,
                      attachments=attachments, unrecoverable_spans=lost)


MAX_PASSES = 3


def normalize_text(text: str, raw_encoding: str = "utf-8", repairs: RepairLog | None = None,
                   html: bool = False) -> NormalizedDoc:
    """Normalize a decoded text (``html``: the file was saved as a web page). Raises
    ``Rejected("no_text")`` when nothing usable is left."""
    repairs = repairs or RepairLog()
    result = _normalize_once(text, raw_encoding, repairs, html)
    # Rules can uncover work for each other (a stripped wrapper exposes another); run to a
    # fixpoint so that normalization is idempotent. A clean text needs one extra pass.
    for _ in range(MAX_PASSES - 1):
        again = _normalize_once(result.text, raw_encoding, repairs, known_script=result.script)
        if again.text == result.text:
            break
        for k, v in again.meta.items():
            result.meta.setdefault(k, v)
        result.attachments.extend(again.attachments)
        result.unrecoverable_spans += again.unrecoverable_spans
        result.text = again.text
    if not result.text.strip(" \n" + UNRECOVERABLE):
        raise Rejected("no_text", "no text is left after stripping wrappers")
    if not _HAN_CHAR.search(result.text):
        raise Rejected("no_text", f"no Chinese characters in {len(result.text)} characters of text")
    result.repairs = repairs.as_list()
    return result


def normalize_bytes(data: bytes, source_file: str = "") -> NormalizedDoc:
    repairs = RepairLog()
    text, encoding = decode_bytes(data, repairs)
    html = source_file.lower().endswith((".html", ".htm", ".shtml", ".xhtml"))
    return normalize_text(text, raw_encoding=encoding, repairs=repairs, html=html)
