"""Participant codes and names out of text that leaves the machine (diagnostics).

Logs carry internal ids only; this is the second line of defence, for a line that slipped
through or a log written before that rule was kept. It replaces the kiosk's own code shape
(P-0001), every code in the participants table (codes from the hub or typed by staff can
have any shape) and every display name, whole and word by word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kiosk.store import participants_repo
from kiosk.store.db import Connection, DatabaseError
from kiosk.store.participants_repo import CODE_PREFIX

CODE_PLACEHOLDER = "[participant]"
NAME_PLACEHOLDER = "[name]"
GENERATED_CODE = re.compile(rf"(?<!\w){re.escape(CODE_PREFIX)}\d+(?!\w)", re.IGNORECASE)
# A one-letter name part ("J") would blank out every such letter standing alone.
MIN_NAME_PART = 2


def _any_of(words: Iterable[str], before: str, after: str, flags: int) -> re.Pattern[str] | None:
    # Longest first, so that "Alex Example" goes as a whole before "Alex" is tried.
    unique = sorted({w for w in words if w}, key=len, reverse=True)
    if not unique:
        return None
    return re.compile(before + "(?:" + "|".join(map(re.escape, unique)) + ")" + after, flags)


def _name_forms(names: Iterable[str]) -> list[str]:
    forms: list[str] = []
    for name in names:
        whole = " ".join(name.split())
        forms.append(whole)
        forms += [part for part in whole.split(" ") if len(part) >= MIN_NAME_PART]
    return forms


class Redactor:
    """``redactor(text)``: the text with codes and names replaced by placeholders."""

    def __init__(self, codes: Iterable[str], names: Iterable[str]) -> None:
        # Codes are matched whatever their case; names as written (they are proper nouns,
        # and ignoring case would blank ordinary words that happen to be someone's name).
        self._codes = _any_of(codes, r"(?<!\w)", r"(?!\w)", re.IGNORECASE)
        self._names = _any_of(_name_forms(names), r"(?<!\w)", r"(?!\w)", 0)

    @classmethod
    def for_store(cls, conn: Connection | None) -> Redactor:
        """Every participant in the store; the code shape alone when it cannot be read."""
        try:
            people = participants_repo.codes_and_names(conn) if conn is not None else []
        except DatabaseError:
            people = []
        return cls((code for code, _ in people), (name for _, name in people))

    def __call__(self, text: str) -> str:
        if self._codes is not None:
            text = self._codes.sub(CODE_PLACEHOLDER, text)
        text = GENERATED_CODE.sub(CODE_PLACEHOLDER, text)
        if self._names is not None:
            text = self._names.sub(NAME_PLACEHOLDER, text)
        return text
