"""Jurisdictions: the administrative division a document governs, as codes analysts can join on.

``schemas/reference/admin_divisions.csv`` lists the province- and prefecture-level divisions
with their GB/T 2260 codes (its source and vintage are in ``schemas/reference/SOURCES.md``) and
each province's ISO 3166-2 code; English province names come from pycountry's ISO 3166-2 data.
A national document (国务院, 中共中央、国务院) has no GB/T 2260 code: its ``admin_code`` is null,
its level ``national`` and its ISO code the country's, ``CN``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

DIVISIONS_PATH = Path(__file__).resolve().parents[2] / "schemas" / "reference" / "admin_divisions.csv"
NATIONAL_ISO = "CN"
# pycountry names a division with its romanized kind: Guizhou Sheng, Guangxi Zhuangzu Zizhiqu.
_ISO_KIND = re.compile(r"\s+(?:Sheng|Shi|(?:(?:Zhuangzu|Huizu|Uygur)\s+)?Zizhiqu|SAR)$")
_PARTY_PREFIX = re.compile(r"^中共")


@dataclass(frozen=True)
class Division:
    admin_code: str
    name_zh: str
    level: str  # province | prefecture
    province_code: str
    iso_3166_2: str | None


@dataclass(frozen=True)
class Jurisdiction:
    admin_code: str | None
    admin_level: str | None
    jurisdiction: str | None  # the division's name, e.g. 贵州省, 大连市, 全国
    province_en: str | None
    iso_3166_2: str | None

    def columns(self) -> dict[str, Any]:
        return asdict(self)


@cache
def divisions() -> tuple[Division, ...]:
    with open(DIVISIONS_PATH, encoding="utf-8", newline="") as f:
        return tuple(
            Division(r["admin_code"], r["name_zh"], r["level"], r["province_code"] or r["admin_code"],
                     r["iso_3166_2"] or None)
            for r in csv.DictReader(f)
        )


@cache
def _provinces() -> dict[str, Division]:
    return {d.name_zh: d for d in divisions() if d.level == "province"}


@cache
def _prefectures_of(province_code: str) -> tuple[tuple[str, Division], ...]:
    """A province's prefectures by their names, full (大连市) and short (大连), longest first."""
    names = []
    for d in divisions():
        if d.level == "prefecture" and d.province_code == province_code:
            names.append((d.name_zh, d))
            short = re.sub(r"(?:市|地区|盟|自治州)$", "", d.name_zh)
            if len(short) >= 2 and short != d.name_zh:
                names.append((short, d))
    return tuple(sorted(names, key=lambda x: -len(x[0])))


@cache
def province_english(iso_code: str | None) -> str | None:
    """The English name of a province from pycountry: Guizhou, Guangxi, Hong Kong."""
    if not iso_code:
        return None
    import pycountry

    sub = pycountry.subdivisions.get(code=iso_code)
    return _ISO_KIND.sub("", sub.name) if sub else None


def _prefecture_named(province: Division, *names: str | None) -> Division | None:
    """The prefecture of ``province`` that one of ``names`` (an issuer, a title) begins with."""
    for name in names:
        if not name:
            continue
        name = _PARTY_PREFIX.sub("", name)
        for prefix, d in _prefectures_of(province.admin_code):
            if name.startswith(prefix):
                return d
    return None


def jurisdiction_of(province: str | None, admin_level: str | None, issuer: str | None = None,
                    title: str | None = None) -> Jurisdiction:
    """The jurisdiction of a document from what metadata found: its province, issuer's level,
    issuer and title. A prefecture is recognised when the issuer or the title begins with one of
    the province's prefectures and the issuer is not known to be provincial."""
    if admin_level == "national":
        return Jurisdiction(None, "national", "全国", "China", NATIONAL_ISO)
    prov = _provinces().get(province or "")
    if prov is None:
        return Jurisdiction(None, admin_level, None, None, None)
    english = province_english(prov.iso_3166_2)
    if admin_level != "province":
        pref = _prefecture_named(prov, issuer, title)
        if pref is not None:
            level = admin_level if admin_level in ("prefecture", "county") else "prefecture"
            return Jurisdiction(pref.admin_code, level, pref.name_zh, english, prov.iso_3166_2)
    return Jurisdiction(prov.admin_code, admin_level or "province", prov.name_zh, english, prov.iso_3166_2)
