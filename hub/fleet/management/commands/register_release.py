"""``manage.py register_release --version X [--notes TEXT]``: record a release whose signed
targets are already in UPDATES_REPOSITORY (copied there, or published by tools/release.py on
another host), so campaigns can roll it out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet import releases


class Command(BaseCommand):
    help = "Register a release already in the update repository."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # --version names the release here (docs/UPDATES.md), not Django's version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--version", required=True, dest="release_version")
        parser.add_argument("--notes", default="", help="what changed, for staff")
        parser.add_argument("--repository", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        repo = options["repository"] or Path(settings.UPDATES_REPOSITORY)
        try:
            found = releases.find(repo, options["release_version"])
            release = releases.register(
                options["release_version"], repo, notes=options["notes"], found=found
            )
        except releases.ReleaseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"release {release.version}: {releases.describe(found)}")
