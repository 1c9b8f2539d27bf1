"""UTC timestamps as sortable ISO-8601 text."""

from __future__ import annotations

from datetime import UTC, datetime


def to_text(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("naive datetimes are not stored: pass an aware UTC time")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
