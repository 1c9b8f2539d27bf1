"""``manage.py run_rollouts [--once | --every SECONDS]``: the rollout engine
(fleet.rollouts.tick): pauses a campaign whose stage fails too often, moves one whose stage is
healthy and soaked to the next stage, publishes the machines' update offers. ``--every 60``
loops (deploy/kiosk-hub-rollouts.service). Safe on several hosts (one pass at a time)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from fleet import rollouts


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
        if every <= 0:
            raise CommandError("--every needs a positive number of seconds")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.is_set():
            close_old_connections()
            try:
                self._pass()
            except Exception as exc:  # a database restart must not end the service
                self.stderr.write(f"rollouts: pass failed: {type(exc).__name__}")
            stop.wait(every)

    def _pass(self) -> None:
        s = rollouts.tick()
        if s.advanced or s.paused or s.done or s.offers or s.tombstones:
            self.stdout.write(
                f"advanced {s.advanced} paused {s.paused} done {s.done}"
                f" offers {s.offers} tombstones {s.tombstones}"
            )
            self.stdout.flush()
