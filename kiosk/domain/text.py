"""Free text that staff type (a reason, a note, a name) as the kiosk keeps and sends it.

A touchscreen keyboard, a barcode scanner or a pasted string can carry characters no record
should hold: NUL and the other control characters, and lone UTF-16 surrogates (which no
encoder can write). The hub's database refuses them, and an event that carries one would be
set aside there. Every service that takes free text passes it through ``clean_text`` first:
the characters are dropped (what staff meant is kept), and the text is trimmed.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Line breaks and tabs are ordinary in a typed note; every other control character is not.
_KEPT_CONTROLS = frozenset("\n\t")


def _unwanted(char: str) -> bool:
    if char in _KEPT_CONTROLS:
        return False
    category = unicodedata.category(char)
    # Cc: C0/C1 controls (NUL among them); Cs: a surrogate, which is never valid on its own
    # in a Python str that came from real text.
    return category in ("Cc", "Cs")


def clean_text(text: str) -> str:
    """``text`` without control characters (except line breaks and tabs) and lone
    surrogates, trimmed. ``"\\x00counted twice "`` → ``"counted twice"``."""
    if text.isprintable() and text == text.strip():
        return text  # the usual case: nothing to look at
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(char for char in text if not _unwanted(char)).strip()


def needs_cleaning(text: str) -> bool:
    """True when ``text`` holds a character ``clean_text`` would drop."""
    return any(_unwanted(char) for char in text)


def clean_values(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every string cleaned of
    the characters above, not trimmed. Dict keys are cleaned too. A new object; the
    argument is left as it is."""
    if isinstance(value, str):
        return "".join(char for char in value if not _unwanted(char))
    if isinstance(value, dict):
        return {clean_values(key): clean_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_values(item) for item in value]
    return value


def holds_unwanted(value: Any) -> bool:
    """True when a string anywhere in ``value`` (JSON-like) holds a character to drop."""
    if isinstance(value, str):
        return needs_cleaning(value)
    if isinstance(value, dict):
        return any(holds_unwanted(key) or holds_unwanted(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(holds_unwanted(item) for item in value)
    return False
