"""Metrics on invented sentences: values, units, comparators, indicator/subject, target year,
target vs baseline, indicator tables, and the numbers that must not become metrics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.extract.metrics import extract_metrics
from flows.extract import read_document
from flows.contract.schema import schema
from tests.test_extract_common import build_sections

UNITS = set(next(c for c in schema("metrics").columns if c.name == "unit").allowed)


def metrics(text: str, kinds: dict[str, str] | None = None) -> list[dict]:
    rows = extract_metrics("t", read_document(text, build_sections(text, kinds)))
    for r in rows:
        assert r["source_text"] == text[r["char_start"]:r["char_end"]]
        assert r["unit"] in UNITS
        assert r["indicator"]
    return rows


def one(text: str) -> dict:
    rows = metrics("二、主要任务\n" + text)
    assert len(rows) == 1, rows
    return rows[0]


def brief(rows: list[dict]) -> list[tuple]:
    return [(r["indicator"], r["subject"], r["value"], r["unit"], r["comparator"]) for r in rows]


def test_one_row_per_value_with_indicator_and_subject():
    text = "实现一般政务服务事项100%“全程网办”，个人事项90%“移动办”，电子证照与纸质证照同步制发比例达90%。"
    assert brief(metrics(text)) == [
        ("全程网办", "一般政务服务事项", 100.0, "%", "="),
        ("移动办", "个人事项", 90.0, "%", "="),
        ("电子证照与纸质证照同步制发比例", None, 90.0, "%", "="),
    ]


def test_half_width_quotes_and_punctuation():
    text = '实现一般政务服务事项100%"全程网办",个人事项90%"掌上办"。'
    assert brief(metrics(text)) == [
        ("全程网办", "一般政务服务事项", 100.0, "%", "="), ("掌上办", "个人事项", 90.0, "%", "=")]


@pytest.mark.parametrize("sentence, indicator, subject", [
    ("全省政务服务事项网上可办率达到95%以上。", "全省政务服务事项网上可办率", None),
    ("80%以上的依申请政务服务事项实现全程网办。", "全程网办", "依申请政务服务事项"),
    ("建成10个以上省级示范应用。", "省级示范应用", None),
    ("培育100家数字化转型标杆企业。", "数字化转型标杆企业", None),
    ("推动企业投资项目最多90天落地。", "企业投资项目落地", None),
])
def test_indicator_subject_forms(sentence, indicator, subject):
    row = one(sentence)
    assert (row["indicator"], row["subject"]) == (indicator, subject)


@pytest.mark.parametrize("sentence, value, value_max, unit, value_text", [
    ("政务服务满意度达到百分之九十。", 90.0, None, "%", "百分之九十"),
    ("三分之一以上的高频事项实现“免申即享”。", 33.33, None, "%", "三分之一以上"),
    ("企业开办时间压减至两个工作日以内。", 2.0, None, "工作日", "压减至两个工作日以内"),
    ("数据共享调用量超过10.8亿次。", 1080000000.0, None, "次", "超过10.8亿次"),
    ("政务服务平台实名注册用户近1.5万家。", 15000.0, None, "家", "近1.5万家"),
    ("“皖事通”注册用户突破10.8亿人。", 1080000000.0, None, "人", "突破10.8亿人"),
    ("网上可办率达到90%—95%。", 90.0, 95.0, "%", "90%—95%"),
    ("建设10至15个数字化转型促进中心。", 10.0, 15.0, "个", "10至15个"),
    ("带动社会投资5亿元以上。", 500000000.0, None, "元", "5亿元以上"),
    ("政务云存储能力达到20PB。", 20.0, None, "PB", "20PB"),
    ("财政资金使用效率提高5个百分点。", 5.0, None, "个百分点", "5个百分点"),
    ("城市大脑日均处理能力提升3倍。", 3.0, None, "倍", "3倍"),
    ("全省高频事项办理时限平均压缩60%。", 60.0, None, "%", "60%"),
    ("归集数据累计达1,200亿条。", 120000000000.0, None, "条", "1,200亿条"),
    ("开展数字技能培训超过10万人次。", 100000.0, None, "人次", "超过10万人次"),
])
def test_values_numerals_ranges_multipliers(sentence, value, value_max, unit, value_text):
    row = one(sentence)
    assert (row["value"], row["value_max"], row["unit"], row["value_text"]) == (value, value_max, unit, value_text)


@pytest.mark.parametrize("sentence, comparator", [
    ("网上可办率达到95%以上。", ">="),
    ("网上可办率不低于95%。", ">="),
    ("接入部门不少于50个。", ">="),
    ("政务服务事项网上办理率达到90%及以上。", ">="),
    ("日均办件量超过1万件。", ">"),
    ("注册用户突破3000万人。", ">"),
    ("建成1000余个村级服务站。", ">"),
    ("承诺时限不超过5个工作日。", "<="),
    ("审批时间控制在20个工作日以内。", "<="),
    ("企业投资项目最多90天落地。", "<="),
    ("办理环节压减至3个以内。", "<="),
    ("企业开办时间压缩至1天。", "<="),
    ("群众办事平均跑动次数低于0.5次。", "<"),
    ("覆盖近1.5万家单位。", "~"),
    ("入驻事项约3000项。", "~"),
    ("事项网办率在95%左右。", "~"),
    ("事项网办率达到95%。", "="),
])
def test_comparators(sentence, comparator):
    assert one(sentence)["comparator"] == comparator


def test_respectively_pairs_indicators_with_values():
    rows = metrics("二、任务\n政务服务事项网上可办率和全程网办率分别达到95%、80%。")
    assert brief(rows) == [("政务服务事项网上可办率", None, 95.0, "%", "="), ("全程网办率", None, 80.0, "%", "=")]


def test_from_to_gives_a_baseline_and_a_target():
    rows = metrics("二、任务\n到2025年，全省政务服务事项网上可办率由85%提高到98%。")
    assert [(r["indicator"], r["value"], r["is_target"], r["target_year"]) for r in rows] == [
        ("全省政务服务事项网上可办率", 85.0, False, None), ("全省政务服务事项网上可办率", 98.0, True, 2025)]


def test_from_to_with_a_comparator_on_the_target():
    rows = metrics("二、任务\n审批时限由20个工作日压缩至5个工作日。")
    assert [(r["value"], r["comparator"], r["is_target"]) for r in rows] == [(20.0, "=", False), (5.0, "<=", True)]


def test_target_year_from_sentence_paragraph_section_or_none():
    text = ("一、发展目标\n到2025年，主要目标如下：\n1.政务服务\n一网通办事项比例达到90%。\n"
            "2.数据共享\n到2024年，数据共享需求满足率达到95%。\n"
            "二、实施步骤\n（一）攻坚阶段（2021—2022年）\n高频事项网办率达到80%。\n"
            "三、主要任务\n到2023年，建成政务中台。平台接入率达到70%。\n四、保障\n考核覆盖率达到100%。")
    got = {r["value"]: r["target_year"] for r in metrics(text)}
    assert got == {90.0: 2025, 95.0: 2024, 80.0: 2022, 70.0: 2023, 100.0: None}


@pytest.mark.parametrize("text", [
    "一、发展现状\n全省政务服务事项网上可办率达92.5%。",
    "（一）发展基础\n电子政务外网已覆盖省、市、县、乡四级，接入单位近1.5万家。",
    "二、工作成效\n累计归集数据超过100亿条。",
    "二、任务\n截至2022年底，全省政务服务事项网上可办率达95%。",
    "二、任务\n目前，全省已有90%的事项实现网上受理。",
    "前言\n近年来，我省政务服务事项网上可办率达到95%。",
    "前言\n“十三五”时期，全省数据共享交换量超过50亿条。",
    "一、取得的主要成效\n全省一体化政务服务平台注册用户超过5000万人。",
    "（一）发展基础和面临形势\n省级政务服务事项网上可办率达到98%。",
])
def test_baselines_and_achievements_are_not_targets(text):
    (row,) = metrics(text)
    assert row["is_target"] is False and row["target_year"] is None


@pytest.mark.parametrize("text, expected", [
    ("一、现状与形势\n截至2020年底，全市建成政务云节点3个，接入部门120个。",
     [("全市建成政务云节点", 3.0, "个", False), ("接入部门", 120.0, "个", False)]),
    ("二、目标\n2020年底前，实现第一批58项事项“跨省通办”。", [("事项“跨省通办”", 58.0, "项", True)]),
    ("二、目标\n建设1个省级平台、14个市州分平台。", [("市州分平台", 14.0, "个", True)]),
    ("二、目标\n百分之百的市级事项实现“一趟不用跑”。", [("一趟不用跑", 100.0, "%", True)]),
])
def test_counts_closing_a_building_clause_batches_and_lists(text, expected):
    assert [(r["indicator"], r["value"], r["unit"], r["is_target"]) for r in metrics(text)] == expected


def test_paragraph_of_a_dated_goal_with_state_words_and_rate_nouns():
    text = ("二、主要目标\n到2022年底，高频事项“最多跑一次”实现率达到95%，新增300项“一件事”集成服务；"
            "全面推行“两个免于提交”，累计减少申请材料20万份。\n三、任务\n目前共有政务服务事项3000项。"
            "平均办理时间较2020年压缩50%。")
    got = [(r["indicator"], r["value"], r["unit"], r["is_target"], r["target_year"]) for r in metrics(text)]
    assert got == [
        ("高频事项“最多跑一次”实现率", 95.0, "%", True, 2022),
        ("“一件事”集成服务", 300.0, "项", True, 2022),
        ("减少申请材料", 200000.0, "份", True, 2022),
        ("平均办理时间压缩", 50.0, "%", True, None),
    ]


def test_compound_units_outside_the_vocabulary_are_left_out():
    assert metrics("二、任务\n全年共享交换数据12.6亿条次，服务群众5万户次。") == []


def test_a_task_heading_about_foundations_is_no_report():
    (row,) = metrics("二、任务\n（三）夯实网络基础。到2023年，政务外网接入率达到95%。")
    assert (row["is_target"], row["target_year"]) == (True, 2023)


def test_seed_style_baseline_value():
    (row,) = metrics("（一）发展基础\n电子政务外网已覆盖省、市、县、乡四级，接入单位近1.5万家。")
    assert (row["indicator"], row["value"], row["unit"], row["comparator"]) == ("接入单位", 15000.0, "家", "~")


@pytest.mark.parametrize("sentence", [
    "加快互联网协议第6版（IPv6）改造，推进IPv6规模部署。",
    "建设技术先进的5G无线政务网络，推动5G网络覆盖。",
    "持续优化12345政务服务便民热线，推动12345热线与110、119、120等紧急热线联动。",
    "采取“1+15+N”（1朵省级政务云，15个市级政务云节点，N个行业云）的架构。",
    "构建全区“1+6+N”数字政府大脑体系。",
    "本意见于2023年4月12日印发，2022年6月17日国务院印发指导意见。",
    "按照《国务院关于加强数字政府建设的指导意见》（国发〔2022〕14号）要求。",
    "咨询电话：0931-8123456，邮编730000。",
    "《实施意见》共包括7个部分，第一部分是总体要求。",
    "聚焦经济调节、市场监管、社会管理等7个方面，分类提出建设任务。",
    "建设经济调节、市场监管、社会管理、公共服务、生态环保、政务运行等6个重点领域数字政府大脑。",
    "打造1个全区统一赋能的基础数字政府大脑。",
    "以“一网通办”“一网统管”“一网协同”（以下简称“三个一”）为抓手。",
    "打造“甘快办”“甘政通”“12345热线”“不来即享”四个甘肃省数字政府特色品牌。",
    "推动电子政务外网省市县乡村五级全覆盖。",
    "推动各级政务服务大厅建设24小时“不打烊”自助政务服务区。",
    "推行“一件事一次办”，实现“最多跑一次”。",
    "深入贯彻习近平总书记视察广西“4·27”重要讲话精神。",
    "按照国家网络安全等级保护2.0标准体系要求。",
    "提出全面提升政府履职效能等5项重点任务。",
    "从制度、技术、运营、创新四个方面，推进商用密码使用。",
    "实现对省、州市、县三级发展规划、专项规划、区域规划和空间规划4类规划全覆盖管理。",
    "依据《某省“十四五”数字经济发展规划（2021—2025年）》编制。",
    "1.建立全省宏观经济基础数据库。",
    "构建“1网+1云+1基座+N应用”技术架构。",
    "提供7×24小时在线服务。",
])
def test_not_metrics(sentence):
    assert metrics("二、主要任务\n" + sentence) == []


def test_no_metrics_from_toc_or_interpretation():
    text = ("一、目录\n（一）网上可办率达到90%\n二、主要任务\n网上可办率达到95%。\n三、政策解读\n"
            "《方案》提出网上可办率达到95%。")
    rows = metrics(text, {"目录": "toc", "解读": "interpretation"})
    assert [(r["value"], r["section_id"]) for r in rows] == [(95.0, "t-0003")]


TABLE = """（三）主要指标
表1 “十四五”数字政府建设主要指标
| 序号 | 类别 | 主要指标 | 2020年基期值 | 2025年目标值 | 属性 |
| --- | --- | --- | --- | --- | --- |
| 1 | 政务服务 | 政务服务事项网上可办率（%） | 90 | ≥98 | 预期性 |
| 2 | 一网通办事项比例（%） | 60 | 90以上 | 预期性 |
| 3 | 数据资源 | 数据共享交换量（亿条） | 12.5 | 50 | 预期性 |
| 4 | 培训数字化人才（万名） | — | 1.2 | 约束性 |
| 5 | 数字机关 | 移动办公覆盖率（%） | 基本覆盖 | 100 | 预期性 |
"""


def test_indicator_table_rows_merged_cells_units_and_base_columns():
    rows = metrics(TABLE)
    got = [(r["indicator"], r["value"], r["unit"], r["comparator"], r["is_target"], r["target_year"]) for r in rows]
    assert got == [
        ("政务服务事项网上可办率", 90.0, "%", "=", False, None),
        ("政务服务事项网上可办率", 98.0, "%", ">=", True, 2025),
        ("一网通办事项比例", 60.0, "%", "=", False, None),
        ("一网通办事项比例", 90.0, "%", ">=", True, 2025),
        ("数据共享交换量", 1250000000.0, "条", "=", False, None),
        ("数据共享交换量", 5000000000.0, "条", "=", True, 2025),
        ("培训数字化人才", 12000.0, "名", "=", True, 2025),
        ("移动办公覆盖率", 100.0, "%", "=", True, 2025),
    ]
    line = next(r for r in rows if r["indicator"] == "一网通办事项比例")["source_text"]
    assert line == "| 2 | 一网通办事项比例（%） | 60 | 90以上 | 预期性 |"
    assert {r["section_id"] for r in rows} == {"t-0001"}


def test_indicator_table_in_an_attachment_is_read():
    text = "一、任务\n推进数据共享。\n二、附件\n| 序号 | 指标 | 目标值 |\n|---|---|---|\n| 1 | 网上可办率（%） | 100 |\n"
    rows = metrics(text, {"附件": "attachment"})
    assert [(r["indicator"], r["value"], r["section_id"]) for r in rows] == [("网上可办率", 100.0, "t-0002")]


def test_table_with_unit_column_and_year_columns():
    text = ("主要指标\n序号\t指标\t单位\t2020年\t2025年\n1\t电子证照共享应用率\t%\t70\t95\n"
            "2\t一网通办注册用户\t万人\t1500\t3000\n")
    rows = metrics(text)
    assert [(r["indicator"], r["value"], r["unit"], r["is_target"], r["target_year"]) for r in rows] == [
        ("电子证照共享应用率", 70.0, "%", False, None), ("电子证照共享应用率", 95.0, "%", True, 2025),
        ("一网通办注册用户", 15000000.0, "人", False, None), ("一网通办注册用户", 30000000.0, "人", True, 2025)]


def test_table_with_first_and_second_level_indicators():
    text = ("| 一级指标 | 二级指标 | 单位 | 目标值 |\n|---|---|---|---|\n| 政务服务 | 全程网办率 | % | 90 |\n"
            "| 即办件占比 | % | 50 |\n")
    rows = metrics(text)
    assert [(r["indicator"], r["value"], r["unit"]) for r in rows] == [("全程网办率", 90.0, "%"), ("即办件占比", 50.0, "%")]


def test_a_table_that_is_no_indicator_table_gives_nothing():
    text = "索引号 | 620702074/2022-00035 | 发文字号 | 甘政办发〔2021〕113号 |\n生成日期 | 2022-05-13 | 是否有效 | |"
    assert metrics(text) == []


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789.%％万亿个家天以上超过近约达到的实现事项率，。、；|\n—-（）《》第IPv5G+年月日百分之九十三两")), max_size=80))
def test_metrics_never_crash_and_rows_are_valid(text):
    for r in extract_metrics("t", read_document(text, build_sections(text))):
        assert r["source_text"] == text[r["char_start"]:r["char_end"]]
        assert r["unit"] in UNITS and r["comparator"] in {"=", ">=", "<=", ">", "<", "~"}
        assert r["value_max"] is None or r["value_max"] > r["value"]


# --- level or change ----------------------------------------------------------------------------


@pytest.mark.parametrize("sentence, value, unit, measure", [
    ("到2025年，数字经济核心产业增加值比2020年增长150%。", 150.0, "%", "change"),
    ("到2025年，网上办事比例较2020年提高5个百分点。", 5.0, "个百分点", "change"),
    ("到2025年，政务服务事项办理时限平均压缩50%。", 50.0, "%", "change"),
    ("到2025年，企业办事材料比2020年减少了30%以上。", 30.0, "%", "change"),
    ("到2025年，数字经济规模年均增长15%。", 15.0, "%", "change"),
    ("到2025年，数据要素市场规模增长率达到20%。", 20.0, "%", "change"),
    ("到2025年，政务云资源利用率下降不超过10%。", 10.0, "%", "change"),
    ("到2025年，全程网办率达到90%。", 90.0, "%", "level"),
    ("到2025年，全程网办率提高到95%。", 95.0, "%", "level"),
    ("到2025年，全程网办率提升至95%。", 95.0, "%", "level"),
    ("到2025年，企业开办时间压缩至1个工作日。", 1.0, "工作日", "level"),
    ("到2025年，数字经济核心产业增加值占比达到10%。", 10.0, "%", "level"),
    ("到2025年，数字经济核心产业增加值150亿元。", 15000000000.0, "元", "level"),
    ("到2025年，建成10个以上示范应用。", 10.0, "个", "level"),
])
def test_a_value_is_a_level_or_a_change(sentence, value, unit, measure):
    row = one(sentence)
    assert (row["value"], row["unit"], row["measure"]) == (value, unit, measure)


def test_from_a_level_to_a_level_both_are_levels():
    rows = metrics("二、主要任务\n全程网办率由90%提高到95%。")
    assert [(r["value"], r["measure"]) for r in rows] == [(90.0, "level"), (95.0, "level")]


def test_indicator_table_growth_rates_and_points_are_changes():
    text = ("二、主要指标\n| 指标 | 单位 | 2020年 | 2025年 |\n| --- | --- | --- | --- |\n"
            "| 数字经济核心产业增加值年均增长率 | % | 12 | 150 |\n| 全程网办率 | % | 80 | 95 |\n"
            "| 网上办事比例提高 | 个百分点 | — | 5 |\n")
    got = {(r["indicator"], r["value"], r["measure"]) for r in metrics(text)}
    assert got == {("数字经济核心产业增加值年均增长率", 12.0, "change"), ("数字经济核心产业增加值年均增长率", 150.0, "change"),
                   ("全程网办率", 80.0, "level"), ("全程网办率", 95.0, "level"), ("网上办事比例提高", 5.0, "change")}
