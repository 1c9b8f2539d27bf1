"""Who has been told about a problem, and the words that may honestly say so.

The hub tells people (e-mail, webhook) about a machine's alerts and sends back an
``alert_notice`` record: who was told, when, and who acknowledged (docs/SYNC.md). This module
reads that record (``parse_notice``: the shape is checked here, at the boundary) and chooses,
as pure functions over tables of situations, what a participant screen and a staff screen
may say: "Staff have been told" only when an alert for that problem is recorded in the store.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class NoticeRole(enum.StrEnum):
    """The role of a person the hub told (the care team's roles, and the site's staff)."""

    SITE_STAFF = "site_staff"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    PRESCRIBER = "prescriber"
    PROGRAM_MANAGER = "program_manager"
    TECHNICIAN = "technician"
    OTHER = "other"  # a role this version does not know: worded "a staff member"


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class ToldPerson:
    role: NoticeRole
    label: str  # first name and initial ("Maria L."): staff screens only, never a participant's
    channel: Channel
    at: datetime  # UTC


@dataclass(frozen=True)
class Acknowledgement:
    role: NoticeRole
    label: str
    at: datetime


@dataclass(frozen=True)
class AlertNotice:
    hub_key: str  # the hub's alert id
    kiosk_alert_id: int | None  # this kiosk's alert; None for the hub's own (machine offline)
    kind: str  # the alert kind as the hub names it (a kiosk AlertKind, or a hub kind)
    machine_alert: bool
    told: tuple[ToldPerson, ...] = ()
    acknowledged: Acknowledgement | None = None

    @property
    def first_told(self) -> ToldPerson | None:
        return min(self.told, key=lambda person: person.at, default=None)


class NoticeError(ValueError):
    """An alert_notice that is not the agreed shape; the text names fields, never values."""


LABEL_MAX = 80


def _text(data: Mapping[str, Any], name: str, limit: int, path: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise NoticeError(f"{path}{name}: not a text of 1-{limit} characters")
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise NoticeError(f"{path}{name}: control character or lone surrogate")
    return value.strip()


def _role(data: Mapping[str, Any], path: str) -> NoticeRole:
    text = _text(data, "role", 50, path)
    try:
        return NoticeRole(text)
    except ValueError:
        return NoticeRole.OTHER


def _instant(data: Mapping[str, Any], path: str) -> datetime:
    text = _text(data, "at", 40, path)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise NoticeError(f"{path}at: not an ISO-8601 time") from exc
    if value.tzinfo is None:
        raise NoticeError(f"{path}at: a time without a zone")
    return value.astimezone(UTC)


def parse_notice(key: str, data: object) -> AlertNotice:
    """The notice the hub sent under ``key``, or ``NoticeError``."""
    if not key or len(key) > 64:
        raise NoticeError("key: not a text of 1-64 characters")
    if not isinstance(data, Mapping):
        raise NoticeError("data: not an object")
    alert_id = data.get("kiosk_alert_id")
    if alert_id is not None and (
        isinstance(alert_id, bool) or not isinstance(alert_id, int) or not 0 < alert_id < 2**63
    ):
        raise NoticeError("kiosk_alert_id: not a positive integer or null")
    machine_alert = data.get("machine_alert", False)
    if not isinstance(machine_alert, bool):
        raise NoticeError("machine_alert: not true or false")
    told_data = data.get("told", [])
    if not isinstance(told_data, list) or len(told_data) > 100:
        raise NoticeError("told: not a list of at most 100")
    told = []
    for index, entry in enumerate(told_data):
        path = f"told[{index}]."
        if not isinstance(entry, Mapping):
            raise NoticeError(f"told[{index}]: not an object")
        try:
            channel = Channel(str(entry.get("channel")))
        except ValueError as exc:
            raise NoticeError(f"{path}channel: not email or webhook") from exc
        told.append(
            ToldPerson(
                _role(entry, path),
                _text(entry, "label", LABEL_MAX, path),
                channel,
                _instant(entry, path),
            )
        )
    ack_data = data.get("acknowledged")
    acknowledged = None
    if ack_data is not None:
        if not isinstance(ack_data, Mapping):
            raise NoticeError("acknowledged: not an object or null")
        path = "acknowledged."
        acknowledged = Acknowledgement(
            _role(ack_data, path),
            _text(ack_data, "label", LABEL_MAX, path),
            _instant(ack_data, path),
        )
    return AlertNotice(
        key,
        alert_id,
        _text(data, "kind", 50, ""),
        machine_alert,
        tuple(sorted(told, key=lambda person: person.at)),
        acknowledged,
    )


# ---------------------------------------------------------------- what a participant reads


class AlertRecord(enum.Enum):
    """Whether staff's alert about the problem a participant meets is in the store."""

    RECORDED = "recorded"  # raised (or already open) and written
    NOT_RECORDED = "not_recorded"  # it could not be written (a store fault)
    NONE = "none"  # no alert exists for this problem


@dataclass(frozen=True)
class Told:
    """What the kiosk knows about staff being told of the problem on screen."""

    record: AlertRecord
    role: NoticeRole | None = None  # the first person the hub told (a role, never a name)
    at: datetime | None = None


NOT_RECORDED = Told(AlertRecord.NOT_RECORDED)


class ParticipantMessage(enum.Enum):
    ROLE_TOLD_AT = "role_told_at"  # "A nurse has been told (at 03:12)."
    STAFF_TOLD = "staff_told"  # "Staff have been told."
    SEE_STAFF = "see_staff"  # "Please see staff."
    CALL_ON_CALL = "call_on_call"  # "Please see staff, or call <the site's on-call contact>."


def participant_message(told: Told | None, has_on_call: bool) -> ParticipantMessage:
    """Say that staff were told only when the store holds the alert; prefer the role the hub
    told, and when. Otherwise send the participant to staff (or the on-call contact)."""
    if told is not None and told.record is AlertRecord.RECORDED:
        if told.role is not None and told.at is not None:
            return ParticipantMessage.ROLE_TOLD_AT
        return ParticipantMessage.STAFF_TOLD
    return ParticipantMessage.CALL_ON_CALL if has_on_call else ParticipantMessage.SEE_STAFF


# ---------------------------------------------------------------- what staff read


class HubLink(enum.Enum):
    """Whether this machine reaches the hub (the last sync round)."""

    REACHED = "reached"
    UNREACHABLE = "unreachable"  # the last round failed, or none has succeeded yet
    NO_HUB = "no_hub"  # sync is not configured on this machine


class StaffMessage(enum.Enum):
    TOLD = "told"  # who was told, how and when (and who acknowledged)
    NOT_YET_TOLD = "not_yet_told"  # the hub will tell the on-call person after the next sync
    CANNOT_REACH_HUB = "cannot_reach_hub"  # call the site's on-call contact


def staff_message(notice: AlertNotice | None, link: HubLink) -> StaffMessage:
    if notice is not None and (notice.told or notice.acknowledged is not None):
        return StaffMessage.TOLD
    if link is HubLink.REACHED:
        return StaffMessage.NOT_YET_TOLD
    return StaffMessage.CANNOT_REACH_HUB


def notice_for(
    notices: Mapping[int, AlertNotice], by_kind: Mapping[str, AlertNotice], alert_id: int, kind: str
) -> AlertNotice | None:
    """The notice of a kiosk alert: by its id, else the hub's own notice of that kind."""
    return notices.get(alert_id) or by_kind.get(kind)
