"""The raw manifest's sources and rights, as the dataset card renders them (issue 23)."""

from __future__ import annotations

from flows.contract.dictionary import md_cell
from flows.ingest.raw_files import discover
from flows.ingest.manifest import ARTICLE_5, read_manifest, sources_section
from tests.conftest import RAW


def _docs(*names: str) -> list[dict]:
    return [{"source_file": n} for n in names]


def test_every_raw_file_has_a_rights_basis_and_the_card_links_its_source_url():
    manifest = read_manifest(RAW)
    names = [p.name for p in discover(RAW)]
    lines = sources_section(manifest, _docs(*names))
    text = "\n".join(lines)
    assert lines[0] == "## Sources and rights" and ARTICLE_5 in text and "Article 5" in text
    for name in names:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        entry = next(r for r in manifest if r["file"] == name)
        assert entry["rights_basis"] and md_cell(entry["rights_basis"]) in row  # escaped as any raw value
        if entry["source_url"]:
            assert f"<{entry['source_url']}>" in row
        else:
            assert "not recorded" in row
    urls = [r["source_url"] for r in manifest if r["source_url"]]
    assert len(urls) >= 3 and all(u.startswith(("http://", "https://")) for u in urls)


def test_third_party_commentary_is_marked_apart_from_the_official_text():
    manifest = [
        {"file": "a.txt", "origin": "web copy", "source_url": "", "rights_basis": "official document (Article 5)"},
        {"file": "b.txt", "origin": "encyclopedia copy", "source_url": "https://example.org/b",
         "rights_basis": "plan text: Article 5; the appended 解读 is third-party commentary, not covered by Article 5"},
    ]
    text = "\n".join(sources_section(manifest, _docs("a.txt", "b.txt")))
    assert "marked in the rights column: `b.txt`." in text
    assert "`a.txt`" in text and "<https://example.org/b>" in text
    # the seeds' real manifest marks seed 001's 内容解读 so
    real = "\n".join(sources_section(read_manifest(RAW), _docs("001_a7d205057cfc02ba.txt")))
    assert "third-party commentary" in real and "内容解读" in real


def test_a_file_missing_from_the_manifest_and_cells_with_pipes_are_shown_safely(tmp_path):
    (tmp_path / "manifest.csv").write_text(
        "file,sha256,bytes,origin,received_via,date_added,source_url,rights_basis\n"
        "x.txt,0,1,copy | with pipe,here,2026-01-01,https://example.org/a b,official\n", encoding="utf-8")
    lines = "\n".join(sources_section(read_manifest(tmp_path), _docs("x.txt", "unlisted.txt"))).splitlines()
    x = next(line for line in lines if line.startswith("| `x.txt` |"))
    assert "copy \\| with pipe" in x and "`https://example.org/a b`" in x  # not a broken autolink
    assert "not in raw/manifest.csv" in next(line for line in lines if line.startswith("| `unlisted.txt` |"))
    assert read_manifest(tmp_path / "nowhere") == []
