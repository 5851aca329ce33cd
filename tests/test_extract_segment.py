"""The fast segmenter gives exactly jieba's words and TF-IDF tags (it only computes them faster)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.extract.segment import keyword_extractor, segment, tfidf_tags, tokenizer

SNIPPETS = [
    "",
    " \t\r\n",
    "推进政务服务“一网通办”，到2025年全程网办率达到90%以上。",
    "IPv6 5G 12345热线 1+15+N a.b-c_d%e#f&g",
    "龘齉齾爩（生僻字没有词典词）",
    "最多跑一次改革和移动办，电子证照互通互认",
    "数字政府建设方案\n一、总体要求\n（一）指导思想\n",
    "沪苏浙皖跨省通办，长三角一体化",  # a run of single characters the HMM may join
]
ALPHABET = "的是在一网通办政务服务数字政府电子证照跨省沪苏浙皖龘abcXY019 .-_%+#&\n\t\r，。、（）“”"


def test_segment_is_jiebas_cut_on_snippets():
    for text in SNIPPETS:
        for hmm in (True, False):
            assert segment(text, hmm) == list(tokenizer().cut(text, HMM=hmm)), (text, hmm)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60), st.booleans())
def test_segment_is_jiebas_cut(text, hmm):
    assert segment(text, hmm) == list(tokenizer().cut(text, HMM=hmm))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=200))
def test_tfidf_tags_are_jiebas_extract_tags(text):
    assert tfidf_tags(text, 40) == keyword_extractor().extract_tags(text, topK=40, withWeight=True)


def test_tfidf_tags_on_a_plan_sentence():
    text = "推进政务服务一网通办，推广电子证照和电子印章，拓展跨省通办事项。建设政务大数据平台，推动数据共享。" * 3
    tags = tfidf_tags(text, 10)
    assert tags == keyword_extractor().extract_tags(text, topK=10, withWeight=True)
    terms = [t for t, _ in tags]
    assert "一网通办" in terms and "推进" not in terms  # domain term kept, stop word dropped


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="的是一网通办沪苏浙皖黔滇桂琼渝蒙藏疆龘齉abX09 .%\n，", max_size=30))
def test_hmm_cut_is_jiebas_finalseg(text):
    from jieba import finalseg

    from flows.extract.segment import _hmm_cut

    out: list[str] = []
    _hmm_cut(text, out)
    assert out == list(finalseg.cut(text))


def test_lexicon_is_kept_in_the_cache_and_read_back(tmp_path, monkeypatch):
    from flows.extract import segment as seg

    monkeypatch.setenv("DIGIGOV_CACHE_DIR", str(tmp_path))
    (tmp_path / "lexicon-0000000000000000.pickle").write_bytes(b"built by other code")
    built = seg.lexicon.__wrapped__()  # no file yet: built from jieba, then stored
    path = tmp_path / f"lexicon-{seg.lexicon_key()}.pickle"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the other key's file is gone
    again = seg.lexicon.__wrapped__()
    assert again == built and again is not built  # read back from the file
    assert built == seg.build_lexicon()
    assert built.logp["一网通办"] is not None and "推进" in built.stop_words


def test_a_damaged_or_unwritable_lexicon_cache_only_costs_the_build(tmp_path, monkeypatch):
    from flows.extract import segment as seg

    monkeypatch.setenv("DIGIGOV_CACHE_DIR", str(tmp_path))
    path = tmp_path / f"lexicon-{seg.lexicon_key()}.pickle"
    path.write_bytes(b"\x80\x05truncated")
    assert seg.lexicon.__wrapped__() == seg.build_lexicon()
    assert path.stat().st_size > 1_000_000  # written again whole
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be")
    monkeypatch.setenv("DIGIGOV_CACHE_DIR", str(blocked / "digigov"))
    assert seg.lexicon.__wrapped__() == seg.build_lexicon()
    assert sorted(tmp_path.iterdir()) == sorted([path, blocked])


def test_memoized_blocks_give_the_words_of_a_fresh_cut(monkeypatch):
    """A block cut once is looked up afterwards, per HMM mode; a full memo starts afresh."""
    import flows.extract.segment as seg

    monkeypatch.setattr(seg, "_BLOCK_MEMO_MAX", 2)
    text = "沪苏浙皖跨省通办，一网通办。沪苏浙皖跨省通办，电子证照"
    for hmm in (True, False, True, False):
        assert segment(text, hmm) == list(tokenizer().cut(text, HMM=hmm))
        assert len(seg._block_words(seg.lexicon(), hmm)) <= 3
