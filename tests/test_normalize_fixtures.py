"""A folder of invented, differently damaged copies of one invented plan: all come out clean.

The copies are generated here (no committed binaries): each wraps, encodes or damages the same
plan in another way real copies do, and every one must normalize to the same plan text.
"""

from __future__ import annotations

import codecs
import re

import pytest

from flows.normalize.text import normalize_bytes, normalize_text
from flows.normalize.script import tw_phrase_table

from .test_mojibake import damage

PLAN = """某市人民政府关于加快推进数字政府建设的实施意见
某政发〔2024〕9号
各县（区）人民政府，市政府各部门：
为贯彻落实《国务院关于加强数字政府建设的指导意见》（国发〔2022〕14号）精神，结合我市实际，提出如下实施意见。
一、总体要求
（一）指导思想。坚持以人民为中心，推进政务服务“一网通办”，提升城市治理能力。
（二）主要目标。到2025年，政务服务事项网上可办率达到95%以上，IPv6规模部署全面完成，数字政府体系框架基本形成，城市治理能力显著提升。到2035年，整体协同、敏捷高效的数字政府基本建成。
二、主要任务
1.建设统一的政务云平台，推动数据共享，提升城市治理能力。
2.完善公共数据开放机制，加强数据安全保护。到2027年，公共数据开放数据集达到500个。
（1）建立数据分类分级制度。
（2）强化网络安全监测预警。
三、保障措施
（一）加强组织领导。
某市人民政府
2024年3月1日"""
BODY = PLAN[PLAN.index("一、总体要求"):PLAN.index("\n某市人民政府\n")]


def s2t(text: str, config: str = "s2t") -> str:
    import opencc

    return opencc.OpenCC(config).convert(text)


def sloppy(text: str) -> str:
    """Half-width and full-width punctuation mixed, labels in other shapes, numbers in brackets."""
    text = text.replace("（一）", "(一)").replace("（二）", "(二) ").replace("1.", "1、").replace("2.", "２．")
    text = text.replace("，", ",").replace("〔", "[").replace("〕", "]").replace("2025", "２０２５")
    return text.replace("“", '"').replace("”", '"').replace("（1）", "(1)")


def indented(text: str, newline: str = "\r\n") -> str:
    return newline.join("\u3000\u3000" + line + newline for line in text.split("\n"))


def taiwan(text: str) -> str:
    """Traditional script with Taiwan phrasing, as a tw-converting site produces it."""
    table, _, _ = tw_phrase_table()
    back = {"数字政府": "数位政府", "数据共享": "资料共享", "网络安全": "网路安全", "数据安全": "资料安全",
            "平台": "平台", "应用": "套用"}
    for mainland, tw in back.items():
        assert table.get(tw, mainland) == mainland or tw == mainland
        text = text.replace(mainland, tw)
    return s2t(text, "s2tw")  # Taiwan standard characters (為, not OpenCC's 爲): Big5 has them


def html_page(text: str) -> str:
    paragraphs = "".join(f"<p style=\"text-indent:2em\">{line.replace('“', '&ldquo;').replace('”', '&rdquo;')}</p>\n"
                         for line in text.split("\n"))
    return ("<!DOCTYPE html><html><head><meta charset=\"gb18030\"><title>实施意见</title>"
            "<script>document.write('<p>一、广告</p>')</script></head><body>"
            "<div class=\"nav\">当前位置：首页 &gt; 政务公开</div>"
            "<table class=\"box\"><tr><td>索引号：</td><td>000000/2024-0001</td><td>发文字号：</td><td>某政发〔2024〕9号</td></tr></table>"
            f"<div class=\"article\">{paragraphs}</div><div>【打印】【关闭】</div><div>浏览次数：321</div></body></html>")


def markdown_with_pinyin(text: str) -> str:
    text = text.replace("一、总体要求", "## 一、总体要求").replace("二、主要任务", "## 二、主要任务")
    text = text.replace("三、保障措施", "## 三、保障措施").replace("（一）指导思想", "### （一）指导思想")
    text = text.replace("政务服务", "政务(wù)服务").replace("治理", "治(zhì)理")
    return ('---\ntitle:\t"某市人民政府关于加快推进数字政府建设的实施意见"\nsubtitle: "某政发〔2024〕9号"\n'
            "date: 2024-03-01\n---\n\n" + text.replace("\n", "\n\n") + "\n\n![结构图](img/a.png)\n")


def mojibake_headings(text: str) -> str:
    """Traditional copy whose （…） headings were decoded one byte off, as in GBK web copies."""
    lines = []
    for line in indented(s2t(text), "\n").split("\n"):
        lines.append(damage(line, 1) if line.startswith("\u3000\u3000（") else line)
    return "\n".join(lines)


def hard_wrapped(text: str, width: int = 24) -> str:
    out = []
    for line in text.split("\n"):
        out.extend(line[i:i + width] for i in range(0, len(line), width))
    return "\n".join(out)


COPIES = {
    "gbk_crlf_indented_sloppy.txt": lambda: indented(sloppy(PLAN)).encode("gbk"),
    "utf16_traditional.txt": lambda: codecs.BOM_UTF16_LE + s2t(PLAN).encode("utf-16-le"),
    "big5_taiwan_phrasing.txt": lambda: taiwan(PLAN).encode("big5"),
    "page.html": lambda: html_page(PLAN).encode("gb18030"),
    "markdown_pinyin.md": lambda: markdown_with_pinyin(PLAN).encode("utf-8"),
    "mojibake_headings.txt": lambda: mojibake_headings(PLAN).encode("utf-8"),
    "hard_wrapped.txt": lambda: codecs.BOM_UTF8 + hard_wrapped(PLAN).encode("utf-8"),
    # saved by a tool that had read the UTF-8 page as Latin-1
    "utf8_read_as_latin1.txt": lambda: PLAN.encode("utf-8").decode("latin-1").encode("utf-8"),
}


@pytest.fixture(scope="module")
def damaged_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    for name, make in COPIES.items():
        (folder / name).write_bytes(make())
    return folder


@pytest.mark.parametrize("name", sorted(COPIES))
def test_every_damaged_copy_comes_out_as_the_plan(damaged_folder, name):
    result = normalize_bytes((damaged_folder / name).read_bytes(), name)
    assert BODY in result.text, f"{name}:\n{result.text}"
    assert normalize_text(result.text).text == result.text
    assert not re.search(r"[\ue000-\uf8ff\u3100-\u312f\u2500-\u257f<>#?]", result.text)
    assert result.unrecoverable_spans == 0
    assert result.repairs or name == "clean"


def test_the_copies_differ_in_the_way_they_say(damaged_folder):
    seen = {name: normalize_bytes((damaged_folder / name).read_bytes(), name) for name in COPIES}
    assert seen["utf16_traditional.txt"].raw_encoding == "utf-16-le"
    assert seen["utf16_traditional.txt"].script == "traditional"
    assert seen["big5_taiwan_phrasing.txt"].raw_encoding == "big5"
    assert seen["big5_taiwan_phrasing.txt"].script == "traditional_tw"
    assert seen["gbk_crlf_indented_sloppy.txt"].raw_encoding == "gbk"
    assert seen["page.html"].meta["index_no"] == "000000/2024-0001"
    assert seen["markdown_pinyin.md"].meta["doc_number"] == "某政发〔2024〕9号"
    assert {"kind": "image", "name": "结构图", "uri": "img/a.png"} in seen["markdown_pinyin.md"].attachments
    damaged_lines = sum(1 for line in PLAN.split("\n") if line.startswith("（"))
    assert any(r.kind == "mojibake" and r.count == damaged_lines for r in seen["mojibake_headings.txt"].repairs)
    assert any(r.kind == "hard_wrap" for r in seen["hard_wrapped.txt"].repairs)
    # the full text (notice wrapper included) is identical wherever the copy kept it
    full = {name: r.text for name, r in seen.items() if name not in ("markdown_pinyin.md",)}
    assert all(text == PLAN for text in full.values()), {k: v for k, v in full.items() if v != PLAN}
