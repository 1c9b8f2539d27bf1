"""The kiosk's audit-chain anchor, as pushes carry it (docs/SYNC.md, "Anchor").

A kiosk's audit log is hash-chained: its newest entry (its sequence number ``entries`` and its
``head`` hash) stands for the whole history. The hub keeps the highest anchor it has received
per machine; a later anchor that is shorter, or as long with another head, or that does not
contain the head the hub acknowledged (``prior``), means records were lost or rewritten on the
kiosk. The rules here are pure: ``ingest`` stores and alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet import schema

# Alert kinds (fleet.models.Alert.kind) for a break of continuity.
RECORDS_MISSING = "records_missing"
RECORDS_CHANGED = "records_changed"
BREAK_KINDS = (RECORDS_MISSING, RECORDS_CHANGED)


class BadAnchor(ValueError):
    """The ``anchor`` field is not the documented shape (a 400, nothing stored)."""


@dataclass(frozen=True)
class Anchor:
    entries: int  # the sequence number of the kiosk's newest audit entry
    head: str  # its sha256, 64 lowercase hex

    def as_json(self) -> dict[str, Any]:
        return {"entries": self.entries, "head": self.head}


@dataclass(frozen=True)
class IncomingAnchor:
    current: Anchor
    # The kiosk's own hash of the entry the hub last acknowledged (None: not sent).
    prior: Anchor | None


@dataclass(frozen=True)
class Verdict:
    keep: Anchor  # what the hub holds from now on: never lower than before
    changed: bool  # ``keep`` differs from what was held
    alert: tuple[str, str] | None  # (kind, staff wording with ids only)


def parse(raw: Any) -> IncomingAnchor:
    """The push body's ``anchor`` field, strictly: exactly the documented keys and types."""
    current = _claim(raw, "anchor", ("entries", "head", "prior"))
    prior = _claim(raw["prior"], "anchor.prior", ("entries", "head")) if "prior" in raw else None
    return IncomingAnchor(current, prior)


def _claim(raw: Any, where: str, allowed: tuple[str, ...]) -> Anchor:
    if not isinstance(raw, dict):
        raise BadAnchor(f'{where}: an object {{"entries": N, "head": "<64 hex>"}} expected')
    # Key names are data: the refusal shows a plain one, never the text of an odd one.
    unknown = sorted(schema.key_label(str(key)) for key in raw if key not in allowed)
    if unknown:
        raise BadAnchor(f"{where}: unknown field {unknown[0]!r}")
    entries = raw.get("entries")
    if schema.ANCHOR_ENTRIES.problem(entries) is not None:
        raise BadAnchor(f"{where}.entries: a non-negative integer expected")
    head = raw.get("head")
    if schema.ANCHOR_HEAD.problem(head) is not None:
        raise BadAnchor(f"{where}.head: 64 lowercase hex characters expected")
    return Anchor(entries, head)


def judge(held: Anchor | None, held_at: datetime | None, incoming: IncomingAnchor) -> Verdict:
    """Continuity of ``incoming`` with the anchor the hub holds (received at ``held_at``)."""
    new = incoming.current
    if held is None:
        return Verdict(new, True, None)
    when = f"{held_at:%Y-%m-%d %H:%M} UTC" if held_at else "earlier"
    if new.entries < held.entries:
        return Verdict(held, False, (RECORDS_MISSING, _went_back(held, new, when)))
    if new.entries == held.entries and new.head != held.head:
        return Verdict(held, False, (RECORDS_CHANGED, _other_head(held, when)))
    keep = new if new.entries > held.entries else held
    prior = incoming.prior
    if prior is not None and prior.entries == held.entries and prior.head != held.head:
        # Longer, but not an extension of what the hub acknowledged: a re-chained history.
        # Follow the new chain (the alert stays open for staff) so that one break is one alert.
        return Verdict(keep, keep != held, (RECORDS_CHANGED, _rewritten(held, new, when)))
    return Verdict(keep, keep != held, None)


def _went_back(held: Anchor, new: Anchor, when: str) -> str:
    return (
        f"The kiosk's audit log now ends at entry {new.entries}; on {when} it had reached"
        f" entry {held.entries}. Records are missing from the kiosk (was its database restored"
        f" from a copy or replaced?). The hub keeps entry {held.entries} as the highest seen."
    )


def _other_head(held: Anchor, when: str) -> str:
    return (
        f"The kiosk's audit entry {held.entries} is not the one it reported on {when}: its"
        " records were changed or replaced. The hub keeps the first one."
    )


def _rewritten(held: Anchor, new: Anchor, when: str) -> str:
    return (
        f"The kiosk's audit entry {held.entries} differs from the one the hub acknowledged on"
        f" {when}: its history was rewritten before it reached entry {new.entries}. The hub"
        f" now follows the kiosk's chain from entry {new.entries}."
    )
