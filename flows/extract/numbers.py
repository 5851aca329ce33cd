"""Numbers as plans write them: 90%, 百分之九十, 三分之一, 1.5万家, 10.8亿人, 10—15个, 两个工作日.

``QUANTITY`` finds a number with its unit (a bare number is never a quantity: 12345热线, IPv6,
第6版 and 1+15+N have none); ``parse_quantity`` turns a match into value/value_max/unit with the
multipliers (万, 亿) folded into the value. Chinese numerals are read by flows/patterns/numerals.py. Whether a quantity
is an indicator is the metrics extractor's decision, not this module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.patterns.numerals import chinese_number

ARABIC = r"\d+(?:[,，]\d{3})*(?:[.．]\d+)?"
CHINESE = r"[零〇○一二两三四五六七八九十百千万亿]+(?:点[零〇○一二三四五六七八九]+)?"
MULTIPLIER = r"(?:万亿|千万|百万|万|亿|千)"
_MULTIPLIERS = {"万亿": 1e12, "千万": 1e7, "百万": 1e6, "万": 1e4, "亿": 1e8, "千": 1e3}

# Units as written → unit as published (schemas/metrics.yaml `unit`). Money is published in 元:
# 万元/亿元 fold into the value like any other multiplier. Longest spelling first.
UNITS = {
    "个百分点": "个百分点", "百分点": "个百分点", "个工作日": "工作日", "工作日": "工作日",
    "小时": "小时", "分钟": "分钟", "平方米": "平方米", "公里": "公里",
    "万亿元": "元", "亿元": "元", "万元": "元", "元": "元",
    "%": "%", "％": "%", "PB": "PB", "TB": "TB", "GB": "GB",
    "个": "个", "家": "家", "天": "天", "次": "次", "项": "项", "件": "件", "人次": "人次", "人": "人", "名": "名",
    "条": "条", "套": "套", "类": "类", "台": "台", "户": "户", "秒": "秒", "年": "年", "倍": "倍",
    "部": "部", "张": "张", "所": "所", "座": "座", "处": "处", "种": "种", "份": "份", "笔": "笔",
    "场": "场", "批": "批",
}
_MONEY_SCALE = {"万亿元": 1e12, "亿元": 1e8, "万元": 1e4}
_UNIT_ALT = "|".join(
    re.escape(u) + ("(?![A-Za-z/])" if u.isascii() and u.isalpha() else "")
    + ("(?!月)" if u == "个" else "")
    for u in sorted(UNITS, key=len, reverse=True)
)
_RANGE = r"[—–\-－~～至到]"
_GLUED = set("0123456789０１２３４５６７８９.．/+＋-－") | set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

# The leading lookahead lets the regex engine skip every character that cannot start a number
# (about three times faster on a plan than trying each alternative at every position).
QUANTITY = re.compile(
    rf"(?=[\d零〇○一二两三四五六七八九十百千万亿])"
    rf"(?:(?P<pct_cn>百分之(?P<pct_num>{ARABIC}|{CHINESE}))"
    rf"|(?P<frac>(?P<den>[一二三四五六七八九十]+)分之(?P<nom>[一二三四五六七八九十]+))"
    rf"|(?P<num>{ARABIC}|{CHINESE})(?P<mult>{MULTIPLIER})?"
    rf"(?:\s*(?P<unit1>%|％))?"
    rf"(?:\s*{_RANGE}\s*(?P<num2>{ARABIC}|{CHINESE})(?P<mult2>{MULTIPLIER})?)?"
    rf"(?P<more>余|多)?\s*(?P<unit>{_UNIT_ALT}))"
)


# Comparator vocabulary, shared by prose and tables: words before a value, words after it,
# and the symbols tables use.
_BEFORE_WORDS = {
    ">=": "不低于 不少于 不小于 至少 最少 达到或超过",
    "<=": "不超过 不高于 不多于 最多 最长 最高不超过 压减至 压减到 压缩至 压缩到 缩短至 缩短到 减少至 减少到 "
          "降至 降低至 降低到 控制在 减至 缩减至 缩减到",
    ">": "超过 突破 高于 多于 大于 逾 超",
    "<": "低于 少于 小于",
    "~": "将近 接近 大约 大概 近 约",
    "=": "达到 达 提高到 提高至 提升到 提升至 增加到 增加至 增长到 增至 保持在 稳定在 为",
}
_AFTER_WORDS = {">=": "及以上 以上 之上", "<=": "及以下 以下 以内 之内 内", "~": "左右 上下"}
_SYMBOLS = {"≥": ">=", ">=": ">=", "≧": ">=", "＞=": ">=", ">": ">", "＞": ">",
            "≤": "<=", "<=": "<=", "≦": "<=", "<": "<", "＜": "<"}
COMPARATOR_BEFORE = {w: c for c, words in _BEFORE_WORDS.items() for w in words.split()}
COMPARATOR_AFTER = {w: c for c, words in _AFTER_WORDS.items() for w in words.split()}
COMPARATOR_SYMBOL = dict(_SYMBOLS)


def alternation(words) -> str:
    """A regex alternation of words, longest first (不超过 before 超过)."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class Quantity:
    value: float
    value_max: float | None
    unit: str
    chinese: bool  # written in Chinese numerals (三个, 两大 ... are rhetoric unless qualified)
    multiplied: bool  # carried a 万/亿 multiplier: a large figure, not a list count
    more_than: bool  # 1000余家, 1.5万多人


def parse_quantity(m: re.Match[str]) -> Quantity | None:
    """The value of a QUANTITY match, or None when the numeral does not parse or is the tail of
    a token (the 6 of IPv6, the 15 of 1+15, the 12 of 0931-12...)."""
    if m.start() > 0 and m.group("num") and m.string[m.start() - 1] in _GLUED:
        return None
    if m.group("pct_cn"):
        value = number(m.group("pct_num"))
        return None if value is None else Quantity(value, None, "%", True, False, False)
    if m.group("frac"):
        den, nom = number(m.group("den")), number(m.group("nom"))
        if not den or nom is None or nom > den:
            return None
        return Quantity(round(100 * nom / den, 2), None, "%", True, False, False)
    written_unit = m.group("unit")
    unit = UNITS[written_unit]
    if m.group("unit1") and unit != "%":
        return None  # 90%—3个 is no range
    scale = _MONEY_SCALE.get(written_unit, 1.0)
    value = number(m.group("num"), m.group("mult"))
    if value is None:
        return None
    value_max = None
    if m.group("num2"):
        value_max = number(m.group("num2"), m.group("mult2") or m.group("mult"))
        if m.group("mult2") and not m.group("mult"):
            value *= _MULTIPLIERS[m.group("mult2")]  # 1—2万: the multiplier covers both ends
        if value_max is None or value_max <= value:
            return None  # not a range (2021-2020, 5-3): refuse rather than guess
        value_max *= scale
    chinese = not re.match(r"\d", m.group("num"))
    multiplied = bool(m.group("mult")) or bool(m.group("mult2")) or scale > 1 or (
        chinese and any(c in m.group("num") for c in "万亿"))
    return Quantity(value * scale, value_max, unit, chinese, multiplied, bool(m.group("more")))


def number(text: str, multiplier: str | None = None) -> float | None:
    """An Arabic or Chinese numeral (with an optional 万/亿 multiplier) as a float."""
    value = chinese_number(text.replace(",", "").replace("，", "").replace("．", "."))
    if value is None:
        return None
    if multiplier:
        value *= _MULTIPLIERS[multiplier]
    return float(round(value, 6))


# A value is a change (a growth, a fall, a gap in percentage points) rather than a level when a
# change verb states it right before the value: 增长150%, 比2020年提高5个百分点, 下降20%, 年均增长10%
# 以上, 增长率达到8%. With 到/至 the verb states the level reached (提高到90%, 降至3天: levels), and
# 增加值 (value added) is a quantity, not a verb. Percentage points are always a difference.
_CHANGE_WORDS = r"增长|提高|提升|增加(?!值)|下降|降低|减少|压缩|缩短|压减|缩减|增幅|降幅|增速|翻"
# words that may stand between the verb and its value (达到, 超过, 不低于, 约 ...), not those that
# are themselves a verb with 到/至 (提高到, 压缩至: the level reached)
_LINKING_WORDS = [w for w in COMPARATOR_BEFORE if not re.match(_CHANGE_WORDS, w)]
_CHANGE_BEFORE = re.compile(rf"(?:{_CHANGE_WORDS})(?:率|了)?\s*(?:{alternation(_LINKING_WORDS)})?\s*$")
_CHANGE_INDICATOR = re.compile(r"增长率|增速|增幅|降幅|年均增长|年均提高")
MEASURES = ("level", "change")


def measure(before: str, unit: str, indicator: str = "") -> str:
    """``change`` or ``level`` for a value whose text up to the value is ``before`` (a few
    characters of its clause) and whose indicator, in a table, is ``indicator``."""
    if unit == "个百分点" or _CHANGE_BEFORE.search(before) or _CHANGE_INDICATOR.search(indicator):
        return "change"
    return "level"

