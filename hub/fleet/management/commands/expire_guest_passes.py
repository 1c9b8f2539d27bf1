"""End the guest passes whose day is over at both sites (run it hourly, like trim_changelog):
the guest machine's day-only prescriptions end, the home machine's block is lifted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from fleet import moves


class Command(BaseCommand):
    help = "End the guest passes whose day is over (docs/SYNC.md, guest passes)."

    def handle(self, *args: Any, **options: Any) -> None:
        ended = moves.expire_passes()
        self.stdout.write(f"{ended} guest pass(es) ended")
