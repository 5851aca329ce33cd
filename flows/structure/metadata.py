"""Document metadata: the plan's identity from its wrappers, its notice, its signature and its text.

Sources, in the order they are trusted (each value records or flags where it came from):

* **signature** (a ``signature`` section: issuer line(s) and the date): issuer, issue_date.
* **wrapper metadata** (``meta`` from normalization: YAML front matter, the policy-database header
  form, a web page's metadata box: title, doc_number/subtitle, date, written_date, publish_date,
  issuer/author/unit/publisher, source_url/source, notice_title).
* **the text's own metadata box** when normalization left it in the text (``索引号 | … | 发文字号 |
  …``, ``发文字号：…``, ``成文日期：…``, ``印发机关：…``).
* **the notice** (``X关于印发《Y》的通知`` / ``X印发Y的通知``: notice_title, title Y, issuer X)
  and **the title line** (``X关于…的实施意见``), both in the preamble.
* **the document number**: its prefix names the issuer (``黔府发`` → 贵州省人民政府,
  ``甘政办发`` → 甘肃省人民政府办公厅, ``国发`` → 国务院, ``国办发`` → 国务院办公厅) and the
  province. Only a number standing alone on a line of the preamble or in a labelled field counts:
  numbers cited in running text (``（国发〔2022〕14号）``) belong to other documents.
* **the text**: the province most often named, for a city's plan whose issuer names no province.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any
from urllib.parse import urlparse

from flows.normalize.markdown import bare_line
from flows.patterns.dates import parse_date
from flows.patterns.doc_number import DOC_NUMBER, canonical_doc_number
from flows.patterns.plan_periods import FIVE_YEAR_PLAN, five_year_plan_years

# (full name, other names, document-number abbreviations, gov.cn domain labels)
PROVINCES: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("北京市", ("北京",), "京", ("beijing", "bj")),
    ("天津市", ("天津",), "津", ("tianjin", "tj")),
    ("河北省", ("河北",), "冀", ("hebei",)),
    ("山西省", ("山西",), "晋", ("shanxi",)),
    ("内蒙古自治区", ("内蒙古",), "蒙内", ("nmg", "neimenggu")),
    ("辽宁省", ("辽宁",), "辽", ("ln", "liaoning")),
    ("吉林省", ("吉林",), "吉", ("jl", "jilin")),
    ("黑龙江省", ("黑龙江",), "黑", ("hlj", "heilongjiang")),
    ("上海市", ("上海",), "沪", ("shanghai", "sh")),
    ("江苏省", ("江苏",), "苏", ("jiangsu", "js")),
    ("浙江省", ("浙江",), "浙", ("zj", "zhejiang")),
    ("安徽省", ("安徽",), "皖", ("ah", "anhui")),
    ("福建省", ("福建",), "闽", ("fujian", "fj")),
    ("江西省", ("江西",), "赣", ("jiangxi", "jx")),
    ("山东省", ("山东",), "鲁", ("shandong", "sd")),
    ("河南省", ("河南",), "豫", ("henan", "ha")),
    ("湖北省", ("湖北",), "鄂", ("hubei",)),
    ("湖南省", ("湖南",), "湘", ("hunan",)),
    ("广东省", ("广东",), "粤", ("gd", "guangdong")),
    ("广西壮族自治区", ("广西",), "桂", ("gxzf", "gx", "guangxi")),
    ("海南省", ("海南",), "琼", ("hainan",)),
    ("重庆市", ("重庆",), "渝", ("cq", "chongqing")),
    ("四川省", ("四川",), "川蜀", ("sc", "sichuan")),
    ("贵州省", ("贵州",), "黔贵", ("guizhou",)),
    ("云南省", ("云南",), "云滇", ("yn", "yunnan")),
    ("西藏自治区", ("西藏",), "藏", ("xizang",)),
    ("陕西省", ("陕西",), "陕秦", ("shaanxi",)),
    ("甘肃省", ("甘肃",), "甘陇", ("gansu",)),
    ("青海省", ("青海",), "青", ("qinghai",)),
    ("宁夏回族自治区", ("宁夏",), "宁", ("nx", "ningxia")),
    ("新疆维吾尔自治区", ("新疆",), "新", ("xinjiang", "xj")),
)
_BY_ABBREVIATION = {a: p[0] for p in PROVINCES for a in p[2]}
_BY_DOMAIN = {d: p[0] for p in PROVINCES for d in p[3]}
_NAMES = sorted(((n, p[0]) for p in PROVINCES for n in (p[0], *p[1])), key=lambda x: -len(x[0]))
_NATIONAL = "national"

_NUMBER_ISSUER = re.compile(r"^(?P<who>[\u4e00-\u9fff])(?P<body>政|府)?(?P<office>办)?(?P<kind>发|函|规|字|电|通|令)?〔")
_FIELD = r"\s*(?:[|｜:：]\s*)+([^|｜\n]+)"
_BOX_NUMBER = re.compile(r"(?:发文字号|文号|字号)" + _FIELD)
_BOX_WRITTEN = re.compile(r"(?:成文日期|印发日期|发文日期|签发日期)" + _FIELD)
_BOX_PUBLISHED = re.compile(r"(?:发布日期|公开日期)" + _FIELD)
_BOX_ISSUER = re.compile(r"(?:发文机关|印发机关|发文单位|制发机关)" + _FIELD)
_NOTICE = re.compile(r"^(?P<who>.*?)(?:关于)?(?:印发|转发|颁布)(?P<what>.+?)的(?:通知|决定)$")
_GENRE = re.compile(
    r"^[^。；;，,！？]{4,90}(?:方案|意见|规划|计划|纲要|办法|决定|要点|指南|措施|条例|规定|行动|战略|细则|通知)"
    r"(?:[（(][^）)]{0,20}[）)])?$"
)
_LABEL_START = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d+[.．、])")
_PERIOD = re.compile(r"(\d{4})\s*年?\s*[—–\-~～至到]{1,2}\s*(\d{4})\s*年?")
# (?:规划|计划|方案)?(?:期限|期|时限)…, written to start with the class of its first character
# (the engine then scans for it instead of trying the alternatives at every position of the text)
_PERIOD_IN_TEXT = re.compile(r"[规计方期时](?:(?<=[规计])划(?:期限|期|时限)|(?<=方)案(?:期限|期|时限)|(?<=期)限?|(?<=时)限)"
                             r"(?:为|是|：|:)?\s*(\d{4})\s*年?\s*[—–\-~～至到]{1,2}\s*(\d{4})")
_URL = re.compile(r"https?://[^\s|｜\"'<>）)]+")
_URL_FIELD = re.compile(r"(?:来源|原文链接|原文地址|网址|链接|source)\s*[：:]\s*(https?://[^\s|｜\"'<>）)]+)", re.I)
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff《》（）])[ \t\u3000]+(?=[\u4e00-\u9fff《》（）(])")
_SPACE = " \t\u3000\u00a0"
_ORG = re.compile(r"(?:政府|厅|局|委|办|室|会|院|部|署|中心)$")


def _party_prefix_removed(name: str) -> str:
    """`中共贵州省委办公厅` → `贵州省委办公厅` (the Party's provincial bodies name their province second)."""
    return name[2:] if name.startswith("中共") and not name.startswith("中共中央") else name


def province_of_name(name: str | None) -> str | None:
    """The province a name begins with (广西壮族自治区人民政府 → 广西壮族自治区)."""
    name = _party_prefix_removed(name or "")
    for n, full in _NAMES:
        if name.startswith(n):
            return full
    return None


def province_of_url(url: str | None) -> str | None:
    """Province (or "national") of a government site: www.shanxi.gov.cn → 山西省, www.gov.cn → national."""
    host = (urlparse(url).hostname or "") if url else ""
    labels = host.lower().split(".")
    if labels[-2:] != ["gov", "cn"]:
        return None
    if len(labels) == 2 or labels[:-2] == ["www"]:
        return _NATIONAL
    return _BY_DOMAIN.get(labels[-3])


def issuer_from_number(number: str | None) -> tuple[str | None, str | None]:
    """(issuer, province or "national") a province-level or State Council number prefix implies."""
    m = _NUMBER_ISSUER.match(number or "")
    if not m:
        return None, None
    office = "办公厅" if m.group("office") else ""
    if m.group("who") == "国":
        return (f"国务院{office}", _NATIONAL) if office or m.group("kind") else (None, None)
    province = _BY_ABBREVIATION.get(m.group("who"))
    if province is None or not m.group("body"):
        return None, None
    return f"{province}人民政府{office}", province


_PREFECTURE = r"[\u4e00-\u9fff]{1,7}?(?:自治州|地区|盟|市|州)"
_COUNTY = r"[\u4e00-\u9fff]{1,7}?(?:自治县|自治旗|县|区|旗)"
_BODY = r"(?:人民政府|政府|委员会|管委会|党委|人大|[\u4e00-\u9fff]{0,12}?(?:局|委|厅|办公室|办|中心)$)"


def admin_level(issuer: str | None) -> str | None:
    """national / province / prefecture / county for an issuing body's name (None if unknown)."""
    if not issuer:
        return None
    issuer = _party_prefix_removed(issuer.split("、")[0])  # joint issuers: the first names the level
    if issuer.startswith(("国务院", "国家", "中共中央", "全国", "中央")):
        return _NATIONAL
    province = province_of_name(issuer)
    rest = issuer
    if province:
        rest = issuer[len(next(n for n, full in _NAMES if issuer.startswith(n))):]
    if re.match(f"^{_PREFECTURE}{_COUNTY}{_BODY}", rest):
        return "county"
    if re.match(f"^{_PREFECTURE}{_BODY}", rest):
        return "prefecture"
    if re.match(f"^{_COUNTY}{_BODY}", rest):
        return "county"
    return "province" if province else None


def _clean(s: str) -> str:
    return _CJK_GAP.sub("", s.strip(_SPACE))


def _lines_of(sections: list[dict[str, Any]], kind: str) -> list[str]:
    # a title kept as a Markdown heading (`# 某市…方案`) is read without its marks
    return [bare_line(ln).strip(_SPACE) for r in sections if r["kind"] == kind for ln in r["text"].splitlines()]


def _notice_title(lines: list[str]) -> str | None:
    """A notice title, possibly wrapped over up to three lines of the preamble."""
    for i, ln in enumerate(lines):
        if "印发" not in ln and "转发" not in ln or len(ln) > 90 or "。" in ln:
            continue
        joined = ln
        for nxt in [x for x in lines[i + 1:i + 6] if x][:3]:
            if _NOTICE.match(_clean(joined)):
                break
            joined += nxt
        joined = _clean(joined)
        if _NOTICE.match(joined) and len(joined) <= 120:
            return joined
    return None


def _plan_title_of_notice(notice: str) -> tuple[str, str]:
    m = _NOTICE.match(notice)
    assert m
    what = m.group("what").strip()
    if "《" in what and "》" in what:
        what = what[what.index("《") + 1:what.rindex("》")]
    return what, m.group("who").strip()


def _complete(issuer: str | None, province: str | None) -> str | None:
    """`省人民政府` in a notice of 贵州省 → 贵州省人民政府."""
    if not issuer or not province or province == _NATIONAL:
        return issuer
    for unit in ("自治区", "省", "市"):
        if issuer.startswith(unit) and province.endswith(unit):
            return province + issuer[len(unit):]
    return issuer


def _abbreviates(short: str, full: str) -> bool:
    """Whether ``short`` is ``full`` with characters left out, in order (省府办公厅 of
    广东省人民政府办公厅, 市政府 of 某市人民政府): the characters of ``short`` appear in ``full`` in
    their order, the last one included."""
    if len(short) >= len(full) or short[-1] != full[-1]:
        return False  # the last character names the kind of body (厅, 府, 室, 局): it must agree
    rest = iter(full)
    return all(ch in rest for ch in short)


def _spelled_out(issuer: str | None, fuller: list[str]) -> str | None:
    """A signature's abbreviation (省府办公厅) replaced by the full name another source gives the
    same body (a metadata box's 发布机构, the notice or title line, the document number): the
    first of ``fuller`` that ``issuer`` abbreviates. A different body (the site's office in a
    box, when a bureau signed) never replaces the signature."""
    if not issuer:
        return issuer
    return next((name for name in fuller if _abbreviates(issuer, name)), issuer)


def _signature(sections: list[dict[str, Any]]) -> tuple[str | None, dt.date | None]:
    for r in sections:
        if r["kind"] != "signature":
            continue
        names, date = [], None
        for ln in r["text"].splitlines():
            ln = ln.strip(_SPACE)
            d = parse_date(ln)
            if d:
                date = d
            elif ln:
                names.append(re.sub(r"\s+", "", ln))
        return ("、".join(names) or None), date
    return None, None


def _meta_date_source(meta: dict[str, Any]) -> str:
    """`date` comes from YAML front matter unless normalization says the wrapper was a page's box."""
    front = meta.get("front_matter")
    if isinstance(front, dict) and front.get("date"):
        return "front_matter"
    return "metadata_box" if meta.get("page_kind") in ("web", "encyclopedia", "header_form") else "front_matter"


def _period(*titles: str | None) -> tuple[int | None, int | None]:
    for t in titles:
        if not t:
            continue
        m = _PERIOD.search(t)
        if m:
            return int(m.group(1)), int(m.group(2))
        five = FIVE_YEAR_PLAN.search(t)
        if five:
            return five_year_plan_years(five["ordinal"])
    return None, None


def title_period(lines: list[str]) -> tuple[int | None, int | None]:
    """The plan period (start, end) the first title-like line of ``lines`` names
    (某省数字政府建设规划（2023—2025年）, 某市“十四五”数字政府规划), else (None, None)."""
    for ln in lines:
        ln = _clean(bare_line(ln))
        if _GENRE.match(ln) and not _LABEL_START.match(ln):
            start, end = _period(ln)
            if start is not None and 1990 <= start <= end <= start + 20:
                return start, end
    return None, None


def _province_from_text(text: str) -> str | None:
    counts: Counter[str] = Counter()
    for n, full in _NAMES:
        counts[full] += text.count(n)
    best = counts.most_common(1)
    return best[0][0] if best and best[0][1] else None


def extract_metadata(text: str, sections: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    flags: list[str] = []
    preamble = _lines_of(sections, "preamble") or [bare_line(ln) for ln in text.splitlines()[:40]]
    head = text[:4000]

    # notice and title
    notice = meta.get("notice_title") or None
    title = meta.get("title") or None
    if title and _NOTICE.match(_clean(str(title))):
        notice, title = notice or _clean(str(title)), None
    notice = _clean(str(notice)) if notice else _notice_title(preamble)
    notice_issuer = None
    if notice and _NOTICE.match(notice):
        inner, notice_issuer = _plan_title_of_notice(notice)
        notice_issuer = notice_issuer if _ORG.search(notice_issuer) else None
        title = title or inner
    if not title:
        title = next((_clean(ln) for ln in preamble
                      if _GENRE.match(_clean(ln)) and not _LABEL_START.match(ln)
                      and not _NOTICE.match(_clean(ln))), None)
    title = _clean(str(title)) if title else None
    if not title:
        flags.append("title_not_found")
    title_issuer = None
    if title and "关于" in title:
        title_issuer = title[:title.index("关于")] if _ORG.search(title[:title.index("关于")]) else None

    # document number
    numbers = [canonical_doc_number(str(meta.get(k) or "")) for k in ("doc_number", "subtitle")]
    m = _BOX_NUMBER.search(head)
    numbers.append(canonical_doc_number(m.group(1)) if m else None)
    numbers += [canonical_doc_number(ln) for ln in preamble
                if DOC_NUMBER.fullmatch(ln.strip(_SPACE + "（）()"))]
    found = [n for n in numbers if n]
    doc_number = found[0] if found else None
    if len(set(found)) > 1:
        flags.append("doc_number_conflict")

    # issuer, province, admin level
    sig_issuer, sig_date = _signature(sections)
    m = _BOX_ISSUER.search(head)
    named = [sig_issuer, _clean(str(meta["issuer"])) if meta.get("issuer") else None,
             _clean(m.group(1)) if m else None, notice_issuer, title_issuer]
    # a wrapper's author/unit names who put the copy online as often as who issued it, and a web
    # page's publisher (发布机构) is the site's office: last resorts, compared only for the author
    wrapper = next((_clean(str(meta[k])) for k in ("author", "unit")
                    if meta.get(k) and _ORG.search(_clean(str(meta[k])))), None)
    publisher = _clean(str(meta["publisher"])) if meta.get("publisher") else None
    number_issuer, number_province = issuer_from_number(doc_number)
    if any(admin_level(n) in ("prefecture", "county") for n in named if n):
        number_issuer = number_province = None  # a city's prefix (宁政发, 苏府) is no province's
    issuer = next((n for n in named[:3] + [number_issuer] + named[3:] + [wrapper, publisher] if n), None)
    province = next((p for p in map(province_of_name, named + [title]) if p), None)
    level = admin_level(issuer) or (_NATIONAL if number_province == _NATIONAL else None)
    if level == _NATIONAL:
        province = None
    elif province is None:
        province = number_province or province_of_name(wrapper) or _province_from_text(text)
        if province and not number_province and not province_of_name(wrapper):
            flags.append("province_from_text")
    issuer = _complete(issuer, province)
    issuer = _spelled_out(issuer, [_complete(n, province) for n in
                                   (publisher, *named[1:], number_issuer) if n and _ORG.search(n)])
    level = admin_level(issuer) or level
    if sig_issuer and number_issuer and _complete(sig_issuer, province) != number_issuer:
        flags.append("issuer_conflict")
    if wrapper and issuer and wrapper != issuer:
        flags.append("issuer_differs_from_wrapper")

    # issue date: the signature, then wrappers, then the text
    m = _BOX_WRITTEN.search(head)
    dated = [(d, src) for d, src in ((sig_date, "signature"),
                                      (parse_date(meta.get("written_date")), "metadata_box"),
                                      (parse_date(meta.get("date")), _meta_date_source(meta)),
                                      (parse_date(m.group(1)) if m else None, "metadata_box")) if d]
    date, source = dated[0] if dated else (None, None)
    if len({d for d, _ in dated}) > 1:
        flags.append("issue_date_conflict")
    if date is None:
        m = re.search(r"于\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*(?:正式)?(?:印发|发布|签发)", head)
        if m:
            date, source = parse_date(m.group(1)), "text"
    if date is None:
        m = _BOX_PUBLISHED.search(head)
        date = parse_date(meta.get("publish_date") or (m and m.group(1)))
        if date:
            source = "metadata_box"
            flags.append("issue_date_is_publish_date")

    # plan period
    start, end = _period(title, notice)
    if start is None:
        m = _PERIOD_IN_TEXT.search(text)
        if m:
            start, end = int(m.group(1)), int(m.group(2))
    if start is not None and not (1990 <= start <= end <= start + 20):
        start = end = None

    # source URL
    url = meta.get("source_url") or meta.get("source") or meta.get("url")
    url = str(url).strip() if url and _URL.match(str(url).strip()) else None
    if url is None:
        m = _URL_FIELD.search(text[:2000]) or _URL_FIELD.search(text[-2000:])
        url = m.group(1) if m else None
    url_province = province_of_url(url)
    if url_province and province and url_province not in (province, _NATIONAL):
        flags.append("source_url_province_mismatch")

    return {
        "title": title, "notice_title": notice, "province": province, "issuer": issuer,
        "admin_level": level, "doc_number": doc_number, "issue_date": date,
        "issue_date_source": source, "plan_start_year": start, "plan_end_year": end,
        "source_url": url, "metadata_flags": sorted(set(flags)),
    }
