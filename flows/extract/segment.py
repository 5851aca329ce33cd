"""jieba with the genre's dictionary (flows/dicts/jieba_domain.txt), loaded once per process.

A private ``jieba.Tokenizer`` (not jieba's global one, which other code may configure) gets the
domain terms (一网通办, 全程网办, 电子证照 ...) so that indicators and subjects are cut on term
boundaries, and the same tokenizer feeds the TF-IDF keyword extractor. Building jieba's prefix
dictionary takes a while: it happens lazily, on first use, and is cached for the process.

What segmentation and TF-IDF read of all that (word log-probabilities, IDF table, stop words) is
the ``Lexicon``; building it from jieba (jieba's dictionary, its part-of-speech table that
``jieba.analyse`` imports, the IDF file) costs several times what loading it from a pickle in
the user's cache does. Every worker process and every incremental run pays that start-up,
so the lexicon is kept in ``lexicon_cache_dir()`` under a key of everything it is built from.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from math import log
from operator import itemgetter
from pathlib import Path

DICTS = Path(__file__).resolve().parent.parent / "dicts"
DOMAIN_DICT = DICTS / "jieba_domain.txt"
KEYWORD_STOPWORDS = DICTS / "keyword_stopwords.txt"

_lock = threading.Lock()


@cache
def domain_terms() -> frozenset[str]:
    """The words of the domain dictionary."""
    lines = DOMAIN_DICT.read_text(encoding="utf-8").splitlines()
    return frozenset(line.split()[0] for line in lines if line.strip())


_tokenizer = None
_extractor = None


def tokenizer():
    """The process-wide jieba tokenizer with the domain dictionary loaded (built on first use;
    threads that ask meanwhile wait for it rather than build their own)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary build at INFO
                tk = jieba.Tokenizer()
                tk.initialize()
                tk.load_userdict(str(DOMAIN_DICT))
                _tokenizer = tk
    return _tokenizer


def cut(text: str) -> list[str]:
    """Words of a short text (an indicator, a subject) on domain-term boundaries."""
    return segment(text, hmm=False)


# jieba.Tokenizer.cut, accurate mode, with the same blocks and the same maximum-probability route:
# jieba builds a DAG dict, then takes ``max`` over a generator calling ``log`` for every
# candidate word, for every character; one backward pass over a table of log probabilities built
# once gives the same words at about twice the speed.
_HAN_BLOCK = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)")  # jieba's re_han_default
_SKIP = re.compile(r"(\r\n|\s)")  # jieba's re_skip_default
_ENG = re.compile("[a-zA-Z0-9]")
_MISSING = object()


@dataclass(frozen=True)
class Lexicon:
    """What ``segment`` and ``tfidf_tags`` read of the tokenizer and the keyword extractor."""

    # every entry of the tokenizer's prefix dictionary: log(freq / total) for a word, None for a
    # bare prefix of one (what jieba computes per candidate, computed once)
    logp: dict[str, float | None]
    unknown: float  # log-probability of a character no word covers (frequency 1)
    idf: dict[str, float]
    median_idf: float
    stop_words: frozenset[str]


def build_lexicon() -> Lexicon:
    tk, ex = tokenizer(), keyword_extractor()
    logtotal = log(tk.total)
    logp = {w: (log(f) - logtotal if f else None) for w, f in tk.FREQ.items()}
    return Lexicon(logp, -logtotal, dict(ex.idf_freq), ex.median_idf, frozenset(ex.stop_words))


def lexicon_cache_dir() -> Path:
    """``DIGIGOV_CACHE_DIR``, else ``$XDG_CACHE_HOME/digigov``, else ``~/.cache/digigov``."""
    if os.environ.get("DIGIGOV_CACHE_DIR"):
        return Path(os.environ["DIGIGOV_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digigov"


def lexicon_key() -> str:
    """Hash of what the lexicon is built from: this module, the domain dictionary, the stop
    words, jieba's version (its dictionary and IDF table ship with it) and Python's."""
    from importlib import metadata

    h = hashlib.sha256(f"jieba={metadata.version('jieba')};python={sys.version_info[:2]}".encode())
    for path in (Path(__file__), DOMAIN_DICT, KEYWORD_STOPWORDS):
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@cache
def lexicon() -> Lexicon:
    """The process's lexicon: from the cache file when it holds this key, else built from jieba
    and stored (written whole then renamed, so concurrent workers never read half a file; a
    cache that cannot be read or written only costs the build)."""
    path = lexicon_cache_dir() / f"lexicon-{lexicon_key()}.pickle"
    try:
        with open(path, "rb") as f:
            found = pickle.load(f)  # the user's own cache folder, written by the code below
        if isinstance(found, Lexicon):
            return found
    except Exception:  # missing, truncated or from elsewhere: build it again
        pass
    built = build_lexicon()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lexicon-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(built, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
        for stale in path.parent.glob("lexicon-*.pickle"):  # built by other code: never read again
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot keep the segmentation lexicon in %s: %s", path.parent, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return built


def _route(block: str, logp: dict[str, float | None], unknown: float) -> list[int]:
    """For each position, the end (exclusive) of the word jieba's route takes there."""
    n = len(block)
    score = [0.0] * (n + 1)
    ends = list(range(1, n + 2))  # by default the character alone
    get = logp.get
    missing = _MISSING
    for k in range(n - 1, -1, -1):
        best = None
        i = k + 1
        frag = block[k]
        lp = get(frag, missing)
        while lp is not missing:
            if lp is not None:
                value = lp + score[i]
                if best is None or value >= best:  # ties go to the longer word, as jieba's max
                    best = value
                    ends[k] = i
            if i >= n:
                break
            i += 1
            lp = get(block[k:i], missing)
        # no word starts here: the character alone, at frequency 1
        score[k] = unknown + score[k + 1] if best is None else best
    return ends


def _cut_block(block: str, hmm: bool, logp: dict[str, float | None], unknown: float, out: list[str]) -> None:
    ends = _route(block, logp, unknown)
    n = len(block)
    x = 0
    buf = ""
    if not hmm:  # single Latin letters and digits run together
        while x < n:
            y = ends[x]
            word = block[x:y]
            if y - x == 1 and _ENG.match(word):
                buf += word
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(word)
            x = y
        if buf:
            out.append(buf)
        return

    def flush(buf: str) -> None:  # a run of single characters: unknown words go to the HMM
        if len(buf) == 1:
            out.append(buf)
        elif not logp.get(buf):
            _hmm_cut(buf, out)
        else:
            out.extend(buf)
    while x < n:
        y = ends[x]
        if y - x == 1:
            buf += block[x]
        else:
            if buf:
                flush(buf)
                buf = ""
            out.append(block[x:y])
        x = y
    if buf:
        flush(buf)


def _viterbi(obs: str, start: dict, trans: dict, emit: dict, low: float) -> str:
    """jieba.finalseg.viterbi's state sequence (B/M/E/S per character), with the same sums in
    the same order and the same tie-breaks (max over (probability, state) tuples: the later
    state letter wins a tie), kept as back-pointers instead of a copied path per state."""
    e_b, e_m, e_e, e_s = emit["B"], emit["M"], emit["E"], emit["S"]
    t_eb, t_sb = trans["E"].get("B", low), trans["S"].get("B", low)
    t_mm, t_bm = trans["M"].get("M", low), trans["B"].get("M", low)
    t_ss, t_es = trans["S"].get("S", low), trans["E"].get("S", low)
    t_be, t_me = trans["B"].get("E", low), trans["M"].get("E", low)
    c = obs[0]
    v_b, v_m = start["B"] + e_b.get(c, low), start["M"] + e_m.get(c, low)
    v_e, v_s = start["E"] + e_e.get(c, low), start["S"] + e_s.get(c, low)
    back = []
    for c in obs[1:]:
        em_b, em_m, em_s, em_e = e_b.get(c, low), e_m.get(c, low), e_s.get(c, low), e_e.get(c, low)
        (v_b, p_b), (v_m, p_m), (v_s, p_s), (v_e, p_e) = (
            max((v_e + t_eb + em_b, "E"), (v_s + t_sb + em_b, "S")),
            max((v_m + t_mm + em_m, "M"), (v_b + t_bm + em_m, "B")),
            max((v_s + t_ss + em_s, "S"), (v_e + t_es + em_s, "E")),
            max((v_b + t_be + em_e, "B"), (v_m + t_me + em_e, "M")))
        back.append({"B": p_b, "M": p_m, "S": p_s, "E": p_e})
    state = max((v_e, "E"), (v_s, "S"))[1]
    states = [state]
    for pointers in reversed(back):
        state = pointers[state]
        states.append(state)
    return "".join(reversed(states))


def _hmm_cut(text: str, out: list[str]) -> None:
    """The words ``jieba.finalseg.cut(text)`` yields (unknown words found by its HMM)."""
    from jieba import finalseg

    low, force_split = finalseg.MIN_FLOAT, finalseg.Force_Split_Words
    for i, block in enumerate(finalseg.re_han.split(text)):
        if not i % 2:
            out.extend(x for x in finalseg.re_skip.split(block) if x)
            continue
        states = _viterbi(block, finalseg.start_P, finalseg.trans_P, finalseg.emit_P, low)
        begin = next_start = 0
        words = []
        for k, state in enumerate(states):
            if state == "B":
                begin = k
            elif state == "E":
                words.append(block[begin:k + 1])
                next_start = k + 1
            elif state == "S":
                words.append(block[k])
                next_start = k + 1
        if next_start < len(block):
            words.append(block[next_start:])
        for word in words:
            if word in force_split:
                out.extend(word)
            else:
                out.append(word)


# Words of the blocks already cut, per lexicon and HMM mode. Plan texts repeat their blocks
# (numerals, headings, stock phrases: 46,530 blocks in 250 sample documents, 1,657 distinct), so
# most blocks are looked up instead of routed. Emptied when full, which bounds its memory (a few MB).
_BLOCK_MEMO_MAX = 1 << 15
_block_memo: tuple[Lexicon | None, dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]] = (None, {}, {})


def _block_words(lex: Lexicon, hmm: bool) -> dict[str, tuple[str, ...]]:
    """The memo of ``_cut_block``'s words for this lexicon and mode (a new lexicon starts afresh)."""
    global _block_memo
    if _block_memo[0] is not lex:
        _block_memo = (lex, {}, {})
    memo = _block_memo[1 if hmm else 2]
    if len(memo) >= _BLOCK_MEMO_MAX:
        memo.clear()
    return memo


def segment(text: str, hmm: bool = True) -> list[str]:
    """The words ``tokenizer().cut(text, HMM=hmm)`` yields, in order."""
    lex = lexicon()
    logp, unknown = lex.logp, lex.unknown
    memo = _block_words(lex, hmm)
    out: list[str] = []
    # split() on a capturing pattern alternates what lies between matches (even places) and
    # the matches (odd places), which is what jieba tells apart by matching each piece again
    for i, block in enumerate(_HAN_BLOCK.split(text)):
        if i % 2:
            words = memo.get(block)
            if words is None:
                cut_words: list[str] = []
                _cut_block(block, hmm, logp, unknown, cut_words)
                words = memo[block] = tuple(cut_words)
            out.extend(words)
        elif block:
            for j, piece in enumerate(_SKIP.split(block)):
                if j % 2:
                    out.append(piece)  # a whitespace character (or \r\n) stays one word
                else:
                    out.extend(piece)  # anything else: one character at a time
    return out


def tfidf_tags(text: str, top_k: int) -> list[tuple[str, float]]:
    """``keyword_extractor().extract_tags(text, topK=top_k, withWeight=True)`` on ``segment``."""
    lex = lexicon()
    stop, idf, median = lex.stop_words, lex.idf, lex.median_idf
    # counts in first-occurrence order, as jieba's dict: equal weights keep that order
    longer = [w for w in segment(text) if len(w) > 1]
    freq = Counter(w for w in longer if len(w.strip()) > 1 and w.lower() not in stop)
    total = sum(freq.values())
    weights = {w: n * (idf.get(w, median) / total) for w, n in freq.items()}
    return sorted(weights.items(), key=itemgetter(1), reverse=True)[:top_k]


def keyword_extractor():
    """jieba's TF-IDF extractor on the domain tokenizer, with the genre's stop words."""
    global _extractor
    if _extractor is None:
        tk = tokenizer()
        with _lock:
            if _extractor is None:
                import copy

                import jieba.analyse

                # importing jieba.analyse already built its default extractor (IDF table parsed,
                # at a cost); a shallow copy shares that table, read-only, instead of parsing it again
                extractor = copy.copy(jieba.analyse.default_tfidf)
                extractor.tokenizer = tk
                extractor.stop_words = set(extractor.stop_words) | {
                    w.strip() for w in KEYWORD_STOPWORDS.read_text(encoding="utf-8").splitlines() if w.strip()
                }
                _extractor = extractor
    return _extractor
