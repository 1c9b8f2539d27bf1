"""Releases the hub knows (docs/UPDATES.md, "Rollouts on the hub"): a version whose signed
manifest is in the TUF repository at ``settings.UPDATES_REPOSITORY``, as tools/release.py
writes it: one target per file content (``files/<sha256>``) and one manifest target per
release (``releases/<version>.json``, every file's path, hash and length). ``register``
records one already there; ``manage.py publish_release`` first signs it with tools/release.py.
Versions are X.Y.Z (what the kiosk accepts, kiosk.domain.update_plan) and only go up."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from packaging.version import Version

from fleet.models import Release

# tools/release.py's names (the hub does not import tools/: a hub may run without it).
MANIFEST_PREFIX = "releases/"
FILES_PREFIX = "files/"
# The kiosk compares X.Y.Z only (kiosk.domain.update_plan.version_key): one rule everywhere.
_RELEASE_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


class ReleaseError(Exception):
    """A release that cannot be registered; the message says why, for the person."""


@dataclass(frozen=True)
class InRepository:
    bundle_bytes: int  # the whole bundle: what a kiosk with nothing would fetch
    file_count: int
    manifest: str  # the manifest's target name, releases/<version>.json
    new_bytes: int | None = None  # file contents the previous release lacks (None: first)
    previous: str | None = None  # that previous release


def parse_version(text: str) -> Version:
    if not isinstance(text, str) or _RELEASE_VERSION.match(text) is None:
        raise ReleaseError(f"{text!r} is not a release version (X.Y.Z, e.g. 0.2.0)")
    return Version(text)


def manifest_name(version: str) -> str:
    return f"{MANIFEST_PREFIX}{version}.json"


def _newest_targets_metadata(repo: Path) -> Path | None:
    """targets.json, or with consistent snapshots the highest N.targets.json."""
    metadata = repo / "metadata"
    numbered = [
        (int(p.name.split(".", 1)[0]), p)
        for p in metadata.glob("*.targets.json")
        if p.name.split(".", 1)[0].isdigit()
    ]
    if numbered:
        return max(numbered)[1]
    plain = metadata / "targets.json"
    return plain if plain.is_file() else None


def _listed_targets(repo: Path) -> dict[str, Any]:
    metadata = _newest_targets_metadata(repo)
    if metadata is None:
        raise ReleaseError(f"{repo} holds no targets metadata: not an update repository")
    try:
        document: Any = json.loads(metadata.read_text(encoding="utf-8"))
        listed = document["signed"]["targets"]
        if not isinstance(listed, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise ReleaseError(f"{metadata.name}: not TUF targets metadata") from None
    return listed


def _manifest_files(repo: Path, name: str, info: Any) -> dict[str, dict[str, Any]]:
    """The files a manifest target lists, read from the repository and checked against the
    hash the signed metadata gives it (consistent snapshots: ``<sha256>.<version>.json``)."""
    try:
        digest = str(info["hashes"]["sha256"])
        directory, _, base = name.rpartition("/")
        content = (repo / "targets" / directory / f"{digest}.{base}").read_bytes()
    except (KeyError, TypeError):
        raise ReleaseError(f"{name}: its signed entry has no sha256") from None
    except OSError:
        raise ReleaseError(f"{name} is listed but its file is not in {repo}/targets") from None
    if hashlib.sha256(content).hexdigest() != digest:
        raise ReleaseError(f"{name} does not match its signed hash")
    try:
        files = json.loads(content)["files"]
        return {
            str(path): {"sha256": str(entry["sha256"]), "length": int(entry["length"])}
            for path, entry in files.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ReleaseError(f"{name}: not a release manifest") from None


def find(repo: Path, version: str) -> InRepository:
    """The release's manifest in the newest signed targets metadata: its bundle size and
    file count, and the bytes a kiosk on the release just before it would fetch."""
    parse_version(version)
    listed = _listed_targets(repo)
    name = manifest_name(version)
    if name not in listed:
        raise ReleaseError(
            f"release {version} has no manifest ({name}) in {repo}: publish it first"
            " (manage.py publish_release <onedir> --version X)"
        )
    files = _manifest_files(repo, name, listed[name])
    earlier = [
        Version(other)
        for other in (n[len(MANIFEST_PREFIX) : -len(".json")] for n in listed)
        if _RELEASE_VERSION.match(other) and Version(other) < Version(version)
    ]
    if not earlier:
        new_bytes, previous = None, None
    else:
        previous = str(max(earlier))
        before = _manifest_files(repo, manifest_name(previous), listed[manifest_name(previous)])
        held = {entry["sha256"] for entry in before.values()}
        fresh = {e["sha256"]: e["length"] for e in files.values() if e["sha256"] not in held}
        new_bytes = sum(fresh.values())
    return InRepository(
        sum(entry["length"] for entry in files.values()), len(files), name, new_bytes, previous
    )


def register(
    version: str, repo: Path, user: Any = None, notes: str = "", found: InRepository | None = None
) -> Release:
    """Record a release whose manifest is in ``repo``; refused unless newer than every one."""
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


def describe(found: InRepository) -> str:
    """One line for the commands: the full bundle and what the previous release lacks."""
    line = f"{found.file_count} files, {found.bundle_bytes} bytes ({found.manifest})"
    if found.previous is not None:
        line += f"; {found.new_bytes} bytes new since {found.previous}"
    return line


def _parsed(version: str) -> Version:
    try:
        return parse_version(version)
    except ReleaseError:
        return Version("0")
