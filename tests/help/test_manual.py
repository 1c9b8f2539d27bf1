"""`make manual`: the operations manual built from the help texts, as HTML in English and
French (a chapter per topic, a contents list that links to them, screenshots that resolve),
and printed to PDF by headless Chromium where it is installed (CI installs it)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kiosk import help as howtos
from kiosk.ui.admin.pages import page_classes
from tools import manual


class Outline(HTMLParser):
    """What a check needs of the book: ids, links, images, chapter headings."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.chapters: list[str] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.headings: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang") or ""
        elif tag == "section" and found.get("class") == "chapter":
            self.chapters.append(found.get("id") or "")
        elif tag == "a":
            self.links.append(found.get("href") or "")
        elif tag == "img":
            self.images.append(found.get("src") or "")
            assert found.get("alt"), "an image without alt text"
        elif tag == "h1":
            self._in_h1 = True
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.headings[-1] += data


def outline(path: Path) -> Outline:
    parsed = Outline()
    parsed.feed(path.read_text(encoding="utf-8"))
    return parsed


def test_the_html_manual_has_every_chapter_in_both_languages(tmp_path: Path) -> None:
    built = manual.build(tmp_path, howtos.LOCALES, pdf=False)
    topics = list(howtos.topics())
    assert {cls.key for cls in page_classes()} <= set(topics)
    for locale in howtos.LOCALES:
        book = outline(built.html[locale])
        assert book.lang == locale.replace("_", "-")
        assert book.chapters == topics, "one chapter per help topic, in order"
        assert book.links == [f"#{key}" for key in topics], "the contents link every chapter"
        titles = [howtos.howto(key, locale).title for key in topics]
        assert book.headings[1:] == titles
        # Each page walked by tools/display_walk.py has its picture; login shows the PIN pad.
        assert {"img/login.png", "img/alerts.png", "img/lanes.png"} <= set(book.images)
        for src in book.images:
            assert (built.html[locale].parent / src).is_file(), f"{locale}: {src} missing"
    french = built.html["fr_CA"].read_text(encoding="utf-8")
    assert "Manuel d’exploitation" in french and "En cas de problème" in french
    assert "Qui peut ouvrir cette page : tous les rôles." in french
    english = built.html["en"].read_text(encoding="utf-8")
    assert "Who can open this page: administrator." in english  # Staff accounts
    assert not list(tmp_path.glob("*.pdf"))


def test_the_manual_prints_to_pdf(tmp_path: Path) -> None:
    if not manual.CHROMIUM.exists():
        if manual.on_ci():
            pytest.fail("chromium is missing on CI: .ci/run installs it")
        pytest.skip("no /usr/bin/chromium (Debian: apt-get install chromium)")
    built = manual.build(tmp_path, howtos.LOCALES, pdf=True, paper="a4")
    for locale, pdf in built.pdf.items():
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-"), locale
        assert len(data) > 100_000, f"{locale}: the PDF has no screenshots"
    if shutil.which("pdfinfo") is None:
        return
    info = subprocess.run(
        ["pdfinfo", str(built.pdf["fr_CA"])], capture_output=True, text=True, check=True
    ).stdout
    pages = int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])
    assert pages >= len(howtos.topics()) + 1, "a cover and a page (at least) per chapter"
    assert "(A4)" in info
