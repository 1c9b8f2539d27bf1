"""Software updates end to end (docs/UPDATES.md): two real releases built and signed here,
served by the real hub (PostgreSQL), installed by the real launcher (deploy/kiosk-launcher)
running each release's own ``kiosk update``.

v1 → v2 switches and the hub hears v2; a v3 whose self-test fails is rolled back to v2 by the
launcher alone, and v2 reports ``rolled_back``.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from kiosk.services.clock import SystemClock
from kiosk.services.sync import provision
from kiosk.services.updates.fetch import HubFetcher
from tests.sync.test_live_hub import Hub
from tests.updates.live import enroll_kiosk, hub_update_states, hub_version, kiosk_events, launch
from tests.updates.releases import build_bundle
from tools.release import init, publish_release

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def offer(hub: Hub, device_id: str, version: str, campaign: int) -> None:
    """The pull change h16hub's campaigns write (docs/SYNC.md), written here directly."""
    hub.shell(
        "from django.db import transaction\n"
        "from fleet import changelog\n"
        "from fleet.models import Machine, SyncEntry\n"
        f"m = Machine.objects.get(device_id={device_id!r})\n"
        "with transaction.atomic():\n"
        "    changelog.publish([('upsert', SyncEntry('update_offer', 'current',"
        f" {{'version': {version!r}, 'campaign_id': {campaign}}}, m.site_id, m.pk))])\n"
    )


def test_v1_to_v2_then_a_broken_v3_rolls_back_by_itself(hub: Hub, tmp_path: Path) -> None:
    repo = Path(hub.env["HUB_UPDATES_REPOSITORY"])
    keys = tmp_path / "keys"
    init(repo, keys)
    for version, unhealthy in (("0.1.0", False), ("0.2.0", False)):
        publish_release(build_bundle(tmp_path, version, unhealthy=unhealthy), version, repo, keys)

    kiosk = enroll_kiosk(hub, tmp_path, "0.1.0")
    layout, config, config_path = kiosk.layout, kiosk.config, kiosk.config_path
    releases = layout.root

    # v1 starts, is healthy, syncs: nothing offered yet.
    result = launch(releases, config_path)
    assert result.returncode == 0, result.stderr
    assert hub_version(hub, kiosk.device_id) == "0.1.0"

    # The hub offers v2: v1 fetches only what changed, switches, v2 starts and is healthy.
    offer(hub, kiosk.device_id, "0.2.0", 7)
    result = launch(releases, config_path)
    assert result.returncode == 0, result.stderr
    assert layout.current_version() == "0.2.0" and layout.previous_version() == "0.1.0"
    assert layout.pending() is None
    assert hub_version(hub, kiosk.device_id) == "0.2.0"
    states = [(e["running"], e["state"], e["target"]) for e in kiosk_events(config)]
    assert states == [
        ("0.1.0", "running", None),
        ("0.1.0", "running", None),
        ("0.1.0", "downloading", "0.2.0"),
        ("0.1.0", "downloaded", "0.2.0"),
        ("0.1.0", "staged", "0.2.0"),
        ("0.1.0", "switched", "0.2.0"),
        ("0.2.0", "running", None),
        ("0.2.0", "healthy", "0.2.0"),
    ]
    downloaded = next(e for e in kiosk_events(config) if e["state"] == "downloaded")
    assert "kept" in downloaded["detail"]
    assert 0 < downloaded["bytes"] < 10 * 1024 * 1024  # only our changed code went over
    # The Qt stand-in was linked from v1, not sent again.
    assert (releases / "0.2.0" / "_internal" / "libQt6Standin.so").stat().st_nlink == 2
    assert list((releases / "backups").glob("kiosk-0.1.0-*.db"))

    # A v3 whose self-test fails: the launcher goes back to v2 by itself.
    publish_release(build_bundle(tmp_path, "0.3.0", unhealthy=True), "0.3.0", repo, keys)
    offer(hub, kiosk.device_id, "0.3.0", 8)
    result = launch(releases, config_path)
    assert result.returncode == 0, result.stderr
    assert "not healthy" in result.stderr and "back to 0.2.0" in result.stderr
    assert layout.current_version() == "0.2.0" and layout.rollback_record() is None
    rolled = [e for e in kiosk_events(config) if e["state"] == "rolled_back"]
    assert rolled == [
        {
            "running": "0.2.0",
            "target": "0.3.0",
            "state": "rolled_back",
            "campaign_id": 8,
            "detail": "the launcher went back to 0.2.0 (failed_2_starts)",
            "bytes": None,
        }
    ]
    assert hub_version(hub, kiosk.device_id) == "0.2.0"
    # The hub holds the whole story: two switches, one healthy, one rolled back.
    on_hub = hub_update_states(hub, kiosk.device_id)
    assert on_hub.count("switched") == 2 and on_hub.count("healthy") == 1
    assert on_hub[-1] == "rolled_back"


def test_the_fetcher_resumes_a_cut_download_and_keeps_to_its_cap(hub: Hub, tmp_path: Path) -> None:
    """Over the real hub: a partial download is resumed with Range (only the rest crosses the
    link), and a capped download takes at least size / cap."""
    repo = Path(hub.env["HUB_UPDATES_REPOSITORY"])
    blob = bytes(range(256)) * 1024  # 256 KiB
    (repo / "targets" / "bench").mkdir(parents=True, exist_ok=True)
    (repo / "targets" / "bench" / "blob").write_bytes(blob)
    code = hub.manage("enroll_machine", "--site", "Updates", "--machine", "kiosk-fetch")
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), tmp_path / "data")
    url = f"{hub.url}/v1/updates/targets/bench/blob"
    clock = SystemClock()
    partial = tmp_path / "partial"
    with httpx.Client(timeout=20) as http:
        cut = HubFetcher(http, credentials, clock.now, partial)
        stream = cut.fetch(url)
        first = next(stream)  # the link drops after the first block
        stream.close()
        assert len(first) < len(blob) and len(list(partial.iterdir())) == 1

        resumed = HubFetcher(http, credentials, clock.now, partial)
        assert b"".join(resumed.fetch(url)) == blob
        assert resumed.received == len(blob) - len(first)
        assert list(partial.iterdir()) == []  # whole: nothing kept

        capped = HubFetcher(http, credentials, clock.now, partial, kib_per_second=512)
        started = time.monotonic()
        assert b"".join(capped.fetch(url)) == blob
        assert time.monotonic() - started >= 0.45  # 256 KiB at 512 KiB/s
