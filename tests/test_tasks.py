"""Tasks with assigned units, on invented texts and on seed 001."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.extract.tasks import extract_tasks
from flows.extract import read_document
from flows.contract.schema import schema
from flows.structure.sections import parse_sections
from tests.conftest import seed_doc


def tasks_of(text: str) -> list[dict]:
    rows = extract_tasks("d", read_document(text, parse_sections("d", text)))
    schema("tasks").table(rows)  # the rows fit the contract
    for r in rows:
        assert text[r["char_start"]:r["char_end"]] == r["source_text"]
    return rows


def units(r: dict) -> tuple[list[str], list[str], list[str]]:
    return r["lead_units"], r["responsible_units"], r["supporting_units"]


def test_bracketed_assignment_after_a_run_in_task():
    text = ("二、提升履职效能\n（一）强化经济运行分析。\n"
            "1.建立全省宏观经济发展基础数据库。推动数字化升级。（牵头单位：省发展改革委、省政府办公厅，责任单位：省统计局，各市政府、雄安新区管委会）\n"
            "2.加快构建主题数据库。按主题整合。(责任单位:省发展改革委、省农业农村厅,有关市、县政府)\n")
    t1, t2 = tasks_of(text)
    assert t1["heading"] == "建立全省宏观经济发展基础数据库"
    assert units(t1) == (["省发展改革委", "省政府办公厅"], ["省统计局", "各市政府", "雄安新区管委会"], [])
    assert t1["source_text"].startswith("（牵头单位") and t1["source_text"].endswith("）")
    assert units(t2) == ([], ["省发展改革委", "省农业农村厅", "有关市", "县政府"], [])
    assert t2["section_id"] != t1["section_id"] and t1["task_id"] == "d-t0000"


def test_supporting_units_deadline_and_brackets_inside_unit_names():
    text = ("一、任务\n（一）提升数字素养。依托省委党校开展培训。（牵头单位：省委组织部，配合单位：省委党校（行政学院）、"
            "省人力资源社会保障厅等。完成时限：2025年底）\n")
    (t,) = tasks_of(text)
    assert units(t) == (["省委组织部"], [], ["省委党校（行政学院）", "省人力资源社会保障厅"])
    assert t["deadline"] == "2025年底" and t["heading"] == "提升数字素养"


def test_assignment_lines_of_their_own():
    text = ("一、任务\n（一）建设政务云\n建设全省统一政务云平台。\n牵头单位：省大数据局\n责任单位：省财政厅；各市州人民政府\n"
            "（二）建设政务网\n正文。\n")
    (t,) = tasks_of(text)
    assert units(t) == (["省大数据局"], ["省财政厅", "各市州人民政府"], [])
    assert t["heading"] == "建设政务云" and t["source_text"].endswith("各市州人民政府")


def test_paragraph_with_its_own_short_title_names_the_task():
    text = "一、任务\n（一）夯实基础\n概述。\n建设省级大数据中心。建设集数据归集于一体的中心（责任单位：省大数据局）。\n"
    (t,) = tasks_of(text)
    assert t["heading"] == "建设省级大数据中心"


def test_task_breakdown_table():
    text = ("附件\n| 序号 | 重点任务 | 牵头单位 | 配合单位 | 完成时限 |\n|---|---|---|---|---|\n"
            "| 1 | 建设政务云 | 省大数据局 | 省财政厅、省发展改革委 | 2024年 |\n| 2 | 整合专网 |  |  | 持续推进 |\n")
    (t,) = tasks_of(text)
    assert t["heading"] == "建设政务云" and units(t) == (["省大数据局"], [], ["省财政厅", "省发展改革委"])
    assert t["deadline"] == "2024年" and t["source_text"].startswith("| 1 |")


def test_no_assignment_no_task():
    text = "一、任务\n（一）责任落实。各单位要落实责任（包括牵头和配合），明确责任单位。\n责任单位要主动作为。\n"
    assert tasks_of(text) == []


def test_seed_001_assignments(seed_rows):
    doc = seed_doc(seed_rows, "001")
    tasks = [t for t in seed_rows["tasks"] if t["doc_id"] == doc["doc_id"]]
    assert len(tasks) == 44
    first = tasks[0]
    assert first["heading"] == "建立全省宏观经济发展基础数据库"
    assert units(first) == (["省发展改革委", "省政府办公厅"], ["省统计局", "各市政府", "雄安新区管委会"], [])
    assert all(doc["text"][t["char_start"]:t["char_end"]] == t["source_text"] for t in tasks)


def test_seed_002_assignments_with_deadlines(seed_rows):
    doc = seed_doc(seed_rows, "002")
    tasks = [t for t in seed_rows["tasks"] if t["doc_id"] == doc["doc_id"]]
    assert len(tasks) == 43
    assert {t["deadline"] for t in tasks} == {"持续开展", "2025年底"}
    assert all(t["responsible_units"] and not any(u.endswith(("等", "。")) for u in t["responsible_units"])
               for t in tasks)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["（", "(", "）", ")", "牵头单位：", "责任单位:", "配合部门：", "完成时限：", "省大数据局",
                                 "、", "，", "。", "\n", "一、任务\n", "| 重点任务 | 牵头单位 |\n", "| 1 | 建云 | 省局 |\n",
                                 "1.建设平台。"]), max_size=40).map("".join))
def test_tasks_never_crash_and_keep_provenance(text):
    for t in tasks_of(text):
        assert t["lead_units"] or t["responsible_units"] or t["supporting_units"]
