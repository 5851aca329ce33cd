"""Saved web pages (issue 23): body text by trafilatura, metadata box, tables and title from the
raw HTML. Every page here is invented."""

from __future__ import annotations

import hashlib

import pytest

from flows.normalize.web_pages import headline, read_page
from flows.ingest.raw_files import RawDoc
from flows.pipeline import process_document

PLAN_BODY = (
    "<p>各市人民政府，省政府各部门：</p>"
    "<p>《某省数字政府建设行动方案》已经省政府同意，现印发给你们，请认真贯彻执行。</p>"
    "<p style=\"text-align:right\">某省人民政府办公厅</p><p style=\"text-align:right\">2024年3月1日</p>"
    "<p>某省数字政府建设行动方案</p>"
    "<p>一、总体要求</p>"
    "<p>到2025年，政务服务事项全程网办率达到95%，基本建成整体协同的数字政府。</p>"
    "<p>二、主要指标</p>"
    "<table border=\"1\"><tr><td>指标</td><td>2023年</td><td>2025年</td></tr>"
    "<tr><td>电子证照用证率</td><td>60%</td><td>90%</td></tr></table>"
    "<p>三、保障措施</p>"
    "<p>各地要加强组织领导，确保各项任务落到实处。</p>"
)
BOX_TABLE = (
    "<table class=\"xxgk\">"
    "<tr><td>索引号：</td><td>11000000A00/2024-00012</td><td>主题分类：</td><td>综合政务</td></tr>"
    "<tr><td>发布机构：</td><td>某省人民政府办公厅</td><td>成文日期：</td><td>2024-03-01</td></tr>"
    "<tr><td>发文字号：</td><td>某政办发〔2024〕5号</td><td>发布日期：</td><td>2024-03-05</td></tr></table>"
)
FURNITURE = (
    "<div class=\"info\">发布日期：2024-03-05 浏览次数：<span>128</span> 【打印】【关闭】 字体：[大 中 小]</div>"
)
FOOTER = "<div class=\"footer\">主办单位：某省人民政府办公厅 版权所有 ICP备12345号</div>"


def aspnet_page(box: str = BOX_TABLE, body: str = PLAN_BODY, head: str = "") -> str:
    """The ASP.NET layout: the whole page inside one <form>, view state included."""
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
        "<title>某省人民政府办公厅关于印发某省数字政府建设行动方案的通知_政府文件_某省人民政府门户网站</title>"
        f"{head}</head><body><form id=\"form1\" method=\"post\" action=\"./Detail.aspx\">"
        "<input type=\"hidden\" name=\"__VIEWSTATE\" value=\"dDwtMTA4MzE0MjE2NTs7Pg==\" />"
        "<div class=\"nav\">首页 &gt; 政府信息公开 &gt; 政府文件</div>"
        f"{box}<div class=\"article\"><h1>某省人民政府办公厅关于印发某省数字政府建设行动方案的通知</h1>"
        f"{FURNITURE}<div class=\"content\" id=\"zoom\">{body}</div></div>"
        f"<div class=\"share\">分享到：微信 微博</div>{FOOTER}</form></body></html>"
    )


def run(page: str, name: str = "page.html") -> dict:
    data = page.encode("utf-8")
    return process_document(RawDoc(name, hashlib.sha256(data).hexdigest(), data))


def the_doc(rows: dict) -> dict:
    assert not rows["rejects"], rows["rejects"]
    (doc,) = rows["documents"]
    return doc


def test_a_page_inside_a_form_is_read_not_rejected():
    doc = the_doc(run(aspnet_page()))
    text = doc["text"]
    assert "一、总体要求" in text and "全程网办率达到95%" in text and "各地要加强组织领导" in text
    for furniture in ("浏览次数", "打印", "字体", "分享到", "版权所有", "首页", "VIEWSTATE", "dDwt"):
        assert furniture not in text, furniture


@pytest.mark.parametrize("box", [
    BOX_TABLE,
    # labelled list items
    "<ul class=\"xxgk\"><li><b>索引号：</b><span>11000000A00/2024-00012</span></li>"
    "<li><b>发布机构：</b><span>某省人民政府办公厅</span></li><li><b>成文日期：</b><span>2024-03-01</span></li>"
    "<li><b>发文字号：</b><span>某政办发〔2024〕5号</span></li></ul>",
    # label over value, in divs
    "<div class=\"box\"><div>索引号</div><div>11000000A00/2024-00012</div><div>发布机构</div>"
    "<div>某省人民政府办公厅</div><div>发文字号</div><div>某政办发〔2024〕5号</div>"
    "<div>成文日期</div><div>2024-03-01</div></div>",
])
def test_the_metadata_box_is_read_from_the_raw_html(box):
    doc = the_doc(run(aspnet_page(box=box)))
    assert doc["doc_number"] == "某政办发〔2024〕5号"
    assert doc["issuer"] == "某省人民政府办公厅"
    assert str(doc["issue_date"]) == "2024-03-01"
    assert "11000000A00" not in doc["text"] and "索引号" not in doc["text"]


def test_an_indicator_table_stays_a_table_where_it_stood():
    rows = run(aspnet_page())
    text = the_doc(rows)["text"]
    lines = text.splitlines()
    table = [i for i, ln in enumerate(lines) if ln.startswith("|")]
    assert [lines[i] for i in table] == ["| 指标 | 2023年 | 2025年 |", "| 电子证照用证率 | 60% | 90% |"]
    assert lines[table[0] - 1] == "二、主要指标" and lines[table[-1] + 1] == "三、保障措施"
    assert {(m["value"], m["target_year"]) for m in rows["metrics"] if m["indicator"] == "电子证照用证率"} >= {(90.0, 2025)}


def test_the_title_is_the_headline_not_the_window_title():
    doc = the_doc(run(aspnet_page()))
    assert doc["title"] == "某省数字政府建设行动方案"
    assert doc["notice_title"] == "某省人民政府办公厅关于印发某省数字政府建设行动方案的通知"


@pytest.mark.parametrize("page, want", [
    ("<html><head><title>某市数字政府建设实施方案_通知公告_某市人民政府</title></head><body></body></html>",
     "某市数字政府建设实施方案"),
    ("<html><head><title>某县数字政府三年行动计划 - 某县人民政府网</title></head><body></body></html>",
     "某县数字政府三年行动计划"),
    ("<html><head><title>站点首页</title><meta name=\"ArticleTitle\" content=\"某省政务服务提升方案\"></head>"
     "<body><h1>另一个标题很长很长</h1></body></html>", "某省政务服务提升方案"),
    ("<html><head><title>某区政府网</title></head><body><h1>某区数字政府建设工作要点</h1></body></html>",
     "某区数字政府建设工作要点"),
])
def test_headline_variants(page, want):
    import lxml.html

    tree = lxml.html.document_fromstring(page)
    meta = {m.get("name").lower(): m.get("content") for m in tree.iter("meta") if m.get("name")}
    assert headline(tree, meta) == want


def test_a_layout_table_is_left_to_the_text_extractor():
    paragraphs = "".join(f"<p>{'某项工作要求持续推进并取得实效，' * 20}第{i}段。</p>" for i in range(5))
    page = ("<html><body><table><tr><td><div>网站导航</div></td></tr><tr><td>"
            f"<div class=\"content\"><p>一、总体要求</p>{paragraphs}</div></td></tr></table></body></html>")
    doc = the_doc(run(page))
    assert "一、总体要求" in doc["text"] and "第4段" in doc["text"] and "|" not in doc["text"]


def test_a_page_too_short_for_the_extractor_keeps_its_own_text():
    page = "<html><body><form><p>一、总体要求</p><p>推进数字政府建设。</p></form></body></html>"
    doc = the_doc(run(page))
    assert doc["text"] == "一、总体要求\n推进数字政府建设。"


def test_a_page_without_chinese_text_is_still_rejected():
    rows = run("<html><body><form><div>Login</div><input type=\"text\" /></form></body></html>")
    assert [r["reason"] for r in rows["rejects"]] == ["no_text"]


def test_read_page_falls_back_when_nothing_is_found():
    page = read_page("<html><body></body></html>", lambda line: False, "某段正文")
    assert page.extractor == "page" and page.text == "某段正文"
