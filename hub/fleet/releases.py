"""Releases the hub knows (docs/UPDATES.md, "Rollouts on the hub"): a version whose signed
targets are in the TUF repository at ``settings.UPDATES_REPOSITORY`` (tools/release.py writes
it). ``register`` records one already there; ``manage.py publish_release`` first builds and
signs it with tools/release.py. Versions are PEP 440 and only go up."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from packaging.version import InvalidVersion, Version

from fleet.models import Release


class ReleaseError(Exception):
    """A release that cannot be registered; the message says why, for the person."""


@dataclass(frozen=True)
class InRepository:
    bundle_bytes: int
    file_count: int
    manifest: str


def parse_version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ReleaseError(f"{text!r} is not a release version (PEP 440, e.g. 0.2.0)") from None


def _newest_targets_metadata(repo: Path) -> Path | None:
    """targets.json, or with consistent snapshots the highest N.targets.json."""
    metadata = repo / "metadata"
    plain = metadata / "targets.json"
    if plain.is_file():
        return plain
    numbered = [
        (int(p.name.split(".", 1)[0]), p)
        for p in metadata.glob("*.targets.json")
        if p.name.split(".", 1)[0].isdigit()
    ]
    return max(numbered)[1] if numbered else None


def _names_version(name: str, version: str) -> bool:
    """Does a target's path name this version as a whole token (0.2.0 is not 0.2.01)?"""
    pattern = r"(?<![0-9A-Za-z.])" + re.escape(version) + r"(?![0-9A-Za-z]|\.[0-9])"
    return re.search(pattern, name) is not None


def find(repo: Path, version: str) -> InRepository:
    """The version's targets in the repository: from the signed targets metadata when there
    is one, else the files under targets/ (a repository being assembled)."""
    targets: dict[str, int] = {}
    metadata = _newest_targets_metadata(repo)
    if metadata is not None:
        try:
            document: Any = json.loads(metadata.read_text(encoding="utf-8"))
            listed = document["signed"]["targets"]
            targets = {name: int(info.get("length", 0)) for name, info in listed.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise ReleaseError(f"{metadata.name}: not TUF targets metadata") from None
    elif (repo / "targets").is_dir():
        root = repo / "targets"
        targets = {
            str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()
        }
    mine = {name: size for name, size in targets.items() if _names_version(name, version)}
    if not mine:
        raise ReleaseError(
            f"release {version} has no targets in {repo}: publish it first"
            " (manage.py publish_release <onedir> --version X)"
        )
    manifests = sorted(name for name in mine if "manifest" in name)
    return InRepository(sum(mine.values()), len(mine), (manifests or sorted(mine))[0])


def register(
    version: str, repo: Path, user: Any = None, notes: str = "", found: InRepository | None = None
) -> Release:
    """Record a release whose targets are in ``repo``; refused unless newer than every one."""
    parsed = parse_version(version)
    with transaction.atomic():
        known = list(Release.objects.select_for_update().values_list("version", flat=True))
        newest = max((_parsed(v) for v in known), default=None)
        if newest is not None and parsed <= newest:
            raise ReleaseError(f"release {version} is not newer than {newest}: versions only go up")
        found = found or find(repo, version)
        return Release.objects.create(
            version=version,
            published_at=timezone.now(),
            published_by=user,
            notes=notes,
            bundle_bytes=found.bundle_bytes,
            file_count=found.file_count,
            manifest=found.manifest[:255],
        )


def _parsed(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        return Version("0")
