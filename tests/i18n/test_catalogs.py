"""Every string is translated in en and fr, with the same placeholders as its source."""

from __future__ import annotations

import gettext
import logging
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk import i18n

CATALOGS = Path(__file__).resolve().parents[2] / "translations"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("locale", ["en", "fr_CA"])
def test_every_message_is_translated_with_matching_placeholders(locale: str) -> None:
    with (CATALOGS / locale / "LC_MESSAGES" / "kiosk.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    with (CATALOGS / "kiosk.pot").open("rb") as handle:
        template = read_po(handle)
    assert {m.id for m in template if m.id} <= {m.id for m in catalog if m.id}, "run make extract"
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(targets), f"{locale}: untranslated {message.id!r}"
        assert "fuzzy" not in message.flags, f"{locale}: fuzzy {message.id!r}"
        for target in targets:
            assert placeholders(target) == placeholders(sources[-1]), (locale, message.id)


def test_a_translation_with_wrong_placeholders_falls_back_to_the_source(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return "Votre dose à {heure}"

    saved = i18n._State.catalog
    i18n._State.catalog = Broken()
    try:
        with caplog.at_level(logging.ERROR, "kiosk.i18n"):
            text = i18n._("Your next dose is available at {time}")
        assert text == "Your next dose is available at {time}"
        assert "wrong placeholders" in caplog.text
    finally:
        i18n._State.catalog = saved


def test_french_formats_times_the_canadian_way() -> None:
    from datetime import UTC, datetime

    i18n.set_locale("fr_CA")
    try:
        assert (
            i18n.format_local_time(datetime(2026, 6, 10, 21, tzinfo=UTC), "America/Vancouver")
            == "14 h 00"
        )
        assert i18n._("Your dose is ready") == "Votre dose est prête"
    finally:
        i18n.set_locale("en")


@pytest.mark.parametrize("locale", ["es", "zh_Hant", "pa"])
def test_every_participant_screen_string_is_translated(locale: str) -> None:
    with (CATALOGS / "kiosk.pot").open("rb") as handle:
        template = read_po(handle)
    needed = {
        m.id
        for m in template
        if m.id and any(path in i18n.PARTICIPANT_SOURCES for path, _line in m.locations)
    }
    assert len(needed) > 20
    with (CATALOGS / locale / "LC_MESSAGES" / "kiosk.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    for message in catalog:
        if message.id not in needed:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(targets), f"{locale}: untranslated {message.id!r}"
        for target in targets:
            assert placeholders(target) == placeholders(sources[-1]), (locale, message.id)
