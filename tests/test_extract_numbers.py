"""Numerals and quantities (flows/extract/numbers.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.extract.numbers import QUANTITY, number, parse_quantity


@pytest.mark.parametrize("text, multiplier, value", [
    ("90", None, 90.0), ("92.5", None, 92.5), ("1,200", None, 1200.0), ("1.5", "万", 15000.0),
    ("10.8", "亿", 1080000000.0), ("九十", None, 90.0), ("两", None, 2.0), ("一万五千", None, 15000.0),
    ("十万", None, 100000.0), ("９０", None, 90.0), ("三点五", None, 3.5),
])
def test_number(text, multiplier, value):
    assert number(text, multiplier) == value


def quantities(text):
    return [(q.value, q.value_max, q.unit) for m in QUANTITY.finditer(text) if (q := parse_quantity(m))]


@pytest.mark.parametrize("text, expected", [
    ("百分之九十", [(90.0, None, "%")]),
    ("三分之一", [(33.33, None, "%")]),
    ("90％", [(90.0, None, "%")]),
    ("近1.5万家", [(15000.0, None, "家")]),
    ("10.8亿人", [(1080000000.0, None, "人")]),
    ("90%—95%", [(90.0, 95.0, "%")]),
    ("1—2万人", [(10000.0, 20000.0, "人")]),
    ("3个工作日", [(3.0, None, "工作日")]),
    ("5亿元", [(500000000.0, None, "元")]),
    ("300万元", [(3000000.0, None, "元")]),
    ("20PB", [(20.0, None, "PB")]),
    ("IPv6改造", []), ("5G网络", []), ("12345热线", []), ("1+15+N", []), ("0931-8123456", []),
    ("2025-2021年", []), ("6个月", []), ("GB/T 9704", []),
])
def test_quantities(text, expected):
    assert quantities(text) == expected


@given(st.text(alphabet=st.sampled_from(list("0123456789.,，%％万亿千百十一二两三九零〇分之个家天—-~至到余多元PBGT")), max_size=30))
def test_quantities_never_crash(text):
    for value, value_max, unit in quantities(text):
        assert value >= 0 and (value_max is None or value_max > value) and unit
