"""``manage.py run_escalations [--once | --every SECONDS]``: the on-call engine
(fleet.oncall.escalate): heartbeats, escalation steps, deliveries and their retries. ``--once``
runs one pass (the housekeeping timer, a cron); ``--every 30`` loops (the
kiosk-hub-escalations service). Safe on several hosts at once (docs/ON-CALL.md).

``--once --at 2026-06-11T03:11:00+00:00`` runs the pass as if it were that moment (the
end-to-end tests' compressed clock): refused unless ``HUB_ALLOW_CLOCK_OVERRIDE=1``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet import oncall
from fleet.periodic import run_every


class Command(BaseCommand):
    help = "Escalate alerts, send and retry on-call messages, watch machines' heartbeats."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--once", action="store_true", help="one pass, then exit (default)")
        group.add_argument("--every", type=float, metavar="SECONDS", help="loop, one pass each")
        parser.add_argument(
            "--at",
            metavar="ISO-TIME",
            help="with --once: the pass's moment (needs HUB_ALLOW_CLOCK_OVERRIDE=1; tests, drills)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        at = self._moment(options["at"])
        if at is not None and every is not None:
            raise CommandError("--at runs one pass: it cannot be used with --every")
        if every is None:
            self._pass(at)
            return
        run_every(every, self._pass, "escalations", self.stderr)

    def _moment(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        if not settings.HUB_ALLOW_CLOCK_OVERRIDE:
            raise CommandError("--at needs HUB_ALLOW_CLOCK_OVERRIDE=1 (tests and drills only)")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise CommandError("--at needs an ISO 8601 time with its offset") from None
        if moment.tzinfo is None:
            raise CommandError("--at needs an ISO 8601 time with its offset")
        return moment

    def _pass(self, at: datetime | None = None) -> None:
        summary = oncall.escalate(at)
        if summary.steps or summary.sent or summary.failed or summary.offline or summary.back:
            self.stdout.write(
                f"steps {summary.steps} sent {summary.sent} failed {summary.failed}"
                f" offline {summary.offline} back {summary.back}",
            )
            self.stdout.flush()
