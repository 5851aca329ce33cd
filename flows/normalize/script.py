"""Script: decide simplified / traditional / traditional_tw and convert to simplified.

- simplified: only its traditional-only characters are converted, each by t2s's character table
  (a traditional fragment in a simplified plan, 持續优化; the fast path: none outside GB2312).
  ``traditional_only_chars`` is also the validation gate's table, so what the gate calls
  traditional the normalizer converts.
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
import sys
from functools import cache
from pathlib import Path

import numpy as np

from flows.normalize.encoding import char_class
from flows.normalize.repairs import RepairLog

PHRASE_FILE = Path(__file__).resolve().parents[1] / "dicts" / "tw_phrases.txt"
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


def phrase_pattern(phrases, look_ahead: bool = True) -> re.Pattern:
    """A pattern matching any of ``phrases``, the longest one at the leftmost position (what an
    alternation sorted longest first matches), as a trie: an alternation of hundreds of phrases
    is tried one by one at every position. A look-ahead on the first two characters lets the
    regex engine pass over the positions where no phrase can start. Without it (``look_ahead``
    False) the engine scans for the trie's first characters itself, faster when they are rare
    (the Taiwan markers, about twice as fast; the look-ahead is what pays for the Taiwan phrase
    table, whose phrases start with common characters)."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branch(node: dict) -> str:
        alternatives = [re.escape(ch) + branch(child) for ch, child in sorted(node.items()) if ch]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
        return f"(?:{body})?" if "" in node else body  # greedy: a longer phrase first
    longer = [p for p in phrases if len(p) > 1]
    starts = [f"[{char_class(p[0] for p in longer)}][{char_class(p[1] for p in longer)}]"] if longer else []
    if len(longer) < len(phrases):
        starts.append(f"[{char_class(p for p in phrases if len(p) == 1)}]")
    return re.compile(f"(?={'|'.join(starts)}){branch(trie)}" if look_ahead else branch(trie))


@cache
def _t2s_tables() -> tuple[np.ndarray, dict[str, str], re.Pattern]:
    """OpenCC's t2s data as (character table, phrase table, phrase pattern).

    The character table is an array indexed by code point, every character up to the last one
    OpenCC maps included (mapped to itself when OpenCC does not map it), applied to all of a
    text's code points at once: ``str.translate`` looks up and makes a Python object for every
    character (an order of magnitude slower than this; with a dict, several times slower
    still). OpenCC maps each of these characters to one character (``ord`` below
    fails otherwise), so a text keeps its length. Past the array's end a character stays as is."""
    chars = {k: v for k, v in opencc_table("TSCharacters.txt").items() if len(k) == 1}
    table = str.maketrans(chars)
    phrases = {k: v for k, v in opencc_table("TSPhrases.txt").items() if k.translate(table) != v}
    by_code_point = np.arange(max(table) + 1, dtype=np.uint32)
    for k, v in table.items():
        by_code_point[k] = ord(v)
    return by_code_point, phrases, phrase_pattern(phrases)


_last_code_points: tuple[str | None, np.ndarray | None] = (None, None)


def _code_points(text: str) -> np.ndarray:
    """The text's code points (lone surrogates included) as an array, not a Python int each.
    The last text's are kept: deciding and converting the script reads them several times."""
    global _last_code_points
    last = _last_code_points
    if last[0] is text:
        return last[1]
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    _last_code_points = (text, points)
    return points


def t2s(text: str) -> str:
    """OpenCC t2s (phrases first, then characters), in C-speed passes instead of OpenCC's
    pure-Python segmentation (slow on a whole plan). The characters of the whole
    text are converted at once; the phrases OpenCC finds in the original then replace theirs
    (same offsets: the character table keeps the length)."""
    table, phrases, pattern = _t2s_tables()
    points = _code_points(text)
    mapped = np.where(points < len(table), table[np.minimum(points, len(table) - 1)], points)
    chars = mapped.tobytes().decode("utf-32-le", "surrogatepass")
    out = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(chars[pos:m.start()])
        out.append(phrases[m.group()])
        pos = m.end()
    out.append(chars[pos:])
    return "".join(out)


def _bmp_table(chars) -> np.ndarray:
    """Whether each code point of the Basic Multilingual Plane is one of ``chars``."""
    table = np.zeros(0x10000, dtype=bool)
    table[[ord(c) for c in chars if ord(c) <= 0xFFFF]] = True
    return table


@cache
def traditional_only_chars() -> frozenset[str]:
    """The characters only traditional text uses: what the normalizer converts in every text
    and the validation gate refuses to find in a normalized one (one table for both).

    Derived from the pinned OpenCC data, not a hand list: a character t2s's character table
    (TSCharacters) turns into another, unless a simplified text may use it: t2s keeps it inside
    some phrase (乾 in 乾隆, 於 in 於菟), it is itself a simplified form (an STCharacters key: 苧
    is the simplified form of 薴), or GB2312, the simplified standard set, holds it (甯 and 麴
    are surnames, 醣 a chemistry term)."""
    ts = opencc_table("TSCharacters.txt")
    changed = {t for t, s in ts.items() if len(t) == 1 and t != s}
    kept_in_phrases = set("".join(opencc_table("TSPhrases.txt").values()))
    simplified_forms = set(opencc_table("STCharacters.txt"))
    return frozenset(c for c in changed - kept_in_phrases - simplified_forms
                     if not c.encode("gb2312", errors="ignore"))


@cache
def _char_classes() -> tuple[tuple[frozenset[str], np.ndarray], tuple[frozenset[str], np.ndarray]]:
    """(characters only traditional text uses, characters only simplified text uses), each with
    a table of its BMP members (the few members beyond the BMP are looked up in the set)."""
    ts = opencc_table("TSCharacters.txt")
    st = opencc_table("STCharacters.txt")
    trad = traditional_only_chars()
    simp = {s for s, t in st.items() if t != s and len(s) == 1} - set(ts)
    return (trad, _bmp_table(trad)), (frozenset(simp), _bmp_table(simp))


@cache
def _traditional_only_mask() -> np.ndarray:
    """Whether each code point is a traditional-only character."""
    mask = np.zeros(sys.maxunicode + 1, dtype=bool)
    mask[[ord(c) for c in traditional_only_chars()]] = True
    return mask


def convert_traditional_chars(text: str, repairs: RepairLog) -> str:
    """A simplified text's traditional-only characters converted with t2s's character table
    (持續优化 -> 持续优化: a traditional fragment pasted into a simplified plan, or a heading a
    later mojibake repair restored in the script of the bytes). Characters a simplified text
    may use are left alone (see traditional_only_chars)."""
    points = _code_points(text)
    stray = _traditional_only_mask()[points]
    if not stray.any():
        return text
    table = _t2s_tables()[0]  # every traditional-only character is in it
    converted = np.where(stray, table[np.minimum(points, len(table) - 1)], points).astype(np.uint32)
    converted = converted.tobytes().decode("utf-32-le", "surrogatepass")
    _record_conversion(text, converted, "traditional characters in a simplified text → simplified", repairs)
    return converted


def _distinct(text: str, chars: tuple[frozenset[str], np.ndarray]) -> int:
    """How many different characters of ``chars`` the text uses (counted on its code points as
    an array: several times faster than collecting the characters with a regex)."""
    members, bmp = chars
    points = _code_points(text)
    small = points < 0x10000
    found = np.unique(points[small][bmp[points[small]]]).size
    beyond = {chr(p) for p in np.unique(points[~small]).tolist()}
    return found + len(members.intersection(beyond))


@cache
def _gb2312_table() -> np.ndarray:
    """Whether each BMP code point has a GB2312 encoding (ASCII included)."""
    return np.array([bool(chr(c).encode("gb2312", errors="ignore")) for c in range(0x10000)])


def _outside_gb2312(text: str) -> int:
    """How many characters of the text GB2312 cannot encode (every one beyond the BMP)."""
    points = _code_points(text)
    small = points < 0x10000
    return int(points.size - np.count_nonzero(_gb2312_table()[points[small]]))


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
    pattern = phrase_pattern(table)
    marker_pattern = phrase_pattern(markers, look_ahead=False)
    return table, pattern, marker_pattern


def detect_script(text: str) -> tuple[str, str | None]:
    """(script, the text converted by t2s or None when simplified)."""
    # fast path: traditional-only characters are outside GB2312, so a text with few characters
    # outside it is simplified
    if _outside_gb2312(text) < MIN_TRADITIONAL:
        return "simplified", None
    trad, simp = _char_classes()
    # distinct characters: enough to tell the scripts apart
    # traditional: at least MIN_TRADITIONAL of them, and more than twice as many as simplified ones
    traditional = _distinct(text, trad)
    if traditional < MIN_TRADITIONAL or traditional <= 2 * _distinct(text, simp):
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


def _changed_characters(before: str, after: str) -> int:
    """Positions where two texts of equal length differ (1 when the lengths differ), compared as
    arrays of code points: character by character in Python costs a loop step a character."""
    if len(before) != len(after):
        return 1
    return int(np.count_nonzero(_code_points(before) != _code_points(after)))


def apply_tw_phrases(text: str, repairs: RepairLog) -> str:
    table, pattern, _ = tw_phrase_table()

    def swap(m: re.Match) -> str:
        new = table[m.group()]
        repairs.add("tw_phrasing", m.group(), new)
        return new

    return pattern.sub(swap, text)


def _record_conversion(before: str, after: str, what: str, repairs: RepairLog) -> None:
    changed = _changed_characters(before, after)
    for old, new in _differences(before, after):
        repairs.add("script_conversion", old, new, n=0)
    repairs.add("script_conversion", f"{what} (OpenCC t2s tables)", f"{changed} characters", n=changed)


def to_simplified(text: str, repairs: RepairLog, known_script: str | None = None) -> tuple[str, str]:
    """(simplified text, script of the input). ``known_script`` is the script an earlier pass
    over the same document decided: in a traditional document a later pass converts what a
    later repair restored (a mojibake run that repairs only once the text around it is
    readable comes back in the script of its bytes) with t2s's phrases as well as its
    characters (乾淨 -> 干净; t2s changes nothing else in a text it converted)."""
    script, converted = detect_script(text)
    if converted is None:
        if known_script in ("traditional", "traditional_tw"):
            again = t2s(text)
            if again != text:
                _record_conversion(text, again, f"{known_script} → simplified, after a later repair", repairs)
                text = again
        text = convert_traditional_chars(text, repairs)
        # a simplified copy of a Taiwan-phrased text still needs its wording fixed
        if has_tw_phrasing(text):
            text = apply_tw_phrases(text, repairs)
        return text, script
    _record_conversion(text, converted, f"{script} → simplified", repairs)
    if script == "traditional_tw":
        converted = apply_tw_phrases(converted, repairs)
    return converted, script
