"""The indicator catalog: what a metric measures, comparable across documents.

``schemas/reference/indicators.yaml`` lists each indicator with a stable English id and the
wordings that map to it; its header states the matching rule, which ``match_indicator``
implements: a wording matches anywhere in the metric's subject + indicator text (``*`` a gap
inside a clause), the match with the most literal characters wins, a tie between two indicators
maps to none, an indicator's ``not`` wordings rule it out, and the metric's unit must suit the
indicator's. A wording is thus never special to one document: it names what is measured.

Bandwidth indicators (unit Mbit/s) have no wordings: ``bandwidth_indicator_id`` maps a
bandwidth_targets row by its administrative level, when the row is about the e-government network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

CATALOG_PATH = Path(__file__).resolve().parents[2] / "schemas" / "reference" / "indicators.yaml"
ID_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
GAP = 12  # characters a `*` may stand for
_CLAUSE_BREAK = "、，,；;。："
# Marks that quote a term without changing it: “全程网办” is 全程网办.
_QUOTES = re.compile(r"[“”‘’\"'《》〈〉「」『』【】\s\u3000]")


@dataclass(frozen=True)
class Indicator:
    id: str
    name_zh: str
    name_en: str
    unit: str
    theme: str
    definition_zh: str
    definition_en: str
    wordings: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    admin_level: str | None = None  # a bandwidth indicator: the level the network's bandwidth reaches


@dataclass(frozen=True, eq=False)  # hashed by identity: compiled once per loaded catalog
class Catalog:
    indicators: tuple[Indicator, ...]
    units: Mapping[str, tuple[str, ...]]
    themes: Mapping[str, str]

    def by_admin_level(self, admin_level: str) -> Indicator | None:
        for ind in self.indicators:
            if ind.admin_level == admin_level:
                return ind
        return None

    def by_id(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    units = {k: tuple(v) for k, v in data["units"].items()}
    indicators = tuple(
        Indicator(id=e["id"], name_zh=e["name_zh"], name_en=e["name_en"], unit=e["unit"], theme=e["theme"],
                  definition_zh=e["definition_zh"], definition_en=e["definition_en"],
                  wordings=tuple(e["wordings"]), excluded=tuple(e.get("not", ())),
                  admin_level=e.get("admin_level"))
        for e in data["indicators"]
    )
    return Catalog(indicators=indicators, units=units, themes=dict(data["themes"]))


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    return parse_catalog(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def matched_text(indicator: str | None, subject: str | None = None) -> str:
    """The text a catalog wording is looked for in: subject then indicator, unquoted."""
    return _QUOTES.sub("", f"{subject or ''}{indicator or ''}")


def _wording_pattern(wording: str) -> re.Pattern:
    gap = f"[^{_CLAUSE_BREAK}]{{0,{GAP}}}?"
    return re.compile(gap.join(re.escape(_QUOTES.sub("", part)) for part in wording.split("*")))


def _literal_length(wording: str) -> int:
    return len(wording.replace("*", ""))


@dataclass(frozen=True, eq=False)
class _Compiled:
    unit_of: Mapping[str, str]  # metric unit → unit class
    wordings: tuple[tuple[re.Pattern, int, str], ...]  # (pattern, literal length, indicator id), longest first
    excluded: Mapping[str, tuple[re.Pattern, ...]]
    unit_class: Mapping[str, str]  # indicator id → unit class


@cache
def _compiled(catalog: Catalog) -> _Compiled:
    wordings = sorted(
        ((_wording_pattern(w), _literal_length(w), ind.id) for ind in catalog.indicators for w in ind.wordings),
        key=lambda x: -x[1],
    )
    return _Compiled(
        unit_of={u: cls for cls, units in catalog.units.items() for u in units},
        wordings=tuple(wordings),
        excluded={ind.id: tuple(_wording_pattern(w) for w in ind.excluded) for ind in catalog.indicators},
        unit_class={ind.id: ind.unit for ind in catalog.indicators},
    )


def match_indicator(indicator: str | None, subject: str | None = None, unit: str | None = None,
                    catalog: Catalog | None = None) -> str | None:
    """The catalog id of a metric's indicator, or None when no entry fits or two fit equally."""
    compiled = _compiled(catalog or load_catalog())
    text = matched_text(indicator, subject)
    if not text:
        return None
    unit_class = compiled.unit_of.get(unit) if unit is not None else None
    best: set[str] = set()
    best_length = 0
    for pattern, length, ind_id in compiled.wordings:  # longest first: stop below the best length
        if length < best_length:
            break
        if ind_id in best or not pattern.search(text):
            continue
        if any(p.search(text) for p in compiled.excluded[ind_id]):
            continue
        if unit is not None and compiled.unit_class[ind_id] != unit_class:
            continue
        best.add(ind_id)
        best_length = length
    return next(iter(best)) if len(best) == 1 else None


def with_indicator_ids(metrics: Iterable[dict[str, Any]], catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """Metrics rows with their ``indicator_id`` (None where no catalog entry fits)."""
    catalog = catalog or load_catalog()
    return [{**m, "indicator_id": match_indicator(m["indicator"], m.get("subject"), m["unit"], catalog)}
            for m in metrics]


# A network of the government's own (电子政务外网, 纵向骨干网, 横向接入网), not public broadband
# (千兆光网, 互联网宽带) whose bandwidth the same plans also set.
_EGOV_NETWORK = re.compile(r"政务|骨干|纵向|横向")


def bandwidth_indicator_id(row: Mapping[str, Any], catalog: Catalog | None = None) -> str | None:
    """The catalog id of a bandwidth_targets row: the bandwidth indicator of its administrative
    level when the row is about the e-government network (the network named is one, or none is
    named and the sentence names 政务), else None (no level, every tier, public broadband)."""
    level = row.get("admin_level")
    if level is None:
        return None
    network = row.get("network")
    about_egov_network = bool(_EGOV_NETWORK.search(network)) if network else "政务" in row["source_text"]
    if not about_egov_network:
        return None
    ind = (catalog or load_catalog()).by_admin_level(level)
    return ind.id if ind else None


def with_bandwidth_indicator_ids(rows: Iterable[dict[str, Any]], catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """bandwidth_targets rows with their ``indicator_id`` (None where no catalog entry fits)."""
    catalog = catalog or load_catalog()
    return [{**r, "indicator_id": bandwidth_indicator_id(r, catalog)} for r in rows]


def ambiguous_wordings(catalog: Catalog) -> list[tuple[str, list[str]]]:
    """Catalog wordings that map to no indicator or to another one than their own (should be none)."""
    found = []
    for ind in catalog.indicators:
        for w in ind.wordings:
            text = w.replace("*", "")
            got = match_indicator(text, None, None, catalog)
            if got != ind.id:
                found.append((f"{ind.id}: {w}", [got] if got else []))
    return found


def unmapped_wordings(metrics: Iterable[Mapping[str, Any]], top: int = 20) -> list[tuple[str, int, str]]:
    """The most frequent indicator wordings no catalog entry fits, for curators: (wording, how many
    metrics, an example sentence), most frequent first."""
    counts: dict[str, int] = {}
    example: dict[str, str] = {}
    for m in metrics:
        if m.get("indicator_id") is None:
            counts[m["indicator"]] = counts.get(m["indicator"], 0) + 1
            example.setdefault(m["indicator"], m["source_text"])
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [(wording, n, example[wording]) for wording, n in ranked]
