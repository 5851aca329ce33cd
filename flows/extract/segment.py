"""jieba with the genre's dictionary (flows/dicts/jieba_domain.txt), loaded once per process.

A private ``jieba.Tokenizer`` (not jieba's global one, which other code may configure) gets the
domain terms (一网通办, 全程网办, 电子证照 ...) so that indicators and subjects are cut on term
boundaries, and the same tokenizer feeds the TF-IDF keyword extractor. Building jieba's prefix
dictionary costs about a second: it happens lazily, on first use, and is cached for the process.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
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
    return list(tokenizer().cut(text, HMM=False))


def keyword_extractor():
    """jieba's TF-IDF extractor on the domain tokenizer, with the genre's stop words."""
    global _extractor
    if _extractor is None:
        tk = tokenizer()
        with _lock:
            if _extractor is None:
                import jieba.analyse

                extractor = jieba.analyse.TFIDF()
                extractor.tokenizer = tk
                extractor.stop_words |= {
                    w.strip() for w in KEYWORD_STOPWORDS.read_text(encoding="utf-8").splitlines() if w.strip()
                }
                _extractor = extractor
    return _extractor
