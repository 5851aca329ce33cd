"""Stable ids (flows/contract/ids.py): a document's document_key and every row id survive re-running,
re-encoding, a web-page wrapper, other documents being added and unrelated extractor changes;
identical rows are told apart by their ordinal."""

from __future__ import annotations

import hashlib
import re

import pytest

from flows.contract import ids
from flows.extract import EXTRACTORS
from flows.ingest.raw_files import RawDoc, read_raw
from flows.pipeline import mark_duplicates, merge, process_document
from flows.contract.schema import schema
from tests.conftest import RAW, SEEDS

ID_TABLES = [t for t in ids.ID_CONTENT]


def _raw(name: str, data: bytes) -> RawDoc:
    return RawDoc(name, hashlib.sha256(data).hexdigest(), data)


def _row_ids(rows: dict) -> dict[str, list[str]]:
    """Every id column of every table with a row id, plus the references to sections."""
    out = {}
    for table, (column, _) in ids.ID_CONTENT.items():
        out[table] = [r[column] for r in rows[table]]
        out[f"{table}.section_id"] = [r.get("section_id") for r in rows[table]]
    out["sections.parent_id"] = [r["parent_id"] for r in rows["sections"]]
    return out


# An invented notice with a 发文字号, an attachment, two goals and a metric, in three sections.
PLAN = (
    "某某省人民政府关于印发某某省数字政府建设方案的通知\n"
    "某政发〔2023〕7号\n"
    "各市人民政府：\n现将《某某省数字政府建设方案》印发给你们，请认真贯彻执行。\n"
    "附件：某某省数字政府建设方案\n"
    "某某省人民政府\n2023年3月1日\n"
    "某某省数字政府建设方案\n"
    "一、总体要求\n"
    "到2025年，政务服务事项全程网办率达到90%，数字政府基本建成。\n"
    "二、主要任务\n"
    "（一）推进一网通办。到2027年，全面建成整体协同的数字政府。\n"
    "（二）强化数据共享。到2027年，全面建成整体协同的数字政府。\n"
)


@pytest.fixture(scope="module")
def plan_rows():
    return process_document(_raw("plan.txt", PLAN.encode("utf-8")))


def test_document_key_rules_and_normalization():
    text = "正文"
    by_number = ids.document_key("某某省人民政府", "某政发〔2023〕7号", "方案", "2023-03-01", text)
    assert by_number == "number:某某省人民政府|某政发(2023)7号"
    # brackets, full-width digits and spaces written differently: the same key
    assert ids.document_key(" 某某省人民政府", "某政发[２０２３] 7号", None, None, "别的正文") == by_number
    assert ids.document_key("某某省人民政府", "某政发（2023）7号", None, None, text) == by_number
    assert ids.document_key(None, None, "某某 方案", "2023-03-01", text) == "title:某某方案|2023-03-01"
    # no number, no date: the text decides, whitespace and full-width forms aside
    assert ids.document_key(None, None, "某某方案", None, "一、总体\n到２０２５年") == \
        ids.document_key(None, None, None, None, "一、 总体 到2025年")
    assert ids.document_key(None, None, None, None, "甲") != ids.document_key(None, None, None, None, "乙")


def test_plan_rows_have_hash_ids_and_resolved_references(plan_rows):
    doc = plan_rows["documents"][0]
    assert doc["document_key"] == "number:某某省人民政府|某政发(2023)7号"
    assert re.fullmatch(schema("documents").column("document_key").pattern, doc["document_key"])
    assert plan_rows["goals"] and plan_rows["metrics"] and plan_rows["sections"]
    section_ids = {r["section_id"] for r in plan_rows["sections"]}
    for table, id_list in _row_ids(plan_rows).items():
        if table.endswith(".section_id") or table == "sections.parent_id":
            assert {s for s in id_list if s is not None} <= section_ids, table
        else:
            assert all(len(i) == ids.ID_HEX_DIGITS and int(i, 16) >= 0 for i in id_list), table
            assert len(set(id_list)) == len(id_list), table


def test_identical_rows_get_distinct_ids_by_ordinal(plan_rows):
    same = [g for g in plan_rows["goals"] if g["statement"].startswith("到2027年，全面建成")]
    assert len(same) == 2 and same[0]["goal_id"] != same[1]["goal_id"]
    key = plan_rows["documents"][0]["document_key"]
    content = (same[0]["statement"],)
    assert [g["goal_id"] for g in same] == [ids.row_id(key, "goals", content, 0), ids.row_id(key, "goals", content, 1)]


def test_same_rows_same_ids_on_every_run(plan_rows):
    again = process_document(_raw("elsewhere/renamed.txt", PLAN.encode("utf-8")))
    assert _row_ids(again) == _row_ids(plan_rows)


def test_gbk_copy_and_web_page_copy_keep_key_and_ids(plan_rows):
    gbk = process_document(_raw("plan_gbk.txt", PLAN.encode("gbk")))
    assert gbk["documents"][0]["raw_encoding"] != "utf-8"
    body = "".join(f"<p>{line}</p>\n" for line in PLAN.splitlines())
    page = ("<html><head><meta charset=\"utf-8\"><title>某某省数字政府建设方案</title></head><body>\n"
            "<div class=\"nav\">首页 &gt; 政务公开 &gt; 政策文件</div>\n" + body
            + "<div>【打印本页】【关闭窗口】</div>\n</body></html>\n")
    html = process_document(_raw("plan.html", page.encode("utf-8")))
    for copy in (gbk, html):
        assert not copy["rejects"]
        assert copy["documents"][0]["doc_id"] != plan_rows["documents"][0]["doc_id"]  # other bytes
        assert copy["documents"][0]["document_key"] == plan_rows["documents"][0]["document_key"]
        assert _row_ids(copy) == _row_ids(plan_rows)


def test_copies_with_one_key_are_duplicates_and_publish_each_id_once(plan_rows):
    gbk = process_document(_raw("plan_gbk.txt", PLAN.encode("gbk")))
    rows = mark_duplicates(merge([plan_rows, gbk]))
    original, copy = sorted(rows["documents"], key=lambda d: d["source_file"])
    assert (original["source_file"], original["duplicate_of"]) == ("plan.txt", None)
    assert copy["duplicate_of"] == original["doc_id"]
    for table, (column, _) in ids.ID_CONTENT.items():
        values = [r[column] for r in rows[table]]
        assert len(values) == len(set(values)) == len(plan_rows[table]), table


def test_an_extra_row_found_earlier_changes_no_other_id(plan_rows, monkeypatch):
    """An extractor that starts finding one goal more, before the others (and a structure change
    that adds nothing): every earlier goal keeps its id; sequence numbers would all shift."""
    find_goals = EXTRACTORS["goals"]

    def with_an_earlier_goal(doc_id, doc):
        rows = find_goals(doc_id, doc)
        rows = [dict(rows[0], statement="通知中的一句新目标", char_start=0, char_end=9), *rows]
        for i, r in enumerate(rows):  # as extract_goals numbers the rows it finds, in text order
            r["goal_id"] = f"{doc_id}-g{i:04d}"
        return rows

    monkeypatch.setitem(EXTRACTORS, "goals", with_an_earlier_goal)
    changed = process_document(_raw("plan.txt", PLAN.encode("utf-8")))
    before = [g["goal_id"] for g in plan_rows["goals"]]
    after = [g["goal_id"] for g in changed["goals"]]
    assert len(after) == len(before) + 1 and after[1:] == before
    for table in ("sections", "metrics", "tasks", "bandwidth_targets", "attachments"):
        assert _row_ids(changed)[table] == _row_ids(plan_rows)[table]


def test_a_section_inserted_before_keeps_the_ids_of_later_facts(plan_rows):
    """A small edit (a new first paragraph in the notice) moves every offset and section number
    after it, but not the ids of goals and metrics, which are about their own content."""
    edited = PLAN.replace("各市人民政府：\n", "各市人民政府，省政府各部门：\n")
    rows = process_document(_raw("plan_v2.txt", edited.encode("utf-8")))
    assert rows["documents"][0]["document_key"] == plan_rows["documents"][0]["document_key"]
    assert [m["char_start"] for m in rows["metrics"]] != [m["char_start"] for m in plan_rows["metrics"]]
    for table in ("goals", "metrics"):
        assert _row_ids(rows)[table] == _row_ids(plan_rows)[table]


def test_adding_a_document_changes_no_other_documents_ids(seed_rows):
    alone = mark_duplicates(merge([process_document(read_raw(RAW, SEEDS[0]))]))
    doc_id = alone["documents"][0]["doc_id"]
    for table, (column, _) in ids.ID_CONTENT.items():
        in_all = [r[column] for r in seed_rows[table] if r["doc_id"] == doc_id]
        assert in_all == [r[column] for r in alone[table]], table


def test_seed_ids_are_unique_across_documents_and_tables(seed_rows):
    for table, (column, _) in ids.ID_CONTENT.items():
        assert schema(table).primary_key == (column,)
        values = [r[column] for r in seed_rows[table]]
        assert len(values) == len(set(values)), table


def test_every_quanchengwangban_metric_in_a_build_shares_one_indicator_id(seed_build):
    import pyarrow.parquet as pq

    out, _ = seed_build
    metrics = pq.read_table(out / "metrics.parquet", columns=["doc_id", "indicator", "indicator_id"]).to_pylist()
    worded = [m for m in metrics if m["indicator"] and "全程网办" in m["indicator"]]
    assert len({m["doc_id"] for m in worded}) >= 2
    assert len({m["indicator_id"] for m in worded}) == 1 and worded[0]["indicator_id"] is not None


def test_seed_build_ids_match_the_plain_pipeline(seed_build, seed_rows):
    """The flow (batches, cache, Arrow) gives each seed row the id the plain functions give."""
    import pyarrow.parquet as pq

    out, _ = seed_build
    seed_docs = {d["doc_id"] for d in seed_rows["documents"]}
    for table, (column, _) in ids.ID_CONTENT.items():
        built = pq.read_table(out / f"{table}.parquet", columns=["doc_id", column]).to_pylist()
        assert sorted(r[column] for r in built if r["doc_id"] in seed_docs) == sorted(r[column] for r in seed_rows[table])


def test_the_changelog_of_the_first_release_with_stable_ids_says_how_to_migrate():
    from flows.publishing import diff
    from flows.contract.schema import schema_version

    assert diff.major(schema_version()) >= 2  # ids changed meaning: a major step
    _, text = diff.schema_section(diff.changes_table([]), "2026.11.0", "1.3", schema_version())
    migrate = text.split("### How to migrate", 1)[1]
    assert "#### Schema 2.0" in migrate and "document_key" in migrate and "char_start" in migrate
    # a minor step quotes nothing; a step over two majors quotes both
    assert "How to migrate" not in diff.schema_section(diff.changes_table([]), "x", "2.0", "2.1")[1]
    assert diff.migration_notes(1, 2) and diff.migration_notes(2, 2) == []
