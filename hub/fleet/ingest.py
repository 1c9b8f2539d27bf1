"""Storing pushed events (docs/SYNC.md, "Push") and what the hub learns from them.

The whole body is validated (fleet.schema) before anything is written. A body that is not the
push shape is refused whole; an event that breaks the schema inside is quarantined: kept as
received, its seq held, an alert raised, so one bad event never blocks the kiosk's queue. Events
are stored once per (machine, seq) and per event id; a re-sent batch stores nothing new. Facts
are never refused for content: what disagrees with the hub becomes a ``SyncException`` or an
``Alert``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.timezone import now

from fleet import anchors, downtime, lanes, moves, oncall, rollouts, schema
from fleet.models import (
    Alert,
    Event,
    LaneStock,
    Machine,
    ManualDose,
    Prescription,
    QuarantinedEvent,
    SyncException,
)

log = logging.getLogger("fleet.ingest")

QUARANTINE_ALERT = "event_quarantined"  # Alert.kind: one open per machine


class BadBody(Exception):
    """The body is not the push shape: 400, nothing stored."""

    def __init__(self, detail: str, status: int = 400, error: str = "bad_request") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.error = error


@dataclass(frozen=True)
class IncomingEvent:
    seq: int
    id: uuid.UUID
    type: str
    created_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class Unreadable:
    """An event with a usable seq that breaks the schema (fleet.schema): quarantined."""

    seq: int
    sent_id: str | None  # the id as sent, when it is a storable text
    type: str | None  # the type as sent, when it is a storable text
    reason: str  # paths and rules (fleet.schema), never values
    raw: str  # the event as received, as ASCII JSON


@dataclass(frozen=True)
class Push:
    events: list[IncomingEvent]
    anchor: anchors.IncomingAnchor | None  # None: an older kiosk, or one without an anchor yet
    unreadable: list[Unreadable] = field(default_factory=list)


@dataclass(frozen=True)
class Stored:
    through: int  # the highest contiguous seq held
    anchor: anchors.Anchor | None  # the anchor the hub holds for the machine
    # The quarantined events among the push's seqs (new or held from an earlier push).
    quarantined: list[QuarantinedEvent] = field(default_factory=list)


def parse_push(body: bytes, machine: Machine) -> Push:
    """The events and anchor of a push body, or ``BadBody`` when the body is not the push
    shape (docs/SYNC.md): an event that is only wrong inside is quarantined, not refused."""
    try:
        document = schema.load(body)
    except schema.NotJSON as exc:
        raise BadBody(str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get(schema.PUSH_BATCH), list):
        raise BadBody('body: {"events": [...]} expected')
    _check_device(document, machine, "body")
    anchor = None
    if "anchor" in document:
        try:
            anchor = anchors.parse(document["anchor"])
        except anchors.BadAnchor as exc:
            raise BadBody(str(exc), error="bad_anchor") from None
    events, quarantined = _parse_events(document[schema.PUSH_BATCH], machine)
    return Push(events, anchor, quarantined)


def _parse_events(
    raw_events: list[Any], machine: Machine
) -> tuple[list[IncomingEvent], list[Unreadable]]:
    if len(raw_events) > settings.HUB_PUSH_MAX_EVENTS:
        raise BadBody(
            f"at most {settings.HUB_PUSH_MAX_EVENTS} events per push",
            status=413,
            error="too_many_events",
        )
    seen_seqs: set[int] = set()
    readable: list[tuple[dict[str, Any], list[str]]] = []
    for index, raw in enumerate(raw_events):
        where = f"events[{index}]"
        if not isinstance(raw, dict):
            raise BadBody(f"{where}: an object expected")
        _check_device(raw, machine, where)
        seq = raw.get("seq")
        if schema.SEQ.problem(seq) is not None:
            raise BadBody(f"{where}.seq: a positive integer expected")
        if seq in seen_seqs:
            raise BadBody(f"{where}.seq: {seq} appears twice in the batch")
        seen_seqs.add(seq)
        readable.append((raw, schema.event_problems(raw)))
    events: list[IncomingEvent] = []
    quarantined: list[Unreadable] = []
    seen_ids: set[str] = set()
    for raw, problems in sorted(readable, key=lambda item: int(item[0]["seq"])):
        if not problems and raw["id"].lower() in seen_ids:
            quarantined.append(_unreadable(raw, ["id: the id of another event of the batch"]))
            continue
        if problems:
            quarantined.append(_unreadable(raw, problems))
            continue
        seen_ids.add(raw["id"].lower())
        created_at = schema.to_instant(raw["created_at"])
        assert created_at is not None  # the schema checked it
        events.append(
            IncomingEvent(raw["seq"], uuid.UUID(raw["id"]), raw["type"], created_at, raw["payload"])
        )
    return events, quarantined


def _unreadable(raw: dict[str, Any], problems: list[str]) -> Unreadable:
    """An event kept as received: its id and type only when they are storable texts."""
    sent_id, type_ = raw.get("id"), raw.get("type")
    return Unreadable(
        seq=raw["seq"],
        sent_id=sent_id
        if isinstance(sent_id, str) and not schema.text_problem(sent_id, 64)
        else None,
        type=type_ if isinstance(type_, str) and not schema.text_problem(type_, 100) else None,
        reason=schema.reason(problems),
        raw=schema.dump_raw(raw),
    )


def _check_device(document: dict[str, Any], machine: Machine, where: str) -> None:
    if "device_id" in document and document["device_id"] != machine.device_id:
        raise BadBody(
            f"{where}.device_id: events are the signing device's own", 403, "device_mismatch"
        )


def store(machine: Machine, push: Push) -> Stored:
    """Store what is new, learn from it, check the anchor; say what the hub now holds."""
    with transaction.atomic():
        machine = Machine.objects.select_for_update().get(pk=machine.pk)
        events, quarantined = _store_quarantined(machine, push)
        through = _store_events(machine, events)
        if push.anchor is not None:
            _check_anchor(machine, push.anchor)
        return Stored(through, _held_anchor(machine), quarantined)


def _store_quarantined(
    machine: Machine, push: Push
) -> tuple[list[IncomingEvent], list[QuarantinedEvent]]:
    """Keep the push's unreadable events (the machine row locked) as received, so their seqs
    count as held and the kiosk's queue moves on; alert staff once. Returns the readable events
    still to store (a seq quarantined earlier stays so) and every quarantined event among the
    push's seqs, for the reply (a kiosk that lost a reply learns on the re-send)."""
    unreadable = push.unreadable + _ids_held_elsewhere(machine, push.events)
    seqs = [e.seq for e in push.events] + [u.seq for u in push.unreadable]
    held = dict(
        QuarantinedEvent.objects.filter(machine=machine, seq__in=seqs).values_list("seq", "pk")
    )
    stored = set(
        Event.objects.filter(machine=machine, seq__in=[u.seq for u in unreadable]).values_list(
            "seq", flat=True
        )
    )
    new = [
        QuarantinedEvent(
            machine=machine,
            seq=item.seq,
            event_id=item.sent_id,
            type=item.type,
            reason=item.reason,
            raw=item.raw,
        )
        for item in unreadable
        if item.seq not in held and item.seq not in stored  # the first copy received is kept
    ]
    QuarantinedEvent.objects.bulk_create(new)
    if new:
        log.warning(
            "machine %s: %d event(s) quarantined: seq %s",
            machine.pk,
            len(new),
            ", ".join(str(item.seq) for item in new[:20]),
        )
        listed = ", ".join(f"#{item.seq} ({item.reason})" for item in new[:5])
        more = f" and {len(new) - 5} more" if len(new) > 5 else ""
        _alert_open_once(
            machine,
            QUARANTINE_ALERT,
            f"events {listed}{more} could not be stored as sent (fleet.schema) and were"
            " quarantined: held as received (admin: Quarantined events), not applied."
            " Later events flow.",
        )
    taken = {item.seq for item in unreadable}
    readable = [e for e in push.events if e.seq not in held and e.seq not in taken]
    quarantined = list(
        QuarantinedEvent.objects.filter(machine=machine, seq__in=seqs).order_by("seq")
    )
    return readable, quarantined


def _store_events(machine: Machine, events: list[IncomingEvent]) -> int:
    """Store the new events (the machine row locked) and return the contiguous seq held."""
    by_seq = dict(
        Event.objects.filter(machine=machine, seq__in=[e.seq for e in events]).values_list(
            "seq", "event_id"
        )
    )
    by_id = {
        event_id: (machine_id, seq)
        for event_id, machine_id, seq in Event.objects.filter(
            event_id__in=[e.id for e in events]
        ).values_list("event_id", "machine_id", "seq")
    }
    new: list[Event] = []
    for incoming in sorted(events, key=lambda e: e.seq):
        if incoming.seq in by_seq:
            if by_seq[incoming.seq] != incoming.id:
                _alert_once(
                    machine,
                    "event_conflict",
                    f"event #{incoming.seq} was re-sent with another id ({incoming.id});"
                    " the first one is kept. Was the kiosk's database replaced?",
                )
            continue
        if incoming.id in by_id:
            _alert_once(
                machine,
                "event_conflict",
                f"event id {incoming.id} arrived again as #{incoming.seq}"
                f" (held as #{by_id[incoming.id][1]}); the first one is kept.",
            )
            continue
        new.append(
            Event(
                machine=machine,
                seq=incoming.seq,
                event_id=incoming.id,
                type=incoming.type,
                payload=incoming.payload,
                created_at=incoming.created_at,
            ).fill_keys()
        )
    Event.objects.bulk_create(new)
    _learn_all(machine, new)
    _update_lanes(machine, new)
    return _advance(machine)


def _ids_held_elsewhere(machine: Machine, events: list[IncomingEvent]) -> list[Unreadable]:
    """Events whose id the hub already holds under another seq (or machine). Skipped, their
    seq would never be held and the kiosk's queue would stop there: they are quarantined."""
    held = {
        event_id: (machine_id, seq)
        for event_id, machine_id, seq in Event.objects.filter(
            event_id__in=[e.id for e in events]
        ).values_list("event_id", "machine_id", "seq")
    }
    clashes = [e for e in events if e.id in held and held[e.id] != (machine.pk, e.seq)]
    return [
        Unreadable(
            seq=e.seq,
            sent_id=str(e.id),
            type=e.type,
            reason="id: the id of another event the hub holds",
            raw=schema.dump_raw(
                {
                    "seq": e.seq,
                    "id": str(e.id),
                    "type": e.type,
                    "created_at": e.created_at.isoformat(),
                    "payload": e.payload,
                }
            ),
        )
        for e in clashes
    ]


def _advance(machine: Machine) -> int:
    """Move ``last_seq`` over the contiguous run; alert on a gap."""
    through = machine.last_seq
    beyond: int | None = None
    for seq in _held_seqs(machine, through):
        if seq != through + 1:
            beyond = seq
            break
        through = seq
    if through != machine.last_seq:
        machine.last_seq = through
        Machine.objects.filter(pk=machine.pk).update(last_seq=through)
    if beyond is not None:
        missing = f"#{through + 1}" if beyond == through + 2 else f"#{through + 1}-#{beyond - 1}"
        _alert_once(
            machine,
            "event_gap",
            f"events {missing} have not arrived; events after them are held"
            f" (stored through #{through}).",
        )
    return through


def _held_seqs(machine: Machine, after: int) -> Iterator[int]:
    """The seqs held above ``after`` in order: stored events and quarantined ones alike."""
    stored = Event.objects.filter(machine=machine, seq__gt=after).values_list("seq", flat=True)
    quarantined = QuarantinedEvent.objects.filter(machine=machine, seq__gt=after).values_list(
        "seq", flat=True
    )
    return stored.union(quarantined).order_by("seq").iterator()


def _check_anchor(machine: Machine, incoming: anchors.IncomingAnchor) -> None:
    """Hold the highest anchor seen; a break of continuity is an alert, never a refusal."""
    verdict = anchors.judge(_held_anchor(machine), machine.anchor_received_at, incoming)
    if verdict.alert is not None:
        kind, message = verdict.alert
        _alert_open_once(machine, kind, message)
    if verdict.changed:
        machine.anchor_entries = verdict.keep.entries
        machine.anchor_head = verdict.keep.head
        machine.anchor_received_at = now()
        machine.save(update_fields=["anchor_entries", "anchor_head", "anchor_received_at"])


def _held_anchor(machine: Machine) -> anchors.Anchor | None:
    if machine.anchor_entries is None:
        return None
    return anchors.Anchor(machine.anchor_entries, machine.anchor_head)


def _alert_open_once(machine: Machine, kind: str, message: str) -> None:
    """One open alert of a kind per machine: a kiosk that stays rolled back pushes the same
    break again and again (with other numbers); staff see it once until they acknowledge it."""
    if not Alert.objects.filter(machine=machine, kind=kind, acknowledged=False).exists():
        Alert.objects.create(machine=machine, kind=kind, message=message)
        log.warning("machine %s: %s: %s", machine.pk, kind, message)


def _alert_once(machine: Machine, kind: str, message: str) -> None:
    if not Alert.objects.filter(
        machine=machine, kind=kind, message=message, acknowledged=False
    ).exists():
        Alert.objects.create(machine=machine, kind=kind, message=message)
        log.warning("machine %s: %s: %s", machine.pk, kind, message)


# ---------------------------------------------------------------- what the hub learns


class _Batch:
    """What learning from one push's new events needs from the database, read once per push
    (a constant number of queries whatever the history and the batch size), and the rows it
    makes, written in bulk at the end."""

    def __init__(self, machine: Machine, events: list[Event]) -> None:
        self.machine = machine
        dispenses = [e for e in events if e.type.startswith("dispense.")]
        vends = {e.vend_id for e in dispenses if e.vend_id is not None}
        # The hub's prescription id each vend's newest dispense.intent names (this push's
        # intents are stored already).
        self.intent_hub_id: dict[int, Any] = {}
        # The vends that have a review item already: one per vend.
        self.reviewed_vends: set[int] = set()
        if vends:
            for vend, payload in (
                Event.objects.filter(machine=machine, type="dispense.intent", vend_id__in=vends)
                .order_by("seq")
                .values_list("vend_id", "payload")
            ):
                self.intent_hub_id[vend] = payload.get("prescription_hub_id")
            self.reviewed_vends = set(
                SyncException.objects.filter(
                    machine=machine,
                    event__type__startswith="dispense.",
                    event__vend_id__in=vends,
                ).values_list("event__vend_id", flat=True)
            )
        hub_ids = {
            int(text)
            for e in events
            if (text := self._named_hub_id(e)) is not None and _is_row_id(text)
        }
        self.prescriptions: dict[int, Prescription] = (
            {
                p.pk: p
                for p in Prescription.objects.filter(pk__in=hub_ids, participant__machine=machine)
            }
            if hub_ids
            else {}
        )
        self.exceptions: list[SyncException] = []
        self.alerts: list[Alert] = []

    def _named_hub_id(self, event: Event) -> str | None:
        if event.type.startswith("dispense."):
            return _hub_prescription_id(self, event)
        hub_id = event.payload.get("prescription_hub_id")
        return None if hub_id is None else str(hub_id)

    def prescription(self, hub_id: str) -> Prescription | None:
        if not _is_row_id(hub_id):
            return None
        return self.prescriptions.get(int(hub_id))

    def exception(self, event: Event, kind: str, reason: str) -> None:
        self.exceptions.append(
            SyncException(machine=self.machine, event=event, kind=kind, reason=reason)
        )

    def flush(self) -> None:
        SyncException.objects.bulk_create(self.exceptions)
        Alert.objects.bulk_create(self.alerts)


# Other apps that learn from a push's new events (registered in their AppConfig.ready); each
# runs inside the push's transaction and must not raise for an event's content.
LEARNERS: list[Callable[[Machine, list[Event]], None]] = []


def _learn_all(machine: Machine, events: list[Event]) -> None:
    """Learn from a push's new events, in seq order."""
    if not events:
        return
    batch = _Batch(machine, events)
    for event in events:
        _learn(batch, event)
    batch.flush()
    moves.learn(machine, events)  # doses told to other machines, guest passes confirmed
    rollouts.learn(machine, events)  # update.state: versions, campaign health
    downtime.learn(machine, events)  # notices and manual doses made at the kiosk
    for learner in LEARNERS:  # other apps' (care: remote approvals)
        learner(machine, events)


def _learn(batch: _Batch, event: Event) -> None:
    payload = event.payload
    if event.type.startswith("dispense."):
        _check_dispense(batch, event)
    elif event.type in ("prescription.held", "prescription.released"):
        _apply_hold(batch, event)
    elif event.type in KIOSK_EDITS_OF_HUB_RECORDS:
        _review_kiosk_edit(batch, event)
    elif event.type == "alert.raised":
        kind = str(payload.get("kind") or "kiosk")[:50]
        message = str(payload.get("message") or "")
        subject = str(payload.get("subject") or "")
        batch.alerts.append(
            Alert(
                machine=batch.machine,
                kind=f"kiosk:{kind}",
                message=f"{message} ({subject})" if subject else message,
                created_at=event.created_at,
                subject=subject[:100],
                kiosk_alert_id=_kiosk_alert_id(payload.get("alert_id")),
            )
        )
    elif event.type in ("alert.resolved", "alert.acknowledged"):
        _kiosk_alert_ended(batch, event)


def _kiosk_alert_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    if isinstance(value, str) and _is_row_id(value):
        return int(value)
    return None


def _kiosk_alert_ended(batch: _Batch, event: Event) -> None:
    """The kiosk resolved (its cause cleared) or acknowledged (staff on site) one of its alerts
    (subject ``alert:<kiosk id>``): the hub's copy stops escalating (fleet.oncall)."""
    head, _, tail = str(event.payload.get("subject") or "").partition(":")
    kiosk_id = _kiosk_alert_id(tail) if head == "alert" else None
    if kiosk_id is None:
        return
    resolved = event.type == "alert.resolved"
    at = now()
    for pending in batch.alerts:  # raised in this same push, not stored yet
        if pending.kiosk_alert_id == kiosk_id:
            if resolved:
                pending.resolved_at = at
            else:
                pending.acknowledged, pending.acknowledged_at = True, at
            pending.escalation = Alert.Escalation.STOPPED
    for alert in Alert.objects.filter(machine=batch.machine, kiosk_alert_id=kiosk_id):
        if resolved:
            oncall.resolve(alert, at, "resolved on the machine")
        else:
            actor = str(event.payload.get("actor") or "")
            oncall.acknowledge(alert, at, role="site_staff", label="", via=f"kiosk {actor}"[:40])


def _is_row_id(text: str) -> bool:
    """ASCII digits within bigint ("²".isdigit() is True): an id from an event stored before
    fleet.schema checked them must not reach PostgreSQL either."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _hub_prescription_id(batch: _Batch, event: Event) -> str | None:
    """The hub's id of the prescription a dispense event is about: ``prescription_hub_id`` in
    the payload, or in the ``dispense.intent`` of the same vend. None for a prescription the
    hub has not linked yet (the kiosk's own ``prescription_id`` is a local id)."""
    hub_id = event.payload.get("prescription_hub_id")
    if hub_id is None and event.vend_id is not None and event.type != "dispense.intent":
        hub_id = batch.intent_hub_id.get(event.vend_id)
    return None if hub_id is None else str(hub_id)


def _check_dispense(batch: _Batch, event: Event) -> None:
    hub_id = _hub_prescription_id(batch, event)
    if hub_id is None:
        return
    vend_id = event.payload.get("vend_id")
    if event.vend_id is not None and event.vend_id in batch.reviewed_vends:
        return  # one review item per vend
    what = f"{event.type} #{event.seq}" + (f" (vend {vend_id})" if vend_id is not None else "")
    prescription = batch.prescription(hub_id)
    if prescription is None:
        reason = f"{what}: prescription {hub_id} is not on this machine at the hub."
    elif prescription.updated_at > event.created_at:
        reason = (
            f"{what} made at {event.created_at:%Y-%m-%d %H:%M:%S} UTC against prescription"
            f" {hub_id}, which the hub changed at {prescription.updated_at:%Y-%m-%d %H:%M:%S}"
            " UTC: check the dose against the new terms."
        )
    else:
        return
    batch.exception(event, "exception", reason)
    if event.vend_id is not None:
        batch.reviewed_vends.add(event.vend_id)


# Edits staff made at the kiosk to records the hub owns (docs/SYNC.md): the hub does not
# apply them on its own, and it never lets them vanish: each becomes a conflict for staff to
# review (and to enter on the hub if it stands), naming what the hub has now.
KIOSK_EDITS_OF_HUB_RECORDS = frozenset(
    {
        "prescription.added",
        "prescription.changed",
        "prescription.ended",
        "participant.enrolled",
        "participant.language_changed",
        "participant.removed",
    }
)


def _review_kiosk_edit(batch: _Batch, event: Event) -> None:
    payload = event.payload
    if str(payload.get("actor", "")).startswith("system"):
        return  # seeded or automatic records, not a staff edit
    hub_id = payload.get("prescription_hub_id")
    about = f"prescription {hub_id}" if hub_id is not None else str(payload.get("subject", ""))
    newer = ""
    if hub_id is not None:
        prescription = batch.prescription(str(hub_id))
        if prescription is not None and prescription.updated_at > event.created_at:
            newer = (
                f" The hub changed it later ({prescription.updated_at:%Y-%m-%d %H:%M} UTC):"
                " the kiosk will receive the hub's version."
            )
    reason = (
        f"{event.type} #{event.seq} made at the kiosk ({about}, why: "
        f"{payload.get('reason') or '-'}) is not applied to the hub's record automatically."
        f"{newer} Review it and enter it on the hub if it stands."
    )
    batch.exception(event, "conflict", reason)


def _apply_hold(batch: _Batch, event: Event) -> None:
    """A hold or release decided at the kiosk: the hub keeps it, unless the hub changed the
    prescription after the kiosk did (then staff decide: a conflict, nothing overwritten)."""
    hub_id = event.payload.get("prescription_hub_id")
    if hub_id is None:
        return
    prescription = batch.prescription(str(hub_id))
    held = event.type == "prescription.held"
    if prescription is None:
        reason = f"{event.type} #{event.seq}: prescription {hub_id} is not on this machine."
        batch.exception(event, "conflict", reason)
        return
    if prescription.updated_at > event.created_at:
        reason = (
            f"{event.type} #{event.seq} made at {event.created_at:%Y-%m-%d %H:%M:%S} UTC was not"
            f" applied: the hub changed prescription {hub_id} at"
            f" {prescription.updated_at:%Y-%m-%d %H:%M:%S} UTC."
        )
        batch.exception(event, "conflict", reason)
        return
    if held and prescription.status == "active":
        prescription.status = "on_hold"
        prescription.hold_reason = str(event.payload.get("reason") or "")[:200]
        kind = str(event.payload.get("kind") or "")
        prescription.hold_kind = kind if kind in ("staff", "missed_doses") else ""
        prescription.save(changed_at=event.created_at)
    elif not held and prescription.status == "on_hold":
        prescription.status = "active"
        prescription.hold_reason = ""
        prescription.hold_kind = ""
        prescription.released_at = event.created_at
        prescription.save(changed_at=event.created_at)


def _update_lanes(machine: Machine, events: list[Event]) -> None:
    """Fold a push's new events into the lanes they are about (fleet.lanes): reads and writes
    the touched lanes' rows only, never the lane's history."""
    by_lane: dict[int, list[lanes.LaneEvent]] = {}
    for event in _counting(machine, events):
        if event.lane is not None:
            by_lane.setdefault(event.lane, []).append((event.seq, event.type, event.payload))
    if not by_lane:
        return
    rows = {row.lane: row for row in LaneStock.objects.filter(machine=machine, lane__in=by_lane)}
    changed: list[LaneStock] = []
    created: list[LaneStock] = []
    for lane, new in sorted(by_lane.items()):
        row = rows.get(lane)
        if row is None:
            row = LaneStock(machine=machine, lane=lane)
            created.append(row)
        else:
            changed.append(row)
        facts = lanes.apply(
            _facts_of(row), new, lambda seq, lane=lane: _dropped_after(machine, lane, seq)
        )
        for name in lanes.FIELDS:
            setattr(row, name, getattr(facts, name))
    LaneStock.objects.bulk_create(created)
    LaneStock.objects.bulk_update(changed, lanes.FIELDS)


def _facts_of(row: LaneStock) -> lanes.LaneFacts:
    return lanes.LaneFacts(
        medication_id=row.medication_id,
        base_stock=row.base_stock,
        stock_seq=row.stock_seq,
        dropped=row.dropped,
        state=row.state,
        state_seq=row.state_seq,
        as_of_seq=row.as_of_seq,
    )


def _counting(machine: Machine, events: list[Event]) -> list[Event]:
    """The events as the lane rule reads them: an extra event of a dose given by hand takes
    nothing (it stays in the lane's story, as ``lanes.NOT_COUNTED``, so ``as_of_seq`` is the
    same whatever counted).
    A dose takes its units off once: a ``manual_dose.recorded`` counts when it is the event
    the hub made the dose from (``ManualDose.source_event``, made before the lanes are
    folded), a ``manual_dose.applied`` when it names a dose the hub recorded for this machine
    and is the first of its uuid among ``events`` (the kiosk queues it once, in the
    transaction that keeps the dose once)."""
    manual = [e for e in events if e.type in (lanes.MANUAL_RECORDED, lanes.MANUAL_APPLIED)]
    if not manual:
        return events
    doses = {
        str(key): (origin, machine_id, event_id)
        for key, origin, machine_id, event_id in ManualDose.objects.filter(
            uuid__in=[
                _uuid_text(e.payload.get("uuid"))
                for e in manual
                if _uuid_text(e.payload.get("uuid"))
            ]
        ).values_list("uuid", "origin", "machine_id", "source_event_id")
    }
    seen: set[str] = set()
    skipped: set[int] = set()
    for event in sorted(manual, key=lambda e: e.seq):
        key = _uuid_text(event.payload.get("uuid"))
        dose = doses.get(key or "")
        if event.type == lanes.MANUAL_RECORDED:
            counts = dose is not None and dose[2] == event.pk
        else:
            counts = dose is not None and dose[0] == "hub" and dose[1] == machine.pk
            counts = counts and key not in seen
        if counts and key:
            seen.add(key)
        else:
            skipped.add(event.seq)
    return [
        Event(
            machine_id=e.machine_id,
            pk=e.pk,
            seq=e.seq,
            type=lanes.NOT_COUNTED,
            lane=e.lane,
            payload={},
        )
        if e.seq in skipped
        else e
        for e in events
    ]


def _uuid_text(value: object) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _dropped_after(machine: Machine, lane: int, seq: int) -> int:
    """Units the lane's stored results and doses by hand after ``seq`` took off (a statement
    that arrived late: the range is the late part only, by index)."""
    later = list(
        Event.objects.filter(machine=machine, lane=lane, seq__gt=seq, type__in=lanes.TAKING_TYPES)
    )
    return sum(lanes.taken_of(e.type, e.payload) for e in _counting(machine, later))


def rebuild_lanes(machine: Machine) -> None:
    """Every lane of a machine recomputed from all its events (the full rule; for repairs and
    for checking the incremental rows)."""
    per_lane: dict[int, list[lanes.LaneEvent]] = {}
    events = Event.objects.filter(machine=machine, lane__isnull=False).order_by("lane", "seq")
    for event in _counting(machine, list(events)):
        assert event.lane is not None
        per_lane.setdefault(event.lane, []).append((event.seq, event.type, event.payload))
    LaneStock.objects.filter(machine=machine).delete()
    rows = []
    for lane, events in sorted(per_lane.items()):
        facts = lanes.recompute(events)
        rows.append(
            LaneStock(
                machine=machine,
                lane=lane,
                **{field: getattr(facts, field) for field in lanes.FIELDS},
            )
        )
    LaneStock.objects.bulk_create(rows)
