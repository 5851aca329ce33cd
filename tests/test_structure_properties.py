"""Property tests: the section parser never crashes and always returns a consistent tree."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.structure.sections import parse_sections
from tests.test_linear_time import MAX_RATIO, work_of
from tests.test_structure import assert_tree

_LABELS = ["一、", "二、", "十一、", "（一）", "(二)", "（三）、", "1.", "2、", "１．", "3,", "（1）", "(2)",
           "3）", "①", "第一章 ", "第二部分：", "第一节 ", "## ", "### 一、", "#### 1.", "**一、", "——", "• "]
_WORDS = ["总体要求", "指导思想。以习近平新时代中国特色社会主义思想为指导", "建设政务云", "目录", "目 录",
          "内容解读", "附件1", "附件：分工表", "某省人民政府", "2023年1月5日", "二〇二三年三月二日", "（此件公开发布）",
          "相关链接", "抄送：省委办公厅。", "到2025年，全省政务服务事项网上可办率达到100%，数据共享率达到95%，满意度提升，营商环境优化。",
          "", "。", "：", "**", "1.5万家", "牵头单位：省发展改革委"]

line = st.builds(lambda a, b: a + b, st.sampled_from(_LABELS + [""] * 5), st.sampled_from(_WORDS))
spaces = st.sampled_from(["", "　　", "  ", "\t"])
structured = st.lists(st.builds(lambda s, x: s + x, spaces, line), max_size=60).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structured)
def test_parser_gives_a_consistent_tree_on_heading_soup(text):
    assert_tree(parse_sections("p", text), text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_parser_never_crashes_on_arbitrary_text(text):
    assert_tree(parse_sections("p", text), text)


def _long_plan(sections: int) -> str:
    part = ("{n}、总体要求\n（一）指导思想。以新思想为指导。\n1.建立数据库。推动经济运行数字化（牵头单位：省发展改革委）。\n"
            "——打造服务满意数字政府。\n正文段落，包括数字2025年和5G。\n")
    return "".join(part.format(n="一二三四五六七八九"[i % 9]) for i in range(sections))


def test_parser_is_linear_in_the_text_length():
    """Counted work (lines of Python run in flows/, ``work_of``), not seconds: ten times the
    headings cost about ten times the work, a quadratic parser's about a hundred times."""
    small, large = _long_plan(100), _long_plan(1000)
    assert len(parse_sections("p", large)) == 1 + 1000 * 3
    assert work_of(parse_sections, "p", large) <= MAX_RATIO * work_of(parse_sections, "p", small)


@pytest.mark.slow
def test_parser_gives_a_consistent_tree_on_a_hundred_thousand_lines():
    text = _long_plan(20000)  # 100k lines
    rows = parse_sections("p", text)
    assert len(rows) == 1 + 20000 * 3
    assert_tree(rows, text)
