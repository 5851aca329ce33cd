"""The shared patterns (flows/patterns/): one home each, and the same answers as the copies they replace."""
from __future__ import annotations

import datetime as dt
import re

import cn2an
import pytest

from flows.extract.numbers import number
from flows.patterns.dates import arabic_date, parse_date
from flows.patterns.doc_number import DOC_NUMBER, PUBLISHED_DOC_NUMBER, canonical_doc_number
from flows.patterns.numerals import chinese_number, cn_int
from flows.patterns.plan_periods import FIVE_YEAR_PLAN, five_year_plan_end, five_year_plan_years


def hand_written_cn_int(s: str) -> int:
    """The heading and date parser cn_int was before cn2an read every numeral (the reference)."""
    if s.isdigit():
        return int(s)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "○": 0, "两": 2}
    total, current = 0, 0
    for ch in s:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + digits[ch] if current else digits[ch]
    return total + current


def _forms() -> set[str]:
    written = {cn2an.an2cn(n) for n in range(1000)}  # 一, 十一, 一百零五, 九百九十九
    written |= {f.replace("二", "两", 1) for f in written if f.startswith("二百")}  # 两百三十
    written |= {"〇", "○", "零", "一十", "一十二"} | {str(n) for n in range(200)}
    written |= {"".join("〇一二三四五六七八九"[int(d)] for d in str(y)) for y in range(1949, 2101)}  # 二〇二三
    written |= {y.replace("〇", "○") for y in written if "〇" in y}
    return written


def test_cn_int_reads_every_heading_and_date_numeral_as_the_hand_written_parser_did():
    forms = _forms()
    assert len(forms) > 1300
    assert {f: cn_int(f) for f in forms} == {f: hand_written_cn_int(f) for f in forms}


def test_quantities_and_headings_read_numerals_with_one_parser():
    for form in _forms():
        assert number(form) == float(cn_int(form)) == chinese_number(form)
    assert chinese_number("三点五") == 3.5 and chinese_number("一万二千") == 12000.0
    assert chinese_number("百") == 100.0  # 百分之百
    assert chinese_number("IPv") is None


def test_where_the_readings_differed_cn2an_reads_chinese_and_a_garbled_label_is_ordinal_0():
    assert hand_written_cn_int("一百一") == 101 and cn_int("一百一") == 110  # 一百一(十)
    assert cn_int("十十") == 0 and cn_int("〇") == 0  # never a failed document


def test_five_year_plans():
    assert [five_year_plan_years(n) for n in "三四五"] == [(2016, 2020), (2021, 2025), (2026, 2030)]
    assert five_year_plan_end("二") == 2015
    assert [m["ordinal"] for m in FIVE_YEAR_PLAN.finditer("“十三五”回顾，“十四五”规划，十五五展望")] == list("三四五")


@pytest.mark.parametrize("written, published", [
    ("国发〔2022〕14号", "国发〔2022〕14号"),
    ("甘政办发[2021]113号号", "甘政办发〔2021〕113号"),
    ("国发（2022）14号", "国发〔2022〕14号"),
    ("国发﹝2022﹞第14号", "国发〔2022〕14号"),
    ("黔府发 〖2023〗 021 号", "黔府发〔2023〕21号"),
    ("某府办发｛2020｝7号", "某府办发〔2020〕7号"),
    ("（国发【2019】3号）", "国发〔2019〕3号"),
])
def test_document_numbers_in_every_bracket_become_one_published_form(written, published):
    assert canonical_doc_number(written) == published
    assert re.match(PUBLISHED_DOC_NUMBER, published)


@pytest.mark.parametrize("text", ["2022年14号", "国发2022 14号", "第14号文件", "国发〔22〕14号", "IPv6〔2022〕"])
def test_what_is_no_document_number(text):
    assert canonical_doc_number(text) is None and not DOC_NUMBER.search(text)


def test_dates():
    assert parse_date("2023年3月2日") == parse_date("2023-03-02 00:00") == parse_date("2023/3/2") == dt.date(2023, 3, 2)
    assert parse_date("二〇二三年三月二十一日") == parse_date("二○二三年三月二十一日") == dt.date(2023, 3, 21)
    assert parse_date("2023年2月30日") is None and arabic_date("2023年2月30日") is None
    assert arabic_date("二〇二三年三月二日") is None and parse_date("无日期") is None
    assert parse_date(dt.datetime(2023, 3, 2, 8)) == dt.date(2023, 3, 2)


def test_every_five_year_plan_in_a_title_gives_the_plan_period():
    """Metadata knew only 十三五, 十四五 and 十五五 while goals and tables read every 十X五: one
    pattern now, so a 十二五 plan has its period (and an undated target its year) too."""
    from flows.structure.metadata import title_period

    assert title_period(["某市“十二五”电子政务发展规划"]) == (2011, 2015)
    assert title_period(["某市“十四五”数字政府建设规划"]) == (2021, 2025)


def test_a_front_matter_subtitle_with_a_doubled_hao_is_the_document_number_repaired():
    from flows.normalize.text import normalize_bytes

    norm = normalize_bytes("---\ntitle: 数字政府建设方案\nsubtitle: 某政办发〔2022〕第14号号\n---\n正文。\n".encode(), "a.md")
    assert norm.meta["doc_number"] == "某政办发〔2022〕第14号"
    assert canonical_doc_number(norm.meta["doc_number"]) == "某政办发〔2022〕14号"
    assert any(r.kind == "metadata_value" for r in norm.repairs)
