"""``manage.py trim_changelog [--days N]``: drop change-log rows older than the retention
(settings.HUB_CHANGELOG_RETAIN days). Kiosks whose cursor is older get a snapshot. Run daily."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fleet import changelog


class Command(BaseCommand):
    help = "Delete change-log rows older than HUB_CHANGELOG_RETAIN days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        through = changelog.trim(days=options["days"])
        self.stdout.write(f"change log trimmed through seq {through}")
