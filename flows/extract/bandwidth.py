"""Bandwidth targets: 万兆到市、千兆到县、百兆到乡、村 → one row per (bandwidth, administrative level).

A bandwidth is 百兆/千兆/万兆/十万兆 or a number with Mbps/Gbps/M/G/兆 (``10G``, ``20G``, ``5000M``,
``100Mbps``; any speed from 1 Mbit/s to 1 Tbit/s, but not a bare ``2G``-``6G``: ``5G`` is a mobile
generation), in a
sentence about a network (网, 带宽, 链路, 出口, 光纤 ...). The levels it reaches follow it
(``万兆到州、市``, ``千兆网覆盖到县``) or precede it (``省到市万兆``); one list gives one row per
distinct level, so ``县、市、区`` is one county row (a 市 listed with counties is a county-level
city) and ``乡、村`` two rows. A bandwidth with no level (``建设万兆骨干网``) is one row with
admin_level null; a level with no bandwidth (``村、社区按需接入``) is no row.
"""

from __future__ import annotations

import re
from typing import Any

from flows.budget import CHECK_EVERY, check
from flows.extract.common import CLAUSE_END, Document

_WORD_MBPS = {"百兆": 100, "千兆": 1000, "万兆": 10000, "十万兆": 100000}
# A bare G after 2-6 names a mobile generation (4G、5G网络), not a speed.
_MOBILE_GENERATIONS = {2.0, 3.0, 4.0, 5.0, 6.0}
# Speeds a network link can have, in Mbit/s: from the slowest access line a plan names (2M) to
# 1 Tbit/s, above the fastest Ethernet rate in service (400G, 800G emerging). A stated speed
# outside them is a misread number or unit, not a target; the gate checks the same bounds.
MIN_MBPS, MAX_MBPS = 1, 1_000_000
BANDWIDTH = re.compile(
    r"(?=[\d十万千百])(?:(?P<word>十万兆|万兆|千兆|百兆)"
    r"|(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>Gbps|Gb/s|GB/s|Mbps|Mb/s|G|M|兆)(?![A-Za-z\d]))"
)
_NETWORK_CONTEXT = re.compile(r"网|带宽|频宽|链路|出口|光纤|专线|接入")
NETWORK = re.compile(
    r"(?:纵向|横向)?(?:电子政务外网|电子政务内网|电子政务网络|政务外网|政务内网|政务网络|政务网|骨干网|"
    r"城域网|接入网|横向网|纵向网|互联网出口|视联网|业务专网|光纤网络?)"
)
_ADMIN_WORDS = {
    "省": "province", "自治区": "province", "直辖市": "province",
    "市": "prefecture", "州": "prefecture", "盟": "prefecture", "地区": "prefecture", "州市": "prefecture",
    "市州": "prefecture", "地市": "prefecture", "地级市": "prefecture",
    "县": "county", "区": "county", "旗": "county", "县级市": "county", "县区": "county",
    "县市区": "county", "市县": "county",
    "乡": "township", "镇": "township", "乡镇": "township", "街道": "township", "苏木": "township",
    "村": "village", "社区": "village", "行政村": "village", "嘎查": "village",
}
_ADMIN = "|".join(sorted(_ADMIN_WORDS, key=len, reverse=True))
# A level word must end there (省直部门, 市场, 县城 are no levels).
_ADMIN_END = (
    r"(?:一?级)?(?=[、，,/和及与（(）)；;。\s\d]|全|等|的|机关|单位|政府|部门|骨干|带宽|链路|网络|达到|实现|"
    r"不低于|为|均|[十万千百]兆|$|" + _ADMIN + ")"
)
_ADMIN_TOKEN = re.compile(rf"(?P<word>{_ADMIN}){_ADMIN_END}")
_ADMIN_LIST = re.compile(
    rf"(?:{_ADMIN}){_ADMIN_END}(?:\s*[、/和及与（(）)]?\s*(?:{_ADMIN}){_ADMIN_END})*[）)]?"
)
_NOT_CLAUSE = rf"[^\s{re.escape(CLAUSE_END)}、"
# between a bandwidth and the levels it reaches: 万兆到市 / 千兆网覆盖到县 / 百兆接入至乡镇
_FORWARD = re.compile(
    rf"(?P<net>{_NOT_CLAUSE}到至]{{0,6}}?网络?)?\s*(?:覆盖|接入|延伸|通达|连接|直达|贯通)?\s*(?:到|至|进)\s*"
)
# levels before a bandwidth: 省到市万兆 / 市至县实现千兆 / 省到市骨干链路带宽达到10Gbps
_BACKWARD = re.compile(
    rf"(?:{_ADMIN})(?:一?级)?\s*(?:到|至)\s*(?P<list>{_ADMIN_LIST.pattern}){_NOT_CLAUSE}]{{0,10}}$"
)
# Programme names, not bandwidth targets: 双千兆 (gigabit optical + 5G), 千兆城市.
_PROGRAMME = re.compile(r"双(?:千兆|万兆)|(?:千兆|万兆)(?:城市|光网城市|小区)")


def _mbps(m: re.Match[str]) -> int | None:
    if m.group("word"):
        return _WORD_MBPS[m.group("word")]
    if m.start() > 0 and re.match(r"[\dA-Za-z.]", m.string[m.start() - 1]):
        return None  # the tail of a token (IPv6, V10G ...)
    value, unit = float(m.group("num")), m.group("unit")
    if unit == "G" and value in _MOBILE_GENERATIONS:
        return None
    mbps = int(value * 1000) if unit.startswith("G") else int(value)
    return mbps if MIN_MBPS <= mbps <= MAX_MBPS else None


def _levels(listed: str) -> list[tuple[str, str]]:
    """(admin_level, admin_level_text) per distinct level of a list such as 县、市、区 or 乡、村."""
    tokens = [m.group("word") for m in _ADMIN_TOKEN.finditer(listed)]
    spans = [m.span() for m in _ADMIN_TOKEN.finditer(listed)]
    has_county = any(_ADMIN_WORDS[w] == "county" for w in tokens)
    levels = ["county" if w == "市" and has_county else _ADMIN_WORDS[w] for w in tokens]
    out = []
    for level in dict.fromkeys(levels):
        mine = [i for i, lv in enumerate(levels) if lv == level]
        if all(levels[i] == level for i in range(mine[0], mine[-1] + 1)):
            end = spans[mine[-1]][1]
            opened = listed[spans[mine[0]][0]:end]
            if opened.count("（") + opened.count("(") > opened.count("）") + opened.count(")") \
                    and listed[end:end + 1] in ("）", ")"):
                end += 1  # 街道（乡镇）: keep the bracket that closes the list
            written = listed[spans[mine[0]][0]:end]
        else:
            written = "、".join(listed[slice(*spans[i])] for i in mine)
        out.append((level, written))
    return out


# A link between two tiers, named before its bandwidth: 省、市电子政务骨干线路带宽达到万兆 (the
# province–prefecture links), 省市两级核心纵向骨干网络，网络带宽升级至40G. The tiers are single
# level words, listed with or without a separator; what follows names a line or a network.
_TIER = r"省|市|州|县|区|乡镇|乡|镇|村"
_LINK_TIERS = re.compile(
    rf"(?P<tiers>(?:{_TIER})(?:\s*[、，,/和及与]?\s*(?:{_TIER}))+)\s*(?:[两二三四五]级)?"
    r"[^，,。；;、到至]{0,12}?(?:骨干线路|骨干网络|骨干网|干线|线路|链路|纵向网络?|横向网络?|网络|专网|外网|带宽)"
)
_RANK = {"province": 0, "prefecture": 1, "county": 2, "township": 3, "village": 4}
# Every tier at once, between the link's tiers and its bandwidth (各级横向网通过20G): no single tier.
_EVERY_TIER = re.compile(r"各级|全网|各层级|五级|四级|三级")
# Rural households and areas: the village tier (80%以上的农村家庭具备千兆接入能力).
_RURAL = re.compile(r"农村|乡村|行政村|自然村")
# A bandwidth in brackets right after another (40G（可平滑演进到100G）): the same link's planned
# evolution, with the same tiers.
_EVOLUTION_GAP = re.compile(r"\s*[（(][^（()）]*$")


def _link_ends(text: str, start: int, end: int) -> tuple[str, str | None, str] | None:
    """(lower end, upper end or None, tiers as written) of the last link named in
    text[start:end] by its tiers (two tiers: its two ends; one: a network of that tier), or None
    when none is named or it spans every tier (省、市、县三级 … 各级横向网)."""
    last = None
    for last in _LINK_TIERS.finditer(text, start, end):
        pass
    if last is None or _EVERY_TIER.search(text, last.end(), end):
        return None
    tiers = [_ADMIN_WORDS[t] for t in re.findall(_TIER, last.group("tiers"))]
    distinct = sorted(set(tiers), key=_RANK.__getitem__)
    if len(distinct) > 2 or (len(distinct) == 2 and "三级" in last.group(0)):
        return None
    return distinct[-1], (distinct[0] if len(distinct) == 2 else None), last.group("tiers")


def _network(text: str, s: int, e: int, m: re.Match[str], attached_after: str | None) -> tuple[str | None, bool]:
    """The network a bandwidth is about, and whether it was named right at the bandwidth."""
    before = NETWORK.search(text, max(s, m.start() - 8), m.start())
    if before and before.end() == m.start():
        return before.group(0), True
    if attached_after and NETWORK.fullmatch(attached_after):
        return attached_after, True
    first = NETWORK.search(text, s, e)
    return (first.group(0) if first else None), False


def extract_bandwidth_targets(doc_id: str, doc: Document) -> list[dict[str, Any]]:
    text = doc.text
    index = doc.index
    rows: list[dict[str, Any]] = []
    seen: set[tuple[int, int, str | None, str | None]] = set()
    clause_network: dict[int, str] = {}
    previous: tuple[int, list[tuple[str | None, str | None, str | None]]] | None = None  # (end, levels)
    for k, m in enumerate(BANDWIDTH.finditer(text)):
        if not k % CHECK_EVERY:
            check()
        sent = doc.sentence_at(m.start())
        mbps = _mbps(m)
        if _PROGRAMME.match(text, max(0, m.start() - 1)) or _PROGRAMME.match(text, m.start()):
            continue
        if not mbps or sent is None or not index.extracted(sent[0]):
            continue
        s, e = sent
        if not _NETWORK_CONTEXT.search(text, s, e):
            continue
        levels: list[tuple[str | None, str | None, str | None]] = []  # (lower end, upper end, as written)
        rule = "levels_after"  # which of the rules below read the levels: bandwidth_targets.extractor
        after_net = re.match(r"[^\s，,；;。、到至]{0,6}?网", text[m.end():e])
        attached_after = after_net.group(0) if after_net else None
        fwd = _FORWARD.match(text, m.end(), e)
        if fwd:
            listed = _ADMIN_LIST.match(text, fwd.end(), e)
            if listed:
                levels = [(lv, None, written) for lv, written in _levels(listed.group(0))]
        if not levels:
            rule = "levels_before"
            back = _BACKWARD.search(text[max(s, m.start() - 24):m.start()])
            if back:
                levels = [(lv, None, written) for lv, written in _levels(back.group("list"))]
        if not levels and previous is not None and s <= previous[0] <= m.start() \
                and _EVOLUTION_GAP.fullmatch(text, previous[0], m.start()):
            levels, rule = previous[1], "same_link"  # 40G（可平滑演进到100G）: the same link
        if not levels:
            since = max(s, previous[0]) if previous is not None and previous[0] > s else s
            ends = _link_ends(text, since, m.start())
            if ends:
                levels, rule = [ends], "link_ends"
        if not levels:
            c0, c1 = doc.clause(m.start(), s, e)
            rural = _RURAL.search(text, c0, c1)
            levels = [("village", None, rural.group(0))] if rural else [(None, None, None)]
            rule = "village" if rural else "no_level"
        previous = (m.end(), levels)
        network, attached = _network(text, s, e, m, attached_after)
        clause_start = doc.clause(m.start(), s, e)[0]
        if attached and network:
            clause_network[clause_start] = network
        elif clause_start in clause_network and not attached_after:
            network = clause_network[clause_start]
        for level, upper, level_text in levels:
            key = (s, mbps, level, upper)
            if key in seen:
                continue
            seen.add(key)
            rows.append(dict(
                bandwidth_id=f"{doc_id}-b{len(rows):04d}", doc_id=doc_id, section_id=index.at(s)["section_id"],
                network=network, bandwidth_mbps=mbps, bandwidth_label=m.group(0), admin_level=level,
                admin_level_upper=upper, admin_level_text=level_text,
                target_year=doc.goal_context.year_at(m.start()),
                source_text=text[s:e], char_start=s, char_end=e, extractor=rule,
            ))
    return rows
