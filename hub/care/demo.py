"""Demo data for the care app: a site with machines, participants, prescriptions and one user
per role. Used by ``manage.py seed_care_demo`` and the browser tests (tests/web). Idempotent:
running it again keeps what exists and resets the demo users' passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from fleet.models import Alert, Event, LaneStock, Machine, Participant, Prescription, Site

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
    _seed_fleet(site, other)
    return Seeded(site=site, other_site=other, users=users)


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


def _seed_fleet(*sites: Site) -> None:
    """Contact, lanes, alerts and a few of today's dispenses, once per machine (a machine that
    has events already is left as it is)."""
    now = timezone.now()
    for machine in Machine.objects.filter(site__in=sites).select_related("site"):
        plan = FLEET.get((machine.site.name, machine.name))
        if plan is None or Event.objects.filter(machine=machine).exists():
            continue
        minutes, version, lanes, alerts = plan
        for lane, stock, state in lanes:
            LaneStock.objects.update_or_create(
                machine=machine, lane=lane, defaults={"stock": stock, "state": state}
            )
        for kind, message in alerts:
            Alert.objects.create(machine=machine, kind=kind, message=message)
        events = _demo_events(machine, now)
        Event.objects.bulk_create([e.fill_keys() for e in events])
        machine.last_seq = len(events)
        machine.software_version = version
        machine.last_contact = None if minutes is None else now - timedelta(minutes=minutes)
        machine.save()


def _demo_events(machine: Machine, now: Any) -> list[Event]:
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
