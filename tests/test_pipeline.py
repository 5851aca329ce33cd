from flows.extract import EXTRACTORS, extract
from flows.ingest.raw_files import RawDoc
from flows.normalize import normalize
from flows.pipeline import mark_duplicates, merge, process_document, structured_rows
from flows.records import NormalizedDoc, StructuredDoc
from flows.structure import structure
from flows.contract.ids import document_id, file_document_id

PLAN = "关于加强数字政府建设的实施方案\n一、总体要求\n（一）发展目标\n到2025年，政务服务事项全程网办。\n".encode()


def _raw(data: bytes, name: str = "a.txt") -> RawDoc:
    import hashlib

    return RawDoc(source_file=name, sha256=hashlib.sha256(data).hexdigest(), data=data)


def test_each_stage_maps_the_previous_stages_record_to_its_own():
    raw = _raw(PLAN)
    normalized = normalize(raw)
    assert isinstance(normalized, NormalizedDoc) and normalized.raw is raw and normalized.handle == raw.handle
    assert normalized.text.startswith("关于加强数字政府建设的实施方案")
    structured = structure(normalized)
    assert isinstance(structured, StructuredDoc) and structured.normalized is normalized
    assert structured.sections[0]["kind"] == "preamble" and structured.metadata["title"] == "关于加强数字政府建设的实施方案"
    extracted = extract(structured)
    assert set(extracted) == set(EXTRACTORS) | {"parse_issues"} and [g["target_year"] for g in extracted["goals"]] == [2025]
    # the pipeline is their composition (ids aside, which it makes stable once the key is known)
    rows = process_document(raw)
    for table, found in {**structured_rows(structured), **extracted}.items():
        assert len(rows[table]) == len(found), table
    assert [g["statement"] for g in rows["goals"]] == [g["statement"] for g in extracted["goals"]]
    assert rows["documents"][0]["document_key"] == structured.document_key


def test_process_document_gives_a_document_and_sections():
    rows = process_document(_raw(PLAN))
    (doc,) = rows["documents"]
    # the file's id (of its key and bytes) until the run's staging names it by its key alone
    assert doc["doc_id"] == file_document_id(document_id(doc["document_key"]), doc["source_sha256"])
    assert {r["doc_id"] for t in rows.values() for r in t if "doc_id" in r} == {doc["doc_id"]}
    assert doc["script"] == "simplified"
    assert [s["level"] for s in rows["sections"]] == [0, 1, 2]
    assert not rows["rejects"]


def test_a_crashing_stage_becomes_a_reject_not_an_exception(monkeypatch):
    import flows.structure as structure

    def boom(*a, **k):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(structure, "parse_sections", boom)
    rows = process_document(_raw(PLAN))
    assert rows["documents"] == [] and rows["rejects"][0]["reason"] == "error"
    assert "parser bug" in rows["rejects"][0]["detail"]


def test_byte_identical_copies_count_once():
    rows = mark_duplicates(merge([process_document(_raw(PLAN, "a.txt")), process_document(_raw(PLAN, "b.txt"))]))
    assert [d["source_file"] for d in rows["documents"]] == ["a.txt"]
    assert rows["rejects"][0]["reason"] == "duplicate" and rows["rejects"][0]["source_file"] == "b.txt"
    assert len({s["section_id"] for s in rows["sections"]}) == len(rows["sections"]) == 3


def test_same_text_in_another_script_is_marked_duplicate_of():
    trad = "關於加強數字政府建設的實施方案\n一、總體要求\n（一）發展目標\n到2025年，政務服務事項全程網辦。\n".encode()
    rows = mark_duplicates(merge([process_document(_raw(PLAN, "a.txt")), process_document(_raw(trad, "b.txt"))]))
    a, b = sorted(rows["documents"], key=lambda d: d["source_file"])
    assert a["duplicate_of"] is None and b["duplicate_of"] == a["doc_id"]
    assert {s["doc_id"] for s in rows["sections"]} == {a["doc_id"]}


def test_duplicate_roles_decided_batch_by_batch_equal_all_at_once():
    import random

    from flows.pipeline import DuplicateRoles, duplicate_roles

    rng = random.Random(7)
    docs = []
    for i in range(120):
        key, sha = f"key{rng.randrange(25)}", f"sha{rng.randrange(40)}"
        docs.append((f"f{i:03d}.txt", file_document_id(key, sha), key, sha))
    whole = duplicate_roles(list(reversed(docs)))
    roles = DuplicateRoles()
    for at in range(0, len(docs), 17):
        roles.add(list(reversed(docs[at:at + 17])))  # order inside a batch does not matter
    assert (roles.copies, roles.duplicate_of, roles.renamed, roles.dropped) == (
        whole.copies, whole.duplicate_of, whole.renamed, whole.dropped)
    assert whole.duplicate_of and whole.copies and whole.dropped
    try:
        roles.add([("a-before-everything.txt", "x", "y", "z")])
    except ValueError as exc:
        assert "already decided" in str(exc)
    else:
        raise AssertionError("a batch out of source_file order must be refused")
