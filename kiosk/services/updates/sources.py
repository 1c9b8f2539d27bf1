"""Where a release comes from: the hub (signed session) or a folder (USB stick)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from tuf.api import exceptions as tuf_errors

# python-tuf's documented home of Targets; it re-exports it without an __all__ mypy reads.
from tuf.api.metadata import Metadata, Targets  # type: ignore[attr-defined]
from tuf.ngclient.updater import Updater

from kiosk.domain.update_plan import is_upgrade, version_key
from kiosk.services.clock import Clock
from kiosk.services.sync.client import DEFAULT_TIMEOUT, check_url
from kiosk.services.sync.credentials import credentials_path, load_credentials
from kiosk.services.updates.fetch import USB_SCHEME, FolderFetcher, HubFetcher
from kiosk.services.updates.install import MANIFEST_PREFIX, as_refusal, updater
from kiosk.services.updates.layout import ReleaseLayout


def hub_updater_factory(
    layout: ReleaseLayout,
    hub_url: str,
    data_dir: Path,
    clock: Clock,
    kib_per_second: int,
    transport: httpx.BaseTransport | None = None,
) -> tuple[Callable[[], Updater], list[HubFetcher]]:
    """A factory of updaters over the hub, and the fetchers it made (their byte counts)."""
    made: list[HubFetcher] = []
    # One HTTP client for the factory's life (the sync thread's): connections are reused.
    http = httpx.Client(timeout=DEFAULT_TIMEOUT, transport=transport, follow_redirects=False)

    def make() -> Updater:
        credentials = load_credentials(credentials_path(data_dir))
        fetcher = HubFetcher(http, credentials, clock.now, layout.partial, kib_per_second)
        made.append(fetcher)
        return updater(layout, f"{check_url(hub_url)}/v1/updates", fetcher)

    return make, made


def folder_updater(layout: ReleaseLayout, folder: Path) -> Updater:
    """An updater over a repository copy in ``folder`` (metadata/ and targets/)."""
    return updater(layout, f"{USB_SCHEME}://", FolderFetcher(folder))


def newest_release(layout: ReleaseLayout, client: Updater, running: str) -> str | None:
    """Refreshes ``client`` (verifying the metadata), then the newest release it lists newer
    than ``running``, or None. (The updater writes only verified metadata into ``tuf/``.)"""
    try:
        client.refresh()
        targets = Metadata[Targets].from_file(str(layout.tuf_dir / "targets.json")).signed
    except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError) as exc:
        raise as_refusal(exc) from exc
    versions = []
    for name in targets.targets:
        if name.startswith(MANIFEST_PREFIX) and name.endswith(".json"):
            version = name[len(MANIFEST_PREFIX) : -len(".json")]
            if is_upgrade(version, running):
                versions.append(version)
    return max(versions, key=version_key) if versions else None
