"""Notices and manual doses from kiosks' events (docs/SYNC.md, "Notices", "Manual doses").

Runs inside the push's transaction (``fleet.ingest``), after its events are stored. A kiosk's
``notice.created`` and ``manual_dose.recorded`` become hub records keyed by the kiosk's uuid:
the same uuid is kept once, so a re-sent batch, or an event whose record the hub holds
already, changes nothing. Never raises for an event's content: an event that cannot become
a record is one log line (the event's seq and the field, never a value).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Any

from django.utils.timezone import now

from fleet import moves
from fleet.models import Event, Machine, ManualDose, Notice, Participant, Prescription

log = logging.getLogger("fleet.downtime")

NOTICE_CREATED = "notice.created"
NOTICE_WITHDRAWN = "notice.withdrawn"
NOTICE_ACKNOWLEDGED = "notice.acknowledged"
MANUAL_DOSE = "manual_dose.recorded"
TYPES = frozenset({NOTICE_CREATED, NOTICE_WITHDRAWN, NOTICE_ACKNOWLEDGED, MANUAL_DOSE})
MAX_TEXT = 500


class Unusable(ValueError):
    """An event that cannot become a record; the text names a field, never a value."""


def learn(machine: Machine, events: list[Event]) -> None:
    for event in events:
        if event.type not in TYPES:
            continue
        try:
            _HANDLERS[event.type](machine, event)
        except Unusable as exc:
            log.warning("event %d (%s) not applied: %s", event.seq, event.type, exc)


def _uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise Unusable(f"{field}: not a uuid") from exc


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise Unusable(f"{field}: not a date") from exc


def _instant(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise Unusable(f"{field}: not a time") from exc
    if moment.tzinfo is None:
        raise Unusable(f"{field}: no zone")
    return moment


# ---------------------------------------------------------------- notices


def _notice_created(machine: Machine, event: Event) -> None:
    payload = event.payload
    key = _uuid(payload.get("uuid"), "uuid")
    if Notice.objects.filter(uuid=key).exists():
        return
    scope = str(payload.get("scope"))
    if scope not in Notice.Scope.values:
        raise Unusable("scope")
    texts = payload.get("texts")
    if not isinstance(texts, dict) or not texts:
        raise Unusable("texts")
    clean = {str(k)[:16]: str(v)[:MAX_TEXT] for k, v in texts.items() if str(v).strip()}
    if not clean:
        raise Unusable("texts")
    participant = None
    if scope == Notice.Scope.PARTICIPANT:
        participant = Participant.objects.filter(
            machine=machine, code=str(payload.get("participant"))
        ).first()
        if participant is None:
            raise Unusable("participant: not enrolled at this machine")
    starts, ends = (
        _date(payload.get("starts_on"), "starts_on"),
        _date(payload.get("ends_on"), "ends_on"),
    )
    if ends < starts:
        raise Unusable("ends_on: before starts_on")
    Notice(
        uuid=key,
        site_id=machine.site_id,
        scope=scope,
        participant=participant,
        starts_on=starts,
        ends_on=ends,
        texts=clean,
        one_language=str(payload.get("one_language") or "")[:16],
        origin=Notice.Origin.KIOSK,
        origin_machine=machine,
        created_by=str(payload.get("actor") or "kiosk")[:64],
        created_at=event.created_at,
    ).save()


def _notice_withdrawn(machine: Machine, event: Event) -> None:
    """A kiosk withdraws only the notices it made (the hub's are the hub's to end)."""
    key = _uuid(event.payload.get("notice"), "notice")
    notice = Notice.objects.filter(uuid=key, origin_machine=machine).first()
    if notice is None or notice.withdrawn_at is not None:
        return
    notice.withdrawn_at = event.created_at
    notice.save()


def _notice_acknowledged(machine: Machine, event: Event) -> None:
    key = _uuid(event.payload.get("notice"), "notice")
    notice = Notice.objects.filter(uuid=key, participant__machine=machine).first()
    if notice is None or notice.acknowledged_at is not None:
        return
    notice.acknowledged_at = event.created_at
    notice.save()


# ---------------------------------------------------------------- manual doses


def _manual_dose(machine: Machine, event: Event) -> None:
    payload = event.payload
    key = _uuid(payload.get("uuid"), "uuid")
    if ManualDose.objects.filter(uuid=key).exists():
        return  # a re-send, or the hub's own dose echoed: one row per uuid
    medication = payload.get("medication")
    if not isinstance(medication, dict):
        raise Unusable("medication")
    units = payload.get("units")
    if not isinstance(units, int) or isinstance(units, bool) or not 1 <= units <= 20:
        raise Unusable("units")
    source = str(payload.get("source"))
    if source not in ManualDose.Source.values:
        raise Unusable("source")
    lane = payload.get("lane")
    if source == ManualDose.Source.MACHINE_LANE and not isinstance(lane, int):
        raise Unusable("lane")
    hub_id = payload.get("prescription_hub_id")
    prescription = None
    if hub_id is not None and str(hub_id).isdigit():
        prescription = Prescription.objects.filter(
            pk=int(str(hub_id)), participant__machine=machine
        ).first()
    dose = ManualDose(
        uuid=key,
        machine=machine,
        prescription=prescription,
        participant_code=str(payload.get("subject") or "")[:32],
        medication_name=str(medication.get("name") or "")[:100],
        medication_strength=str(medication.get("strength") or "")[:50],
        medication_form=str(medication.get("form") or "")[:50],
        units=units,
        given_at=_instant(payload.get("given_at"), "given_at"),
        source=source,
        lane=lane if source == ManualDose.Source.MACHINE_LANE else None,
        recorded_by=str(payload.get("recorded_by") or "")[:64],
        witness=str(payload.get("witness") or "")[:64],
        origin=Notice.Origin.KIOSK,
        source_event=event,
    )
    dose.save()
    moves.tell_manual_dose(dose)  # the participant's other machines count it too


_HANDLERS = {
    NOTICE_CREATED: _notice_created,
    NOTICE_WITHDRAWN: _notice_withdrawn,
    NOTICE_ACKNOWLEDGED: _notice_acknowledged,
    MANUAL_DOSE: _manual_dose,
}


# ---------------------------------------------------------------- the care pages' writes


def record_manual_dose(
    prescription: Prescription,
    *,
    units: int,
    given_at: datetime,
    source: str,
    lane: int | None,
    recorded_by: str,
    witness: str = "",
) -> ManualDose:
    """A dose given by hand, recorded on the hub: pulled by the prescription's machine, told
    to the participant's other machines as a dose elsewhere."""
    participant = prescription.participant
    dose = ManualDose(
        machine_id=participant.machine_id,
        prescription=prescription,
        participant_code=participant.code,
        medication_name=prescription.medication_name,
        medication_strength=prescription.medication_strength,
        medication_form=prescription.medication_form,
        units=units,
        given_at=given_at,
        source=source,
        lane=lane if source == ManualDose.Source.MACHINE_LANE else None,
        recorded_by=recorded_by,
        witness=witness,
        origin=Notice.Origin.HUB,
        created_at=now(),
    )
    dose.save()
    moves.tell_manual_dose(dose)  # the participant's other machines count it too
    return dose
