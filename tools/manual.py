"""The printed operations manual: the staff help texts (kiosk/help, the How-to panel's
source) as one HTML book per staff language, with a table of contents and each page's
screenshot, and its PDF printed by headless Chromium (`make manual`).

    build/manual/<locale>/manual.html   (+ img/, the screenshots it shows)
    build/manual/manual-<locale>.pdf

The build is not committed: `make manual` makes it again from the committed texts.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kiosk import help as howtos
from kiosk.domain.permissions import GRANTS, Permission, Role
from kiosk.i18n import _, current_locale, set_locale
from kiosk.version import version_line

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots" / "portrait" / "staff"
CHROMIUM = Path("/usr/bin/chromium")
PRINT_SECONDS = 120
PAPER = {"letter": "Letter", "a4": "A4"}  # Canada prints on Letter
PAGE_STYLE = """
@page {{ size: {paper}; margin: 16mm 16mm 18mm 16mm; }}
body {{ font-family: "Noto Sans", "DejaVu Sans", sans-serif; font-size: 14pt;
    line-height: 1.45; color: #000; background: #fff; max-width: 52em; margin: 0 auto;
    padding: 0 1em; }}
h1 {{ font-size: 24pt; margin: 0 0 0.4em; }}
h2 {{ font-size: 17pt; margin: 1.1em 0 0.3em; break-after: avoid; }}
header.cover {{ padding-top: 2em; }}
header.cover h1 {{ font-size: 32pt; }}
nav.toc ol {{ font-size: 15pt; padding-left: 1.4em; }}
nav.toc li {{ margin: 0.25em 0; }}
nav.toc a {{ color: #000; text-decoration: none; }}
body {{ counter-reset: chapter; }}
section.chapter {{ break-before: page; counter-increment: chapter; }}
section.chapter h1::before {{ content: counter(chapter) ". "; }}
p.who {{ font-style: italic; }}
p.when {{ background: #f0f0f0; padding: 0.4em 0.6em; border-left: 5px solid #000; }}
ol li, ul li {{ margin-bottom: 0.35em; }}
ol, ul {{ break-inside: auto; }}
li {{ break-inside: avoid; }}
ul.problems {{ list-style: none; padding-left: 0; }}
ul.problems li {{ border-top: 1px solid #999; padding-top: 0.3em; }}
figure {{ float: right; width: 36%; margin: 0 0 0.8em 1.2em; break-inside: avoid; }}
figure img {{ width: 100%; border: 1px solid #000; }}
footer {{ margin-top: 2em; font-size: 10pt; color: #333; }}
"""


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Built:
    html: dict[str, Path]  # locale: the book
    pdf: dict[str, Path]  # locale: its PDF (none without Chromium)


def page_permissions() -> dict[str, Permission | None]:
    """Each admin page's permission (None: any staff member), by key."""
    from kiosk.ui.admin.pages import page_classes

    return {cls.key: cls.permission for cls in page_classes()}


def roles_line(key: str, permissions: dict[str, Permission | None]) -> str:
    """Who can open the page, in words; '' for a topic that is no page."""
    from kiosk.ui.staff_words import roles_text

    if key not in permissions:
        return ""
    permission = permissions[key]
    granted = frozenset(Role) if permission is None else GRANTS[permission]
    if granted == frozenset(Role):
        roles = _(howtos.EVERY_ROLE)
    else:
        roles = roles_text(role for role in Role if role in granted)
    return _(howtos.WHO_CAN).format(roles=roles)


def screenshot(key: str, locale: str) -> Path | None:
    name = howtos.screenshot_name(key)
    for folder in (SCREENSHOTS / locale, SCREENSHOTS / howtos.FALLBACK):
        path = folder / f"{name}.png"
        if path.is_file():
            return path
    return None


def chapter(key: str, locale: str, permissions: dict[str, Permission | None], images: Path) -> str:
    topic = howtos.howto(key, locale)
    body = howtos.howto_html(topic, heading="h1")
    head, _sep, rest = body.partition("\n")
    parts = [f'<section class="chapter" id="{key}">', head]
    who = roles_line(key, permissions)
    if who:
        parts.append(f'<p class="who">{html.escape(who)}</p>')
    shot = screenshot(key, locale)
    if shot is not None:
        images.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, images / f"{key}.png")
        alt = html.escape(topic.title, quote=True)
        parts.append(f'<figure><img src="img/{key}.png" alt="{alt}"></figure>')
    parts += [rest, "</section>"]
    return "\n".join(parts)


def book(locale: str, out: Path, paper: str) -> Path:
    """The manual in ``locale`` as ``out/<locale>/manual.html``."""
    before = current_locale()
    set_locale(locale)
    try:
        folder = out / locale
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        permissions = page_permissions()
        keys = howtos.topics()
        titles = {key: howtos.howto(key, locale).title for key in keys}
        toc = "".join(f'<li><a href="#{key}">{html.escape(titles[key])}</a></li>' for key in keys)
        chapters = "\n".join(chapter(key, locale, permissions, folder / "img") for key in keys)
        title = html.escape(_(howtos.MANUAL_TITLE))
        lang = locale.replace("_", "-")
        text = f"""<!DOCTYPE html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>{title}</title>
<style>{PAGE_STYLE.format(paper=PAPER[paper])}</style></head>
<body>
<header class="cover"><h1>{title}</h1>
<p>{html.escape(_(howtos.MANUAL_INTRO))}</p></header>
<nav class="toc"><h2>{html.escape(_(howtos.CONTENTS))}</h2><ol>{toc}</ol></nav>
{chapters}
<footer>{html.escape(version_line())}</footer>
</body></html>
"""
        path = folder / "manual.html"
        path.write_text(text, encoding="utf-8")
        return path
    finally:
        set_locale(before)


def print_pdf(page: Path, pdf: Path, chromium: Path = CHROMIUM) -> Path:
    """``page`` printed to ``pdf`` by headless Chromium (its own throwaway profile)."""
    with tempfile.TemporaryDirectory(prefix="kiosk-manual-") as profile:
        done = subprocess.run(
            [
                str(chromium),
                "--headless",
                "--no-sandbox",  # CI runs as root; the page is our own file
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=PRINT_SECONDS,
            check=False,
        )
    if done.returncode != 0 or not pdf.is_file():
        raise RuntimeError(f"chromium could not print {page.name}: {done.stderr[-800:]}")
    return pdf


def build(out: Path, locales: tuple[str, ...], *, pdf: bool, paper: str = "letter") -> Built:
    books = {locale: book(locale, out, paper) for locale in locales}
    pdfs = {}
    if pdf:
        for locale, page in books.items():
            pdfs[locale] = print_pdf(page, out / f"manual-{locale}.pdf")
    return Built(books, pdfs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "manual")
    parser.add_argument("--locales", default=",".join(howtos.LOCALES))
    parser.add_argument("--paper", choices=sorted(PAPER), default="letter")
    parser.add_argument("--no-pdf", action="store_true", help="the HTML only")
    args = parser.parse_args(argv)
    want_pdf = not args.no_pdf
    if want_pdf and not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (Debian: apt-get install chromium): HTML only")
        want_pdf = False
    built = build(args.out, tuple(args.locales.split(",")), pdf=want_pdf, paper=args.paper)
    for path in [*built.html.values(), *built.pdf.values()]:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
