"""Fast forms in the structure and metadata stages equal their plain definitions."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.structure.sections import _LABEL_START, _LABELS, _without_page_suffix

_PLAIN_PAGE_SUFFIX = re.compile(r"[\s.．·…—-]*\d{0,4}$")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=list("12345０٣ .．·…—-\t\u3000a目录第一章"), max_size=16))
def test_page_suffix_is_the_plain_pattern(s):
    assert _without_page_suffix(s) == _PLAIN_PAGE_SUFFIX.sub("", re.sub(r"\s+", "", s))


def test_page_suffix_examples():
    assert _without_page_suffix("第一章 总体要求……12") == "第一章总体要求"
    assert _without_page_suffix("发展基础 123456") == "发展基础12"  # at most four digits are a page
    assert _without_page_suffix("2025年目标") == "2025年目标"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=list("第一二十百（(）)1２٣、.．,，①⑳章节 a"), min_size=1, max_size=8))
def test_every_label_starts_with_a_label_start(content):
    if any(rx.match(content) for _, rx in _LABELS):
        assert _LABEL_START.match(content)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["规划", "计划", "方案", "规", "划", "期限", "期", "时限", "时", "限", "为", "：",
                                 " ", "2021", "年", "—", "至", "2025", "案"]), max_size=14).map("".join))
def test_plan_period_in_text_is_the_plain_pattern(text):
    from flows.structure.metadata import _PERIOD_IN_TEXT

    plain = re.compile(r"(?:规划|计划|方案)?(?:期限|期|时限)(?:为|是|：|:)?\s*(\d{4})\s*年?\s*[—–\-~～至到]{1,2}\s*(\d{4})")
    assert [(m.span(), m.groups()) for m in _PERIOD_IN_TEXT.finditer(text)] == \
        [(m.span(), m.groups()) for m in plain.finditer(text)]
