"""The releases folder the launcher runs from (docs/UPDATES.md, deploy/kiosk-launcher).

    <releases>/<version>/          one unpacked release each (the bundle, as signed)
    <releases>/current -> 0.2.0    what the launcher starts
    <releases>/previous -> 0.1.0   where it goes back to
    <releases>/pending             "<version> <health seconds> <max starts>" while a switched
                                   version has not yet reached healthy idle
    <releases>/pending-starts      one line per start of the pending version (the launcher's)
    <releases>/rolled-back         "<failed> <restored> <reason>", left by the launcher
    <releases>/tuf/                the kiosk's trusted TUF metadata (root.json first)
    <releases>/backups/            store copies made before each switch

Every change of a link is a new symlink renamed over the old one: atomic, so a power cut leaves
either the old or the new link, never none.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from kiosk.domain.update_plan import safe_version_text

KEEP_BACKUPS = 3
_VERSION_FOLDER = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class PendingSwitch:
    version: str
    health_seconds: int
    max_starts: int


@dataclass(frozen=True)
class RollbackRecord:
    failed: str
    restored: str
    reason: str


class ReleaseLayout:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def tuf_dir(self) -> Path:
        return self.root / "tuf"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def partial(self) -> Path:
        """Downloads in progress, kept across restarts so they resume."""
        return self.root / ".partial"

    def folder(self, version: str) -> Path:
        if not safe_version_text(version) or version in (".", ".."):
            raise ValueError("not a version")
        return self.root / version

    def current_version(self) -> str | None:
        return self._link("current")

    def previous_version(self) -> str | None:
        return self._link("previous")

    def _link(self, name: str) -> str | None:
        try:
            return os.readlink(self.root / name)
        except OSError:
            return None

    def _relink(self, name: str, version: str) -> None:
        temporary = self.root / f".{name}.new"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(version)
        os.replace(temporary, self.root / name)

    def switch(self, version: str, health_seconds: int, max_starts: int) -> None:
        """Make ``version`` current and the running one previous, pending health."""
        running = self.current_version()
        if not self.folder(version).is_dir():
            raise FileNotFoundError(f"release {version} is not unpacked")
        if running is not None:
            self._relink("previous", running)
        (self.root / "pending-starts").unlink(missing_ok=True)
        _write_atomic(self.root / "pending", f"{version} {health_seconds} {max_starts}\n")
        self._relink("current", version)

    def pending(self) -> PendingSwitch | None:
        try:
            version, seconds, starts = (self.root / "pending").read_text().split()
            return PendingSwitch(version, int(seconds), int(starts))
        except (OSError, ValueError):
            return None

    def mark_healthy(self) -> None:
        """The new version reached healthy idle: the launcher stops counting."""
        (self.root / "pending").unlink(missing_ok=True)
        (self.root / "pending-starts").unlink(missing_ok=True)

    def prune(self, keep_backups: int = KEEP_BACKUPS) -> list[str]:
        """Remove release folders other than current and previous, and all but the newest
        ``keep_backups`` store backups; the removed versions."""
        keep = {self.current_version(), self.previous_version()}
        removed = []
        for folder in self.root.iterdir():
            if (
                folder.is_dir()
                and not folder.is_symlink()
                and _VERSION_FOLDER.match(folder.name)
                and folder.name not in keep
            ):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        backups = sorted(self.backups.glob("kiosk-*.db"), key=lambda p: p.stat().st_mtime)
        for old in backups[: max(0, len(backups) - keep_backups)]:
            old.unlink(missing_ok=True)
        return removed

    def rollback_record(self) -> RollbackRecord | None:
        try:
            failed, restored, reason = (self.root / "rolled-back").read_text().split()[:3]
        except (OSError, ValueError):
            return None
        return RollbackRecord(failed, restored, reason)

    def forget_rollback(self) -> None:
        (self.root / "rolled-back").unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_text(text)
    os.replace(temporary, path)
