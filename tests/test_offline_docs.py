"""The validation report (GX Data Docs) opens offline: every page, wherever its folder is copied
(a release's data_docs/), loads its scripts, styles, fonts and images from that folder, and each
kind of page renders styled, in headless Chromium with the network blocked."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from flows.gate.data_docs import VENDOR_DIR, offline_source, vendored
from flows.gate.run import validate_tables
from tests.test_escaping import CHROMIUM, PAYLOAD
from tests.test_validate import TODAY, good_rows, tables_of

# Chromium's own switches keep it from the network besides the offline context: names resolve
# nowhere, and none of its background fetches (updates, sync, safe browsing) start
BLOCKED = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND"]

# what each page shows of its assets once loaded: Bootstrap's .navbar is a flex box (a <nav> is a
# block without it), its JS and bootstrap-table's are loaded, and Font Awesome's font is in use
LOOK = """() => {
  const navbar = getComputedStyle(document.querySelector('nav.navbar'));
  const icon = document.querySelector('i.fas, i.far, i.fa');
  return {navbar: navbar.display, sticky: navbar.position,
          jquery: typeof window.jQuery === 'function',
          bootstrap: !!(window.jQuery && jQuery.fn.modal && jQuery.fn.bootstrapTable),
          vega: typeof window.vegaEmbed === 'function',
          icon: icon ? getComputedStyle(icon).fontFamily : null,
          iconFont: document.fonts.check('900 16px "Font Awesome 6 Free"')};
}"""


@pytest.fixture(scope="module")
def released_docs(tmp_path_factory):
    """Data Docs of a validation with a failing value, copied as a release copies them."""
    rows = good_rows()
    rows["documents"][0].update(doc_number=PAYLOAD)
    built = tmp_path_factory.mktemp("offline") / "validation"
    assert not validate_tables(tables_of(rows), built, today=TODAY).success
    release = tmp_path_factory.mktemp("release") / "data_docs"
    shutil.copytree(built, release)
    shutil.rmtree(built)  # nothing may still point at the folder the pages were written into
    return release


def pages_to_open(docs: Path) -> list[Path]:
    """The pages that can render differently: the first of each section of the site (index,
    expectations, validations) among those loading the same files, and every page reporting a
    failure (its tables of offending values). A page loads nothing but what
    ``Loads`` lists, and every listed file is in the folder
    (``test_no_page_names_an_outside_address_and_every_address_is_in_the_folder``), so the other
    pages of a section load exactly what the opened one loaded."""
    kinds: dict[tuple, Path] = {}
    failing = []
    for html in sorted(docs.rglob("*.html")):
        text = html.read_text(encoding="utf-8")
        loads = tuple(sorted(str((html.parent / a.split("?")[0]).resolve()) for a in Loads(text).addresses))
        kinds.setdefault((html.relative_to(docs).parts[0], loads), html)
        if "fa-times" in text:  # GX's mark of a failed expectation
            failing.append(html)
    return sorted(set(kinds.values()) | set(failing))


def test_every_kind_of_page_renders_styled_with_the_network_blocked(released_docs):
    pages = pages_to_open(released_docs)
    written = sorted(released_docs.rglob("*.html"))
    assert len(written) > 20 and {p.relative_to(released_docs).parts[0] for p in pages} == \
        {"index.html", "expectations", "validations"}
    assert any("fa-times" in p.read_text(encoding="utf-8") for p in pages)  # the failing page too
    requests, failures = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=BLOCKED)
        try:
            page = browser.new_context(offline=True).new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failures.append(f"{r.url}: {r.failure}"))
            page.on("pageerror", lambda e: failures.append(f"{page.url}: {e}"))
            page.on("console", lambda m: m.type == "error" and failures.append(f"{page.url}: {m.text} {m.location}"))
            for html in pages:
                page.goto(html.as_uri(), wait_until="load")
                look = page.evaluate(LOOK)
                name = html.relative_to(released_docs)
                assert look["navbar"] == "flex" and look["sticky"] == "sticky", (name, look)
                assert look["jquery"] and look["bootstrap"] and look["vega"], (name, look)
                if look["icon"] is not None:  # validation pages mark each result with an icon
                    assert "Font Awesome 6 Free" in look["icon"] and look["iconFont"], (name, look)
        finally:
            browser.close()
    inside = released_docs.as_uri() + "/"
    assert requests and not [u for u in requests if not u.startswith(inside)]
    assert not failures
    # the vendored scripts and styles are what the pages loaded
    assert any("/static/vendor/bootstrap@4.3.1/" in u for u in requests)
    assert any(u.endswith(".woff2") for u in requests)


class Loads(HTMLParser):
    """The addresses a page loads (scripts, styles, images, frames), not the links it shows."""

    def __init__(self, html: str):
        super().__init__()
        self.addresses: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"script", "img", "iframe"} and attrs.get("src"):
            self.addresses.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.addresses.append(attrs["href"])


def test_no_page_names_an_outside_address_and_every_address_is_in_the_folder(released_docs):
    for html in released_docs.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "https://" not in " ".join(Loads(text).addresses), html
        assert not re.search(r"url\(['\"]?https?:", text), html  # the styles GX inlines
        for address in Loads(text).addresses:
            assert (html.parent / address.split("?")[0]).resolve().is_file(), (html, address)


def test_template_addresses_become_relative_links_to_the_copies():
    cdn = "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js"
    template = (f'<script src="{cdn}" integrity="sha384-abc" crossorigin="anonymous"></script>\n'
                f"{{% set logo = '{cdn}' %}}\n"
                '<a href="https://greatexpectations.io">GX</a>\n'
                '{% set static_images_dir = "https://example.org/" -%}')
    offline = offline_source(template)
    assert '<script src="{{ digigov_static() }}vendor/bootstrap@4.3.1/dist/js/bootstrap.min.js"></script>' in offline
    assert "{% set logo = (digigov_static() ~ 'vendor/bootstrap@4.3.1/dist/js/bootstrap.min.js') %}" in offline
    assert '<a href="https://greatexpectations.io">' in offline  # a link is not a load
    assert '{% set static_images_dir = digigov_static() ~ "images/" -%}' in offline
    assert offline_source("<p>no address</p>") == "<p>no address</p>"


def test_every_vendored_copy_is_pinned_and_comes_with_its_licence():
    mapping = json.loads((VENDOR_DIR / "vendor.json").read_text(encoding="utf-8"))
    packages = set()
    for url, local in vendored().items():
        if local.startswith("vendor/"):
            path = VENDOR_DIR / local.removeprefix("vendor/")
            assert path.is_file(), url
            packages.add(path.relative_to(VENDOR_DIR).parts[0])
    assert {p.name for p in VENDOR_DIR.iterdir() if p.is_dir()} == packages  # nothing unused
    for package in packages:
        assert re.fullmatch(r"[a-z_.-]+@\d+\.\d+\.\d+", package), package  # an exact version
        assert any((VENDOR_DIR / package).glob("LICENSE*")), package
    assert len(mapping) - 1 == len(vendored())
