"""Dates as plans and web pages write them: 2023年3月2日, 2023-03-02, 2023/3/2, 二〇二三年三月二日."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flows.patterns.numerals import cn_int

DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?")
CHINESE_DATE = re.compile(r"([零〇○一二三四五六七八九]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日")


def _date(y: int, mo: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, mo, d)
    except ValueError:
        return None


def arabic_date(text: str) -> dt.date | None:
    """The first date written in Arabic digits in text, None if there is none or it is no day
    of the calendar (2023年2月30日)."""
    m = DATE.search(text)
    return _date(*(int(g) for g in m.groups())) if m else None


def parse_date(value: Any) -> dt.date | None:
    """A date from a date/datetime, `2023-03-02[ 00:00]`, `2023年3月2日` or `二〇二三年三月二日`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value or "")
    if DATE.search(s):
        return arabic_date(s)
    m = CHINESE_DATE.search(s)
    if not m:
        return None
    y = int("".join(str(cn_int(c)) for c in m.group(1).replace("○", "〇")))
    return _date(y, cn_int(m.group(2)), cn_int(m.group(3)))
