"""Document metadata: title, issuer, document number, date, province from text and wrappers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_DOC_NUMBER = re.compile(r"([\u4e00-\u9fff]{1,8})[〔\[［(（]\s*(\d{4})\s*[〕\]］)）]\s*(\d+)\s*号+")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_PROVINCES = (
    "北京市 天津市 河北省 山西省 内蒙古自治区 辽宁省 吉林省 黑龙江省 上海市 江苏省 浙江省 安徽省 "
    "福建省 江西省 山东省 河南省 湖北省 湖南省 广东省 广西壮族自治区 海南省 重庆市 四川省 贵州省 "
    "云南省 西藏自治区 陕西省 甘肃省 青海省 宁夏回族自治区 新疆维吾尔自治区"
).split()


def extract_metadata(text: str, sections: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": meta.get("title"), "notice_title": None, "province": None, "issuer": None,
        "admin_level": None, "doc_number": None, "issue_date": None, "issue_date_source": None,
        "plan_start_year": None, "plan_end_year": None, "source_url": meta.get("source"),
        "metadata_flags": [],
    }
    number_src = str(meta.get("subtitle") or "") + "\n" + text[:3000]
    m = _DOC_NUMBER.search(number_src)
    if m:
        out["doc_number"] = f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号"
    m = _DATE.search(text[:3000])
    if m:
        out["issue_date"] = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        out["issue_date_source"] = "text"
    for p in _PROVINCES:
        if p in text[:3000] or p[:2] in text[:200]:
            out["province"] = p
            out["issuer"] = f"{p}人民政府"
            out["admin_level"] = "province"
            break
    return out
