"""Script: decide simplified / traditional / traditional_tw and convert to simplified.

- simplified: not converted at all (the fast path: one pass counting distinguishing characters).
- traditional (mainland wording, seed 002): OpenCC ``t2s`` (its phrase and character tables,
  applied by ``t2s`` here at C speed), nothing else.
- traditional_tw (Taiwan phrasing, seed 001: 套用, 数位, 资料库 ...): ``t2s`` and then the Taiwan
  phrase reversal of OpenCC's ``tw2sp`` (its TWPhrasesRev table) minus the entries that damage
  mainland policy wording, plus a domain phrase table; both live in ``dicts/tw_phrases.txt``.
  Full ``tw2sp`` is not used: it turns 档案 into 文件, 程序 into 进程 and 指标 into 指针.
Taiwan reversal is never applied to plain traditional or simplified texts.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from flows.repairs import RepairLog

PHRASE_FILE = Path(__file__).parent / "dicts" / "tw_phrases.txt"
MIN_TRADITIONAL = 10  # distinct traditional-only characters before a text counts as traditional
MIN_TW_MARKERS = 3  # occurrences of Taiwan-only words (of two different words at least)


@cache
def opencc_table(name: str) -> dict[str, str]:
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / name
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            table[parts[0]] = parts[1].split(" ")[0]
    return table


@cache
def _t2s_tables() -> tuple[dict[int, str], dict[str, str], re.Pattern]:
    """OpenCC's t2s data as (character table, phrase table, phrase pattern)."""
    chars = {k: v for k, v in opencc_table("TSCharacters.txt").items() if len(k) == 1}
    table = str.maketrans(chars)
    phrases = {k: v for k, v in opencc_table("TSPhrases.txt").items() if k.translate(table) != v}
    firsts = "".join(sorted({k[0] for k in phrases}))
    alternatives = "|".join(map(re.escape, sorted(phrases, key=len, reverse=True)))
    return table, phrases, re.compile(f"(?=[{re.escape(firsts)}])(?:{alternatives})")


def t2s(text: str) -> str:
    """OpenCC t2s (phrases first, then characters), in C-speed passes instead of OpenCC's
    pure-Python segmentation (which costs ~80 ms on a 30 KB plan)."""
    table, phrases, pattern = _t2s_tables()
    out = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(text[pos:m.start()].translate(table))
        out.append(phrases[m.group()])
        pos = m.end()
    out.append(text[pos:].translate(table))
    return "".join(out)


@cache
def _char_classes() -> tuple[frozenset[str], frozenset[str]]:
    """(characters only traditional text uses, characters only simplified text uses)."""
    ts = opencc_table("TSCharacters.txt")
    st = opencc_table("STCharacters.txt")
    trad = {t for t, s in ts.items() if t != s and len(t) == 1} - set(st)
    simp = {s for s, t in st.items() if t != s and len(s) == 1} - set(ts)
    return frozenset(trad), frozenset(simp)


@cache
def tw_phrase_table() -> tuple[dict[str, str], re.Pattern, re.Pattern]:
    """(Taiwan phrase -> mainland phrase, pattern matching any phrase, pattern of markers)."""
    domain, dropped, markers = {}, set(), []
    for line in PHRASE_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("!"):
            dropped.add(line[1:].strip())
        elif line.startswith("?"):
            markers.append(line[1:].strip())
        else:
            tw, mainland = line.split("\t")
            domain[tw] = mainland
    table = {}
    for tw, mainland in opencc_table("TWPhrasesRev.txt").items():
        tw_s, mainland_s = t2s(tw), t2s(mainland)
        if tw_s != mainland_s and tw_s not in dropped:
            table[tw_s] = mainland_s
    table.update({k: v for k, v in domain.items() if k != v})
    pattern = re.compile("|".join(map(re.escape, sorted(table, key=len, reverse=True))))
    marker_pattern = re.compile("|".join(map(re.escape, sorted(markers, key=len, reverse=True))))
    return table, pattern, marker_pattern


def detect_script(text: str) -> tuple[str, str | None]:
    """(script, the text converted by t2s or None when simplified)."""
    # fast path: traditional-only characters are outside GB2312, so a text with few characters
    # outside it is simplified (two C-speed passes instead of a set of every character)
    outside = len(text) - len(text.encode("gb2312", errors="ignore").decode("gb2312"))
    if outside < MIN_TRADITIONAL:
        return "simplified", None
    trad, simp = _char_classes()
    chars = set(text)  # distinct characters: cheap, and enough to tell the scripts apart
    n_trad = len(chars & trad)
    if n_trad < MIN_TRADITIONAL:
        return "simplified", None
    n_simp = len(chars & simp)
    if n_trad <= 2 * n_simp:
        return "simplified", None
    converted = t2s(text)
    return ("traditional_tw" if has_tw_phrasing(converted) else "traditional"), converted


def has_tw_phrasing(simplified: str) -> bool:
    _, _, markers = tw_phrase_table()
    found = markers.findall(simplified)
    return len(found) >= MIN_TW_MARKERS and len(set(found)) >= 2


def _differences(before: str, after: str, limit: int = 5) -> list[tuple[str, str]]:
    if len(before) != len(after):
        return [(before[:20], after[:20])]
    out = []
    i = 0
    while i < len(before) and len(out) < limit:
        if before[i] != after[i]:
            a, b = max(0, i - 3), i + 4
            out.append((before[a:b], after[a:b]))
            i = b
        else:
            i += 1
    return out


def apply_tw_phrases(text: str, repairs: RepairLog) -> str:
    table, pattern, _ = tw_phrase_table()

    def swap(m: re.Match) -> str:
        new = table[m.group()]
        repairs.add("tw_phrasing", m.group(), new)
        return new

    return pattern.sub(swap, text)


def to_simplified(text: str, repairs: RepairLog) -> tuple[str, str]:
    """(simplified text, script of the input)."""
    script, converted = detect_script(text)
    if converted is None:
        # a simplified copy of a Taiwan-phrased text still needs its wording fixed
        if has_tw_phrasing(text):
            text = apply_tw_phrases(text, repairs)
        return text, script
    changed = sum(map(str.__ne__, text, converted)) if len(text) == len(converted) else 1
    for before, after in _differences(text, converted):
        repairs.add("script_conversion", before, after, n=0)
    repairs.add("script_conversion", f"{script} → simplified (OpenCC t2s tables)", f"{changed} characters",
                n=changed)
    if script == "traditional_tw":
        converted = apply_tw_phrases(converted, repairs)
    return converted, script
