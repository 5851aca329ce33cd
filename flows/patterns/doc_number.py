"""Document numbers (发文字号): an issuer's abbreviation, the year in brackets, the serial, 号
(国发〔2022〕14号). Plans write the brackets many ways (国发[2022]14号, 国发（2022）14号,
国发﹝2022﹞第14号, 国发〔2022〕14号号); the published form is 国发〔2022〕14号."""
from __future__ import annotations

import re

# every bracket a year of a document number stands in, opening and closing
OPEN = "〔[［(（【{｛﹝〖"
CLOSE = "〕]］)）】}｝﹞〗"
_OPEN, _CLOSE = re.escape(OPEN), re.escape(CLOSE)

DOC_NUMBER = re.compile(
    rf"(?P<issuer>[\u4e00-\u9fff]{{1,10}})\s*(?P<open>[{_OPEN}])\s*(?P<year>\d{{4}})\s*(?P<close>[{_CLOSE}])"
    rf"\s*第?\s*(?P<serial>\d{{1,4}})\s*号+"
)
# What the gate accepts as published (the form ``canonical_doc_number`` writes): a plausible year,
# not a page or article number, e.g. 黔府发〔2023〕21号
PUBLISHED_DOC_NUMBER = r"^[\u4e00-\u9fff]{1,12}〔(?:19[4-9]\d|20\d\d)〕\d{1,5}号$"


def canonical_doc_number(s: str | None) -> str | None:
    """`甘政办发[2021]113号号` → `甘政办发〔2021〕113号`; None if s holds no document number."""
    m = DOC_NUMBER.search(s or "")
    return f"{m['issuer']}〔{m['year']}〕{int(m['serial'])}号" if m else None
