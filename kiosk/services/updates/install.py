"""Download, verify and unpack a release next to the running one (docs/UPDATES.md).

TUF (python-tuf's ngclient) checks the metadata (signatures, expiry, versions that only go up)
and every target's length and hash. A file whose hash the running release already has is
hard-linked (or copied) from it instead of downloaded: a release that changes only our code
transfers only our code. The new folder appears under its version only once whole.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from tuf.api import exceptions as tuf_errors
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.updater import Updater

from kiosk.services.updates.layout import ReleaseLayout

MANIFEST_FILE = ".release-manifest.json"
MANIFEST_PREFIX = "releases/"
FILES_PREFIX = "files/"


class UpdateRefused(Exception):
    """Verification failed (tampered, expired, not signed, older than running). ``str()`` is
    the staff message; no personal data."""


class UpdateFailed(Exception):
    """The download or unpacking failed (network, disk); it will be tried again."""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    length: int
    executable: bool


@dataclass(frozen=True)
class Staged:
    version: str
    folder: Path
    downloaded_files: int
    reused_files: int
    downloaded_bytes: int = 0  # file contents fetched (the metadata aside)


def updater(layout: ReleaseLayout, base_url: str, fetcher: FetcherInterface) -> Updater:
    """TUF's updater over the kiosk's trusted metadata (``<releases>/tuf/root.json`` must be
    there: installed with the first release, never taken from the network)."""
    if not (layout.tuf_dir / "root.json").is_file():
        raise UpdateRefused("no trusted root is installed on this kiosk; updates are off")
    base = base_url.rstrip("/")
    download = layout.root / ".download"
    download.mkdir(parents=True, exist_ok=True)
    return Updater(
        metadata_dir=str(layout.tuf_dir),
        metadata_base_url=f"{base}/metadata/",
        target_base_url=f"{base}/targets/",
        target_dir=str(download),
        fetcher=fetcher,
        bootstrap=None,
    )


def as_refusal(error: Exception) -> UpdateRefused | UpdateFailed:
    if isinstance(error, tuf_errors.ExpiredMetadataError):
        return UpdateRefused("the release metadata has expired: refused")
    if isinstance(error, tuf_errors.BadVersionNumberError):
        return UpdateRefused("the release metadata is older than what this kiosk trusts: refused")
    if isinstance(error, tuf_errors.LengthOrHashMismatchError):
        return UpdateRefused("a release file does not match its signed hash (tampered): refused")
    if isinstance(error, tuf_errors.UnsignedMetadataError):
        return UpdateRefused("the release metadata is not signed by the trusted keys: refused")
    if isinstance(error, tuf_errors.RepositoryError):
        return UpdateRefused("the release repository is not trustworthy: refused")
    if isinstance(error, tuf_errors.DownloadError):
        return UpdateFailed("the release could not be downloaded; it will be tried again")
    return UpdateFailed("the release could not be installed; it will be tried again")


def stage(
    client: Updater,
    version: str,
    layout: ReleaseLayout,
    running: Path,
    progress: Callable[[int], None] = lambda _files: None,
    *,
    refreshed: bool = False,
) -> Staged:
    """Fetch and unpack ``version`` into ``<releases>/<version>/``. Raises UpdateRefused or
    UpdateFailed; leaves no half folder under the version's name. ``refreshed``: the caller
    already refreshed ``client`` (python-tuf allows one refresh per updater)."""
    try:
        if not refreshed:
            client.refresh()
        return _stage(client, version, layout, running, progress)
    except (UpdateRefused, UpdateFailed):
        raise
    except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError) as exc:
        raise as_refusal(exc) from exc


def _stage(
    client: Updater,
    version: str,
    layout: ReleaseLayout,
    running: Path,
    progress: Callable[[int], None],
) -> Staged:
    info = client.get_targetinfo(f"{MANIFEST_PREFIX}{version}.json")
    if info is None:
        raise UpdateRefused(f"release {version} is not in the signed repository: refused")
    manifest_path = client.download_target(info)
    wanted, links = _read_manifest(Path(manifest_path), version)
    have = _running_files(running)
    final = layout.folder(version)
    if final.is_dir():
        shutil.rmtree(final)  # an earlier attempt that was never switched to
    work = layout.root / f".{version}.unpacking"
    shutil.rmtree(work, ignore_errors=True)
    downloaded = reused = downloaded_bytes = 0
    for relative, entry in wanted.items():
        destination = work / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        local = have.get(entry.sha256)
        if local is not None and local.stat().st_size == entry.length:
            _link_or_copy(local, destination)
            reused += 1
        else:
            target = client.get_targetinfo(f"{FILES_PREFIX}{entry.sha256}")
            if target is None:
                raise UpdateRefused("the release names a file that is not signed: refused")
            client.download_target(target, str(destination))
            downloaded += 1
            downloaded_bytes += entry.length
        if entry.executable:
            destination.chmod(destination.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP)
        progress(downloaded + reused)
    for relative, points_to in links.items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(points_to, work / relative)
    (work / MANIFEST_FILE).write_text(
        json.dumps(
            {
                "version": version,
                "files": {
                    name: {"sha256": e.sha256, "length": e.length, "executable": e.executable}
                    for name, e in wanted.items()
                },
                "links": links,
            }
        )
    )
    os.replace(work, final)
    return Staged(version, final, downloaded, reused, downloaded_bytes)


def _read_manifest(path: Path, version: str) -> tuple[dict[str, FileEntry], dict[str, str]]:
    """The files (path → entry) and the symlinks (path → relative target) of a release."""
    try:
        document = json.loads(path.read_text())
        if document["version"] != version:
            raise UpdateRefused("the signed manifest is for another version: refused")
        files = cast(dict[str, dict[str, object]], document["files"])
        entries = {
            str(name): FileEntry(
                str(e["sha256"]), int(cast(int, e["length"])), bool(e["executable"])
            )
            for name, e in files.items()
        }
        links = {str(name): str(target) for name, target in document.get("links", {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UpdateRefused("the signed manifest cannot be read: refused") from exc
    for name in [*entries, *links]:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or not parts:
            raise UpdateRefused("the signed manifest names a path outside the release: refused")
    for name, target in links.items():
        if os.path.isabs(target) or not _inside(os.path.join(os.path.dirname(name), target)):
            raise UpdateRefused("the signed manifest links outside the release: refused")
    if set(entries) & set(links):
        raise UpdateRefused("the signed manifest cannot be read: refused")
    return entries, links


def _inside(relative: str) -> bool:
    """A relative path that stays inside the release folder once normalised."""
    if not relative or os.path.isabs(relative):
        return False
    normal = os.path.normpath(relative)
    return normal != ".." and not normal.startswith("../") and normal != "."


def _running_files(running: Path) -> dict[str, Path]:
    """sha256 → a file of the running release, from the manifest it was installed with (a
    release installed by hand has none: then everything is downloaded)."""
    try:
        document = json.loads((running / MANIFEST_FILE).read_text())
        files = cast(dict[str, dict[str, object]], document["files"])
        return {str(e["sha256"]): running / name for name, e in files.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
