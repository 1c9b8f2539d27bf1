"""Transfers and guest doses, kept safe offline (docs/SYNC.md, "Transfers and guest doses").

Two rules carry the safety:

* **A dose given anywhere counts everywhere once synced.** Every ``dispense.result`` that
  dropped units, and every dose given by hand (``ManualDose``, from a kiosk's event or a care
  page), is told, as a ``DoseElsewhere`` record, to every other machine where the same
  participant code is enrolled (``tell_other_machines``, ``tell_manual_dose``). A transfer and
  a confirmed guest pass also send the recent doses the rules look back on (``send_recent``).
  The machine a dose was given or recorded for never gets it as a dose elsewhere, and each
  receiving machine gets one row per origin (unique constraints).
* **A guest pass is usable only once the home machine blocks the same doses.** The home
  machine pulls a ``guest_block`` (``GuestPass.sync_entries``) and answers ``guest.blocked``
  from the transaction that stored it; only then does ``confirm_pass`` give the guest machine
  the day's prescriptions. Until then the guest machine has nothing to give.

Every function here runs inside its caller's transaction (a push, or a care page's write).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils.timezone import now

from fleet import lanes
from fleet.models import (
    DoseElsewhere,
    Event,
    GuestPass,
    Machine,
    ManualDose,
    Participant,
    Prescription,
    Site,
)

GUEST_BLOCKED = "guest.blocked"  # the home machine's acknowledgement of a guest_block
OPEN_PRESCRIPTIONS = ("active", "on_hold")
# Fields a copy of a prescription keeps (a transfer, a guest day).
TERMS = (*Prescription.TERMS, "status", "hold_reason", "hold_kind")


class MoveRefused(Exception):
    """A transfer or guest pass that cannot be made; the text is staff wording (ids only)."""


# ---------------------------------------------------------------- the site's dosing day


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    return site.day_bounds(day)


def dosing_day(site: Site, at: datetime | None = None) -> date:
    return site.dosing_day(at)


def lookback_days(sites: Iterable[Site], prescriptions: Iterable[Prescription]) -> int:
    """The days of history a kiosk's rules read (kiosk.domain.dosing.history_days), the
    longest of the sites and prescriptions involved."""
    limits = [s.missed_dose_days for s in sites]
    limits += [p.missed_dose_limit or 0 for p in prescriptions]
    return max([1, *limits]) + 2


# ---------------------------------------------------------------- doses elsewhere


@dataclass(frozen=True)
class GivenDose:
    event: Event  # the dispense.result
    units: int
    prescription: Prescription  # at the machine that gave it


def _same_medication(rx: Prescription, other: Prescription) -> bool:
    return (rx.medication_name, rx.medication_strength, rx.medication_form) == (
        other.medication_name,
        other.medication_strength,
        other.medication_form,
    )


def _counterpart(dose: Prescription, candidates: list[Prescription]) -> int | None:
    """The target's prescription the dose counts against: same medication, open first."""
    matching = [c for c in candidates if _same_medication(dose, c)]
    matching.sort(key=lambda c: (c.status not in OPEN_PRESCRIPTIONS, -c.pk))
    return matching[0].pk if matching else None


def _tell(targets: list[Participant], doses: list[GivenDose]) -> int:
    """Write the DoseElsewhere rows still missing (one per target machine and event)."""
    if not targets or not doses:
        return 0
    held = set(
        DoseElsewhere.objects.filter(
            machine__in=[t.machine_id for t in targets],
            source_event__in=[d.event.pk for d in doses],
        ).values_list("machine_id", "source_event_id")
    )
    rxs: dict[int, list[Prescription]] = {t.pk: [] for t in targets}
    for rx in Prescription.objects.filter(participant__in=targets):
        rxs[rx.participant_id].append(rx)
    written = 0
    for target in targets:
        for dose in doses:
            if dose.event.machine_id == target.machine_id:
                continue
            if (target.machine_id, dose.event.pk) in held:
                continue
            if dose.prescription.participant.code != target.code:
                continue
            DoseElsewhere(
                machine_id=target.machine_id,
                participant_code=target.code,
                prescription_hub_id=_counterpart(dose.prescription, rxs[target.pk]),
                medication_name=dose.prescription.medication_name,
                medication_strength=dose.prescription.medication_strength,
                medication_form=dose.prescription.medication_form,
                units=dose.units,
                taken_at=dose.event.created_at,
                source_machine_id=dose.event.machine_id,
                source_event=dose.event,
            ).save()
            held.add((target.machine_id, dose.event.pk))
            written += 1
    return written


def _given(results: list[Event], machine: Machine) -> list[GivenDose]:
    """The doses among a machine's ``dispense.result`` events: units dropped, and the hub
    prescription their vend's intent names (a kiosk-made prescription the hub has not linked
    has none, and is not told: docs/SYNC.md)."""
    results = [e for e in results if lanes.dropped_of(e.type, e.payload) > 0]
    vends = {e.vend_id for e in results if e.vend_id is not None}
    named: dict[int, str] = {}
    if vends:
        for vend, payload in (
            Event.objects.filter(machine=machine, type="dispense.intent", vend_id__in=vends)
            .order_by("seq")
            .values_list("vend_id", "payload")
        ):
            if payload.get("prescription_hub_id") is not None:
                named[vend] = str(payload["prescription_hub_id"])
    hub_ids = {}
    for event in results:
        text = str(event.payload.get("prescription_hub_id") or named.get(event.vend_id or -1, ""))
        if text.isascii() and text.isdigit() and len(text) <= 18:
            hub_ids[event.pk] = int(text)
    prescriptions = {
        rx.pk: rx
        for rx in Prescription.objects.filter(
            pk__in=set(hub_ids.values()), participant__machine=machine
        ).select_related("participant")
    }
    return [
        GivenDose(e, lanes.dropped_of(e.type, e.payload), prescriptions[hub_ids[e.pk]])
        for e in results
        if hub_ids.get(e.pk) in prescriptions
    ]


def tell_other_machines(machine: Machine, results: list[Event]) -> int:
    """From a push: each new dose goes to the other machines of its participant code. Reads
    the push's own events and a few rows by index, never the history."""
    doses = _given(results, machine)
    codes = {d.prescription.participant.code for d in doses}
    if not codes:
        return 0
    targets = list(
        Participant.objects.filter(code__in=codes)
        .exclude(machine=machine)
        .exclude(status="removed")
    )
    return _tell(targets, doses)


def _probe(dose: DoseElsewhere | ManualDose) -> Prescription:
    """A prescription-shaped medication, to find a target's counterpart."""
    return Prescription(
        medication_name=dose.medication_name,
        medication_strength=dose.medication_strength,
        medication_form=dose.medication_form,
    )


def _tell_manual(dose: ManualDose, targets: list[Participant]) -> int:
    """Write the DoseElsewhere rows of a dose given by hand still missing on ``targets``."""
    targets = [t for t in targets if t.machine_id != dose.machine_id]
    if not targets:
        return 0
    held = set(
        DoseElsewhere.objects.filter(
            manual_dose=dose, machine__in=[t.machine_id for t in targets]
        ).values_list("machine_id", flat=True)
    )
    written = 0
    for target in targets:
        if target.machine_id in held:
            continue
        DoseElsewhere(
            machine_id=target.machine_id,
            participant_code=target.code,
            prescription_hub_id=_counterpart(_probe(dose), list(target.prescriptions.all())),
            medication_name=dose.medication_name,
            medication_strength=dose.medication_strength,
            medication_form=dose.medication_form,
            units=dose.units,
            taken_at=dose.given_at,
            source_machine_id=dose.machine_id,
            manual_dose=dose,
        ).save()
        held.add(target.machine_id)
        written += 1
    return written


def tell_manual_dose(dose: ManualDose) -> int:
    """A dose given by hand, just recorded (a kiosk's event or a care page): told to every
    other machine where its participant code is enrolled. The machine it was recorded for
    counts it as its own ``manual_dose`` and is never told."""
    if not dose.participant_code:
        return 0
    targets = list(
        Participant.objects.filter(code=dose.participant_code)
        .exclude(machine_id=dose.machine_id)
        .exclude(status="removed")
    )
    return _tell_manual(dose, targets)


def send_recent(source: Participant, target: Participant, since: datetime) -> int:
    """The doses ``source`` took since ``since`` (at its machine, given by hand there, and
    those its machine was told of from elsewhere), told to ``target``'s machine."""
    results = list(
        Event.objects.filter(
            machine_id=source.machine_id, type="dispense.result", created_at__gte=since
        )
    )
    doses = [
        d for d in _given(results, source.machine) if d.prescription.participant_id == source.pk
    ]
    written = _tell([target], doses)
    for manual in ManualDose.objects.filter(
        machine_id=source.machine_id, participant_code=source.code, given_at__gte=since
    ):
        written += _tell_manual(manual, [target])
    # What the source machine counted from elsewhere counts at the target too.
    forwarded = (
        DoseElsewhere.objects.filter(
            machine_id=source.machine_id, participant_code=source.code, taken_at__gte=since
        )
        .exclude(source_machine_id=target.machine_id)
        .select_related("source_event", "manual_dose")
    )
    held = set(
        DoseElsewhere.objects.filter(machine_id=target.machine_id)
        .filter(source_event__in=[d.source_event_id for d in forwarded if d.source_event_id])
        .values_list("source_event_id", flat=True)
    )
    target_rxs = list(target.prescriptions.all())
    for dose in forwarded:
        if dose.manual_dose is not None:
            written += _tell_manual(dose.manual_dose, [target])
            continue
        if dose.source_event_id in held:
            continue
        DoseElsewhere(
            machine_id=target.machine_id,
            participant_code=target.code,
            prescription_hub_id=_counterpart(_probe(dose), target_rxs),
            medication_name=dose.medication_name,
            medication_strength=dose.medication_strength,
            medication_form=dose.medication_form,
            units=dose.units,
            taken_at=dose.taken_at,
            source_machine_id=dose.source_machine_id,
            source_event_id=dose.source_event_id,
        ).save()
        written += 1
    return written


# ---------------------------------------------------------------- transfers


def _enrol(home: Participant, machine: Machine) -> tuple[Participant, bool]:
    """The participant's row at ``machine``, made or made active; True when it was not
    active there before."""
    there = Participant.objects.select_for_update().filter(machine=machine, code=home.code).first()
    if there is None:
        there = Participant(machine=machine, code=home.code)
        fresh = True
    else:
        fresh = there.status != "active"
    there.display_name = home.display_name
    there.language = home.language
    there.status = "active"
    there.save()
    return there, fresh


def _copy(rx: Prescription, to: Participant, **changes: object) -> Prescription:
    terms = {name: getattr(rx, name) for name in TERMS}
    terms.update(changes)
    copy = Prescription(participant=to, **terms)
    copy.full_clean(exclude=["participant"])
    copy.save()
    return copy


@dataclass(frozen=True)
class Moved:
    participant: Participant  # at the new machine
    prescriptions: dict[int, int]  # old hub id -> new hub id
    doses_sent: int


def transfer(participant: Participant, to_machine: Machine) -> Moved:
    """Move a participant to another machine, in the caller's transaction: enrolled there with
    the same code, the open prescriptions copied, the recent doses sent, and ended here."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a transfer runs inside the page's transaction")
    participant = (
        Participant.objects.select_for_update()
        .select_related("machine__site")
        .get(pk=participant.pk)
    )
    if participant.status != "active":
        raise MoveRefused(f"{participant.code} is not active on this machine.")
    if to_machine.pk == participant.machine_id:
        raise MoveRefused(f"{participant.code} is already on that machine.")
    if GuestPass.objects.filter(home=participant, state__in=GuestPass.BLOCKING).exists():
        raise MoveRefused("Cancel the open guest pass first, or wait until its day is over.")
    open_rxs = list(participant.prescriptions.filter(status__in=OPEN_PRESCRIPTIONS))
    target, _ = _enrol(participant, to_machine)
    if Prescription.objects.filter(participant=target, status__in=OPEN_PRESCRIPTIONS).exists():
        raise MoveRefused(f"{participant.code} already has open prescriptions on that machine.")
    mapping = {rx.pk: _copy(rx, target).pk for rx in open_rxs}
    days = lookback_days([participant.machine.site, to_machine.site], open_rxs)
    sent = send_recent(participant, target, now() - timedelta(days=days))
    for rx in open_rxs:
        rx.status = "ended"
        rx.save()
    participant.status = "inactive"
    participant.save()
    return Moved(target, mapping, sent)


# ---------------------------------------------------------------- guest passes


def request_pass(
    home: Participant,
    guest_machine: Machine,
    day: date,
    prescriptions: list[Prescription],
    reason: str,
) -> GuestPass:
    """A guest day, waiting for the home machine's confirmation (its block is in the change
    log from this transaction on)."""
    if guest_machine.pk == home.machine_id:
        raise MoveRefused("Choose another machine than the participant's own.")
    if home.status != "active":
        raise MoveRefused(f"{home.code} is not active on their machine.")
    if not prescriptions:
        raise MoveRefused("Choose at least one prescription.")
    if any(rx.participant_id != home.pk or rx.status != "active" for rx in prescriptions):
        raise MoveRefused("Only the participant's active prescriptions can move for a day.")
    if day < dosing_day(guest_machine.site):
        raise MoveRefused("That day is over at the guest site.")
    if GuestPass.objects.filter(home=home, day=day, state__in=GuestPass.BLOCKING).exists():
        raise MoveRefused(f"{home.code} already has a guest pass for that day.")
    guest_pass = GuestPass(
        home=home,
        guest_machine=guest_machine,
        day=day,
        prescription_ids=sorted(rx.pk for rx in prescriptions),
        reason=reason,
    )
    guest_pass.save()
    return guest_pass


def confirm_pass(machine: Machine, pass_id: int) -> GuestPass | None:
    """The home machine blocks the day (its ``guest.blocked`` arrived): give the guest
    machine the day's prescriptions and the doses already taken that day."""
    guest_pass = (
        GuestPass.objects.select_for_update()
        .select_related("home__machine__site", "guest_machine__site")
        .filter(pk=pass_id, home__machine=machine)
        .first()
    )
    if guest_pass is None or guest_pass.state != GuestPass.State.REQUESTED:
        return guest_pass  # unknown, cancelled meanwhile (its tombstone lifts the block) or done
    if guest_pass.day < dosing_day(guest_pass.guest_machine.site):
        _end(guest_pass)
        return guest_pass
    home = guest_pass.home
    guest, fresh = _enrol(home, guest_pass.guest_machine)
    copies = [
        _copy(rx, guest, start_date=guest_pass.day, end_date=guest_pass.day)
        for rx in Prescription.objects.filter(
            pk__in=guest_pass.prescription_ids, participant=home, status="active"
        )
    ]
    start, _ = day_bounds(home.machine.site, guest_pass.day)
    send_recent(home, guest, start - timedelta(hours=12))
    guest_pass.guest_participant = guest
    guest_pass.made_guest_participant = fresh
    guest_pass.guest_prescription_ids = [c.pk for c in copies]
    guest_pass.state = GuestPass.State.CONFIRMED
    guest_pass.confirmed_at = now()
    guest_pass.save()
    return guest_pass


def cancel_pass(guest_pass: GuestPass) -> None:
    """Only before confirmation: after it, the guest machine may already have given doses
    the home machine would then not count until they sync (docs/SYNC.md)."""
    guest_pass = GuestPass.objects.select_for_update().get(pk=guest_pass.pk)
    if guest_pass.state != GuestPass.State.REQUESTED:
        raise MoveRefused("Only a pass still waiting for the home machine can be cancelled.")
    guest_pass.state = GuestPass.State.CANCELLED
    guest_pass.ended_at = now()
    guest_pass.save()


def _end(guest_pass: GuestPass) -> None:
    """The day is over: the guest copies end, a guest-only enrolment ends, the block lifts."""
    for rx in Prescription.objects.filter(pk__in=guest_pass.guest_prescription_ids):
        if rx.status != "ended":
            rx.status = "ended"
            rx.save()
    guest = guest_pass.guest_participant
    if guest is not None and guest_pass.made_guest_participant and guest.status == "active":
        guest.status = "inactive"
        guest.save()
    guest_pass.state = GuestPass.State.EXPIRED
    guest_pass.ended_at = now()
    guest_pass.save()


def is_over(guest_pass: GuestPass, at: datetime | None = None) -> bool:
    """Past the day at both sites (the later clock decides: never early at either)."""
    sites = (guest_pass.guest_machine.site, guest_pass.home.machine.site)
    return all(guest_pass.day < dosing_day(site, at) for site in sites)


def expire_passes(at: datetime | None = None) -> int:
    """End every blocking pass whose day is over (``manage.py expire_guest_passes``)."""
    ended = 0
    candidates = GuestPass.objects.filter(
        state__in=GuestPass.BLOCKING, day__lt=_latest_dosing_day(at)
    ).select_related("guest_machine__site", "home__machine__site", "guest_participant")
    for guest_pass in candidates:
        if is_over(guest_pass, at):
            with transaction.atomic():
                _end(guest_pass)
            ended += 1
    return ended


def _latest_dosing_day(at: datetime | None = None) -> date:
    """No site's dosing day is later than this one (UTC+14): a pass of a day before it may be
    over; ``is_over`` then decides with the sites' own clocks."""
    return ((at or now()) + timedelta(hours=14)).date()


# ---------------------------------------------------------------- from a push


def learn(machine: Machine, events: list[Event]) -> None:
    """What a push's new events mean for transfers and guest doses, in seq order."""
    results: list[Event] = []
    for event in events:
        if event.type == "dispense.result":
            results.append(event)
        elif event.type == GUEST_BLOCKED:
            tell_other_machines(machine, results)  # doses before the block go out first
            results = []
            pass_id = str(event.payload.get("guest_pass") or "")
            if pass_id.isascii() and pass_id.isdigit() and len(pass_id) <= 18:
                confirm_pass(machine, int(pass_id))
    tell_other_machines(machine, results)
