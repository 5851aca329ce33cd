"""Goals on invented sentences: every deadline form, goal types, statements, and the negatives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.extract import read_document
from flows.extract.common import SectionIndex
from flows.extract.goals import extract_goals, year_value
from tests.test_extract_common import build_sections


def goals(text: str, kinds: dict[str, str] | None = None) -> list[dict]:
    rows = extract_goals("t", read_document(text, build_sections(text, kinds)))
    for r in rows:
        assert r["statement"] == text[r["char_start"]:r["char_end"]]
    return rows


def years(text: str, kinds: dict[str, str] | None = None) -> list[int]:
    return [r["target_year"] for r in goals(text, kinds)]


def test_overall_goals_in_a_goal_section_govern_their_paragraph():
    text = ("一、总体要求\n（三）发展目标\n到2025年，全市一体化政务服务能力显著增强。数据共享更加高效。\n"
            "到2035年，整体协同的数字政府全面建成。\n二、主要任务\n（一）夯实基础。推进政务云建设。")
    rows = goals(text)
    assert [(r["goal_type"], r["target_year"], r["deadline_text"]) for r in rows] == [
        ("overall", 2025, "到2025年"), ("overall", 2035, "到2035年")]
    assert rows[0]["statement"] == "到2025年，全市一体化政务服务能力显著增强。数据共享更加高效。"
    assert rows[0]["section_id"] == "t-0002"  # innermost: （三）发展目标
    assert rows[0]["start_year"] is None


@pytest.mark.parametrize("sentence, year, deadline", [
    ("至2025年，全省政务服务事项实现全程网办。", 2025, "至2025年"),
    ("推动政务数据共享，2025年底前建成统一平台。", 2025, "2025年底前"),
    ("2024年前完成非涉密业务专网迁移。", 2024, "2024年前"),
    ("力争到2026年底，建成城市运行管理中心。", 2026, "到2026年底"),
    ("到2023年6月底前，完成系统整合。", 2023, "到2023年6月底前"),
    ("到“十四五”末，数字政府体系基本形成。", 2025, "到“十四五”末"),
    ('到"十三五"末，基本建成电子政务外网。', 2020, '到"十三五"末'),
    ("到“十五五”末期，全面建成数字政府。", 2030, "到“十五五”末期"),
    ("到二〇二五年，基本建成数字政府。", 2025, "到二〇二五年"),
])
def test_deadline_forms(sentence, year, deadline):
    text = "二、主要任务\n" + sentence
    (row,) = goals(text)
    assert (row["target_year"], row["deadline_text"], row["goal_type"]) == (year, deadline, "milestone")


def test_phase_headings_with_year_spans():
    text = ("五、实施步骤\n（一）补齐短板阶段（2021—2022年）\n完善标准规范体系。\n"
            "（二）巩固提升阶段(2023-2024年)。全面实现一网通办。\n"
            "（三）深化拓展阶段（2025年）。建成服务型数字政府。\n"
            "近期（2021—2023年）：夯实基础。\n第二步（2024～2025年），全面提升。")
    rows = goals(text)
    assert [(r["goal_type"], r["start_year"], r["target_year"]) for r in rows] == [
        ("phase", 2021, 2022), ("phase", 2023, 2024), ("phase", 2025, 2025),
        ("phase", 2021, 2023), ("phase", 2024, 2025)]
    assert rows[0]["statement"] == "（一）补齐短板阶段（2021—2022年）\n完善标准规范体系。"
    assert rows[0]["deadline_text"] == "补齐短板阶段（2021—2022年）"


def test_milestone_chain_gives_one_row_per_deadline():
    text = ("2.构建安全保障体系。到2023年，安全保障能力基本覆盖各领域；到2024年，基本建成可管的网络安全体系；"
            "到2025年，形成一体化的网络安全积极防御体系。")
    rows = goals(text)
    assert [(r["goal_type"], r["target_year"]) for r in rows] == [
        ("milestone", 2023), ("milestone", 2024), ("milestone", 2025)]
    assert rows[1]["statement"] == "到2024年，基本建成可管的网络安全体系；"


def test_overall_goals_sharing_one_paragraph():
    text = ("（二）主要目标。到2025年，数字政府体系框架基本形成，政府履职数字化水平显著提升。数据资源有序共享。"
            "到2035年，数字政府基本建成。")
    rows = goals(text)
    assert [(r["goal_type"], r["target_year"]) for r in rows] == [("overall", 2025), ("overall", 2035)]
    assert rows[0]["statement"] == "到2025年，数字政府体系框架基本形成，政府履职数字化水平显著提升。数据资源有序共享。"
    assert rows[1]["statement"] == "到2035年，数字政府基本建成。"


def test_chain_in_a_goal_section_is_milestones_not_overall():
    text = "（二）工作目标\n到2023年，上线一网通办平台；到2025年，全面建成数字政府。"
    assert [r["goal_type"] for r in goals(text)] == ["milestone", "milestone"]


def test_two_deadlines_in_one_sentence_split_the_statement():
    text = "二、任务\n2023年底前完成省级平台建设，2024年底前实现市县全覆盖。"
    rows = goals(text)
    assert [r["statement"] for r in rows] == ["2023年底前完成省级平台建设，", "2024年底前实现市县全覆盖。"]


@pytest.mark.parametrize("sentence", [
    "依据《某省国民经济和社会发展第十四个五年规划和2035年远景目标纲要》，编制本规划。",
    "依据《甘肃省国民经济和社会发展第十四个五年规划和二○三五年远景目标纲要》要求编制。",
    "对标二○三五年远景目标，谋划数字政府建设。",
    "到2035年远景目标的实现奠定基础。",
    "本意见于2023年4月12日印发实施。",
    "2022年6月17日，国务院印发《关于加强数字政府建设的指导意见》。",
    "截至2022年底，全省政务服务事项网上可办率达95%。",
    "截止到2021年，已建成省级政务云。",
    "到2020年底，全省已建成电子政务外网。",
    "本规划期限为2021年至2025年。",
    "本规划期（2021—2025年）内，统筹推进各项任务。",
    "本办法有效期至2028年4月12日。",
    "预计2025年前后，数据要素市场基本形成。",
    "“十四五”期间，持续推进数字政府建设。",
    "甘肃省数字政府建设总体规划（2021—2025）",
])
def test_not_goals(sentence):
    assert goals("二、主要任务\n" + sentence) == []


def test_no_goals_in_past_reports_toc_or_interpretation():
    text = ("一、发展基础\n到2020年，建成省级数据共享交换平台。\n二、目录\n（一）补齐短板阶段（2021—2022年）\n"
            "三、政策解读\n到2025年，全面建成数字政府。\n四、主要目标\n到2025年，全面建成数字政府。")
    rows = goals(text, {"目录": "toc", "解读": "interpretation"})
    assert [(r["target_year"], r["section_id"]) for r in rows] == [(2025, "t-0005")]


def test_no_goals_from_table_rows():
    text = "附件\n| 序号 | 任务 | 完成时限 |\n|---|---|---|\n| 1 | 建成政务云 | 2023年底前 |\n"
    assert goals(text) == []


def test_year_value_reads_chinese_years():
    assert year_value("2025") == 2025
    assert year_value("二〇三五") == 2035
    assert year_value("二○二二") == 2022


def test_goal_context_years():
    text = ("一、发展目标\n到2025年，实现以下目标：\n1.服务效能\n政务服务事项网上可办率达到100%。\n"
            "二、实施步骤\n（一）起步阶段（2021—2022年）\n上线一网通办平台。\n"
            "三、主要任务\n推进数据共享。2024年底前，建成数据中台，接入率达90%。")
    doc = read_document(text, build_sections(text))
    ctx = doc.goal_context
    assert ctx.year_at(text.index("100%")) == 2025  # a goal section's introduction
    assert ctx.year_at(text.index("上线")) == 2022  # a phase heading
    assert ctx.year_at(text.index("90%")) == 2024  # the sentence
    assert ctx.year_at(text.index("推进数据共享")) is None


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("到至年底前末2025１０二〇三五“”十四阶段（）()—-，。；\n一、目标已远景《》")), max_size=80))
def test_goals_never_crash_and_offsets_hold(text):
    sections = build_sections(text)
    rows = extract_goals("t", read_document(text, sections))
    index = SectionIndex(sections)
    for r in rows:
        assert r["statement"] == text[r["char_start"]:r["char_end"]]
        assert r["section_id"] == index.at(r["char_start"])["section_id"]
        assert 1990 <= r["target_year"] <= 2100
