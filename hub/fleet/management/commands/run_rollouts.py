"""``manage.py run_rollouts [--once | --every SECONDS]``: the rollout engine
(fleet.rollouts.tick): pauses a campaign whose stage fails too often, moves one whose stage is
healthy and soaked to the next stage, publishes the machines' update offers. ``--every 60``
loops (deploy/kiosk-hub-rollouts.service). Safe on several hosts (one pass at a time)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fleet import rollouts
from fleet.periodic import run_every


class Command(BaseCommand):
    help = "Advance, pause and finish rollout campaigns; publish update offers."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--once", action="store_true", help="one pass, then exit (default)")
        group.add_argument("--every", type=float, metavar="SECONDS", help="loop, one pass each")

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        if every is None:
            self._pass()
            return
        run_every(every, self._pass, "rollouts", self.stderr)

    def _pass(self) -> None:
        s = rollouts.tick()
        if s.advanced or s.paused or s.done or s.offers or s.tombstones:
            self.stdout.write(
                f"advanced {s.advanced} paused {s.paused} done {s.done}"
                f" offers {s.offers} tombstones {s.tombstones}"
            )
            self.stdout.flush()
