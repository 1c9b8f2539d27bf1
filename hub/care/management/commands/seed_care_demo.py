"""``manage.py seed_care_demo [--password P]``: demo data for the care app (care/demo.py).

A site with two machines, participants with prescriptions, a second site, and one user per
role (prescriber, pharmacist, nurse, manager, viewer). Without --password a random one is
made and printed once. Never on a production hub: it refuses with DEBUG off unless --force.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from care import demo, demo_updates


class Command(BaseCommand):
    help = "Create a demo site, machines, participants, prescriptions and one user per role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="the demo users' password (default: random)")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("demo accounts on a hub with DEBUG off: add --force if you mean it")
        password = options["password"] or secrets.token_urlsafe(12)
        seeded = demo.seed(password)
        demo.seed_reports(seeded)
        demo.seed_fleet(seeded)
        demo.seed_queues(seeded)
        demo_updates.seed_updates(seeded)
        self.stdout.write(f"site {seeded.site.name!r} and {seeded.other_site.name!r}")
        for username, (role, site_name, *_) in demo.USERS.items():
            where = site_name or "every site"
            self.stdout.write(f"  {username:<12} {role.label} at {where}")
        if not options["password"]:
            self.stdout.write(f"password of every demo user (shown once): {password}")
