"""Where a metric's target year comes from (issue 23), on invented plans: the sentence, its
paragraph, the goal of its section, an indicator table under the plan horizon, the plan's own
period, and relative deadlines (年底前, 年内, 6月底前) resolved against the plan's own year."""

from __future__ import annotations

import pytest

from flows.extract.goals import extract_goals
from flows.extract import read_document
from flows.extract.metrics import extract_metrics
from flows.contract.schema import schema
from tests.test_extract_common import build_sections

SOURCES = set(next(c for c in schema("metrics").columns if c.name == "target_year_source").allowed)


def dated(text: str) -> list[tuple]:
    rows = extract_metrics("t", read_document(text, build_sections(text)))
    for r in rows:
        assert (r["target_year"] is None) == (r["target_year_source"] is None)
        assert r["target_year_source"] is None or r["target_year_source"] in SOURCES
    return [(r["value"], r["unit"], r["target_year"], r["target_year_source"]) for r in rows]


def goal_years(text: str) -> list[tuple]:
    return [(g["target_year"], g["deadline_text"]) for g in extract_goals("t", read_document(text, build_sections(text)))]


def test_a_deadline_in_the_sentence_or_opening_a_sentence_of_the_paragraph():
    text = "二、主要任务\n到2024年，政务服务事项网办率达到90%。同时电子证照用证率达到80%。\n"
    assert dated(text) == [(90.0, "%", 2024, "sentence"), (80.0, "%", 2024, "paragraph")]


@pytest.mark.parametrize("goal, details", [
    # a goals section: the headline year, then sub-paragraphs of indicators, then the vision
    ("到2025年，基本建成整体协同的数字政府。",
     ["——政务服务更加便捷。高频事项95%实现跨省通办，电子证照用证率达到80%。",
      "——数据共享更加充分。公共数据按需共享率达到99%。"]),
    ("到2026年底，数字政府建设取得明显成效，主要目标如下。",
     ["政务服务方面，网上可办率达到100%。", "政府运行方面，机关内部办事“最多跑一次”比例达到70%。"]),
    ("力争到2027年，全面建成一体化政务大数据体系。",
     ["（1）省级部门数据共享满足率达到95%。", "（2）市县数据回流率达到90%。"]),
])
def test_sub_paragraphs_inherit_the_goal_that_opens_their_section(goal, details):
    year = int(goal[goal.index("20"):goal.index("20") + 4])
    text = "（二）发展目标\n" + goal + "\n" + "\n".join(details) + "\n到2035年，建成现代化数字政府。\n"
    rows = dated(text)
    assert rows and all((y, src) == (year, "section") for _, _, y, src in rows), rows


def test_a_paragraph_before_any_goal_of_its_section_gets_no_year_from_it():
    text = "（三）主要任务\n推进政务服务标准化，网上可办率达到100%。\n到2025年，建成一体化平台。\n"
    assert dated(text) == [(100.0, "%", None, None)]


def test_an_indicator_tables_target_column_takes_the_plan_horizon():
    text = ("（四）总体目标\n到2025年，建成数字政府。\n到2035年，建成现代化数字政府。\n"
            "| 序号 | 主要指标 | 目标值 |\n| --- | --- | --- |\n| 1 | 一窗综合受理率（%） | 100 |\n"
            "| 2 | 电子印章覆盖率（%） | 95 |\n")
    assert dated(text) == [(100.0, "%", 2025, "table"), (95.0, "%", 2025, "table")]
    # a year in the column header says itself
    text2 = text.replace("| 目标值 |", "| 2027年 |")
    assert dated(text2) == [(100.0, "%", 2027, "table"), (95.0, "%", 2027, "table")]


def test_the_plans_own_period_dates_what_nothing_else_does():
    text = "某省数字政府建设规划（2023—2025年）\n三、主要任务\n推进政务服务标准化，网上可办率达到100%。\n"
    assert dated(text) == [(100.0, "%", 2025, "document")]
    # no period in the title: no year
    assert dated(text.replace("（2023—2025年）", "")) == [(100.0, "%", None, None)]


@pytest.mark.parametrize("deadline", ["年底前", "年内", "6月底前", "今年底前", "十月底前"])
def test_relative_deadlines_take_the_plans_own_year_from_its_title(deadline):
    text = f"2024年某省数字政府建设工作要点\n一、重点任务\n{deadline}，政务服务事项网上可办率达到95%。\n"
    assert dated(text) == [(95.0, "%", 2024, "plan_year")]
    assert goal_years(text) == [(2024, deadline)]


def test_relative_deadlines_take_the_year_of_the_plans_date_without_a_dated_title():
    text = ("某市数字政府建设工作方案\n各区人民政府：\n现将方案印发给你们。\n某市人民政府办公室\n2023年3月1日\n"
            "一、重点任务\n年底前，电子证照用证率达到85%。\n")
    assert dated(text) == [(85.0, "%", 2023, "plan_year")]


@pytest.mark.parametrize("sentence", [
    "建立每年底前报送制度，网上可办率达到95%。",  # every year
    "3年内，网上可办率达到95%。",  # a duration
    "截至上年底，网上可办率达到95%。",  # the past
    "半年内，网上可办率达到95%。",  # a duration
])
def test_words_that_are_no_relative_deadline(sentence):
    text = f"2024年某省数字政府建设工作要点\n一、重点任务\n{sentence}\n"
    assert [y for _, _, y, _ in dated(text)] == [None]
    assert goal_years(text) == []


def test_a_relative_deadline_without_a_plan_year_dates_nothing():
    text = "某省数字政府建设工作要点\n一、重点任务\n年底前，网上可办率达到95%。\n"
    assert dated(text) == [(95.0, "%", None, None)] and goal_years(text) == []


def test_a_year_followed_by_year_end_is_a_deadline():
    text = "二、主要任务\n2023年年底前，全省建设不少于2000个智慧社区。2025年年末前，覆盖率达到90%以上。\n"
    assert goal_years(text) == [(2023, "2023年年底前"), (2025, "2025年年末前")]
    assert [(v, y) for v, _, y, _ in dated(text)] == [(2000.0, 2023), (90.0, 2025)]
