"""Give every clinician allowed to approve remotely at a site their approval key, and send the
site's policy and the keys to its machines (care/approvals.py). Run once after roles are set
up, so that the keys reach the machines before a night without network needs them; rules and
memberships changed later republish by themselves."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from fleet.models import Site

from care import approvals


class Command(BaseCommand):
    help = "Publish each site's remote-approval policy and approver keys to its machines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", help="only this site (its name)")

    def handle(self, *args: Any, **options: Any) -> None:
        sites = Site.objects.all().order_by("pk")
        if options.get("site"):
            sites = sites.filter(name=options["site"])
        for site in sites:
            approvals.publish_site(site)
            self.stdout.write(f"published site {site.pk}")
