"""Notices staff leave for one participant or for the whole site (issue 17 item 3).

A participant notice is shown after that participant's scan, each time, until they press
"OK" once (then never again) or until it ends. A site notice is shown at idle from its first
day through its last. Text is kept per language; a notice marked "one language only" is shown
as written whatever the participant's language. Pure rules: no Qt, no store.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

MAX_TEXT = 500  # characters of one language's text: a notice is read standing at a kiosk
MAX_DAYS = 366  # a notice lasts at most a year (an end date is required)


class NoticeScope(enum.Enum):
    PARTICIPANT = "participant"
    SITE = "site"


class NoticeOrigin(enum.Enum):
    """Who owns the record (docs/SYNC.md, "Who owns what"): a notice made at this kiosk is
    pushed and becomes a hub record; one made on the hub is pulled and read-only here."""

    KIOSK = "kiosk"
    HUB = "hub"


class NoticeProblem(enum.Enum):
    NO_TEXT = "no_text"
    TOO_LONG = "too_long"
    ENDS_BEFORE_START = "ends_before_start"
    TOO_LONG_A_PERIOD = "too_long_a_period"
    NO_PARTICIPANT = "no_participant"
    ONE_LANGUAGE_WITHOUT_TEXT = "one_language_without_text"


@dataclass(frozen=True)
class Notice:
    uuid: str
    scope: NoticeScope
    participant_code: str | None  # set for a participant notice
    starts_on: date
    ends_on: date  # the last day it is shown (site clock)
    texts: Mapping[str, str]  # language code -> text
    one_language: str | None  # set: shown as written in that language to everyone
    origin: NoticeOrigin

    def current(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def text_for(self, language: str | None, fallback: str = "en") -> tuple[str, str]:
        """(text, its language) for a reader of ``language``: theirs when written, else the
        site's fallback language, else the first written."""
        if self.one_language is not None and self.one_language in self.texts:
            return self.texts[self.one_language], self.one_language
        for wanted in (language, _base(language), fallback):
            if wanted and wanted in self.texts:
                return self.texts[wanted], wanted
        first = sorted(self.texts)[0]
        return self.texts[first], first


def _base(language: str | None) -> str | None:
    return language.split("_")[0] if language else None


def problems(
    scope: NoticeScope,
    participant_code: str | None,
    starts_on: date,
    ends_on: date,
    texts: Mapping[str, str],
    one_language: str | None,
) -> list[NoticeProblem]:
    """What is wrong with a notice before it is saved (empty: it can be saved)."""
    found: list[NoticeProblem] = []
    written = {k: v for k, v in texts.items() if v.strip()}
    if not written:
        found.append(NoticeProblem.NO_TEXT)
    if any(len(v) > MAX_TEXT for v in written.values()):
        found.append(NoticeProblem.TOO_LONG)
    if ends_on < starts_on:
        found.append(NoticeProblem.ENDS_BEFORE_START)
    elif (ends_on - starts_on).days > MAX_DAYS:
        found.append(NoticeProblem.TOO_LONG_A_PERIOD)
    if scope is NoticeScope.PARTICIPANT and not participant_code:
        found.append(NoticeProblem.NO_PARTICIPANT)
    if one_language is not None and written and one_language not in written:
        found.append(NoticeProblem.ONE_LANGUAGE_WITHOUT_TEXT)
    return found


def to_show_after_scan(
    notices: Iterable[Notice], code: str, acknowledged: set[str], day: date
) -> list[Notice]:
    """The participant's notices to show now: current, not acknowledged, oldest end first."""
    return sorted(
        (
            n
            for n in notices
            if n.scope is NoticeScope.PARTICIPANT
            and n.participant_code == code
            and n.uuid not in acknowledged
            and n.current(day)
        ),
        key=lambda n: (n.ends_on, n.uuid),
    )


def to_show_at_idle(notices: Iterable[Notice], day: date) -> list[Notice]:
    """The site notices of the day, the soonest to end first."""
    return sorted(
        (n for n in notices if n.scope is NoticeScope.SITE and n.current(day)),
        key=lambda n: (n.ends_on, n.uuid),
    )


class NoticeDataError(ValueError):
    """A pulled notice that is not the agreed shape (the text names fields, never values)."""


def from_data(key: str, data: Mapping[str, Any], origin: NoticeOrigin) -> Notice:
    """A notice as the hub sends it (docs/SYNC.md, "Notices")."""
    try:
        scope = NoticeScope(str(data["scope"]))
        texts_in = data["texts"]
        if not isinstance(texts_in, dict) or not texts_in:
            raise NoticeDataError("texts")
        texts = {str(k)[:16]: str(v)[:MAX_TEXT] for k, v in texts_in.items() if str(v).strip()}
        if not texts:
            raise NoticeDataError("texts")
        code = data.get("participant")
        if scope is NoticeScope.PARTICIPANT and not code:
            raise NoticeDataError("participant")
        one = data.get("one_language") or None
        notice = Notice(
            uuid=key,
            scope=scope,
            participant_code=str(code) if code else None,
            starts_on=date.fromisoformat(str(data["starts_on"])[:10]),
            ends_on=date.fromisoformat(str(data["ends_on"])[:10]),
            texts=texts,
            one_language=None if one is None else str(one),
            origin=origin,
        )
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, NoticeDataError):
            raise
        raise NoticeDataError(type(exc).__name__) from exc
    return notice


def to_data(notice: Notice) -> dict[str, Any]:
    """The fields of a notice as pushed and pulled (docs/SYNC.md, "Notices")."""
    return {
        "uuid": notice.uuid,
        "scope": notice.scope.value,
        "participant": notice.participant_code,
        "starts_on": notice.starts_on.isoformat(),
        "ends_on": notice.ends_on.isoformat(),
        "texts": dict(notice.texts),
        "one_language": notice.one_language,
    }
