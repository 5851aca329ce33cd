"""Five-year plans (十四五 …) and the years they cover."""
from __future__ import annotations

import re

# 十X五, the X-th five-year plan (十四五: the 14th, 2021—2025)
FIVE_YEAR_PLAN = re.compile(r"十(?P<ordinal>[一二三四五六七八九])五")


def five_year_plan_end(ordinal: str) -> int:
    """Last year of the 十X五 plan: 十三五 → 2020, 十四五 → 2025, 十五五 → 2030 (X given)."""
    return 2025 + 5 * ("一二三四五六七八九".index(ordinal) - 3)


def five_year_plan_years(ordinal: str) -> tuple[int, int]:
    """(first, last) year of the 十X五 plan: 十四五 → (2021, 2025)."""
    end = five_year_plan_end(ordinal)
    return end - 4, end
