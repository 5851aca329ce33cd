import os

import pytest

from flows.ingest.raw_files import Rejected, discover, read_raw


def test_discover_finds_text_suffixes_recursively_in_stable_order(tmp_path):
    for name in ["b.txt", "a.md", "sub/c.html", "sub/d.htm", "e.markdown", "f.pdf", ".hidden.txt", "g.TXT"]:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    names = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert names == ["a.md", "b.txt", "e.markdown", "g.TXT", "sub/c.html", "sub/d.htm"]


def test_read_raw_ids_by_content(tmp_path):
    (tmp_path / "a.txt").write_bytes("一、总体要求".encode())
    (tmp_path / "b 副本 (1).txt").write_bytes("一、总体要求".encode())
    a, b = read_raw(tmp_path, tmp_path / "a.txt"), read_raw(tmp_path, tmp_path / "b 副本 (1).txt")
    assert a.sha256 == b.sha256 and a.handle == b.handle and len(a.sha256) == 64
    assert b.source_file == "b 副本 (1).txt"


@pytest.mark.parametrize("content,reason", [(b"", "empty"), (b" \n\t\n", "empty")])
def test_empty_files_are_rejected(tmp_path, content, reason):
    (tmp_path / "e.txt").write_bytes(content)
    with pytest.raises(Rejected) as err:
        read_raw(tmp_path, tmp_path / "e.txt")
    assert err.value.reason == reason


def test_symlink_outside_raw_is_refused(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", raw / "link.txt")
    with pytest.raises(Rejected) as err:
        read_raw(raw, raw / "link.txt")
    assert err.value.reason == "symlink_outside_raw"


def test_raw_manifest_matches_the_files():
    import csv
    import hashlib

    from tests.conftest import RAW, SEEDS

    with open(RAW / "manifest.csv", encoding="utf-8") as f:
        manifest = {r["file"]: r for r in csv.DictReader(f)}
    files = discover(RAW)
    assert set(manifest) == {p.name for p in files} and {p.name for p in SEEDS} < set(manifest)
    for p in files:
        row = manifest[p.name]
        assert row["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest() and int(row["bytes"]) == p.stat().st_size
        assert row["origin"] and row["date_added"] and row["rights_basis"]
        assert not row["source_url"] or row["source_url"].startswith(("http://", "https://"))
    # seed 001's appended 内容解读 is an encyclopedia's commentary, not an official document
    assert "third-party commentary" in manifest["001_a7d205057cfc02ba.txt"]["rights_basis"]


def test_raw_holds_the_shared_seeds_and_corpus_byte_for_byte():
    from tests.conftest import RAW, SHARED

    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    for folder in ("seeds", "corpus"):
        for p in sorted((SHARED / folder).iterdir()):
            assert (RAW / p.name).read_bytes() == p.read_bytes(), p.name


def test_a_file_swapped_for_a_fifo_after_its_check_is_refused_without_blocking(tmp_path, monkeypatch):
    """The type is checked again on the opened file: a FIFO that replaced a regular file between
    the check and the open (a race) is refused, never waited on."""
    import os
    import threading

    import flows.ingest.raw_files as ingest_mod
    from flows.ingest.raw_files import Rejected, read_raw

    (tmp_path / "plan.txt").write_text("数字政府建设方案", encoding="utf-8")
    regular = os.stat(tmp_path / "plan.txt")
    os.remove(tmp_path / "plan.txt")
    os.mkfifo(tmp_path / "plan.txt")
    monkeypatch.setattr(ingest_mod.os, "stat", lambda path, *a, **k: regular)  # the check saw a file
    outcome = []

    def read():
        try:
            read_raw(tmp_path, tmp_path / "plan.txt")
        except Rejected as exc:
            outcome.append((exc.reason, exc.detail))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the reader before failing
        with open(tmp_path / "plan.txt", "wb"):
            pass
    assert not reader.is_alive(), "read_raw blocked on a FIFO"
    assert outcome == [("unreadable", "not a regular file (FIFO)")]
