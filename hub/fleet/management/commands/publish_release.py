"""``manage.py publish_release <onedir> --version X``: sign a packaged build (``make package``)
into UPDATES_REPOSITORY with tools/release.py (python-tuf) and register it. tools/ is the
repository's, importable from its root; imported only here, so the hub runs without it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet import releases

REPO_ROOT = Path(settings.BASE_DIR).resolve().parent


def _publisher() -> Any:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        from tools.release import (  # type: ignore[import-not-found,unused-ignore]
            ReleaseError,
            publish_release,
        )
    except ImportError as exc:
        raise CommandError(
            f"the release tooling (tools/release.py) cannot be imported here ({exc}); sign the"
            " release where it is installed, copy the repository to UPDATES_REPOSITORY and run"
            " manage.py register_release --version X"
        ) from None
    return publish_release, ReleaseError


class Command(BaseCommand):
    help = "Sign a packaged build into the update repository and register the release."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # --version names the release here (docs/UPDATES.md), not Django's version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("onedir", type=Path, help="the packaged build (dist/kiosk)")
        parser.add_argument("--version", required=True, dest="release_version")
        parser.add_argument("--notes", default="")
        parser.add_argument("--keys", type=Path, default=None, help="the release signing keys")
        parser.add_argument("--expires-days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        version = options["release_version"]
        if not options["onedir"].is_dir():
            raise CommandError(f"{options['onedir']}: not a directory (the packaged build)")
        try:
            releases.parse_version(version)
        except releases.ReleaseError as exc:
            raise CommandError(str(exc)) from None
        publish, refused = _publisher()
        repo = Path(settings.UPDATES_REPOSITORY)
        keys = options["keys"] or Path(settings.UPDATES_KEYS)
        try:
            publish(options["onedir"], version, repo, keys, options["expires_days"])
        except refused as exc:
            raise CommandError(f"refused: {exc}") from None
        except OSError as exc:  # keys or repository missing or unreadable
            raise CommandError(f"cannot publish: {exc}") from None
        try:
            found = releases.find(repo, version)
            release = releases.register(version, repo, notes=options["notes"], found=found)
        except releases.ReleaseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"release {release.version} published and registered: {releases.describe(found)}"
        )
