"""jieba with the domain dictionary, and the keywords table."""

from __future__ import annotations

import jieba

from flows.extract.keywords import SAMPLE_CHARS, extract_keywords, keyword_sample
from flows.extract import read_document
from flows.extract.segment import cut, domain_terms, keyword_extractor, tokenizer
from tests.test_extract_common import build_sections

PLAN = (
    "一、总体要求\n到2025年，全面推进政务服务“一网通办”、城市运行“一网统管”、政府运行“一网协同”。"
    "实现一般政务服务事项全程网办，高频事项跨省通办、掌上办，推动电子证照互通互认。"
    "深化最多跑一次改革，提升电子政务外网支撑能力，推进政务数据共享和公共数据开放。\n"
    "二、主要任务\n（一）政务服务。推动政务服务一网通办，推广电子证照和电子印章，拓展跨省通办事项。\n"
    "（二）数据资源。建设政务大数据平台，完善公共数据资源目录，推动数据共享。\n"
)


def test_domain_terms_are_cut_whole():
    for term in ("一网通办", "一网统管", "一网协同", "全程网办", "跨省通办", "掌上办", "最多跑一次",
                 "电子证照", "政务外网", "移动办"):
        assert term in domain_terms()
        assert cut(f"推进{term}改革") == ["推进", term, "改革"]
    assert cut("实现一般政务服务事项") == ["实现", "一般政务服务事项"]


def test_one_private_tokenizer_per_process():
    assert tokenizer() is tokenizer()
    assert tokenizer() is not jieba.dt
    assert keyword_extractor() is keyword_extractor()
    assert keyword_extractor().tokenizer is tokenizer()


def test_keywords_rows():
    rows = extract_keywords("t", read_document(PLAN, build_sections(PLAN)))
    assert 5 <= len(rows) <= 20
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    weights = [r["weight"] for r in rows]
    assert all(isinstance(w, float) and w > 0 for w in weights) and weights == sorted(weights, reverse=True)
    terms = [r["term"] for r in rows]
    assert len(set(terms)) == len(terms)
    assert {"一网通办", "跨省通办", "电子证照"} <= set(terms)
    assert not {"推进", "推动", "建设", "2025"} & set(terms)


def test_keywords_skip_toc_and_interpretation_and_responsibility_notes():
    text = ("一、目录\n区块链区块链区块链\n二、任务\n推进一网通办。（责任单位：省林业局、省公安厅）\n"
            "三、政策解读\n元宇宙元宇宙元宇宙")
    terms = {r["term"] for r in extract_keywords("t", read_document(text, build_sections(text, {"目录": "toc", "解读": "interpretation"})))}
    assert "一网通办" in terms
    assert not {"区块链", "元宇宙", "林业局", "公安厅"} & terms


def test_long_documents_are_sampled_evenly():
    text = PLAN * 40
    sample = keyword_sample(read_document(text, build_sections(text)))
    assert SAMPLE_CHARS * 0.8 <= len(sample) <= SAMPLE_CHARS * 1.2
    assert sample.count("政务服务") > 3
    assert extract_keywords("t", read_document("", build_sections(""))) == []
