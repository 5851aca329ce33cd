"""GBK one-byte-off mojibake, its legacy PUA table, lost-byte inference, pinyin annotations."""

from __future__ import annotations

import pytest

from flows.normalize.mojibake import (UNRECOVERABLE, legacy_encode, legacy_pua_bytes, plausibility, repair_double_encoding,
                            repair_gbk_shift, strip_pinyin)
from flows.normalize.text import normalize_text
from flows.normalize.repairs import RepairLog
from tests.test_linear_time import CopyCountingText


def legacy_decode(data: bytes) -> str:
    """Decode GBK the way the damaging decoders did: PUA for unassigned pairs, `?` for a lead
    byte without a valid trail byte."""
    pua = {v: k for k, v in legacy_pua_bytes().items()}
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b < 0x80:
            out.append(chr(b))
            i += 1
            continue
        pair = data[i:i + 2]
        if len(pair) == 2 and (0x40 <= pair[1] <= 0xFE and pair[1] != 0x7F) and 0x81 <= b <= 0xFE:
            out.append(pua.get(pair) or pair.decode("gb18030"))
            i += 2
        else:
            out.append("?")
            i += 1
    return "".join(out)


def damage(line: str, lost_at: int, marker: bytes = b"?") -> str:
    """The line GBK-encoded, the lead byte of character ``lost_at`` replaced by ``marker``
    (b"?" for a lost byte, or the byte with its high bit stripped), decoded by a legacy decoder."""
    raw = line.encode("gbk")
    offset = len(line[:lost_at].encode("gbk"))
    return line[:lost_at] + legacy_decode(marker + raw[offset + 1:])


def test_legacy_table_is_derived_not_listed():
    table = legacy_pua_bytes()
    assert table["\ue7ed"] == b"\xa9\x8f"  # today's GB18030 reads A98F as U+2FF5
    assert table["\ue766"] == b"\xa2\xab"  # first non-user-defined unassigned pair
    assert table["\ue46a"] == b"\xfe\xa3"  # user-defined area 2
    assert table["\ue000"] == b"\xaa\xa1"  # user-defined area 1
    assert max(table) == "\ue864" and len(table) == 2149
    assert legacy_encode("\ue7ed") == b"\xa9\x8f"
    assert legacy_encode("發") == "發".encode("gbk")
    assert legacy_encode("😀") is None


def test_seed_shape_heading_is_repaired_with_pua():
    garbled = " ?。ㄒ唬\ue7ed娀\ue1f2洕\ue32e\\行大數據監測分析,提升經濟調節能力。"
    repairs = RepairLog()
    text, lost = repair_gbk_shift(garbled, repairs)
    assert text == " \u3000（一）強化經濟運行大數據監測分析,提升經濟調節能力。"
    assert lost == 0
    assert repairs.count("mojibake") == 1


def test_fabricated_traditional_heading_resynchronises_on_ascii_byte():
    line = "　　（三）積極發展數字經濟，推動產業轉型。"
    garbled = damage(line, 1)
    assert garbled != line and "?" in garbled
    text, lost = repair_gbk_shift(garbled, RepairLog())
    assert normalize_text(text).text == normalize_text(line).text
    assert lost == 0


def test_lost_trailing_byte_restored_from_document_evidence():
    line = "　　（二）推进政务数据共享，提升协同能力"
    garbled = damage(line, 1)
    assert garbled.endswith("?")
    context = "\n各部门要提升协同能力。\n协同能力建设是重点，协同能力要加强。"
    repairs = RepairLog()
    text, lost = repair_gbk_shift(garbled + context, repairs)
    assert text.split("\n")[0].strip() == "（二）推进政务数据共享，提升协同能力"
    assert lost == 0
    assert repairs.count("mojibake_inferred") == 1


def test_lost_trailing_byte_without_evidence_is_marked_not_dropped():
    garbled = damage("　　（二）推进政务数据共享，提升协同能力", 1)
    repairs = RepairLog()
    text, lost = repair_gbk_shift(garbled, repairs)
    assert text.strip() == "（二）推进政务数据共享，提升协同能" + UNRECOVERABLE
    assert lost == 1
    assert repairs.count("unrecoverable") == 1
    result = normalize_text(garbled)
    assert result.unrecoverable_spans == 1
    assert any(r.kind == "unrecoverable" and r.examples for r in result.repairs)


def test_stripped_high_bit_marks_a_known_lead_byte():
    line = "　　（三）積極發展數字經濟，推動產業轉型。"
    garbled = damage(line, 1, marker=bytes([0xA1 & 0x7F]))  # "!" for 0xA1
    assert garbled.startswith("　!")
    text, lost = repair_gbk_shift(garbled, RepairLog())
    assert text.strip() == line.strip()
    assert lost == 0


def test_question_marks_in_clean_text_are_left_alone():
    for clean in ("为什么要出台《实施意见》?", "是否需要?我们认为需要。", "IPv6?下一代互联网",
                  "数字政府建设将会带来什么改变?\n数字政府是新型政府模式。", "问:怎样办?答:这样办。"):
        repairs = RepairLog()
        assert repair_gbk_shift(clean, repairs) == (clean, 0)
        assert not repairs.by_kind


def test_plausibility_separates_chinese_from_mojibake():
    assert plausibility("强化经济运行大数据监测分析") > plausibility("娀\ue1f2洕\ue32e鋵嵃踩") + 5


@pytest.mark.parametrize("given,expected", [
    ("國務(wù)院關(guān)于加強數字政府建設的指導意見(jiàn)", "國務院關于加強數字政府建設的指導意見"),
    ("推進(jìn)政務(wù)服務(wù)", "推進政務服務"),
    ("綠(lǜ)色發(fā)展", "綠色發展"),
    ("數(shu4)據", "數據"),
    ("數字社會(huì )建設", "數字社會建設"),  # a reader's converter left a space before the bracket
    ("網絡(luò )強國", "網絡強國"),
    ("創(chuàng )新實踐", "創新實踐"),
])
def test_pinyin_annotations_are_stripped(given, expected):
    repairs = RepairLog()
    assert strip_pinyin(given, repairs) == expected
    assert repairs.count("pinyin_annotation") >= 1


@pytest.mark.parametrize("clean", [
    "建设(2023年)", "互联网协议第六版(IPv6)", "（一）指导思想", "附件(a)说明", "按照(试行)办法",
    "使用(app)办理", "专项(special)行动", "国发(2022)14号", "使用(app )办理", "专项(data )行动",
])
def test_real_parenthesised_content_is_kept(clean):
    repairs = RepairLog()
    assert strip_pinyin(clean, repairs) == clean
    assert not repairs.by_kind


def test_pinyin_line_normalizes_to_simplified():
    result = normalize_text("國務(wù)院關(guān)于加強數字政府建設的指導意見(jiàn)，推進(jìn)政務(wù)服務(wù)標準化。")
    assert result.text == "国务院关于加强数字政府建设的指导意见，推进政务服务标准化。"


DOUBLE = "数字政府建设实施方案，推进一网通办。\n一、总体要求\n（一）指导思想。坚持以人民为中心。"


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_utf8_read_as_latin1_is_undone(codec):
    garbled = DOUBLE.encode("utf-8").decode(codec, errors="replace")
    repairs = RepairLog()
    text, lost = repair_double_encoding(garbled, repairs)
    assert repairs.count("double_encoding") == 3
    if codec == "latin-1":  # lossless: every byte survived
        assert (text, lost) == (DOUBLE, 0)
    else:  # cp1252 replaced its five undefined bytes: those characters are marked, never dropped
        assert lost == text.count(UNRECOVERABLE) > 0
        assert len(text) == len(DOUBLE) and "数字政府建设实施方案" in text


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_utf8_read_as_gbk_is_undone_with_lost_bytes_marked(codec):
    garbled = DOUBLE.encode("utf-8").decode(codec, errors="replace")
    assert "鏁板瓧" in garbled
    repairs = RepairLog()
    text, lost = repair_double_encoding(garbled, repairs)
    assert "鏁" not in text and "銆" not in text and "锛" not in text
    assert lost == text.count(UNRECOVERABLE) > 0
    assert repairs.count("unrecoverable") == lost
    assert "（一）指导" in text


def test_clean_text_with_rare_characters_is_not_reencoded():
    clean = "鏁字在此仅作示例，锛与銆亦然。推进数字政府建设，提升治理能力，完善制度体系。" * 3
    repairs = RepairLog()
    assert repair_double_encoding(clean, repairs) == (clean, 0)
    assert not repairs.by_kind


def test_repairing_many_runs_on_one_line_costs_work_linear_in_the_line():
    """Thousands of damaged runs on one long line: the work per run must not grow with the
    line (it scanned and copied back to the line's start for every run)."""
    unit = damage("（一）積極發展數字經濟。", 0) + "推動產業轉型，"
    works = []
    for k in (20, 200):
        CopyCountingText.work = 0
        text, _ = repair_gbk_shift(CopyCountingText(unit * k), RepairLog())
        assert text.count("積極發展") == k
        works.append(CopyCountingText.work)
    assert works[1] < 12 * works[0], works
