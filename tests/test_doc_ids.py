"""A document's doc_id comes from its document_key (flows/contract/ids.py): editing a value in the
raw file or re-encoding it keeps it, a duplicate (another file with the same key) gets an id of
its own, and a quarantined new version of a file, which shares its doc_id with the published
one, is withheld while the published version's rows are kept stale."""

from __future__ import annotations

import hashlib
import logging

import pyarrow.parquet as pq
import pytest

from flows.contract.ids import document_id, file_document_id
from flows.gate.verdict import ValidationResult
from flows.ingest.raw_files import RawDoc
from flows.orchestration.batches import plan_batches, plan_run, process_entries, scan_folder
from flows.orchestration.head_start import published_build, reused_reads
from flows.orchestration.quarantine import quarantine_documents
from flows.orchestration.stage_build import StagingArea, stage_build
from flows.pipeline import mark_duplicates, merge, process_document
from flows.storage.cache import DocumentCache
from flows.storage.publish import table_path
from tests.test_build_steps import Validation, build_plainly


def notice(number: int, rate: int, issuer: str = "某市人民政府") -> str:
    """An invented plan with a 发文字号 (its key: issuer + number) and one rate target."""
    return (f"{issuer}关于印发某市数字政府建设方案的通知\n某府发〔2023〕{number}号\n各县（区）人民政府：\n"
            f"现将《某市数字政府建设方案》印发给你们，请认真贯彻执行。\n{issuer}\n2023年6月1日\n"
            f"某市数字政府建设方案\n一、总体要求\n到2025年，政务服务事项全程网办率达到{rate}%。\n")


def _raw(data: bytes, name: str = "a.txt") -> RawDoc:
    return RawDoc(name, hashlib.sha256(data).hexdigest(), data)


def _alone(data: bytes, name: str = "a.txt") -> dict:
    """One raw file's rows as a run publishes them (final doc_ids)."""
    return mark_duplicates(merge([process_document(_raw(data, name))]))


def _doc_ids(rows: dict) -> set[str]:
    return {r["doc_id"] for table in rows.values() for r in table if "doc_id" in r}


def test_editing_a_value_keeps_the_doc_id_and_every_row_carries_it():
    before, after = _alone(notice(3, 90).encode()), _alone(notice(3, 95).encode())
    (old,), (new,) = before["documents"], after["documents"]
    assert old["source_sha256"] != new["source_sha256"]
    assert old["doc_id"] == new["doc_id"] == document_id("number:某市人民政府|某府发(2023)3号")
    assert _doc_ids(before) == _doc_ids(after) == {old["doc_id"]}
    # the changed value is a new metric (its id includes the value); the sections keep theirs
    assert [m["value"] for m in after["metrics"]] == [95.0]
    assert {m["metric_id"] for m in before["metrics"]} != {m["metric_id"] for m in after["metrics"]}
    assert [s["section_id"] for s in before["sections"]] == [s["section_id"] for s in after["sections"]]


def test_a_gbk_copy_has_the_same_doc_id_another_number_or_issuer_another():
    text = notice(3, 90)
    utf8, gbk = _alone(text.encode()), _alone(text.encode("gbk"))
    assert gbk["documents"][0]["raw_encoding"] == "gbk"
    assert gbk["documents"][0]["doc_id"] == utf8["documents"][0]["doc_id"]
    assert _alone(notice(4, 90).encode())["documents"][0]["doc_id"] != utf8["documents"][0]["doc_id"]
    assert _alone(notice(3, 90, "某县人民政府").encode())["documents"][0]["doc_id"] != utf8["documents"][0]["doc_id"]


def test_a_key_less_document_is_named_by_its_text():
    plain = "某市数字政府建设方案\n一、总体要求\n到2025年，建成{}个应用。\n"
    a, b = (_alone(plain.format(n).encode())["documents"][0] for n in (3, 4))
    assert a["document_key"].startswith("text:") and a["doc_id"] != b["doc_id"]
    assert _alone(plain.format(3).encode("gbk"))["documents"][0]["doc_id"] == a["doc_id"]


def test_files_sharing_a_key_get_distinct_doc_ids_the_first_by_path_the_keys():
    text = notice(3, 90)
    utf8, gbk = text.encode(), text.encode("gbk")
    rows = mark_duplicates(merge([process_document(_raw(gbk, "b.txt")), process_document(_raw(utf8, "a.txt"))]))
    docs = {d["source_file"]: d for d in rows["documents"]}
    key_id = document_id(docs["a.txt"]["document_key"])
    assert docs["a.txt"]["doc_id"] == key_id and docs["a.txt"]["duplicate_of"] is None
    assert docs["b.txt"]["doc_id"] == file_document_id(key_id, hashlib.sha256(gbk).hexdigest())
    assert docs["b.txt"]["duplicate_of"] == key_id
    # only the original's rows, under its doc_id
    assert _doc_ids({n: t for n, t in rows.items() if n != "documents"}) == {key_id}
    assert len(rows["metrics"]) == 1 and not rows["rejects"]


# --- a quarantined new version of a published document --------------------------------------------


@pytest.fixture
def raw(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(4):
        (raw / f"{i}.txt").write_text(notice(i + 1, 90), encoding="utf-8")
    return raw


def test_a_quarantined_new_version_is_withheld_and_its_published_rows_kept_stale(raw, tmp_path):
    out = tmp_path / "out"
    build_plainly(raw, out)
    published = {n: pq.read_table(out / f"{n}.parquet") for n in ("documents", "metrics", "sections")}
    (raw / "2.txt").write_text(notice(3, 95), encoding="utf-8")  # a value edited: the same doc_id

    cache = DocumentCache(out)
    previous, _ = published_build(None, out, cache.fingerprint, False)
    run = plan_run(scan_folder(raw), previous, cache)
    area = StagingArea(out)
    staged, _, checked = stage_build((process_entries(raw, b, cache) for b in plan_batches(run.unique, 2)), run,
                                     previous, reused_reads(None, previous, run.reuse), area, Validation(), "rules", {})
    doc_id = document_id("number:某市人民政府|某府发(2023)3号")
    assert checked == [doc_id] and len(run.reuse) == 3
    failed = ValidationResult(success=False, failures=["metrics.value = 95"], document_failures={doc_id: ["metrics.value = 95"]})
    again = Validation()
    result, quarantined, stale = quarantine_documents(staged, failed, out, checked, area.builds, again,
                                                      logging.getLogger("test"), max_share=0.5, max_count=1)

    assert result.success and list(quarantined) == [doc_id] and stale == {doc_id: "2.txt"}
    assert quarantined[doc_id]["source_sha256"] == hashlib.sha256(notice(3, 95).encode()).hexdigest()
    assert "kept, marked stale" in quarantined[doc_id]["detail"]
    # the kept version is validated again under these rules
    assert [asked for _, asked, _ in again.calls] == [[doc_id]]
    docs = {d["source_file"]: d for d in pq.read_table(table_path(staged.build, "documents")).to_pylist()}
    old = {d["source_file"]: d for d in published["documents"].to_pylist()}["2.txt"]
    assert docs["2.txt"]["doc_id"] == doc_id and docs["2.txt"]["source_sha256"] == old["source_sha256"]
    assert docs["2.txt"]["stale_since"] is not None and "quarantined" in docs["2.txt"]["stale_reason"]
    assert staged.sources["2.txt"] == old["source_sha256"]
    # the published version's rows, none of the new version's
    metrics = [m for m in pq.read_table(table_path(staged.build, "metrics")).to_pylist() if m["doc_id"] == doc_id]
    assert [m["value"] for m in metrics] == [90.0]
    assert metrics == [m for m in published["metrics"].to_pylist() if m["doc_id"] == doc_id]
    sections = pq.read_table(table_path(staged.build, "sections"))
    assert sections.num_rows == published["sections"].num_rows
    area.discard()


def test_the_changelog_of_the_first_release_with_key_derived_doc_ids_says_how_to_migrate():
    from flows.contract.schema import schema_version
    from flows.publishing import diff

    assert diff.major(schema_version()) >= 3  # doc_id changed meaning: a major step
    _, text = diff.schema_section(diff.changes_table([]), "2026.12.0", "2.1", schema_version())
    migrate = text.split("### How to migrate", 1)[1]
    assert "#### Schema 3.0" in migrate and "#### Schema 2.0" not in migrate
    assert "document_key" in migrate and "source_sha256" in migrate and "doc_id_from_document_key" in migrate
