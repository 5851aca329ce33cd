"""Chinese numerals, read by one parser (cn2an) wherever plans write them: quantities (一百二十项,
三点五, 一万二千), heading ordinals (十一、, 第二十三章) and dates (二〇二三年三月二日)."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def chinese_number(text: str) -> float | None:
    """An Arabic or Chinese numeral as a float (二十三 → 23, 三点五 → 3.5, 一万二千 → 12000,
    二〇二三 → 2023), None when it is not one."""
    try:
        return float(text)
    except ValueError:
        pass
    import cn2an  # on the first Chinese numeral only: most documents' numbers are Arabic

    if text[:1] in ("百", "千"):
        text = "一" + text  # 百分之百: cn2an reads 一百, not 百
    try:
        return float(cn2an.cn2an(text.replace("○", "零").replace("〇", "零"), "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def cn_int(s: str) -> int:
    """A heading's or a date's numeral as an int (一 → 1, 十二 → 12, 二十三 → 23, 一百 → 100,
    〇 → 0). A label no numeral reading accepts (十十) counts as 0, as 〇 does: a heading with an
    ordinal out of sequence, never a failed document."""
    value = chinese_number(s)
    return 0 if value is None else int(value)
