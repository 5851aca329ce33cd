"""parse_issues: what a stage saw but could not place is a row, and every extracted row names
the rule that produced it (``extractor``)."""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest

from flows.contract.schema import schema
from flows.extract import extract_all
from flows.ingest.raw_files import RawDoc
from flows.normalize.web_pages import wrapper_issues
from flows.pipeline import process_document
from flows.publishing.card import parse_issue_lines
from flows.publishing.overview import render_overview
from flows.structure.heading_issues import heading_issues
from flows.structure.sections import parse_sections
from tests.test_extract_common import build_sections

ISSUE_COLUMNS = set(schema("parse_issues").column_names)


def extracted(text: str) -> dict[str, list[dict]]:
    return extract_all("t", text, build_sections(text))


def kinds(issues: list[dict]) -> list[str]:
    return [i["kind"] for i in issues]


def assert_placed(issues: list[dict], text: str) -> None:
    """Every issue quotes the text inside its own span, with the schema's columns."""
    for i in issues:
        assert set(i) == ISSUE_COLUMNS
        assert 0 <= i["char_start"] <= i["char_end"] <= len(text)
        assert i["text"] in text[i["char_start"]:i["char_end"]]
        assert i["kind"] in schema("parse_issues").column("kind").allowed
        assert i["stage"] in schema("parse_issues").column("stage").allowed


# --- normalize ----------------------------------------------------------------------------------


def test_markup_left_in_the_text_is_one_issue_at_its_first_tag():
    text = "一、总体要求\n推进政务服务。<div class=\"TRS_Editor\">正文</div><br/>\n"
    (found,) = wrapper_issues(text, set())
    assert found["kind"] == "markup_not_recognised" and found["stage"] == "normalize"
    assert found["text"] == '<div class="TRS_Editor">' and "3 markup tag(s)" in found["message"]
    assert_placed([found], text)


@pytest.mark.parametrize("text", [
    "全程网办率达到90%，5<6，a<b>c。",  # comparisons and single-letter tags stand in plain text
    "推进《数字政府建设方案》落实。",
    "",
])
def test_text_without_markup_has_no_wrapper_issue(text):
    assert wrapper_issues(text, {"markdown_heading"}) == []


def test_a_page_the_html_parser_refused_is_an_issue_about_the_whole_document():
    text = "<p>未解析"
    found = wrapper_issues(text, {"html_unparsed"})
    assert kinds(found) == ["markup_not_recognised", "html_unparsed"]
    assert (found[1]["char_start"], found[1]["char_end"], found[1]["text"]) == (0, len(text), "")


# --- structure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("headings, expected", [
    (["一、总体要求", "三、主要任务"], ["heading_numbering_gap"]),
    (["一、总体要求", "二、主要任务", "二、保障措施"], ["heading_numbering_repeat"]),
    (["一、总体要求", "三、主要任务", "二、保障措施"], ["heading_numbering_gap", "heading_numbering_backwards"]),
    (["二、主要任务", "三、保障措施"], ["heading_numbering_not_from_one"]),
    (["一、总体要求", "二、主要任务", "三、保障措施"], []),
])
def test_irregular_heading_numbering_is_an_issue_per_heading(headings, expected):
    text = "某省数字政府建设方案\n" + "".join(f"{h}\n推进数据共享，完善政务服务体系。\n" for h in headings)
    found = heading_issues(parse_sections("t", text), text)
    assert kinds(found) == expected
    assert_placed(found, text)
    for i in found:
        assert i["stage"] == "structure" and i["text"] in headings and f"({i['text'][:2]})" in i["message"]


def test_subheadings_numbered_afresh_under_each_heading_are_regular():
    text = ("方案\n一、总体要求\n（一）指导思想\n内容。\n（二）基本原则\n内容。\n"
            "二、主要任务\n（一）数据共享\n内容。\n（二）政务服务\n内容。\n")
    assert heading_issues(parse_sections("t", text), text) == []


# --- extract ------------------------------------------------------------------------------------


def test_a_value_no_indicator_is_read_for_is_an_issue_not_a_metric():
    text = "一、目标\n到2025年，达到90%。\n"
    out = extracted(text)
    assert out["metrics"] == []
    (found,) = out["parse_issues"]
    assert found["kind"] == "metric_without_indicator" and found["text"] == "到2025年，达到90%。"
    assert_placed([found], text)


def test_a_compound_unit_the_rules_refuse_is_an_issue():
    text = "一、目标\n到2025年，数据共享交换量达到12.6亿条次。\n"
    out = extracted(text)
    assert out["metrics"] == []
    assert kinds(out["parse_issues"]) == ["unit_not_in_vocabulary"]
    assert out["parse_issues"][0]["text"] == "12.6亿条次"


def test_a_percentage_whose_indicator_is_not_in_the_catalog_is_an_issue_beside_its_metric():
    text = "一、目标\n到2025年，无人机巡检覆盖率达到90%。\n"
    out = extracted(text)
    (metric,) = out["metrics"]
    assert metric["indicator_id"] is None
    (found,) = out["parse_issues"]
    assert found["kind"] == "indicator_not_in_catalog" and "无人机巡检覆盖率" in found["message"]
    assert (found["char_start"], found["char_end"]) == (metric["char_start"], metric["char_end"])


@pytest.mark.parametrize("text", [
    "一、目标\n到2025年，政务服务事项全程网办率达到90%。\n",  # a catalog indicator
    "一、目标\n到2025年，建成10个以上示范应用，新建5G基站2万个。\n",  # counts need no catalog entry
    "一、目标\n推进IPv6规模部署，开通12345热线，构建“1+15+N”体系。\n",  # numbers that are no metric
])
def test_a_plain_target_sentence_has_no_issue(text):
    assert extracted(text)["parse_issues"] == []


TABLE = """一、主要指标
| 序号 | 类别 | 主要指标 | 2020年基期值 | 2025年目标值 | 属性 |
| --- | --- | --- | --- | --- | --- |
| 1 | 政务服务 | 政务服务事项网上可办率（%） | 90 | ≥98 | 预期性 |
| 2 | 数字机关 | 移动办公覆盖率（%） | 基本覆盖 | 100 | 预期性 |
| 3 | 网上办件量 | 10 | 20 |
| 4 | 数据资源 | 网上办件量 | 10 | 20 | 预期性 |
"""


def test_indicator_table_cells_and_rows_it_cannot_read_are_issues():
    out = extracted(TABLE)
    found = [(i["kind"], i["text"]) for i in out["parse_issues"]]
    assert found == [
        ("table_value_unread", "基本覆盖"),
        ("table_row_unread", "| 3 | 网上办件量 | 10 | 20 |"),
        ("table_value_without_unit", "10"),
        ("table_value_without_unit", "20"),
    ]
    assert_placed(out["parse_issues"], TABLE)
    assert {m["value"] for m in out["metrics"]} == {90.0, 98.0, 100.0}


def test_extract_all_twice_on_the_same_objects_does_not_repeat_issues():
    text = "一、目标\n到2025年，达到90%。\n"
    sections = build_sections(text)
    first = extract_all("t", text, sections)["parse_issues"]
    assert extract_all("t", text, sections)["parse_issues"] == first and len(first) == 1


def test_a_document_carries_its_issues_with_its_doc_id_and_stable_ids():
    data = "某省数字政府建设方案\n一、总体要求\n到2025年，达到90%。\n三、保障措施\n<div>残留</div>\n".encode()
    raw = RawDoc("a.txt", hashlib.sha256(data).hexdigest(), data)
    out = process_document(raw)
    assert out["rejects"] == []
    issues = out["parse_issues"]
    assert sorted(kinds(issues)) == ["heading_numbering_gap", "markup_not_recognised", "metric_without_indicator"]
    assert {i["doc_id"] for i in issues} == {out["documents"][0]["doc_id"]}
    assert all(len(i["issue_id"]) == 16 for i in issues) and len({i["issue_id"] for i in issues}) == 3
    assert [i["issue_id"] for i in process_document(raw)["parse_issues"]] == [i["issue_id"] for i in issues]
    assert_placed(issues, out["documents"][0]["text"])
    schema("parse_issues").table(issues)  # the rows fit the contract


# --- extractor ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence, extractor", [
    ("到2025年，全程网办率达到90%。", "to_year"),
    ("2025年底前，全程网办率达到90%。", "year_before"),
    ("到“十四五”末，全程网办率达到90%。", "five_year_plan_end"),
])
def test_goals_name_their_deadline_rule(sentence, extractor):
    (goal,) = extracted("一、目标\n" + sentence + "\n")["goals"]
    assert goal["extractor"] == extractor


def test_phase_and_plan_year_goals_name_their_rule():
    text = "一、工作安排\n第一阶段（2021—2022年）：完成平台建设。\n"
    assert [g["extractor"] for g in extracted(text)["goals"]] == ["phase_years"]
    annual = "某省2023年数字政府建设工作要点\n一、任务\n年底前，完成平台建设。\n"
    assert "plan_year_relative" in [g["extractor"] for g in extracted(annual)["goals"]]


def test_metrics_name_prose_bare_count_and_table():
    prose = extracted("一、目标\n到2025年，全程网办率达到90%，实名用户注册数突破8000万。\n")["metrics"]
    assert [(m["value"], m["extractor"]) for m in prose] == [(90.0, "sentence"), (80000000.0, "bare_count")]
    assert {m["extractor"] for m in extracted(TABLE)["metrics"]} == {"indicator_table"}


@pytest.mark.parametrize("sentence, extractor", [
    ("到2025年，电子政务外网实现万兆到市、千兆到县。", "levels_after"),
    ("到2025年，电子政务外网省到市骨干链路带宽达到10G。", "levels_before"),
    ("到2025年，推动县、乡骨干链路带宽提升到1000M。", "link_ends"),
    ("到2025年，骨干网络带宽升级至40G（可平滑演进到100G）。", None),
    ("到2025年，行政村实现千兆光网覆盖。", "village"),
    ("到2025年，建成千兆光网。", "no_level"),
])
def test_bandwidth_targets_name_the_rule_that_read_their_levels(sentence, extractor):
    rows = extracted("一、目标\n" + sentence + "\n")["bandwidth_targets"]
    if extractor is None:  # the second bandwidth of one link takes the first's levels
        assert [r["extractor"] for r in rows][1:] == ["same_link"]
    else:
        assert rows and {r["extractor"] for r in rows} == {extractor}


def test_tasks_name_their_written_form():
    text = ("一、主要任务\n（一）推进数据共享。（牵头单位：省大数据局；配合单位：省发展改革委）\n"
            "（二）完善政务服务。\n牵头单位：省政务服务中心\n"
            "二、任务分工\n| 任务 | 牵头单位 | 完成时限 |\n|---|---|---|\n| 建设政务云 | 省大数据局 | 2025年 |\n")
    assert [t["extractor"] for t in extracted(text)["tasks"]] == ["bracket_roles", "role_lines", "task_table"]


def test_keywords_name_their_ranking():
    rows = extracted("一、目标\n推进数字政府建设，完善政务服务平台，加强数据共享和数据安全。\n")["keywords"]
    assert rows and {r["extractor"] for r in rows} == {"tfidf"}


@pytest.mark.parametrize("table", ["goals", "metrics", "bandwidth_targets", "tasks", "keywords"])
def test_extractor_is_declared_with_its_values(table):
    column = schema(table).column("extractor")
    assert not column.nullable and column.allowed


# --- the build, the card, the overview ----------------------------------------------------------


def test_the_seed_build_publishes_validated_parse_issues(seed_build):
    out, summary = seed_build
    from flows.storage.publish import table_path

    issues = pq.read_table(table_path(out, "parse_issues"))
    assert issues.num_rows > 0 and issues.schema.names == schema("parse_issues").column_names
    assert summary["validation"]["success"]
    docs = set(pq.read_table(table_path(out, "documents"), columns=["doc_id"]).column("doc_id").to_pylist())
    assert set(issues.column("doc_id").to_pylist()) <= docs
    for table in ("goals", "metrics", "bandwidth_targets", "tasks", "keywords"):
        values = pq.read_table(table_path(out, table), columns=["extractor"]).column("extractor").to_pylist()
        assert values and set(values) <= set(schema(table).column("extractor").allowed)


ISSUES = [
    dict(issue_id="a", doc_id="d1", stage="extract", kind="metric_without_indicator", message="m",
         text="<script>alert(1)</script>达到90%", char_start=0, char_end=20),
    dict(issue_id="b", doc_id="d1", stage="extract", kind="metric_without_indicator", message="m",
         text="x", char_start=0, char_end=1),
    dict(issue_id="c", doc_id="d2", stage="structure", kind="heading_numbering_gap", message="m",
         text="三、*任务*", char_start=0, char_end=5),
]


def test_the_card_counts_parse_issues_by_kind():
    (line,) = parse_issue_lines(ISSUES)
    assert "3 in 2 document(s)" in line
    assert "metric_without_indicator (extract, 2)" in line and "heading_numbering_gap (structure, 1)" in line
    assert "none" in parse_issue_lines([])[0]


def test_the_overview_counts_parse_issues_and_escapes_their_text():
    html = render_overview(
        version="v", created="c", documents=[{"doc_id": "d1", "source_file": "<a>.txt"}], goals=[], metrics=[],
        bandwidth=[], repairs=[], rejects=[], validation={"gate": "g", "success": True, "failures": [], "expectations": 1},
        row_counts={}, parse_issues=ISSUES)
    assert '<div class="card" data-count="parse issues"><b>3</b>' in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html and "&lt;a&gt;.txt" in html
    assert '<table class="sortable" id="parse-issues">' in html
    assert "<td>metric_without_indicator</td><td class=\"num\">1</td><td class=\"num\">2</td>" in html


def test_the_gate_checks_parse_issues_and_extractor_values():
    import copy

    from tests.test_validate import good_rows, validate, failed_rules

    good = good_rows()
    rows = copy.deepcopy(good)
    rows["parse_issues"][0]["text"] = "不在此处的文字"
    rows["parse_issues"].append(dict(rows["parse_issues"][0], issue_id="x", kind="guessed", text=""))
    rows["metrics"][0]["extractor"] = "guessed"
    result = validate(rows)
    assert failed_rules(result) == {"text_inside_span", "allowed_values"}
    failures = " ".join(result.failures)
    assert "parse_issues.text" in failures and "parse_issues.kind" in failures and "metrics.extractor" in failures


def test_the_changelog_names_a_table_added_in_a_minor_version():
    from flows.publishing import diff

    added = diff.changes_table([{"table": "goals", "row_id": None, "change": "added", "column": "extractor",
                                 "old": None, "new": "string"}])
    problems, text = diff.schema_section(added, "2026.12.0", "2.0", "2.1", added_tables={"parse_issues"})
    assert problems == [] and "Tables added: `parse_issues`." in text
    assert "Columns added: `goals.extractor` (string)." in text and "How to migrate" not in text
    assert "Tables added" not in diff.schema_section(added, "2026.12.0", "2.0", "2.1")[1]


def test_sections_name_the_heading_rule_that_opened_them():
    text = "方案\n第一章 总则\n一、总体要求\n（一）指导思想\n1.坚持统筹。\n（1）推进共享。\n①建设平台。\n"
    rows = parse_sections("t", text)
    got = [(r["heading"], r["extractor"]) for r in rows]
    assert got[0] == (None, None)  # the preamble: no heading rule
    assert [e for _, e in got[1:]] == ["chapter", "cn", "paren_cn", "arabic", "paren_arabic", "circled"], got
    allowed = schema("sections").column("extractor").allowed
    assert {e for _, e in got if e} <= set(allowed)
