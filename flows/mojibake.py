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
from functools import cache
from pathlib import Path

from flows.repairs import RepairLog
from flows.script import opencc_table

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


def simplify_chars(text: str) -> str:
    table = _t2s_chars()
    return "".join(table.get(c, c) for c in text)


@cache
def _jieba_stats() -> tuple[dict[str, float], dict[str, int], float]:
    """(char log-probability, word frequency, floor log-probability) from jieba's dictionary."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    chars: dict[str, int] = {}
    words: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) < 2:
            continue
        word, freq = parts[0], int(parts[1])
        words[word] = freq
        for c in word:
            chars[c] = chars.get(c, 0) + freq
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


# A run starts at a lost-byte marker: `?`, U+FFFD, or an ASCII punctuation character that is a
# GBK lead byte with its high bit stripped. It goes on over double-byte characters.
_RUN_START = re.compile(r"[?\ufffd!-/:-@\[-`{-~](?=[^\x00-\x7f])")
MIN_GAIN = 2.5  # nats per character the repair must gain over the garbled run
DOC_EVIDENCE = 3  # the restored word must occur this many times more often than any rival


class _Run:
    __slots__ = ("start", "end", "lead", "body", "tail", "tail_lost")

    def __init__(self, start, end, lead, body, tail, tail_lost):
        self.start, self.end, self.lead = start, end, lead
        self.body, self.tail, self.tail_lost = body, tail, tail_lost


def _scan_run(text: str, start: int) -> _Run | None:
    marker = text[start]
    lead = None if marker in "?\ufffd" else ord(marker) | 0x80
    body = bytearray()
    i = start + 1
    while i < len(text) and ord(text[i]) > 0x7F and not text[i].isspace():
        raw = legacy_encode(text[i])
        if raw is None or len(raw) != 2:
            break
        body += raw
        i += 1
    if not body:
        return None
    tail, tail_lost = None, False
    if i < len(text) and 0x40 <= ord(text[i]) <= 0x7E and text[i] != "?":
        tail = ord(text[i])  # the ASCII byte that brought the decoder back in step
        i += 1
    elif i < len(text) and text[i] == "?":
        tail_lost = True
        i += 1
    else:
        tail_lost = True  # the run ran into a line end: its last trail byte is gone
    return _Run(start, i, lead, bytes(body), tail, tail_lost)


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


def _candidates(known: int, known_is_trail: bool) -> list[str]:
    found = []
    for other in range(0x81, 0xFF) if known_is_trail else (*range(0x40, 0x7F), *range(0x80, 0xFF)):
        pair = bytes((other, known)) if known_is_trail else bytes((known, other))
        ch = _decode_pair(pair)
        if ch is not None:
            found.append(ch)
    return found


def _infer(cands: list[str], before: str, after: str, doc: str) -> str | None:
    """The one candidate the context clearly supports, or None.

    Evidence is the document itself: the word the candidate forms with its neighbour must recur
    in the document, far more often than any rival's, and be a dictionary word. Dictionary
    frequency alone is not enough (服务 would always beat 政务 for a lost 政).
    """
    _, words, _ = _jieba_stats()

    def support(c: str) -> tuple[int, int]:
        pairs = [p for p in (before + c, c + after) if len(p) == 2]
        in_doc = sum(doc.count(p) for p in pairs)
        in_dict = sum(words.get(simplify_chars(p), 0) for p in pairs)
        return in_doc, in_dict

    def is_word(c: str) -> bool:
        return any(len(p) == 2 and simplify_chars(p) in words for p in (before + c, c + after))

    scored = sorted(((support(c), c) for c in cands if is_word(c)), reverse=True)
    if not scored:
        return None
    (best_doc, best_dict), best = scored[0]
    second_doc, second_dict = scored[1][0] if len(scored) > 1 else (0, 0)
    if best_doc >= 2 and best_doc >= DOC_EVIDENCE * max(second_doc, 1) and best_dict > 0:
        return best
    return None


def repair_gbk_shift(text: str, repairs: RepairLog) -> tuple[str, int]:
    """Repair one-byte-off GBK runs; returns (text, unrecoverable character count)."""
    if not _RUN_START.search(text):
        return text, 0
    out: list[str] = []
    pos = 0
    lost = 0
    for m in _RUN_START.finditer(text):
        if m.start() < pos:
            continue
        marker_weird = m.group() in "?\ufffd"
        window = text[m.start() + 1:m.start() + 5]
        if not marker_weird and not _WEIRD.search(window):
            continue
        run = _scan_run(text, m.start())
        if run is None:
            continue
        middle = _decode_middle(run)
        if middle is None or not middle:
            continue
        garbled = text[run.start:run.end]
        if plausibility(middle) < plausibility(garbled[1:]) + MIN_GAIN:
            continue
        line_start = text.rfind("\n", 0, run.start) + 1
        indent = not text[line_start:run.start].strip()
        # first character: its lead byte is lost (unless the high bit was only stripped)
        if run.lead is not None:
            first = _decode_pair(bytes((run.lead, run.body[0])))
            first_note = None
        else:
            cands = _candidates(run.body[0], known_is_trail=True)
            spaces = [c for c in cands if c.isspace()]
            if indent and spaces:
                first, first_note = spaces[0], "indent"
            else:
                first = _infer([c for c in cands if not c.isspace()], text[run.start - 1:run.start],
                               middle[:1], text)
                first_note = "inferred"
        # last character: its trail byte is lost when no ASCII byte resynchronised the run
        last, last_note = "", None
        if run.tail is None and run.tail_lost:
            cands = _candidates(run.body[-1], known_is_trail=False)
            after = text[run.end:run.end + 1]
            last = _infer(cands, middle[-1:], after, text)
            last_note = "inferred"
        repaired_parts = []
        for ch, note in ((first, first_note), (None, None), (last, last_note)):
            if ch is None and note is None:
                repaired_parts.append(middle)
            elif note is None and ch == "":
                continue
            elif ch is None:
                repaired_parts.append(UNRECOVERABLE)
                lost += 1
            else:
                repaired_parts.append(ch)
                if note == "inferred":
                    repairs.add("mojibake_inferred", garbled, ch)
        # `?` right before the run stands for more lost bytes (a lost punctuation mark, say)
        start = run.start
        while start > pos and text[start - 1] == "?":
            start -= 1
            repaired_parts.insert(0, UNRECOVERABLE)
            lost += 1
        garbled = text[start:run.end]
        repaired = "".join(repaired_parts)
        if UNRECOVERABLE in repaired:
            repairs.add("unrecoverable", garbled, repaired)
        repairs.add("mojibake", garbled, repaired)
        out.append(text[pos:start])
        out.append(repaired)
        pos = run.end
    out.append(text[pos:])
    return "".join(out), lost


_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
_PINYIN = re.compile(
    r"(?<=[\u4e00-\u9fff])[(（]((?:[a-zü]*[" + _TONE_VOWELS + r"][a-zü" + _TONE_VOWELS + r"]*"
    r"|[a-z]{1,6}[1-5])(?:\s[a-zü" + _TONE_VOWELS + r"]+[1-5]?)*)[)）]")


def strip_pinyin(text: str, repairs: RepairLog) -> str:
    """Drop pinyin readings inserted after characters: `國務(wù)院` -> `國務院`."""
    if "(" not in text and "（" not in text:
        return text

    def drop(m: re.Match) -> str:
        repairs.add("pinyin_annotation", text[max(0, m.start() - 2):m.end()], text[max(0, m.start() - 2):m.start()])
        return ""

    return _PINYIN.sub(drop, text)
