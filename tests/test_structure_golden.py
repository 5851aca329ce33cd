"""Golden section trees of the seeds (plain pipeline, `seed_rows`)."""

from __future__ import annotations

import pytest

from tests.conftest import seed_doc
from tests.test_structure import assert_tree

# seed: (level-1 body sections, level-2 body sections)
GOLDEN = {"000": (9, 35), "001": (7, 24), "002": (8, 32), "003": (4, 18), "004": (6, 21)}


def _sections(rows, prefix):
    doc = seed_doc(rows, prefix)
    return doc, [s for s in rows["sections"] if s["doc_id"] == doc["doc_id"]]


@pytest.mark.parametrize("prefix", sorted(GOLDEN))
def test_seed_body_level_counts(seed_rows, prefix):
    _, sections = _sections(seed_rows, prefix)
    counts = tuple(sum(1 for s in sections if s["kind"] == "body" and s["level"] == lvl) for lvl in (1, 2))
    assert counts == GOLDEN[prefix]


@pytest.mark.parametrize("prefix", sorted(GOLDEN))
def test_seed_trees_are_consistent(seed_rows, prefix):
    doc, sections = _sections(seed_rows, prefix)
    assert_tree(sections, doc["text"])


def test_seed_002_level_one_headings(seed_rows):
    _, sections = _sections(seed_rows, "002")
    assert [s["heading"] for s in sections if s["kind"] == "body" and s["level"] == 1] == [
        "发展现状和总体要求", "构建协同高效的政府数字化履职能力体系", "构建数字政府全方位安全保障体系",
        "构建科学规范的数字政府建设制度规则体系", "构建开放共享的数据资源体系", "构建智能集约的平台支撑体系",
        "以数字政府建设全面引领驱动数字化发展", "加强党对数字政府建设工作的领导",
    ]


def test_seed_002_second_level_labels_run_in_order(seed_rows):
    _, sections = _sections(seed_rows, "002")
    by_parent: dict[str, list[int]] = {}
    for s in sections:
        if s["kind"] == "body" and s["level"] == 2:
            by_parent.setdefault(s["parent_id"], []).append(s["ordinal"])
    assert [len(v) for v in by_parent.values()] == [2, 7, 5, 5, 3, 3, 3, 4]
    assert all(v == list(range(1, len(v) + 1)) for v in by_parent.values())


def test_seed_001_interpretation_has_four_headings(seed_rows):
    _, sections = _sections(seed_rows, "001")
    interp = [s for s in sections if s["kind"] == "interpretation" and s["level"] >= 1]
    assert [(s["label"], s["level"]) for s in interp] == [("一、", 1), ("二、", 1), ("三、", 1), ("四、", 1)]
    assert interp[0]["heading"].startswith("为什么要出台")
    (sig,) = [s for s in sections if s["kind"] == "signature"]
    assert "河北省人民政府" in sig["text"] and sig["char_end"] <= interp[0]["char_start"]


def test_seed_001_run_in_task_headings(seed_rows):
    _, sections = _sections(seed_rows, "001")
    first = next(s for s in sections if s["kind"] == "body" and s["level"] == 3)
    assert (first["label"], first["heading"]) == ("1.", "建立全省宏观经济发展基础数据库")
    assert first["text"].startswith("推动经济运行相关领域业务数字化升级")


def test_seed_004_table_of_contents_is_not_body(seed_rows):
    doc, sections = _sections(seed_rows, "004")
    (toc,) = [s for s in sections if s["kind"] == "toc"]
    assert toc["text"].startswith("目") and "六、保障措施" in toc["text"]
    first_body = next(s for s in sections if s["kind"] == "body")
    assert toc["char_end"] <= first_body["char_start"] and first_body["heading"] == "发展基础与环境"
    assert [s["kind"] for s in sections[:3]] == ["preamble", "signature", "boilerplate"]


def test_seed_000_notice_signature_precedes_the_plan(seed_rows):
    _, sections = _sections(seed_rows, "000")
    kinds = [s["kind"] for s in sections]
    assert kinds[:3] == ["preamble", "signature", "preamble"] and set(kinds[3:]) <= {"body", "attachment"}
    assert sections[2]["text"].startswith("贵州省关于加强数字政府建设实施方案")


def test_seed_003_markdown_levels(seed_rows):
    _, sections = _sections(seed_rows, "003")
    l3 = [s for s in sections if s["kind"] == "body" and s["level"] == 3]
    assert l3[0]["heading"] == "业务应用体系"  # run-in 1. under （一）技术架构
    assert any(s["heading"] == "高效协同的“三个一”综合应用系统" for s in l3)  # #### 1.
    assert not any(s["kind"] in ("toc", "signature", "interpretation") for s in sections)
