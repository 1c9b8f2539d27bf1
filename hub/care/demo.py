"""Demo data for the care app: a site with machines, participants, prescriptions and one user
per role. Used by ``manage.py seed_care_demo`` and the browser tests (tests/web). Idempotent:
running it again keeps what exists and resets the demo users' passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from fleet.models import Machine, Participant, Prescription, Site

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
