"""Hostile raw inputs: each one is processed or rejected with a clear reason, never a crash, and
never at the expense of the other documents; nothing from a raw file is ever executed."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.ingest.raw_files import Rejected, read_raw, sniff_binary
from flows.pipeline import process_document

PLAN = "关于加强数字政府建设的实施方案\n\n一、总体要求\n\n（一）发展目标\n\n到2025年，政务服务事项全程网办率达到90%。\n"
TRAD = "關於加強數字政府建設的實施方案\n\n一、總體要求\n\n（一）發展目標\n\n到2025年，政務服務事項全程網辦率達到90%。\n"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"  # one row: filter byte + one red RGB pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("plan.txt", PLAN)
    return buf.getvalue()


def html_page() -> str:
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>某省人民政府</title>"
            "<script>var nav = '一、首页';</script><style>.x{}</style></head><body>"
            "<div class='nav'><a href='/'>首页</a> &gt; <a href='/zc'>政策文件</a></div>"
            "<div class='content'>" + "".join(f"<p>{line}</p>" for line in PLAN.splitlines() if line)
            + "</div><div class='footer'>主办：某省人民政府办公厅</div></body></html>")


def variant(percent: int) -> str:
    """PLAN with another figure, so that documents differ unless a test wants them equal."""
    return PLAN.replace("90%", f"{percent}%")


def hostile_folder(root: Path, marker: Path) -> Path:
    """Every hostile input of issue 8, generated here (no committed binaries)."""
    raw = root / "raw"
    raw.mkdir()
    (raw / "empty.txt").write_bytes(b"")
    (raw / "noise.txt").write_bytes(os.urandom(4096))
    (raw / "image.txt").write_bytes(png_bytes())
    (raw / "scan.txt").write_bytes(pdf_bytes())
    (raw / "bundle.md").write_bytes(zip_bytes())
    (raw / "gbk.txt").write_bytes(variant(81).encode("gbk"))
    (raw / "big5.txt").write_bytes(TRAD.replace("90%", "82%").encode("big5"))
    (raw / "utf16.txt").write_bytes(variant(83).encode("utf-16"))
    (raw / "truncated.txt").write_bytes(variant(84).encode() + "达".encode()[:2])
    (raw / "page.html").write_text(html_page(), encoding="utf-8")
    (raw / "bad-yaml.md").write_text("---\ntitle: [unclosed\n  : : :\n---\n" + variant(85), encoding="utf-8")
    (raw / "evil-yaml.md").write_text(
        f'---\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n'
        f'note: !!python/object/new:subprocess.check_output [["touch", "{marker}"]]\n---\n' + variant(86),
        encoding="utf-8")
    (raw / "no-headings.txt").write_text("到2025年，全省政务服务事项网上可办率达到95%以上。\n各地要抓好落实。\n", encoding="utf-8")
    (raw / "plan.txt").write_text(PLAN, encoding="utf-8")
    (raw / "副本 plan.txt").write_text(PLAN, encoding="utf-8")  # byte-identical, sorts after plan.txt
    (raw / "繁體 plan.txt").write_text(TRAD, encoding="utf-8")  # same text, other script; sorts after plan.txt
    (raw / "数字政府 方案 (2023)【终稿】.txt").write_text(variant(87), encoding="utf-8")
    (root / "outside.txt").write_text(variant(88), encoding="utf-8")
    os.symlink(root / "outside.txt", raw / "link-outside.txt")
    os.symlink("no-such-file.txt", raw / "dangling.txt")
    os.mkfifo(raw / "pipe.txt")  # reading would block forever: must be refused, not read
    return raw


EXPECTED_REJECTS = {
    "empty.txt": "empty",
    "noise.txt": "binary",
    "image.txt": "binary",
    "scan.txt": "binary",
    "bundle.md": "binary",
    "副本 plan.txt": "duplicate",
    "link-outside.txt": "symlink_outside_raw",
    "dangling.txt": "unreadable",
    "pipe.txt": "unreadable",
}
EXPECTED_DOCUMENTS = {"gbk.txt", "page.html", "bad-yaml.md", "evil-yaml.md", "no-headings.txt", "plan.txt",
                      "繁體 plan.txt", "数字政府 方案 (2023)【终稿】.txt"}
# Decoded by the normalize stage (issue 2) or rejected by it with `unknown_encoding`; never an error.
ENCODING_CASES = {"big5.txt", "utf16.txt", "truncated.txt"}


@pytest.fixture(scope="module")
def hostile_build(prefect_harness, tmp_path_factory):
    """The CLI run once over the hostile folder: (exit code, marker path, documents, rejects, out)."""
    from flows.cli import main

    root = tmp_path_factory.mktemp("hostile")
    marker = root / "MARKER"
    raw = hostile_folder(root, marker)
    out = root / "out"
    code = main(["run", "--raw", str(raw), "--out", str(out), "--runner", "threads"])
    docs = {d["source_file"]: d for d in pq.read_table(out / "documents.parquet").to_pylist()}
    rejects = {r["source_file"]: r for r in pq.read_table(out / "rejects.parquet").to_pylist()}
    return code, marker, raw, out, docs, rejects


@pytest.mark.e2e
def test_hostile_folder_runs_end_to_end(hostile_build):
    code, marker, raw, out, docs, rejects = hostile_build
    assert code == 0
    assert not marker.exists(), "YAML front matter executed code"
    for name, reason in EXPECTED_REJECTS.items():
        assert rejects[name]["reason"] == reason, (name, rejects.get(name))
        assert rejects[name]["detail"]
    assert "PNG" in rejects["image.txt"]["detail"] and "ZIP" in rejects["bundle.md"]["detail"]
    assert rejects["副本 plan.txt"]["detail"].startswith("byte-identical to plan.txt")
    assert EXPECTED_DOCUMENTS <= set(docs), EXPECTED_DOCUMENTS - set(docs)
    # every file lands exactly once, in documents or in rejects, and never as a crash
    assert not set(docs) & set(rejects)
    assert set(docs) | set(rejects) == {p.name for p in raw.iterdir()}
    assert not [r for r in rejects.values() if r["reason"] == "error"], rejects
    assert "政务服务" in docs["gbk.txt"]["text"] and "81%" in docs["gbk.txt"]["text"]
    assert docs["繁體 plan.txt"]["duplicate_of"] == docs["plan.txt"]["doc_id"]
    assert [d for d in docs.values() if d["duplicate_of"]] == [docs["繁體 plan.txt"]]
    goals = pq.read_table(out / "goals.parquet").to_pylist()
    # counted once: the traditional copy contributes no rows; the headless file still gets extracted
    assert not [g for g in goals if g["doc_id"] == docs["繁體 plan.txt"]["doc_id"]]
    assert [g for g in goals if g["doc_id"] == docs["no-headings.txt"]["doc_id"]]
    sections = pq.read_table(out / "sections.parquet").to_pylist()
    headless = [s for s in sections if s["doc_id"] == docs["no-headings.txt"]["doc_id"]]
    assert [s["kind"] for s in headless] == ["preamble"]


@pytest.mark.e2e
def test_hostile_encodings_and_html_are_read_correctly(hostile_build):
    _, _, _, _, docs, rejects = hostile_build
    for name, percent in (("big5.txt", 82), ("utf16.txt", 83), ("truncated.txt", 84)):
        if name in rejects:
            assert rejects[name]["reason"] == "unknown_encoding", rejects[name]
        else:
            assert "数字政府" in docs[name]["text"] and f"{percent}%" in docs[name]["text"], docs[name]["text"][:80]
    page = docs["page.html"]["text"]
    assert "数字政府" in page and "<script>" not in page and "var nav" not in page and "<p>" not in page


# --- the same cases as unit tests on the plain functions ----------------------------------------

@pytest.mark.parametrize("data,kind", [
    (png_bytes(), "PNG"), (pdf_bytes(), "PDF"), (zip_bytes(), "ZIP"), (b"\x1f\x8b\x08\x00" + os.urandom(200), "gzip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "OLE2"), (os.urandom(3000), "binary data"),
    (bytes(range(32)) * 20, "binary data"),
])
def test_binary_inputs_are_named(data, kind):
    assert kind in (sniff_binary(data) or "")


@pytest.mark.parametrize("data", [
    PLAN.encode(), PLAN.encode("gbk"), TRAD.encode("big5"), PLAN.encode("gb18030"), PLAN.encode("utf-16"),
    PLAN.encode("utf-16-le"), PLAN.encode("utf-16-be"), "\ufeff".encode() + PLAN.encode(),
    PLAN.encode()[:-2], "Plan 2025\n\x0cpage two\n".encode(), ("纯中文没有换行也没有数字" * 20).encode("utf-16-le"),
])
def test_text_in_any_encoding_is_not_binary(data):
    assert sniff_binary(data) is None


def test_read_raw_rejects_binary_with_its_kind(tmp_path):
    (tmp_path / "a.txt").write_bytes(png_bytes())
    with pytest.raises(Rejected) as err:
        read_raw(tmp_path, tmp_path / "a.txt")
    assert err.value.reason == "binary" and "PNG" in err.value.detail and ".txt" in err.value.detail


def test_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "p.txt")
    with pytest.raises(Rejected) as err:
        read_raw(tmp_path, tmp_path / "p.txt")
    assert err.value.reason == "unreadable" and "FIFO" in err.value.detail


def test_permission_denied_is_unreadable(tmp_path, monkeypatch):
    # Tests run as root, for whom chmod 000 does not stop reads: make the read itself fail.
    (tmp_path / "locked.txt").write_text(PLAN)

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("flows.ingest.raw_files.os.open", denied)  # read_raw's own open (non-blocking, os.open)
    with pytest.raises(Rejected) as err:
        read_raw(tmp_path, tmp_path / "locked.txt")
    assert err.value.reason == "unreadable" and "Permission denied" in err.value.detail


def test_symlink_inside_raw_is_followed(tmp_path):
    (tmp_path / "a.txt").write_text(PLAN)
    os.symlink("a.txt", tmp_path / "b.txt")
    assert read_raw(tmp_path, tmp_path / "b.txt").data == PLAN.encode()


def test_yaml_tags_never_execute(tmp_path):
    import hashlib

    marker = tmp_path / "MARKER"
    data = f'---\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n---\n{PLAN}'.encode()
    from flows.ingest.raw_files import RawDoc

    rows = process_document(RawDoc("evil.md", hashlib.sha256(data).hexdigest(), data))
    assert not marker.exists()
    assert rows["documents"] or rows["rejects"][0]["reason"] != "error"


def test_no_headings_gives_one_preamble_and_still_extracts():
    import hashlib

    from flows.ingest.raw_files import RawDoc

    data = "到2025年，全省政务服务事项网上可办率达到95%以上。\n".encode()
    rows = process_document(RawDoc("x.txt", hashlib.sha256(data).hexdigest(), data))
    assert [s["kind"] for s in rows["sections"]] == ["preamble"]
    assert rows["goals"] and rows["goals"][0]["section_id"] == rows["sections"][0]["section_id"]


def test_duplicates_across_batches_are_marked_whatever_the_batch_order(tmp_path):
    from flows.ingest.raw_files import discover
    from flows.orchestration.batches import process_entries, scan_raw
    from flows.storage.staging import assemble

    (tmp_path / "a 繁體.txt").write_text(TRAD, encoding="utf-8")
    (tmp_path / "b.txt").write_text(variant(50), encoding="utf-8")
    (tmp_path / "0 简体.txt").write_text(PLAN, encoding="utf-8")
    entries = scan_raw(tmp_path, discover(tmp_path))
    # the simplified original sorts first by path but lands in the last batch
    batches = [process_entries(tmp_path, [e], None) for e in reversed(entries)]
    tables = assemble(batches, [])
    docs = {d["source_file"]: d for d in tables["documents"].to_pylist()}
    assert docs["a 繁體.txt"]["duplicate_of"] == docs["0 简体.txt"]["doc_id"]
    assert docs["0 简体.txt"]["duplicate_of"] is None and docs["b.txt"]["duplicate_of"] is None
    sections = tables["sections"].to_pylist()
    assert {s["doc_id"] for s in sections} == {docs["0 简体.txt"]["doc_id"], docs["b.txt"]["doc_id"]}
    from flows.contract.schema import schema

    assert tables["sections"].schema.equals(schema("sections").arrow_schema())
