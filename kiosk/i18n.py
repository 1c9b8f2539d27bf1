"""The one translation function every string a person reads goes through.

Catalogs are Babel/gettext ``.mo`` files compiled from ``translations/<locale>/LC_MESSAGES/
kiosk.po`` (``make translations``). Times, dates and numbers are formatted with Babel's CLDR
data for the active locale. The active locale is process-wide: the kiosk shows one screen.
"""

from __future__ import annotations

import gettext
import logging
import math
import string
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta

log = logging.getLogger("kiosk.i18n")

DOMAIN = "kiosk"
# Participant-screen languages offered on the idle screen. English and French (Canada) are
# complete for every string; the others cover every participant screen (PARTICIPANT_SOURCES).
PARTICIPANT_LOCALES = ("en", "fr_CA", "es", "zh_Hant", "pa")
# Each language's button shows its own name (an endonym is never translated).
ENDONYMS = {
    "en": "English",
    "fr_CA": "Français",
    "es": "Español",
    "zh_Hant": "繁體中文",
    "pa": "ਪੰਜਾਬੀ",
}
# The source files whose strings appear on participant screens.
PARTICIPANT_SOURCES = ("kiosk/ui/texts.py", "kiosk/ui/screens.py", "kiosk/ui/pinpad.py")


def translations_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "translations"
    return Path(__file__).resolve().parent.parent / "translations"


class _State:
    locale = "en"
    catalog: gettext.NullTranslations = gettext.NullTranslations()


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<malformed>"}


def set_locale(locale: str) -> None:
    catalog: gettext.NullTranslations
    try:
        catalog = gettext.translation(DOMAIN, translations_dir(), languages=[locale])
    except OSError:
        log.warning("no compiled catalog for %s; showing source strings", locale)
        catalog = gettext.NullTranslations()
    _State.locale = locale
    _State.catalog = catalog


def current_locale() -> str:
    return _State.locale


def _checked(source: str, translated: str) -> str:
    # A translation whose placeholders differ would crash .format() or show wrong data.
    if translated != source and _placeholders(translated) != _placeholders(source):
        log.error("translation for %s has wrong placeholders; using the source", _State.locale)
        return source
    return translated


def _(message: str) -> str:
    return _checked(message, _State.catalog.gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    source = singular if n == 1 else plural
    return _checked(source, _State.catalog.ngettext(singular, plural, n))


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


def format_local_time(instant: datetime, timezone: str, style: str = "short") -> str:
    return format_time(instant.astimezone(ZoneInfo(timezone)), format=style, locale=_State.locale)


def format_local_day(instant: datetime, timezone: str, style: str = "full") -> str:
    return format_date(
        instant.astimezone(ZoneInfo(timezone)).date(), format=style, locale=_State.locale
    )


def format_wait(seconds: int) -> str:
    """A wait as words ("30 seconds", "4 minutes", "3 hours"), rounded up to its unit so
    that someone who waits what it says is not turned away again."""
    unit = 1 if seconds < 120 else 60 if seconds < 7200 else 3600
    rounded = timedelta(seconds=math.ceil(seconds / unit) * unit)
    # threshold=2: seconds up to 2 minutes, minutes up to 2 hours (Babel's default: 0.85).
    return format_timedelta(rounded, threshold=2, locale=_State.locale)


def language_name(locale: str) -> str:
    """The language's name in itself ("Français"), for the language buttons."""
    if locale in ENDONYMS:
        return ENDONYMS[locale]
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]
