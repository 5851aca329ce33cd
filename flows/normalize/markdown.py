"""Markdown copies of official pages: heading marks made canonical, emphasis, bullets, rules, links
and images stripped, attachment links listed."""
from __future__ import annotations

import re
from typing import Any

from flows.normalize.repairs import RepairLog
from flows.records import Attachments

_ATTACHMENT_EXT = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|ofd|zip|rar|7z|et|pptx?|csv)(?:[?#].*)?$", re.I)


# ---------------------------------------------------------------- Markdown
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"']([^\"'\n]*)[\"'])?\s*\)")


_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^\"'\n]*[\"'])?\s*\)")
_ATTACHMENT_LINE = re.compile(r"^[^\S\n]*(?:#{1,6}[^\S\n]*)?附\s*件\s*(\d*)\s*[:：]\s*(.+?)\s*$")
_ATTACHMENT_ITEM = re.compile(r"^\s*\d{1,2}\s*[.．、]\s*(\S.{0,60})$")
_MD_HEADING = re.compile(r"^[^\S\n]*(#{1,6})([^\S\n]*)(?=\S)(?!#)")


# a closing run (`## 背景 ##`); `C#` keeps its mark
_MD_CLOSING = re.compile(r"(?<![A-Za-z0-9+])[^\S\n]*#+[^\S\n]*$")


_TAG_END = re.compile(r"[^\s#]#")
CANONICAL_HEADING = re.compile(r"^(#{1,6}) (?=[^\s#])")  # what _markdown_heading leaves
_MD_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_MD_BULLET = re.compile(r"^(\s*)[-*+•●▪◆■][ \t]+(?=\S)")
_MD_STARTS = set("|#>-*+•●▪◆■")
_MD_LINE_STARTS = _MD_STARTS | set("-*_")  # first characters of marks, bullets and rules
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def _attachment_from(value: str) -> dict[str, Any]:
    link = _LINK.search(value)
    if link:
        return dict(kind="attachment", name=link.group(1).strip(), uri=link.group(2) or None)
    return dict(kind="attachment", name=value.strip() or None, uri=None)


def _markdown_heading(line: str) -> str:
    """A Markdown heading in canonical form, `#`×depth, one space, the text (closing marks
    dropped). The marks stay: an unlabelled heading (`## 背景`) has nothing else to say it is one.
    Normalization drops them again where a label carries the level (flows.normalize.text)."""
    m = _MD_HEADING.match(line)
    if m is None:
        return line if line.strip().strip("#").strip() else ""  # `##` alone: an empty heading
    content = line[m.end():].rstrip()
    if not m.group(2) and _TAG_END.search(content):
        return content  # `#数字政府# 话题`: a topic tag, not a heading (`##背景 ##` is one)
    content = _MD_CLOSING.sub("", content)
    return f"{m.group(1)} {content}" if content.strip("#").strip() else ""


def bare_line(line: str) -> str:
    """A line without surrounding spaces and heading marks: what page parsers compare."""
    line = line.strip()
    return CANONICAL_HEADING.sub("", line) if line.startswith("#") else line


def _strip_line_marks(line: str, repairs: RepairLog) -> str:
    """Heading marks, quote marks and bullets at a line start, however they are stacked."""
    while True:
        s = line.lstrip()
        if not s or s[0] not in _MD_STARTS or s[0] == "|":
            return line
        if s[0] == "#":
            new = _markdown_heading(line)
            if new != line:
                repairs.add("markdown_heading", line.strip(), new.strip())
            m = CANONICAL_HEADING.match(new)
            if m:  # `## > 背景`, `## - 背景`: the heading's text without quote or bullet marks
                text = _strip_line_marks(new[m.end():], repairs).strip()
                new = m.group() + text if text else ""
            return new
        if s[0] == ">":
            new = re.sub(r"^\s*(?:>\s?)+", "", line)
            kind = "markdown_quote"
        else:
            new = _MD_BULLET.sub(r"\1", line)
            kind = "markdown_bullet"
        if new == line:
            return line
        repairs.add(kind, line.strip(), new.strip())
        line = new


def strip_markdown(lines: list[str], repairs: RepairLog, attachments: Attachments) -> list[str]:
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.lstrip()[:1] not in _MD_LINE_STARTS and "附" not in line and "![" not in line \
                and "](" not in line and "**" not in line and "__" not in line:
            out.append(line)  # nothing below applies to it (the usual line: a shortcut)
            continue
        if line[:1] in "-*_ " and _MD_RULE.match(line):
            if line.strip():
                repairs.add("markdown_rule", line.strip(), "(removed)")
            continue
        line = _strip_line_marks(line, repairs)
        if not line.strip() and lines[i - 1].strip():
            continue  # a line of Markdown marks only
        if _MD_RULE.match(line):
            repairs.add("markdown_rule", line.strip(), "(removed)")
            continue
        if "![" in line:
            for m in _IMAGE.finditer(line):
                attachments.append(dict(kind="image", name=m.group(1).strip() or m.group(3) or None,
                                        uri=m.group(2) or None))
                repairs.add("markdown_image", m.group()[:50], "(to attachments)")
            line = _strip_line_marks(_IMAGE.sub("", line), repairs)
            if not line.strip() or _MD_RULE.match(line):
                continue
        m = _ATTACHMENT_LINE.match(line) if "附" in line else None
        if m:
            attachments.append(_attachment_from(m.group(2)))
            repairs.add("attachment_line", line.strip(), "(to attachments)")
            if re.match(r"\s*1\s*[.．、]", m.group(2)):  # 附件：1.… 2.… one per line
                while i < len(lines) and _ATTACHMENT_ITEM.match(lines[i]) and "。" not in lines[i]:
                    attachments.append(_attachment_from(_ATTACHMENT_ITEM.match(lines[i]).group(1)))
                    repairs.add("attachment_line", lines[i].strip(), "(to attachments)")
                    i += 1
            continue
        if line.lstrip().startswith("|"):
            out.append(line)  # tables stay tables
            continue
        if "](" in line:
            for m in _LINK.finditer(line):
                if _ATTACHMENT_EXT.search(m.group(2)):
                    attachments.append(dict(kind="attachment", name=m.group(1), uri=m.group(2)))
                repairs.add("markdown_link", m.group()[:50], m.group(1))
            line = _LINK.sub(r"\1", line)
        if "**" in line or "__" in line:
            new = _MD_EMPHASIS.sub(r"\2", line)
            if new != line:
                repairs.add("markdown_emphasis", line.strip(), new.strip())
                line = new
        out.append(line)
    return out
