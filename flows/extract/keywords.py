"""Keywords: the top terms of each document by jieba TF-IDF with the domain dictionary.

Only the plan proper counts (common.EXTRACTED_KINDS: no table of contents, no appended 解读).
Cutting a whole plan with jieba costs time linear in its characters, too slow for a
10,000-document build, so a long document is sampled: an even stride of its sentences
adding up to about ``SAMPLE_CHARS`` characters, which keeps term frequencies proportional. On the
seeds, 10–15 of the 20 keywords of the sample are among the 20 of the full text.
"""

from __future__ import annotations

import re
from typing import Any

from flows.extract.common import Document
from flows.extract.segment import tfidf_tags

TOP_K = 20
SAMPLE_CHARS = 2000
_TERM = re.compile(r"[\u4e00-\u9fff]{2}")
# Not the plan's words: who is responsible and by when (（责任单位：省发展改革委…）), image and link
# markup, URLs. Blanked to spaces so that sentence offsets still hold.
# Each alternative is written after its first character (one class for all three, so that the
# regex engine scans for that class instead of trying the alternatives at every position).
_NOT_PROSE = re.compile(
    r"[（(!\[h](?:(?<=[（(])[^（()）]{0,8}?(?:牵头单位|责任单位|牵头部门|责任部门|配合单位|完成时限|时间节点)[^（()）]*[）)]"
    r"|(?<=!)\[[^\]\n]*\]\([^)\n]*\)|(?<=\[)[^\]\n]*\]\([^)\n]*\)|(?<=h)ttps?://\S+)"
)


def keyword_sample(doc: Document) -> str:
    """The text TF-IDF reads: the extracted sentences, an even stride of them when they are long."""
    text = doc.text
    prose = _NOT_PROSE.sub(lambda m: " " * len(m.group(0)), text)
    sents = [(s, e) for s, e in doc.sentences if doc.index.extracted(s)]
    total = sum(e - s for s, e in sents)
    ratio = min(1.0, SAMPLE_CHARS / total) if total else 1.0
    picked, credit = [], 0.0
    for s, e in sents:
        credit += (e - s) * ratio
        if credit >= (e - s) / 2:  # take a sentence once its share of the budget is half earned
            picked.append(prose[s:e])
            credit -= e - s
    return "\n".join(picked)


def extract_keywords(doc_id: str, doc: Document) -> list[dict[str, Any]]:
    sample = keyword_sample(doc)
    if not sample.strip():
        return []
    tags = tfidf_tags(sample, TOP_K * 2)
    terms = [(t, w) for t, w in tags if _TERM.search(t)][:TOP_K]
    return [
        dict(doc_id=doc_id, term=term, weight=float(weight), rank=rank, extractor="tfidf")
        for rank, (term, weight) in enumerate(terms, 1)
    ]
