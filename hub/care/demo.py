"""Demo data for the care app: a site with machines, participants, prescriptions and one user
per role. Used by ``manage.py seed_care_demo`` and the browser tests (tests/web). Idempotent:
running it again keeps what exists and resets the demo users' passwords."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from fleet.models import (
    Alert,
    Event,
    LaneStock,
    Machine,
    Participant,
    Prescription,
    QuarantinedEvent,
    Site,
    SyncException,
)

from care.models import Membership
from care.roles import Role

SITE = "Demo Downtown"
OTHER_SITE = "Demo Eastside"
MACHINES = ("kiosk-1", "kiosk-2")
# (display name, language) per machine, coded P-0001.. and P-0101..; fictional people.
PARTICIPANTS = (("Alex Morgan", "en"), ("Sam Tremblay", "fr_CA"), ("Jordan Lee", "zh_Hant"))
# username -> (role, site name or None for every site, first name, last name)
USERS: dict[str, tuple[Role, str | None, str, str]] = {
    "prescriber": (Role.PRESCRIBER, SITE, "Priya", "Sandhu"),
    "pharmacist": (Role.PHARMACIST, SITE, "Marc", "Gagnon"),
    "nurse": (Role.NURSE, SITE, "Nora", "Whitehorse"),
    "manager": (Role.PROGRAM_MANAGER, None, "Grace", "Okafor"),
    "viewer": (Role.VIEWER, SITE, "Victor", "Chen"),
}


@dataclass
class Seeded:
    site: Site
    other_site: Site
    users: dict[str, User]


def _site(name: str) -> Site:
    site = Site.objects.filter(name=name).first()
    if site is None:
        site = Site(name=name)
        site.save()
    return site


@transaction.atomic
def seed(password: str) -> Seeded:
    site = _site(SITE)
    other = _site(OTHER_SITE)
    Machine.objects.get_or_create(site=other, name="kiosk-1")
    for m, machine_name in enumerate(MACHINES):
        machine, _ = Machine.objects.get_or_create(site=site, name=machine_name)
        for i, (display_name, language) in enumerate(PARTICIPANTS):
            code = f"P-{100 * m + i + 1:04d}"
            if Participant.objects.filter(machine=machine, code=code).exists():
                continue
            participant = Participant(
                machine=machine, code=code, display_name=display_name, language=language
            )
            participant.save()
            Prescription(
                participant=participant,
                medication_name="hydromorphone",
                medication_strength="8 mg",
                medication_form="tablet",
                units_per_dose=2,
                windows=[["08:00", "11:00"], ["18:00", "21:00"]],
                daily_max_units=4,
                start_date=date.today(),
            ).save()
    users = {}
    for username, (role, site_name, first, last) in USERS.items():
        user, _ = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        user.set_password(password)
        user.save()
        where = site if site_name == SITE else None
        Membership.objects.get_or_create(user=user, site=where, role=role)
        users[username] = user
    return Seeded(site=site, other_site=other, users=users)


def seed_reports(seeded: Seeded) -> None:
    """The reports' demo day on the first machine. Kept apart from ``seed`` (like
    ``seed_queues``) so other pages' tests start from machines without events."""
    _demo_events(Machine.objects.get(site=seeded.site, name=MACHINES[0]))


def _demo_events(machine: Machine) -> None:
    """A dosing day of kiosk events on one machine so the reports show something: a lane set
    up yesterday, a restock, dispenses (one jammed, one without a result yet), a return, a
    waste and a count one unit short. Only on a machine that has no events yet."""
    if machine.events.exists():
        return
    from care.reports import days

    today = days.dosing_day(machine.site, timezone.now())
    start, _ = days.day_bounds(machine.site, today)
    rx = Prescription.objects.filter(participant__machine=machine).order_by("pk").first()
    lane = {"lane": 1, "medication_id": 1}
    moves: list[tuple[float, str, dict[str, object]]] = [
        (-20, "lane.configured", {**lane, "stock": 40, "actor": "staff:1"}),
        (
            1,
            "stock.restocked",
            {
                **lane,
                "kind": "restock",
                "expected": 40,
                "counted": 40,
                "added": 20,
                "stock": 60,
                "second_staff_id": 2,
                "actor": "staff:1",
            },
        ),
    ]
    for n, (hour, dropped, outcome) in enumerate(
        ((4, 2, "complete"), (5, 2, "complete"), (6, 0, "jam"), (7, None, ""))
    ):
        vend = {"vend_id": 5000 + n, "lane": 1, "units": 2}
        moves.append(
            (
                hour,
                "dispense.intent",
                {**vend, "prescription_hub_id": rx.pk if rx else None, "actor": "participant:1"},
            )
        )
        if dropped is not None:
            moves.append(
                (
                    hour + 0.01,
                    "dispense.result",
                    {**vend, "dropped": dropped, "outcome": outcome, "actor": "system"},
                )
            )
    moves += [
        (
            8,
            "stock.returned",
            {**lane, "units": 3, "stock": 53, "reason": "expired", "actor": "staff:1"},
        ),
        (
            9,
            "stock.wasted",
            {
                **lane,
                "units": 1,
                "stock": 52,
                "reason": "dropped on floor",
                "second_staff_id": 2,
                "actor": "staff:1",
            },
        ),
        (
            10,
            "stock.counted",
            {
                **lane,
                "kind": "count",
                "expected": 52,
                "counted": 51,
                "stock": 51,
                "actor": "staff:2",
            },
        ),
    ]
    for seq, (hours, type_, payload) in enumerate(moves, start=1):
        Event(
            machine=machine,
            seq=seq,
            type=type_,
            payload=payload,
            created_at=start + timedelta(hours=hours),
        ).save()


# ---------------------------------------------------------------- the review queues' demo items
# Kept apart from ``seed`` so other pages' tests keep the data they count on; the command and
# the review queues' tests call it. Fictional people; dates relative to now.
QUEUE_PARTICIPANTS = {"P-0004": "Casey Martin", "P-0005": "Robin Dubois"}


def _next_seq(machine: Machine) -> int:
    last = Event.objects.filter(machine=machine).order_by("-seq").values_list("seq", flat=True)
    return (last.first() or 0) + 1


def _event(machine: Machine, type_: str, at: datetime, payload: dict[str, object]) -> Event:
    event = Event(
        machine=machine, seq=_next_seq(machine), type=type_, payload=payload, created_at=at
    )
    event.save()
    return event


def _pickup(machine: Machine, rx: Prescription, at: datetime, vend_id: int) -> None:
    _event(
        machine,
        "dispense.intent",
        at,
        {"vend_id": vend_id, "lane": 1, "units": 2, "prescription_hub_id": rx.pk},
    )
    _event(
        machine,
        "dispense.result",
        at + timedelta(seconds=20),
        {"vend_id": vend_id, "lane": 1, "units": 2, "dropped": 2, "outcome": "ok"},
    )


@transaction.atomic
def seed_queues(seeded: Seeded) -> None:
    """One of each review item at the demo site: a missed-dose hold, a person not seen for
    four days (enrolled on both machines, last seen on kiosk-2), a stock count that did not
    match, a sync conflict and an event set aside."""
    if Participant.objects.filter(code="P-0005", machine__site=seeded.site).exists():
        return
    kiosk1, kiosk2 = (Machine.objects.get(site=seeded.site, name=n) for n in MACHINES)
    now = timezone.now()
    start = date.today() - timedelta(days=12)

    def enrol(machine: Machine, code: str) -> Prescription:
        participant = Participant(
            machine=machine, code=code, display_name=QUEUE_PARTICIPANTS[code], language="en"
        )
        participant.save()
        rx = Prescription(
            participant=participant,
            medication_name="hydromorphone",
            medication_strength="8 mg",
            medication_form="tablet",
            units_per_dose=2,
            windows=[["08:00", "11:00"], ["18:00", "21:00"]],
            daily_max_units=4,
            start_date=start,
        )
        rx.save()
        return rx

    absent = enrol(kiosk2, "P-0004")
    enrol(kiosk1, "P-0004")
    _pickup(kiosk2, absent, now - timedelta(days=5), 900001)

    held = enrol(kiosk1, "P-0005")
    _pickup(kiosk1, held, now - timedelta(days=5), 900002)
    hold_at = now - timedelta(hours=20)
    _event(
        kiosk1,
        "prescription.held",
        hold_at,
        {
            "prescription_hub_id": held.pk,
            "kind": "missed_doses",
            "reason": "needs prescriber review",
        },
    )
    held.status, held.hold_kind, held.hold_reason = (
        "on_hold",
        "missed_doses",
        "needs prescriber review",
    )
    held.save(changed_at=hold_at)

    _event(
        kiosk1,
        "stock.counted",
        now - timedelta(hours=3),
        {
            "lane": 3,
            "medication_id": 1,
            "kind": "count",
            "expected": 40,
            "counted": 38,
            "added": 0,
            "stock": 38,
            "difference": -2,
            "discrepancy_id": 1,
        },
    )
    edit = _event(
        kiosk2,
        "prescription.changed",
        now - timedelta(hours=2),
        {"actor": "staff:3", "prescription_hub_id": absent.pk, "reason": "dose change by phone"},
    )
    SyncException.objects.create(
        machine=kiosk2,
        event=edit,
        kind="conflict",
        reason=(
            f"prescription.changed #{edit.seq} made at the kiosk (prescription {absent.pk}, why:"
            " dose change by phone) is not applied to the hub's record automatically. Review it"
            " and enter it on the hub if it stands."
        ),
    )
    seq = _next_seq(kiosk2) + 5
    QuarantinedEvent.objects.create(
        machine=kiosk2,
        seq=seq,
        type="dispense.result",
        reason="payload.dropped: an integer expected",
        raw=json.dumps({"seq": seq, "type": "dispense.result", "payload": {"dropped": "two"}}),
    )


# The fleet pages' demo (care/pages/fleet.py): machine -> (minutes since last contact or None,
# software version, [(lane, stock, state)], [(alert kind, message)]). Kiosk-2 has been silent
# for hours, with a jammed lane; kiosk-1 has a low and an empty lane.
FLEET: dict[tuple[str, str], tuple[int | None, str, list[tuple[int, int, str]], list[Any]]] = {
    (SITE, "kiosk-1"): (
        4,
        "0.1.0",
        [(1, 180, "ready"), (2, 12, "ready"), (3, 0, "empty")],
        [("kiosk:lane_empty", "Lane 3 is empty: restock it.")],
    ),
    (SITE, "kiosk-2"): (
        190,
        "",
        [(1, 95, "jammed"), (2, 140, "ready")],
        [("kiosk:lane_jammed", "Lane 1 jammed during a dispense.")],
    ),
    (OTHER_SITE, "kiosk-1"): (11, "0.1.0", [(1, 240, "ready")], []),
}


def seed_fleet(seeded: Seeded) -> None:
    """The fleet pages' demo. Kept apart from ``seed`` (like ``seed_queues``) so other pages'
    tests start from machines without events."""
    _seed_fleet(seeded.site, seeded.other_site)


def _seed_fleet(*sites: Site) -> None:
    """Contact, lanes, alerts and a few of today's dispenses, once per machine (a machine that
    has events already, such as the reports' day, keeps them)."""
    now = timezone.now()
    for machine in Machine.objects.filter(site__in=sites).select_related("site"):
        plan = FLEET.get((machine.site.name, machine.name))
        if plan is None or LaneStock.objects.filter(machine=machine).exists():
            continue
        minutes, version, lanes, alerts = plan
        for lane, stock, state in lanes:
            LaneStock.objects.update_or_create(
                machine=machine, lane=lane, defaults={"stock": stock, "state": state}
            )
        for kind, message in alerts:
            Alert.objects.create(machine=machine, kind=kind, message=message)
        if not Event.objects.filter(machine=machine).exists():
            events = _fleet_events(machine, now)
            Event.objects.bulk_create([e.fill_keys() for e in events])
            machine.last_seq = len(events)
        machine.software_version = version
        machine.last_contact = None if minutes is None else now - timedelta(minutes=minutes)
        machine.save()


def _fleet_events(machine: Machine, now: Any) -> list[Event]:
    """Each participant's dose a little while ago: intent and result, by prescription id."""
    out: list[Event] = []

    def add(type_: str, payload: dict[str, Any], minutes_ago: int) -> None:
        at = now - timedelta(minutes=minutes_ago)
        out.append(
            Event(machine=machine, seq=len(out) + 1, type=type_, payload=payload, created_at=at)
        )

    add("lane.configured", {"lane": 1, "medication_id": 1, "stock": 200, "actor": "system"}, 300)
    prescriptions = Prescription.objects.filter(participant__machine=machine).order_by("pk")
    for vend, prescription in enumerate(prescriptions, start=1):
        ago = 60 - 10 * vend
        add(
            "dispense.intent",
            {"vend_id": vend, "lane": 1, "units": 2, "prescription_hub_id": prescription.pk},
            ago,
        )
        add(
            "dispense.result",
            {"vend_id": vend, "lane": 1, "units": 2, "dropped": 2, "outcome": "complete"},
            ago,
        )
    add("stock.counted", {"lane": 1, "counted": 180, "expected": 180, "actor": "staff:1"}, 5)
    return out
