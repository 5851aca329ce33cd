"""Chinese numerals as plans write them in headings and dates: 一, 十一, 二十三, 一百零五, 〇."""
from __future__ import annotations


def cn_int(s: str) -> int:
    """Value of a small Chinese or Arabic numeral (一 → 1, 十二 → 12, 二十三 → 23, 一百 → 100)."""
    if s.isdigit():
        return int(s)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "○": 0, "两": 2}
    total, current = 0, 0
    for ch in s:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + digits[ch] if current else digits[ch]
    return total + current
