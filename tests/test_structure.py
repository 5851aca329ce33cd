"""Section tree: each heading shape and block kind on small invented texts."""

from __future__ import annotations

import re

import pytest

from flows.contract.schema import schema
from flows.patterns.numerals import cn_int
from flows.structure.sections import parse_sections


def assert_tree(rows: list[dict], text: str) -> None:
    """The tree contract: ids, parents one level up, kinds inherited, spans that nest and tile."""
    assert rows and rows[0]["kind"] == "preamble" and rows[0]["level"] == 0 and rows[0]["char_start"] == 0
    sections = schema("sections")
    schema_levels = set(sections.column("level").allowed)
    kinds = set(sections.column("kind").allowed)
    by_id = {}
    for i, r in enumerate(rows):
        assert set(r) == set(sections.column_names), set(r) ^ set(sections.column_names)
        # parse_sections numbers its rows; the pipeline's carry stable ids (flows/contract/ids.py)
        assert r["section_id"] not in by_id
        assert r["section_id"] == f"{r['doc_id']}-{i:04d}" or re.fullmatch(r"[0-9a-f]{16}", r["section_id"])
        assert r["level"] in schema_levels and r["kind"] in kinds
        assert 0 <= r["char_start"] <= r["char_end"] <= len(text)
        assert r["text"] == r["text"].strip() and r["text"] in text[r["char_start"]:r["char_end"]]
        if r["parent_id"] is None:
            assert r["level"] in (0, 1)
            assert r["level"] == 0 or r["kind"] == "body"
        else:
            parent = by_id[r["parent_id"]]  # parents come first
            assert r["level"] == parent["level"] + 1
            assert r["kind"] == parent["kind"]
            assert parent["char_start"] <= r["char_start"] <= r["char_end"] <= parent["char_end"]
        if r["level"] == 0:
            assert r["label"] is None and r["ordinal"] is None
        by_id[r["section_id"]] = r
    # siblings tile their parent's span after its own text; the top level tiles the whole text
    children: dict[str | None, list[dict]] = {}
    for r in rows:
        children.setdefault(r["parent_id"], []).append(r)
    for parent_id, kids in children.items():
        for a, b in zip(kids, kids[1:]):
            assert a["char_end"] == b["char_start"], (a, b)
        end = len(text) if parent_id is None else by_id[parent_id]["char_end"]
        assert kids[-1]["char_end"] == end
    assert children[None][0]["char_start"] == 0


def parse(text: str) -> list[dict]:
    rows = parse_sections("d", text)
    assert_tree(rows, text)
    return rows


def body(rows: list[dict]) -> list[tuple[int, str | None, str | None]]:
    return [(r["level"], r["label"], r["heading"]) for r in rows if r["kind"] == "body"]


def test_gbt_9704_four_levels_nest():
    text = ("前言。\n一、总体要求\n（一）指导思想\n正文。\n1.基本原则\n（1）坚持党的领导\n内容。\n"
            "（2）坚持以人民为中心\n2.发展目标\n（二）工作目标\n二、主要任务\n")
    rows = parse(text)
    assert body(rows) == [
        (1, "一、", "总体要求"), (2, "（一）", "指导思想"), (3, "1.", "基本原则"),
        (4, "（1）", "坚持党的领导"), (4, "（2）", "坚持以人民为中心"), (3, "2.", "发展目标"),
        (2, "（二）", "工作目标"), (1, "二、", "主要任务"),
    ]
    by_id = {r["section_id"]: r for r in rows}
    assert by_id[rows[4]["parent_id"]]["heading"] == "基本原则"
    assert [r["ordinal"] for r in rows[1:]] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert rows[0]["text"] == "前言。" and rows[2]["text"] == "正文。"


@pytest.mark.parametrize("line, label, ordinal, heading", [
    ("(一)指导思想", "（一）", 1, "指导思想"),
    ("（ 二 ）指导思想", "（二）", 2, "指导思想"),
    ("（三）、工作原则", "（三）", 3, "工作原则"),
    ("十二、附则", "十二、", 12, "附则"),
    ("二十一．其他", "二十一、", 21, "其他"),
])
def test_chinese_numeral_labels_are_canonical(line, label, ordinal, heading):
    (row,) = [r for r in parse(f"导言\n{line}\n正文\n") if r["kind"] == "body"]
    assert (row["label"], row["ordinal"], row["heading"]) == (label, ordinal, heading)


@pytest.mark.parametrize("line, label, ordinal", [
    ("1.建设政务云", "1.", 1), ("2、建设政务云", "2.", 2), ("１．建设政务云", "1.", 1),
    ("3 . 建设政务云", "3.", 3), ("(4)建设政务云", "（4）", 4), ("5）建设政务云", "5）", 5),
    ("①建设政务云", "①", 1),
])
def test_arabic_and_circled_labels(line, label, ordinal):
    (row,) = [r for r in parse(f"导言\n{line}\n正文\n") if r["kind"] == "body"]
    assert (row["label"], row["ordinal"], row["heading"]) == (label, ordinal, "建设政务云")


def test_markdown_headings_wrap_labels_and_a_lone_top_heading_is_the_title():
    text = ("# 某某市数字政府建设方案\n\n为推进建设，制定本方案。\n\n## 一、总体要求\n\n### （一）指导思想\n\n正文。\n\n"
            "#### 1.高效协同\n\n内容。\n\n## **二、主要任务**\n\n### （一）建设平台\n")
    rows = parse(text)
    assert body(rows) == [(1, "一、", "总体要求"), (2, "（一）", "指导思想"), (3, "1.", "高效协同"),
                          (1, "二、", "主要任务"), (2, "（一）", "建设平台")]
    assert "某某市数字政府建设方案" in rows[0]["text"]
    assert rows[1]["char_start"] == text.index("## 一、")


def test_markdown_plan_without_labels_takes_levels_from_hashes():
    text = "# 某省数据条例解读\n\n导语。\n\n## 背景\n\n内容。\n\n### 现状\n\n内容。\n\n## 目标\n\n内容。\n"
    rows = parse(text)
    assert body(rows) == [(1, None, "背景"), (2, None, "现状"), (1, None, "目标")]


def test_header_form_fields_and_stray_lines_are_not_headings():
    text = "# -*- coding: utf-8 -*-\n\n## 政策标题：\n某方案\n\n## 政策内容：\n一、总体要求\n正文\n"
    assert body(parse(text)) == [(1, "一、", "总体要求")]


def test_run_in_headings_split_heading_from_body():
    text = ("一、总体要求\n（一）指导思想。以习近平新时代中国特色社会主义思想为指导。\n"
            "（二）基本原则：坚持统筹。\n1.建立全省宏观经济发展基础数据库。推动经济运行相关领域业务数字化升级。\n"
            "（三）工作目标。\n到2025年，基本建成。\n")
    rows = parse(text)
    assert body(rows) == [(1, "一、", "总体要求"), (2, "（一）", "指导思想"), (2, "（二）", "基本原则"),
                          (3, "1.", "建立全省宏观经济发展基础数据库"), (2, "（三）", "工作目标")]
    assert rows[2]["text"] == "以习近平新时代中国特色社会主义思想为指导。"
    assert rows[3]["text"] == "坚持统筹。"
    assert rows[4]["text"] == "推动经济运行相关领域业务数字化升级。"
    assert rows[5]["text"] == "到2025年，基本建成。"


def test_bullets_decimals_dates_and_prose_are_not_headings():
    text = ("一、发展目标\n——打造服务满意数字政府。\n• 中文名：某意见\n1.5万家单位接入。\n2023年12月27日前完成。\n"
            "一是全面对标。\n第一部分是总体要求，第二部分是任务。\n2022.12 完成\n")
    rows = parse(text)
    assert body(rows) == [(1, "一、", "发展目标")]
    assert "——打造服务满意数字政府。" in rows[1]["text"] and "一是全面对标。" in rows[1]["text"]


def test_a_text_with_no_headings_is_one_preamble():
    text = "各有关单位：\n现将有关事项通知如下，请认真贯彻执行。\n"
    rows = parse(text)
    assert len(rows) == 1 and rows[0]["kind"] == "preamble" and rows[0]["char_end"] == len(text)
    assert rows[0]["text"] == text.strip()


@pytest.mark.parametrize("text", ["", "\n\n", "　　"])
def test_empty_texts_give_one_preamble(text):
    assert [r["kind"] for r in parse(text)] == ["preamble"]


def test_sentence_like_numbered_list_stays_text_of_its_section():
    items = ("1.到2025年，全省政务服务事项网上可办率达到100%，一网通办能力显著增强，群众满意度持续提升，营商环境进一步优化。\n"
             "2.到2025年，全省政务数据共享率达到95%以上，数据要素价值充分释放，数字经济规模显著扩大，治理效能大幅提升。\n"
             "3.政务云资源利用率提高。\n")
    text = "一、总体要求\n（一）发展目标\n主要目标如下：\n" + items + "（二）基本原则\n1.坚持统筹\n2.坚持安全\n"
    rows = parse(text)
    assert body(rows) == [(1, "一、", "总体要求"), (2, "（一）", "发展目标"), (2, "（二）", "基本原则"),
                          (3, "1.", "坚持统筹"), (3, "2.", "坚持安全")]
    assert rows[2]["text"].endswith("3.政务云资源利用率提高。")  # the whole list, one decision


def test_markdown_headings_are_never_demoted():
    long = "全面推进政务服务标准化规范化便利化建设，持续优化营商环境，提升企业和群众办事满意度与获得感水平"
    rows = parse(f"一、任务\n### 1.{long}\n内容\n")
    assert body(rows)[1] == (2, "1.", long)


def test_levels_are_tree_depth_when_ranks_are_skipped():
    rows = parse("一、总体要求\n1.指导思想\n正文\n二、任务\n（1）建设\n")
    assert body(rows) == [(1, "一、", "总体要求"), (2, "1.", "指导思想"), (1, "二、", "任务"), (2, "（1）", "建设")]
    rows = parse("（一）指导思想\n正文\n（二）目标\n1.近期\n")
    assert body(rows) == [(1, "（一）", "指导思想"), (1, "（二）", "目标"), (2, "1.", "近期")]


def test_chapters_sit_above_chinese_numbered_headings():
    text = "第一章　总则\n一、目的\n正文\n第二章发展目标\n一、总体目标\n第三部分：保障措施\n"
    assert body(parse(text)) == [(1, "第一章", "总则"), (2, "一、", "目的"), (1, "第二章", "发展目标"),
                                 (2, "一、", "总体目标"), (1, "第三部分", "保障措施")]


def test_numbering_that_skips_or_repeats_is_kept_and_flagged(caplog):
    text = "一、甲\n三、乙\n三、丙\n二、丁\n（二）戊\n"
    rows = parse(text)
    assert [(r["ordinal"], r["flags"]) for r in rows[1:]] == [
        (1, None), (3, ["numbering_gap"]), (3, ["numbering_repeat"]), (2, ["numbering_backwards"]),
        (2, ["numbering_not_from_one"]),
    ]
    assert "irregular labels kept as written" in caplog.text


def test_damaged_separator_counts_only_where_it_continues_the_list():
    text = "一、任务\n1.建网\n2.建云\n3,建库\n4,5个市州先行\n"
    rows = parse(text)
    assert body(rows)[1:] == [(2, "1.", "建网"), (2, "2.", "建云"), (2, "3.", "建库")]
    assert rows[4]["flags"] == ["label_separator_nonstandard"] and "4,5个市州先行" in rows[4]["text"]
    assert body(parse("一、任务\n3,建库\n"))[1:] == []


def test_table_of_contents_after_a_marker_is_one_toc_row():
    toc = "目 录\n一、总体要求\n（一）指导思想\n二、主要任务\n"
    text = "某省规划\n" + toc + "某省规划（2021—2025年）\n前言。\n一、总体要求\n（一）指导思想\n正文\n二、主要任务\n正文\n"
    rows = parse(text)
    assert [r["kind"] for r in rows] == ["preamble", "toc", "preamble", "body", "body", "body"]
    assert rows[1]["text"] == toc.strip() and rows[2]["text"].startswith("某省规划（2021—2025年）")


def test_table_of_contents_without_a_marker_is_found_by_its_repeats():
    text = ("某省规划\n一、总体要求\n二、主要任务\n三、保障措施\n前言。\n一、总体要求\n正文。\n二、主要任务\n正文。\n"
            "三、保障措施\n正文。\n")
    rows = parse(text)
    assert [r["kind"] for r in rows].count("toc") == 1
    assert [r["level"] for r in rows if r["kind"] == "body"] == [1, 1, 1]


def test_notice_signature_then_plan():
    text = ("某省人民政府关于印发某省数字政府建设方案的通知\n某政发〔2023〕1号\n各市人民政府：\n现将方案印发给你们。\n"
            "某省人民政府\n\n2023年1月5日\n（此件公开发布）\n某省数字政府建设方案\n为推进建设，制定本方案。\n一、总体要求\n正文。\n")
    rows = parse(text)
    assert [r["kind"] for r in rows] == ["preamble", "signature", "boilerplate", "preamble", "body"]
    assert rows[1]["text"] == "某省人民政府\n\n2023年1月5日"
    assert rows[3]["text"] == "某省数字政府建设方案\n为推进建设，制定本方案。"


def test_end_signature_interpretation_attachment_and_boilerplate():
    text = ("一、总体要求\n正文。\n二、任务\n正文。\n某某市人民政府办公室\n二〇二三年三月二日\n抄送：市委办公室。\n"
            "政策解读\n《某某市数字政府建设方案》解读\n一、出台背景\n内容。\n二、主要内容\n内容。\n"
            "附件1\n重点任务分工\n一、建设任务\n（一）建网\n相关链接\n一、不是标题\n")
    rows = parse(text)
    assert [(r["kind"], r["level"]) for r in rows] == [
        ("preamble", 0), ("body", 1), ("body", 1), ("signature", 0), ("boilerplate", 0),
        ("interpretation", 0), ("interpretation", 1), ("interpretation", 1),
        ("attachment", 0), ("attachment", 1), ("attachment", 2), ("boilerplate", 0),
    ]
    assert rows[5]["heading"] == "政策解读" and rows[8]["heading"] == "附件1"
    assert rows[6]["parent_id"] == rows[5]["section_id"]
    assert rows[11]["text"] == "相关链接\n一、不是标题"


def test_attachment_line_in_the_notice_stays_in_the_preamble():
    text = "现将方案印发给你们。\n附件：某省数字政府建设方案\n某省人民政府\n2023年1月5日\n附件\n某省方案\n一、总体要求\n正文\n"
    rows = parse(text)
    assert [r["kind"] for r in rows] == ["preamble", "signature", "preamble", "body"]
    assert "附件：某省数字政府建设方案" in rows[0]["text"]


def test_spans_point_at_labels_and_cover_subsections():
    text = "　　一、总体要求\n　　（一）指导思想\n　　正文\n　　二、任务\n"
    rows = parse(text)
    assert text[rows[1]["char_start"]:].startswith("一、总体要求")
    assert rows[1]["char_end"] == rows[3]["char_start"] == text.index("二、任务")
    assert rows[2]["char_end"] == rows[1]["char_end"]


def test_cn_int():
    assert [cn_int(s) for s in ("一", "十", "十一", "二十", "二十三", "一百", "一百零五", "〇", "12")] == [
        1, 10, 11, 20, 23, 100, 105, 0, 12]


def test_table_of_contents_with_dot_leaders_and_page_numbers():
    text = ("目录\n一、总体要求……………1\n（一）指导思想 ........ 2\n二、主要任务……5\n"
            "一、总体要求\n（一）指导思想\n正文。\n二、主要任务\n正文。\n")
    rows = parse(text)
    assert [r["kind"] for r in rows] == ["preamble", "toc", "body", "body", "body"]
    assert rows[2]["char_start"] == text.index("一、总体要求\n（一）")


def test_a_body_that_repeats_a_template_is_not_a_toc():
    part = "（一）工作目标\n（二）主要任务\n（三）保障措施\n"
    text = "一、政务服务\n正文。\n" + part + "二、数据共享\n正文。\n" + part
    rows = parse(text)
    assert not any(r["kind"] == "toc" for r in rows)
    assert [r["level"] for r in rows if r["kind"] == "body"] == [1, 2, 2, 2, 1, 2, 2, 2]


def test_plan_issued_as_attachment_of_a_notice_with_numbered_points():
    text = ("某省人民政府关于印发某省数字政府建设方案的通知\n各市人民政府：\n现将方案印发给你们，并提出以下要求。\n"
            "一、加强领导\n各地要高度重视。\n某省人民政府\n2023年1月5日\n附件\n某省数字政府建设方案\n一、总体要求\n正文\n"
            "二、主要任务\n正文\n附件：重点任务分工表\n一、任务\n")
    kinds = [(r["kind"], r["level"]) for r in parse(text)]
    assert kinds == [("preamble", 0), ("body", 1), ("signature", 0), ("preamble", 0), ("body", 1), ("body", 1),
                     ("attachment", 0), ("attachment", 1)]


def test_hash_tags_are_not_markdown_headings():
    rows = parse("导言\n#数字政府# 话题讨论\n##一、总体要求\n正文\n")
    assert body(rows) == [(1, "一、", "总体要求")] and "#数字政府# 话题讨论" in rows[0]["text"]


def test_unlabelled_markdown_headings_become_sections_through_the_pipeline():
    import hashlib

    from flows.ingest.raw_files import RawDoc
    from flows.pipeline import process_document

    plan = ("# 某市数字政府建设方案\n\n为加快推进我市数字政府建设，结合实际，制定本方案。\n\n"
            "## 背景\n\n近年来，我市政务服务能力持续提升。\n\n## 一、总体要求\n\n### （一）指导思想\n\n坚持以人民为中心。\n\n"
            "## 主要任务\n\n### 1.建设政务云平台\n\n推进政务云资源整合，\n到2025年，政务云资源利用率达到80%以上。\n\n"
            "### 2.推进数据共享\n\n完善数据共享交换平台。\n\n### **工作目标** ##\n\n"
            "到2025年，政务服务事项网上可办率达到95%以上。\n\n## 二、保障措施\n\n加强组织领导。\n\n"
            "某市人民政府\n2024年3月1日\n")
    data = plan.encode()
    rows = process_document(RawDoc("plans/md_plan.md", hashlib.sha256(data).hexdigest(), data))
    assert rows["rejects"] == []
    doc = rows["documents"][0]
    text = doc["text"]
    assert doc["title"] == "某市数字政府建设方案"
    sections = rows["sections"]
    assert_tree(sections, text)
    assert body(sections) == [(1, None, "背景"), (1, "一、", "总体要求"), (2, "（一）", "指导思想"),
                              (1, None, "主要任务"), (2, "1.", "建设政务云平台"), (2, "2.", "推进数据共享"),
                              (2, None, "工作目标"), (1, "二、", "保障措施")]
    assert not any("#" in (r["heading"] or "") for r in sections)
    by_heading = {r["heading"]: r for r in sections}
    assert by_heading["工作目标"]["parent_id"] == by_heading["主要任务"]["section_id"]
    assert text[by_heading["背景"]["char_start"]:].startswith("## 背景\n近年来")
    assert by_heading["工作目标"]["text"].endswith("网上可办率达到95%以上。")
    goal_metric = [m for m in rows["metrics"] if m["value"] == 95.0]
    assert [m["section_id"] for m in goal_metric] == [by_heading["工作目标"]["section_id"]]
