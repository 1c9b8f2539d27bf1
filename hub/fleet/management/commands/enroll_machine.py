"""``manage.py enroll_machine --site NAME --machine NAME``: a one-time provisioning code.

Creates the site and the machine when they do not exist yet, and prints the code on the last
line of stdout (the kiosk sends it once to POST /v1/provision). The machine's older unused
codes stop working (EnrollmentCode.issue).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from fleet.models import EnrollmentCode, Machine, Site


class Command(BaseCommand):
    help = "Create (if needed) a site and a machine and print a one-time enrollment code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", required=True, help="site name (created if new)")
        parser.add_argument("--machine", required=True, help="machine name (created if new)")
        parser.add_argument("--timezone", default=None, help="IANA zone of a new site")

    def handle(self, *args: Any, **options: Any) -> None:
        site_name = options["site"].strip()
        machine_name = options["machine"].strip()
        if not site_name or not machine_name:
            raise CommandError("--site and --machine must not be empty")
        with transaction.atomic():
            site = Site.objects.filter(name=site_name).first()
            if site is None:
                site = Site(name=site_name)
                if options["timezone"]:
                    site.timezone = options["timezone"]
                site.full_clean()
                site.save()
                self.stderr.write(f"created site {site_name!r}")
            machine, created = Machine.objects.get_or_create(site=site, name=machine_name)
            if created:
                self.stderr.write(f"created machine {machine_name!r} ({machine.device_id})")
            if machine.revoked:
                raise CommandError(f"machine {machine_name!r} is revoked")
            row, code = EnrollmentCode.issue(machine)
        if machine.provisioned:
            self.stderr.write(
                f"machine {machine_name!r} is provisioned: this code replaces its credentials"
                " (the running kiosk stops syncing when the code is used); older unused codes"
                " are revoked"
            )
        self.stderr.write(f"one-time code, valid until {row.expires_at:%Y-%m-%d %H:%M} UTC:")
        self.stdout.write(code)
