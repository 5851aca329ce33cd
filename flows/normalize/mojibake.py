"""Repair GB-encoded text that was decoded one byte off, and strip pinyin annotations.

The damage (seed 002, common in web copies of GBK pages): one byte of a GBK double-byte
character is lost, so the decoder pairs each trail byte with the next lead byte and emits
garbage (`?。ㄒ唬┌l展` for `（一）發展`) until an ASCII byte brings it back in step. The lost
byte shows as `?` (or, when only its high bit was stripped, as the ASCII character with that bit
cleared: `!` for 0xA1).

Repair, at the byte level: re-encode the garbled run with the *legacy* GBK table (the one the
damaging decoder used, which maps unassigned and user-defined byte pairs to Private Use Area code
points; `LEGACY_PUA_BYTES` is derived from the GB18030-2000 layout, not hand-listed), shift by one
byte, decode GB18030, and keep the result only when it is clearly more plausible Chinese than the
garbage (character frequencies from jieba's dictionary). The first character of a run has lost
its lead byte, and the last one may have lost its trail byte: such a character is restored only
with strong evidence (whitespace in an indentation position, or one candidate that forms a word
with its neighbour far more often than any other, in this document or in the dictionary);
otherwise it becomes `□` and is counted as unrecoverable. Nothing is dropped silently.
"""

from __future__ import annotations

import math
import re
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from flows.normalize.repairs import RepairLog
from flows.normalize.script import opencc_table

UNRECOVERABLE = "□"  # the publishing convention for an illegible character


def _user_defined_pua(lead: int, trail: int) -> int | None:
    """PUA code point of a GBK user-defined byte pair (three areas, in the standard's order)."""
    if 0xAA <= lead <= 0xAF and 0xA1 <= trail <= 0xFE:
        return 0xE000 + (lead - 0xAA) * 94 + trail - 0xA1
    if 0xF8 <= lead <= 0xFE and 0xA1 <= trail <= 0xFE:
        return 0xE234 + (lead - 0xF8) * 94 + trail - 0xA1
    if 0xA1 <= lead <= 0xA7 and 0x40 <= trail <= 0xA0 and trail != 0x7F:
        return 0xE4C6 + (lead - 0xA1) * 96 + trail - 0x40 - (trail > 0x7F)
    return None


@cache
def legacy_pua_bytes() -> dict[str, bytes]:
    """PUA character -> GBK byte pair, as legacy (GB18030-2000 / cp936-era) decoders map them.

    User-defined areas map to U+E000..U+E765; every other double-byte code GBK leaves unassigned
    follows from U+E766 in byte order. GB18030-2005 moved some of these (A98F is U+2FF5 today, was
    U+E7ED), so today's codec cannot re-encode the PUA characters in damaged text: this can.
    """
    table: dict[str, bytes] = {}
    following = 0xE766
    for lead in range(0x81, 0xFF):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFF)):
            pair = bytes((lead, trail))
            point = _user_defined_pua(lead, trail)
            if point is None:
                try:
                    pair.decode("gbk")
                    continue
                except UnicodeDecodeError:
                    point = following
                    following += 1
            table[chr(point)] = pair
    return table


def legacy_encode(ch: str) -> bytes | None:
    """The one or two GBK bytes a legacy decoder read as ``ch``, or None."""
    pua = legacy_pua_bytes().get(ch)
    if pua is not None:
        return pua
    try:
        raw = ch.encode("gb18030")
    except UnicodeEncodeError:
        return None
    return raw if len(raw) <= 2 else None


def _decode_pair(pair: bytes) -> str | None:
    try:
        text = pair.decode("gb18030")
    except UnicodeDecodeError:
        return None
    if len(text) != 1 or 0xE000 <= ord(text) <= 0xF8FF:
        return None
    return text


@cache
def _t2s_chars() -> dict[str, str]:
    return opencc_table("TSCharacters.txt")


@cache
def _jieba_stats() -> tuple[dict[str, float], dict[str, int], float]:
    """(char log-probability, word frequency, floor log-probability) from jieba's dictionary."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    names, freqs = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        word, sep, rest = line.partition(" ")  # `word freq tag`: no list per line to collect
        if sep:
            names.append(word)
            freqs.append(int(rest.partition(" ")[0]))
    words = dict(zip(names, freqs))
    # a character's frequency is the sum over the lines of the words it occurs in: summed over
    # all the dictionary's characters at once instead of one dict update each, which every
    # process that repairs mojibake paid
    points = np.frombuffer("".join(names).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    sums = np.bincount(points, weights=np.repeat(np.array(freqs, dtype=np.float64), list(map(len, names))))
    present = np.unique(points)
    chars = dict(zip(map(chr, present.tolist()), sums[present].astype(np.int64).tolist()))
    total = sum(chars.values())
    logp = {c: math.log(f / total) for c, f in chars.items()}
    return logp, words, math.log(0.5 / total)


_CJK_PUNCT = set("，。、；：？！（）《》〈〉“”‘’【】〔〕—…·　")
_WEIRD = re.compile(r"[\u00c0-\u02ff\u2460-\u257f\u3100-\u312f\ue000-\uf8ff]")


def char_logp(c: str) -> float:
    logp, _, floor = _jieba_stats()
    if c in _CJK_PUNCT or c.isspace():
        return -4.0
    if c.isascii():
        return -6.0 if c.isdigit() or c in ",.;:()%" else -12.0
    if _WEIRD.match(c):
        return -20.0
    return logp.get(_t2s_chars().get(c, c), floor)


def plausibility(text: str) -> float:
    """Mean log-probability per character: everyday Chinese about -7, mojibake below -11."""
    return sum(char_logp(c) for c in text) / len(text) if text else 0.0


# A run starts at a lost-byte marker: `?`, U+FFFD, or a symbol-row lead byte (0xA1-0xA7: CJK
# punctuation, full-width forms) with its high bit stripped, `!` to `'`. Letters and digits are
# too common to be taken for stripped lead bytes. The run goes on over double-byte characters.
_RUN_START = re.compile(r"[?\ufffd!-'](?=[^\x00-\x7f])")
MIN_GAIN = 2.5  # nats per character the repair must gain over the garbled run
DOC_EVIDENCE = 3  # the restored word must occur this many times more often than any rival


class _Run:
    __slots__ = ("start", "end", "lead", "body", "tail", "tail_lost", "tail_marked")

    def __init__(self, start, end, lead, body, tail, tail_lost, tail_marked=False):
        self.start, self.end, self.lead = start, end, lead
        self.body, self.tail, self.tail_lost = body, tail, tail_lost
        self.tail_marked = tail_marked  # the run ended on a `?`: a second lost-byte marker


def _scan_run(text: str, start: int) -> _Run | None:
    marker = text[start]
    lead = None if marker in "?\ufffd" else ord(marker) | 0x80
    body = bytearray()
    i = start + 1
    while i < len(text) and ord(text[i]) > 0x7F and not text[i].isspace() and text[i] != UNRECOVERABLE:
        raw = legacy_encode(text[i])
        if raw is None or len(raw) != 2:
            break
        body += raw
        i += 1
    if not body:
        return None
    tail, tail_lost, tail_marked = None, False, False
    if i < len(text) and 0x40 <= ord(text[i]) <= 0x7E and text[i] != "?":
        tail = ord(text[i])  # the ASCII byte that brought the decoder back in step
        i += 1
    elif i < len(text) and text[i] == "?":
        tail_lost = tail_marked = True
        i += 1
    else:
        tail_lost = True  # the run ran into a line end: its last trail byte is gone
    return _Run(start, i, lead, bytes(body), tail, tail_lost, tail_marked)


def _decode_middle(run: _Run) -> str | None:
    """Characters wholly inside the run: byte pairs (body[1:] + tail) after the shift."""
    rest = run.body[1:] + (bytes([run.tail]) if run.tail is not None else b"")
    out = []
    for k in range(0, len(rest) - 1, 2):
        ch = _decode_pair(rest[k:k + 2])
        if ch is None:
            return None
        out.append(ch)
    return "".join(out)


@cache
def _candidates(known: int, known_is_trail: bool) -> tuple[str, ...]:
    found = []
    for other in range(0x81, 0xFF) if known_is_trail else (*range(0x40, 0x7F), *range(0x80, 0xFF)):
        pair = bytes((other, known)) if known_is_trail else bytes((known, other))
        ch = _decode_pair(pair)
        if ch is not None:
            found.append(ch)
    return tuple(found)


_OPENERS = {"（": "）", "《": "》", "“": "”", "〔": "〕", "【": "】", "「": "」", "(": ")", "‘": "’"}


@cache
def _opening_brackets(cands: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in cands if c in _OPENERS)


def _bracket(cands: tuple[str, ...], following: str) -> str | None:
    """The opening bracket among the candidates whose partner closes shortly after, if one."""
    found = [c for c in _opening_brackets(cands) if _OPENERS[c] in following[:16]
             and c not in following[:following.find(_OPENERS[c])]]
    return found[0] if len(found) == 1 else None


class _PairCounts(dict):
    """How often each two-character string occurs in one document, counted on first request
    (a document's damaged runs keep asking about the same pairs)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def __missing__(self, pair: str) -> int:
        n = self[pair] = self.text.count(pair)
        return n


@lru_cache(maxsize=1 << 16)
def _plausible_pairs(cands: tuple[str, ...], before: str, after: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(candidate, the plausible pairs it forms with its neighbours) for every candidate that
    forms one: depends on the candidates and the neighbours only, so each combination is
    worked out once per process.

    A pair is plausible when it is a dictionary word, or a Han character next to a digit
    (到2025年, 第3条). (Either way the pair holds a Han character: it is neither blank nor ASCII.)"""
    _, words, _ = _jieba_stats()
    simplified = _t2s_chars()

    def plausible(a: str, b: str) -> bool:
        han_a, han_b = "\u4e00" <= a <= "\u9fff", "\u4e00" <= b <= "\u9fff"
        if han_a and han_b:
            return simplified.get(a, a) + simplified.get(b, b) in words
        return (han_a or han_b) and (a.isdigit() or b.isdigit())

    # the pairs a (one-character) candidate forms with its neighbours, when it has them
    with_before, with_after = len(before) == 1, len(after) == 1
    found = []
    for c in cands:
        ok = ((before + c,) if with_before and plausible(before, c) else ()) + (
            (c + after,) if with_after and plausible(c, after) else ())
        if ok:
            found.append((c, ok))
    return tuple(found)


def _infer(cands: list[str] | tuple[str, ...], before: str, after: str, doc: str | _PairCounts) -> str | None:
    """The one candidate the context clearly supports, or None.

    Evidence is the document itself (``doc``, or its ``_PairCounts``): the pair the candidate
    forms with its neighbour must recur in the document, far more often than any rival's, and
    (for two Han characters) be a dictionary word. Dictionary frequency alone is not enough
    (服务 would always beat 政务 for a lost 政).
    """
    counts = doc if isinstance(doc, _PairCounts) else _PairCounts(doc)
    scored = sorted(((sum(counts[p] for p in ok), c) for c, ok in _plausible_pairs(tuple(cands), before, after)),
                    reverse=True)
    if not scored:
        return None
    best_doc, best = scored[0]
    second_doc = scored[1][0] if len(scored) > 1 else 0
    if best_doc >= 2 and best_doc >= DOC_EVIDENCE * second_doc:
        return best
    return None


@cache
def _split_candidates(known: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(whitespace, the rest) among the first characters a lost lead byte leaves possible."""
    cands = _candidates(known, known_is_trail=True)
    return tuple(c for c in cands if c.isspace()), tuple(c for c in cands if not c.isspace())


def _resolve_first(text: str, run: _Run, middle: str, indent: bool, counts: _PairCounts) -> tuple[str | None, str]:
    """The run's first character, whose lead byte was lost; (char or None, how it was found)."""
    if run.lead is not None:  # only the high bit was stripped: the byte is known
        return _decode_pair(bytes((run.lead, run.body[0]))), "stripped_bit"
    cands = _candidates(run.body[0], known_is_trail=True)
    spaces, others = _split_candidates(run.body[0])
    if indent and spaces:
        return spaces[0], "indent"
    following = middle + text[run.end:run.end + 16]
    found = _bracket(cands, following)
    if found:
        return found, "inferred"
    before = text[run.start - 1:run.start]
    return _infer(others, before, middle[:1], counts), "inferred"


def _resolve_last(text: str, run: _Run, middle: str, first: str | None, counts: _PairCounts) -> str | None:
    """The run's last character, whose trail byte was lost."""
    cands = _candidates(run.body[-1], known_is_trail=False)
    following = text[run.end:run.end + 16]
    found = _bracket(cands, following)
    if found:
        return found
    before = middle[-1:] or (first or "")
    return _infer(cands, before, following[:1], counts)


def _at_line_start(text: str, pos: int) -> bool:
    """Whether only whitespace stands between the line's start and pos (walked back over that
    whitespace only: a line may hold thousands of runs)."""
    i = pos
    while i > 0 and text[i - 1] != "\n" and text[i - 1].isspace():
        i -= 1
    return i == 0 or text[i - 1] == "\n"


def _repair_run(text: str, run: _Run, pos: int, counts: _PairCounts) -> tuple[str, int, list[str]] | None:
    """(repaired text for text[start:run.end], characters lost, inferred characters) or None
    when the run does not repair into more plausible text. ``start`` may be before run.start."""
    middle = _decode_middle(run)
    if middle is None:
        return None
    indent = _at_line_start(text, run.start)
    first, how = _resolve_first(text, run, middle, indent, counts)
    garbled = text[run.start + 1:run.end]
    if middle:
        if plausibility(middle) < plausibility(garbled) + MIN_GAIN:
            return None
    elif not (how == "indent" and run.tail_marked):
        return None  # nothing decodes: only two lost-byte marks around an indent say it is damage
    inferred = []
    if how == "inferred" and first is not None:
        inferred.append(first)
    parts = [first if first is not None else UNRECOVERABLE, middle]
    lost = first is None
    if run.tail is None and run.tail_lost:
        last = _resolve_last(text, run, middle, first, counts)
        parts.append(last if last is not None else UNRECOVERABLE)
        lost += last is None
        if last is not None:
            inferred.append(last)
    return "".join(parts), lost, inferred


def repair_gbk_shift(text: str, repairs: RepairLog) -> tuple[str, int]:
    """Repair one-byte-off GBK runs; returns (text, unrecoverable character count)."""
    if not _RUN_START.search(text):
        return text, 0
    out: list[str] = []
    pos = 0
    lost = 0
    counts = _PairCounts(text)
    for m in _RUN_START.finditer(text):
        if m.start() < pos:
            continue
        if m.group() not in "?\ufffd" and not _WEIRD.search(text, m.start() + 1, m.start() + 5):
            continue
        run = _scan_run(text, m.start())
        found = _repair_run(text, run, pos, counts) if run is not None else None
        if found is None:
            continue
        repaired, run_lost, inferred = found
        # `?` right before the run stands for more lost bytes (a lost punctuation mark, say)
        start = run.start
        while start > pos and text[start - 1] == "?":
            start -= 1
            repaired = UNRECOVERABLE + repaired
            run_lost += 1
        garbled = text[start:run.end]
        for ch in inferred:
            repairs.add("mojibake_inferred", garbled, ch)
        if run_lost:
            repairs.add("unrecoverable", garbled, repaired, n=run_lost)
        repairs.add("mojibake", garbled, repaired)
        lost += run_lost
        out.append(text[pos:start])
        out.append(repaired)
        pos = run.end
    out.append(text[pos:])
    return "".join(out), lost


_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
_PINYIN = re.compile(  # starts with the bracket so the engine jumps from bracket to bracket
    r"[(（](?<=[\u4e00-\u9fff][(（])((?:[a-zü]*[" + _TONE_VOWELS + r"][a-zü" + _TONE_VOWELS + r"]*"
    r"|[a-z]{1,6}[1-5])(?:\s[a-zü" + _TONE_VOWELS + r"]+[1-5]?)*)[ \t]?[)）]")  # 社會(huì ): a space may close it


def strip_pinyin(text: str, repairs: RepairLog) -> str:
    """Drop pinyin readings inserted after characters: `國務(wù)院` -> `國務院`."""
    if "(" not in text and "（" not in text:
        return text

    def drop(m: re.Match) -> str:
        repairs.add("pinyin_annotation", text[max(0, m.start() - 2):m.end()], text[max(0, m.start() - 2):m.start()])
        return ""

    return _PINYIN.sub(drop, text)


# ---------------------------------------------------------------- UTF-8 read as GBK or Latin-1
@cache
def _utf8_as_gbk_chars() -> frozenset[str]:
    """Characters a GBK decoder makes of a UTF-8 lead byte (E3-E9, EF) and continuation byte:
    rare characters (鏁 鏀 寤 锛 銆 ...) that fill UTF-8 Chinese read as GBK."""
    pairs = [(lead, trail) for lead in range(0xE4, 0xEA) for trail in range(0x80, 0xA1)]
    pairs += [(0xE3, 0x80), (0xE3, 0x81), (0xEF, 0xBC), (0xEF, 0xBD)]  # 銆 锛: CJK/full-width punctuation
    found = set()
    for pair in pairs:
        try:
            found.add(bytes(pair).decode("gbk"))
        except UnicodeDecodeError:
            pass
    return frozenset(found)


@cache
def _utf8_as_gbk_pattern() -> re.Pattern:
    return re.compile("[" + re.escape("".join(sorted(_utf8_as_gbk_chars()))) + "]")


_UTF8_AS_LATIN = re.compile("[\u00c2-\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                            "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
                            "\u2039\u203a\u20ac\u2122]")
_MIN_DOUBLE = 3  # marks of double encoding before a document is examined


def _to_bytes(line: str, codec: str) -> bytes | None:
    try:
        return line.encode(codec)
    except UnicodeEncodeError:
        out = bytearray()
        for ch in line:  # cp1252 leaves five bytes undefined: a Latin-1 decoder kept them as-is
            try:
                out += ch.encode(codec)
            except UnicodeEncodeError:
                if ord(ch) > 0xFF:
                    return None
                out.append(ord(ch))
        return bytes(out)


_UTF8_LENGTH = {**{b: 2 for b in range(0xC2, 0xE0)}, **{b: 3 for b in range(0xE0, 0xF0)},
                **{b: 4 for b in range(0xF0, 0xF5)}}
_LOST = 0xFF  # stands for a byte the wrong decoder replaced by U+FFFD: never valid in UTF-8


def _decode_with_lost_bytes(raw: bytes, doc: str) -> tuple[str, int, list[str]]:
    """UTF-8 decode of ``raw`` where 0xFF marks lost bytes: a character missing only its last
    byte is restored when the document decides among the completions; others become □.
    Returns (text, characters lost, characters inferred)."""
    text = raw.decode("utf-8", errors="surrogateescape")
    if "\udcff" not in text and not any("\udc80" <= c <= "\udcff" for c in text):
        return text, 0, []
    out: list[str] = []
    lost, inferred = 0, []
    for m in re.finditer(r"[\udc80-\udcff]+|[^\udc80-\udcff]+", text):
        chunk = m.group()
        if not "\udc80" <= chunk[0] <= "\udcff":
            out.append(chunk)
            continue
        data = bytes(ord(c) - 0xDC00 for c in chunk)
        k = 0
        while k < len(data):
            need = _UTF8_LENGTH.get(data[k], 0)
            part = data[k:k + need] if need else b""
            if need and len(part) == need and part[-1] == _LOST and _LOST not in part[:-1]:
                cands = [c for c in (part[:-1] + bytes((x,)) for x in range(0x80, 0xC0))]
                chars = []
                for cand in cands:
                    try:
                        chars.append(cand.decode("utf-8"))
                    except UnicodeDecodeError:
                        pass
                before = "".join(out)[-1:]
                after = text[m.end():m.end() + 1]
                found = _infer(chars, before, after, doc)
                if found:
                    out.append(found)
                    inferred.append(found)
                else:
                    out.append(UNRECOVERABLE)
                    lost += 1
                k += need
                continue
            # any other broken sequence: one lost character, up to the next lead byte
            k += 1
            while k < len(data) and data[k] not in _UTF8_LENGTH:
                k += 1
            out.append(UNRECOVERABLE)
            lost += 1
    return "".join(out), lost, inferred


def repair_double_encoding(text: str, repairs: RepairLog) -> tuple[str, int]:
    """Undo UTF-8 text that was decoded as GBK (`鏁板瓧鏀垮簻` for 数字政府) or as Latin-1/cp1252
    (`æ•°å­—` for 数字), line by line where the repair is clearly more plausible Chinese. Bytes
    the wrong decoder had replaced by U+FFFD are restored only from in-document evidence, else
    marked □. Returns (text, characters lost)."""
    if text.isascii():
        return text, 0
    if not _utf8_as_gbk_pattern().search(text) and not _UTF8_AS_LATIN.search(text):
        return text, 0  # the common case, in two C-speed passes
    wide = len(text) - len(text.encode("ascii", errors="ignore"))
    gbk_marks = len(_utf8_as_gbk_pattern().findall(text))
    latin_marks = len(_UTF8_AS_LATIN.findall(text)) if gbk_marks < _MIN_DOUBLE else 0
    if max(gbk_marks, latin_marks) < max(_MIN_DOUBLE, 0.05 * wide):
        return text, 0
    codec = "gb18030" if gbk_marks >= _MIN_DOUBLE else "cp1252"
    lines = text.split("\n")
    raws: dict[int, bytes] = {}
    for i, line in enumerate(lines):
        if not line.isascii():
            pieces = [_to_bytes(piece, codec) for piece in line.split("\ufffd")]
            if all(p is not None for p in pieces):
                raws[i] = bytes((_LOST,)).join(pieces)
    # the document as the repair reads it, lost bytes aside: the evidence for restoring them
    reference = "\n".join(raws[i].decode("utf-8", errors="replace") if i in raws else line
                          for i, line in enumerate(lines))
    lost = 0
    for i, raw in raws.items():
        line = lines[i]
        try:
            repaired, n_lost, inferred = raw.decode("utf-8"), 0, []
        except UnicodeDecodeError:
            repaired, n_lost, inferred = _decode_with_lost_bytes(raw, reference)
        if repaired == line or plausibility(repaired) < plausibility(line) + MIN_GAIN:
            continue
        repairs.add("double_encoding", line, repaired)
        for ch in inferred:
            repairs.add("mojibake_inferred", line, ch)
        if n_lost:
            repairs.add("unrecoverable", line, repaired, n=n_lost)
        lost += n_lost
        lines[i] = repaired
    return "\n".join(lines), lost
