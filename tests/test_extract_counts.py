"""Count metrics (issue 23), on invented sentences: counts a report of results states with any
verb or none, counts whose unit only their indicator gives (用户数达到120万), a value standing
inside its indicator (镇街95%覆盖率), and the numbers that stay no metric."""

from __future__ import annotations

import pytest

from flows.extract.metrics import extract_metrics
from flows.extract import read_document
from tests.test_extract_common import build_sections

REPORT = "一、发展现状\n"
TASKS = "三、主要任务\n"


def rows(text: str) -> list[dict]:
    out = extract_metrics("t", read_document(text, build_sections(text)))
    for r in out:
        assert r["source_text"] == text[r["char_start"]:r["char_end"]] and r["indicator"]
    return out


def brief(text: str) -> list[tuple]:
    return [(r["value"], r["unit"], r["indicator"], r["is_target"]) for r in rows(text)]


@pytest.mark.parametrize("sentence, want", [
    ("建成全省共享交换体系，58家省级部门注册发布目录1200类，挂接资源1500类。",
     [(58.0, "家", False), (1200.0, "类", False), (1500.0, "类", False)]),
    ("获得15个国家部委数据接口授权。", [(15.0, "个", False)]),
    ("制定数据元等9类地方标准。", [(9.0, "类", False)]),
    ("助力2600项政务服务事项实现“掌上办”。", [(2600.0, "项", False)]),
])
def test_a_report_of_results_counts_what_was_achieved(sentence, want):
    assert [(v, u, t) for v, u, _, t in brief(REPORT + sentence + "\n")] == want


@pytest.mark.parametrize("sentence", [
    "主要从以下3个方面推进。",  # parts of the document
    "形成了“1+13+N”总体架构。",  # a structural formula
    "12345热线接通率稳步提升。",  # a number with no unit
    "建成1个省级平台。",  # a count of one names an architecture
])
def test_what_a_report_states_without_a_count_stays_no_metric(sentence):
    assert brief(REPORT + sentence + "\n") == []


@pytest.mark.parametrize("sentence, value, unit, comparator", [
    ("闽政通日活用户数达到120万。", 1.2e6, "人", "="),
    ("政务服务网实名用户注册数突破8000万。", 8e7, "人", ">"),
    ("年办件量超过300万。", 3e6, "件", ">"),
    ("入驻平台的市场主体数量达到50万。", 5e5, "户", "="),
])
def test_a_count_whose_unit_its_indicator_gives(sentence, value, unit, comparator):
    (r,) = rows(TASKS + sentence + "\n")
    assert (r["value"], r["unit"], r["comparator"]) == (value, unit, comparator)


@pytest.mark.parametrize("sentence", [
    "数据总量达到120万。",  # counts of what? no unit to give
    "用户数排名第3。",  # no 万/亿: a rank
    "注册用户数达到120万人。",  # a unit is written: read once, as an ordinary quantity
])
def test_a_bare_number_after_an_indicator_without_a_unit_it_implies(sentence):
    got = rows(TASKS + sentence + "\n")
    assert len(got) <= 1 and all(r["unit"] == "人" and r["value"] == 1.2e6 for r in got)


@pytest.mark.parametrize("sentence, indicator", [
    ("实现综合窗口全覆盖、政务服务一体机镇街95%覆盖率。", "政务服务一体机镇街覆盖率"),
    ("推动社会管理、公共服务等领域行业应用90%覆盖率。", "公共服务等领域行业应用覆盖率"),
    ("实现审批事项85%完成率。", "审批事项完成率"),
])
def test_a_value_inside_its_indicator(sentence, indicator):
    (r,) = rows(TASKS + sentence + "\n")
    assert (r["indicator"], r["subject"], r["unit"]) == (indicator, None, "%")


def test_a_value_before_its_indicator_keeps_its_subject():
    (r,) = rows(TASKS + "一般政务服务事项100%“全程网办”。\n")
    assert (r["indicator"], r["subject"]) == ("全程网办", "一般政务服务事项")


@pytest.mark.parametrize("sentence, value, unit, indicator, year", [
    ("2023年年底前，使用频率最高的前100项电子证照证明在政务服务场景中全面应用。", 100.0, "项", "电子证照证明", 2023),
    ("到2025年，200个高频事项实现“跨省通办”。", 200.0, "个", "高频事项实现“跨省通办”", 2025),
    ("2024年底前，首批30个应用场景上线运行。", 30.0, "个", "应用场景上线运行", 2024),
])
def test_a_count_that_is_the_subject_of_a_dated_clause(sentence, value, unit, indicator, year):
    (r,) = rows(TASKS + sentence + "\n")
    assert (r["value"], r["unit"], r["indicator"], r["target_year"], r["is_target"]) == (value, unit, indicator, year, True)


@pytest.mark.parametrize("sentence", [
    "使用频率最高的前100项电子证照证明在各场景中全面应用。",  # no deadline dates it
    "到2025年，3个方面取得突破。",  # parts of the document
    "到2025年，前5名的地市获得表彰。",  # no verb of achievement after it
])
def test_a_counted_subject_without_a_dated_achievement_is_no_metric(sentence):
    assert rows(TASKS + sentence + "\n") == []
