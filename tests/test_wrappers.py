"""Wrappers: front matter, header form, encyclopedia pages, web boxes and furniture, HTML, Markdown."""

from __future__ import annotations

import pytest

from flows.normalize.text import normalize_text
from flows.normalize.repairs import RepairLog
from flows.normalize.page_wrappers import is_furniture, strip_wrappers

BODY = "一、总体要求\n（一）指导思想。推进数字政府建设。\n二、主要任务\n"


def wrap(text: str):
    repairs = RepairLog()
    body, meta, attachments = strip_wrappers(text, repairs)
    return body, meta, attachments, repairs


def test_front_matter_with_tabs_goes_to_meta():
    text = ('---\nlayout: \tegov\ntitle: \t"某省数字政府建设实施方案"\nsubtitle:\t"某政发〔2024〕5号"\n'
            'date: \t\t2024-02-03 00:00:00\nauthor: "某省人民政府办公厅"\nunit: "某省"\n'
            'source: "https://www.example.gov.cn/a.html"\n---\n\n' + BODY)
    body, meta, _, repairs = wrap(text)
    assert body.strip() == BODY.strip()
    assert meta["title"] == "某省数字政府建设实施方案"
    assert meta["doc_number"] == "某政发〔2024〕5号"
    assert meta["date"] == "2024-02-03"
    assert meta["author"] == "某省人民政府办公厅" and meta["unit"] == "某省"
    assert meta["source_url"] == "https://www.example.gov.cn/a.html"
    assert meta["front_matter"]["layout"] == "egov"
    assert repairs.count("front_matter") == 1


def test_subtitle_that_is_not_a_number_stays_a_subtitle():
    _, meta, _, _ = wrap('---\ntitle: 方案\nsubtitle: "征求意见稿"\n---\n' + BODY)
    assert meta["subtitle"] == "征求意见稿" and "doc_number" not in meta


def test_malformed_front_matter_is_recorded_and_body_processed():
    text = '---\ntitle: "某市数字政府规划\ndate: [2023-01-01\n  bad: : :\n---\n' + BODY
    result = normalize_text(text)
    assert result.text.startswith("一、总体要求")
    assert "front_matter_error" in result.meta
    assert any(r.kind == "front_matter_malformed" for r in result.repairs)


def test_yaml_tags_never_execute(tmp_path):
    marker = tmp_path / "pwned"
    text = ("---\ntitle: x\nexploit: !!python/object/apply:os.system ['touch " + str(marker) + "']\n"
            "other: !!python/object/new:os.system ['touch " + str(marker) + "']\n---\n" + BODY)
    result = normalize_text(text)
    assert not marker.exists()
    assert result.text.startswith("一、总体要求")
    assert "exploit" not in result.meta.get("front_matter", {})
    assert result.meta["title"] == "x"


def test_header_form_and_coding_line():
    text = ("# -*- coding: utf-8 -*-\n\n## 政策标题：\n某省人民政府关于印发某省数字政府\n建设方案的通知\n\n"
            "## 政策来源：\n某省人民政府\n\n## 政策内容：\n某省人民政府关于印发某省数字政府建设方案的通知\n" + BODY)
    body, meta, _, repairs = wrap(text)
    assert meta["notice_title"] == "某省人民政府关于印发某省数字政府 建设方案的通知"
    assert meta["issuer"] == "某省人民政府"
    assert meta["title"] == meta["notice_title"]
    assert "coding" not in body and "政策" not in body
    assert body.strip().startswith("某省人民政府关于印发")
    assert repairs.count("editor_line") == 1 and repairs.count("header_form") == 1


def test_encyclopedia_page():
    text = ("某市关于推进数字政府建设的意见\n《某市关于推进数字政府建设的意见》是为推进数字政府建设制定的意见。\n\n"
            "基本介绍\n\n  • 中文名:某市关于推进数字政府建设的意见\n  • 印发机关:某市人民政府\n"
            "  • 印发日期: 2022年5月6日\n  • 发文字号: 某政发〔2022〕7号\n意见全文,内容解读,\n\n意见全文\n"
            + BODY + "内容解读\n《意见》共分为五个部分。\n\n相关词条\n\n热门词条\n\n联络我们\n")
    body, meta, _, _ = wrap(text)
    assert meta["title"] == "某市关于推进数字政府建设的意见"
    assert meta["issuer"] == "某市人民政府"
    assert meta["date"] == "2022-05-06" and meta["doc_number"] == "某政发〔2022〕7号"
    assert meta["page_kind"] == "encyclopedia"
    for gone in ("基本介绍", "中文名", "意见全文,内容解读", "相关词条", "热门词条", "联络我们"):
        assert gone not in body
    assert "内容解读\n《意见》共分为五个部分。" in body  # the interpretation block is kept
    assert "意见全文\n一、总体要求" in body


@pytest.mark.parametrize("box", [
    "索引号 | 11530000/2023-01234 | 发文字号 | 某政办发〔2023〕12号号 |\n关键词 | 发布机构 | 某省政务服务管理局 | |\n"
    "公开形式 | 责任部门 | ||\n生成日期 | 2023-05-13 13:29:50 | 是否有效 |\n",
    "索引号：11530000/2023-01234  发文字号：某政办发〔2023〕12号\n发布机构：某省政务服务管理局  生成日期：2023年5月13日\n",
    "索引号\n11530000/2023-01234\n发文字号\n某政办发〔2023〕12号\n发布机构\n某省政务服务管理局\n发布日期\n2023-05-13\n",
])
def test_metadata_box_forms(box):
    text = "某省人民政府办公厅关于印发某省数字政府规划的通知\n" + box + "各市人民政府：\n" + BODY
    body, meta, _, _ = wrap(text)
    assert meta["index_no"] == "11530000/2023-01234"
    assert meta["doc_number"] == "某政办发〔2023〕12号"
    assert meta["publisher"] == "某省政务服务管理局"
    assert meta["publish_date"] == "2023-05-13"
    assert "索引号" not in body and "发文字号" not in body and "11530000" not in body
    assert body.startswith("某省人民政府办公厅关于印发") and "各市人民政府：" in body


def test_a_data_table_with_a_source_column_is_not_a_box():
    table = "| 序号 | 指标 | 来源 | 目标值 |\n| --- | --- | --- | --- |\n| 1 | 政务服务事项网办率 | 省政务办 | 90% |\n"
    body, meta, _, _ = wrap(table)
    assert body == table and "source" not in meta


@pytest.mark.parametrize("line", ["【打印】【关闭】", "【字体：大 中 小】【打印】", "浏览次数：1234",
                                  "无障碍 | 长者助手", "扫一扫在手机打开当前页面", "分享到：微信 微博",
                                  "当前位置：首页 > 政务公开 > 政策文件",
                                  "无障碍    长者助手 我的收藏   收藏", "个人中心 | 登录 | 注册", "繁體版 English 搜索",
                                  "【听全文】【打印】"])
def test_web_furniture_lines(line):
    assert is_furniture(line)
    body, _, _, repairs = wrap(BODY + line + "\n")
    assert line not in body and repairs.count("web_furniture") == 1


@pytest.mark.parametrize("line", ["一、总体要求", "打印机等设备采购", "推进无障碍环境建设，服务长者群体。", "收藏品管理",
                                  "注册登录一次，全网通办", "搜索引擎优化"])
def test_prose_is_not_furniture(line):
    assert not is_furniture(line)


def test_html_page():
    page = ("<!DOCTYPE html><html><head><title>某省数字政府建设方案_某省人民政府</title>"
            "<meta name=\"ArticleTitle\" content=\"某省数字政府建设方案\"><meta name=\"PubDate\" content=\"2023-04-05 10:00\">"
            "<style>p{color:red}</style><script>var x = '一、不是正文';</script></head><body>"
            "<nav>首页 | 政务公开</nav><div class=\"content\"><p>为推进数字政府建设&ldquo;一网通办&rdquo;，制定本方案。</p>"
            "<p>一、总体要求</p><p>（一）指导思想。坚持以人民为中心&nbsp;。</p>"
            "<table><tr><td>序号</td><td>任务</td></tr><tr><td>1</td><td>建设政务云</td></tr></table>"
            "<img src=\"/img/a.png\" alt=\"架构图\"><p><a href=\"/files/分工表.docx\">附件：任务分工表</a></p>"
            "</div><footer>版权所有 某省人民政府</footer></body></html>")
    result = normalize_text(page)
    assert result.text.splitlines()[:3] == ["为推进数字政府建设“一网通办”，制定本方案。", "一、总体要求",
                                           "（一）指导思想。坚持以人民为中心。"]
    assert "| 序号 | 任务 |" in result.text and "| 1 | 建设政务云 |" in result.text
    for gone in ("<", "&ldquo;", "不是正文", "color", "首页", "版权所有"):
        assert gone not in result.text
    assert result.meta["title"] == "某省数字政府建设方案"
    assert result.meta["publish_date"] == "2023-04-05"
    assert {"kind": "image", "name": "架构图", "uri": "/img/a.png"} in result.attachments
    assert {"kind": "attachment", "name": "附件：任务分工表", "uri": "/files/分工表.docx"} in result.attachments


def test_markdown_images_attachments_headings_tables():
    text = ("# 某市数字政府建设方案\n\n## 一、总体要求\n\n### （一）指导思想\n\n**坚持**以人民为中心，详见[说明](http://x.cn/a.html)。\n\n"
            "| 指标 | 2025年 |\n|---|---|\n| 网办率 | 90% |\n\n"
            "## 附件：主要任务分解表\n![分解表](/img/t1.png\t\"主要任务分解表\")\n![](/img/t2.png)\n"
            "附件：1.重点工程清单\n2.任务分工表\n")
    body, _, attachments, _ = wrap(text)
    lines = [l for l in body.splitlines() if l.strip()]
    # heading marks stay in canonical form here; normalization drops them where a label carries the level
    assert lines[:4] == ["# 某市数字政府建设方案", "## 一、总体要求", "### （一）指导思想", "坚持以人民为中心，详见说明。"]
    assert "| 指标 | 2025年 |\n|---|---|\n| 网办率 | 90% |" in body
    assert "![" not in body and "附件" not in body
    assert normalize_text(text).text.startswith("# 某市数字政府建设方案\n一、总体要求\n（一）指导思想\n坚持")
    assert attachments == [
        {"kind": "attachment", "name": "主要任务分解表", "uri": None},
        {"kind": "image", "name": "分解表", "uri": "/img/t1.png"},
        {"kind": "image", "name": None, "uri": "/img/t2.png"},
        {"kind": "attachment", "name": "1.重点工程清单", "uri": None},
        {"kind": "attachment", "name": "任务分工表", "uri": None},
    ]


def test_notice_wrapper_and_toc_are_kept():
    text = ("某省人民政府办公厅关于印发某省数字政府规划的通知\n某政办发〔2021〕3号\n各市人民政府：\n现印发给你们。\n"
            "某省人民政府办公厅\n2021年12月22日\n（此件公开发布）\n目 录\n一、发展基础\n（一）发展现状\n二、总体要求\n"
            "某省数字政府规划\n一、发展基础\n（一）发展现状\n正文内容。\n")
    result = normalize_text(text)
    for kept in ("关于印发", "某省人民政府办公厅\n2021年12月22日", "目录\n一、发展基础\n（一）发展现状\n二、总体要求"):
        assert kept in result.text


def test_page_numbers_of_pdf_copies_are_removed_and_the_sentence_rejoined():
    text = ("一、总体要求\n（一）指导思想。坚持以人民为中心，推进政务服务\n- 2 -\n"
            "一网通办，提升治理能力。\n第3页 共10页\n（二）主要目标。\n—4—\n二、主要任务\n")
    result = normalize_text(text)
    assert result.text == ("一、总体要求\n（一）指导思想。坚持以人民为中心，推进政务服务\n一网通办，提升治理能力。\n"
                           "（二）主要目标。\n二、主要任务")
    assert {r.kind: r.count for r in result.repairs}["page_number"] == 3


def test_a_single_number_line_is_not_a_page_number():
    body, _, _, repairs = wrap("指标名称\n95\n说明")
    assert body == "指标名称\n95\n说明" and not repairs.count("page_number")


def test_html_file_suffix_lets_a_fragment_be_read_as_markup():
    from flows.normalize.text import normalize_bytes

    fragment = "<p>一、总体要求</p>\n<p>（一）指导思想。</p>".encode("utf-8")
    assert normalize_bytes(fragment, "page.html").text == "一、总体要求\n（一）指导思想。"


def test_text_between_two_markdown_rules_is_not_front_matter():
    text = "---\n一、总体要求\n（一）指导思想。推进数字政府建设。\n---\n二、主要任务\n"
    body, meta, _, _ = wrap(text)
    assert "一、总体要求" in body and "front_matter" not in meta


def test_box_line_mixed_with_page_tools():
    text = "某省数字政府规划\n发布时间：2023-01-05 09:30  来源：某省政府办公厅  浏览次数：1234  【字体：大 中 小】【打印】\n" + BODY
    body, meta, _, _ = wrap(text)
    assert meta["publish_date"] == "2023-01-05" and meta["source"] == "某省政府办公厅"
    assert "浏览" not in body and "来源" not in body and body.startswith("某省数字政府规划\n一、总体要求")


@pytest.mark.parametrize("given_,expected", [
    ("## 背景", "## 背景"),
    ("##背景", "## 背景"),
    ("  ###\t工作目标 ###  ", "### 工作目标"),
    ("## 一、总体要求 ##", "## 一、总体要求"),  # normalization decides whether a labelled one keeps them
    ("> ## 背景", "## 背景"),
    ("## > 背景", "## 背景"),
    ("- ## 背景", "## 背景"),
    ("## C#语言", "## C#语言"),
    ("#数字政府# 话题讨论", "数字政府# 话题讨论"),
    ("## ##", ""),
])
def test_markdown_heading_marks_become_canonical(given_, expected):
    body, _, _, repairs = wrap(given_ + "\n正文。")
    assert body.split("\n")[0] == (expected or "正文。")  # marks alone: the line goes
    assert bool(repairs.as_list()) == (given_ != expected)  # a repair only when the line changed


def test_page_parsers_read_heading_lines_without_their_marks():
    body, meta, _, _ = wrap("## 基本介绍\n中文名：某省数字政府建设方案\n印发机关：某省人民政府\n\n"
                            "## 一、总体要求\n正文。\n## 相关词条\n数字政府\n")
    assert meta["title"] == "某省数字政府建设方案" and meta["issuer"] == "某省人民政府"
    assert "基本介绍" not in body and "相关词条" not in body and "## 一、总体要求" in body
    body, meta, _, _ = wrap("## 索引号：000014349/2024-00012\n## 发文字号：某政发〔2024〕3号\n"
                            "## 【打印】【关闭】\n## 背景\n正文。\n")
    assert meta["index_no"] == "000014349/2024-00012" and meta["doc_number"] == "某政发〔2024〕3号"
    assert body.strip() == "## 背景\n正文。"


@pytest.mark.parametrize("placeholder", ["?", "？", "??", "\ufffd"])
def test_a_converters_placeholder_line_is_dropped(placeholder):
    text = f"各市人民政府：\n{placeholder}\n现将方案印发给你们。\n{placeholder}\n一、总体要求\n"
    body, _, _, repairs = wrap(text)
    assert body.splitlines() == ["各市人民政府：", "现将方案印发给你们。", "一、总体要求"]
    assert repairs.count("converter_placeholder") == 2


def test_question_marks_in_prose_stay():
    text = "二、数字政府建设将带来什么改变?\n答：更便捷的服务？\n????\n"
    body, _, _, repairs = wrap(text)
    assert body == text and not repairs.count("converter_placeholder")


@pytest.mark.parametrize("items, joined", [
    (["1. 个中心——以人民为中心。", "2. 轮驱动——改革和技术。", "3. 大体系——基础设施体系。"],
     ["1个中心——以人民为中心。", "2轮驱动——改革和技术。", "3大体系——基础设施体系。"]),
    (["1. 张网，全省统一。", "2. 朵云，集约建设。", "3. 个平台，共建共享。", "4. 大应用，便民利企。"],
     ["1张网，全省统一。", "2朵云，集约建设。", "3个平台，共建共享。", "4大应用，便民利企。"]),
    (["　　1. 项改革——放管服。", "正文一句。", "　　2. 条主线——数据。", "　　3. 横四纵——架构。"],
     ["　　1项改革——放管服。", "正文一句。", "　　2条主线——数据。", "　　3横四纵——架构。"]),
])
def test_counts_a_list_converter_split_are_joined(items, joined):
    body, _, _, repairs = wrap("具体路径如下：\n" + "\n".join(items) + "\n")
    assert body.splitlines()[1:] == joined
    assert repairs.count("split_count") == len([i for i in items if i != "正文一句。"])


@pytest.mark.parametrize("items", [
    ["1. 项目审批提速。", "2. 个人事项全程网办。", "3. 加强组织领导。"],  # real items that open with 项/个
    ["1. 大力推进一网通办。", "2. 加强数据共享。", "3. 完善标准规范。"],
    ["1. 个中心。", "2. 轮驱动。"],  # two items: too few to tell
])
def test_a_real_numbered_list_is_left_alone(items):
    text = "\n".join(items) + "\n"
    body, _, _, repairs = wrap(text)
    assert not repairs.count("split_count") and [ln.lstrip("1234. ") for ln in body.splitlines() if ln] == \
        [ln.lstrip("1234. ") for ln in items]
