"""Software updates end to end (docs/UPDATES.md): two real releases built and signed here,
served by the real hub (PostgreSQL), installed by the real launcher (deploy/kiosk-launcher)
running each release's own ``kiosk update``.

v1 → v2 switches and the hub hears v2; a v3 whose self-test fails is rolled back to v2 by the
launcher alone, and v2 reports ``rolled_back``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.services.clock import SystemClock
from kiosk.services.config import Config, write_config
from kiosk.services.sync import provision
from kiosk.services.updates import ReleaseLayout
from kiosk.services.updates.fetch import HubFetcher
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file
from tests.sync.test_live_hub import Hub, psql
from tests.updates.releases import ROOT, build_bundle, install_first
from tools.release import init, publish_release

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

LAUNCHER = ROOT / "deploy" / "kiosk-launcher"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    database = f"kiosk_updates_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {database}")
    workdir = tmp_path_factory.mktemp("hub")
    server = Hub(database, workdir)
    server.env["HUB_UPDATES_REPOSITORY"] = str(workdir / "updates")
    try:
        server.manage("migrate", "--noinput")
        server.start()
        yield server
    finally:
        server.stop()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


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


def hub_version(hub: Hub, device_id: str) -> str:
    return hub.shell(
        "from fleet.models import Machine\n"
        f"print(Machine.objects.get(device_id={device_id!r}).software_version)"
    ).splitlines()[-1]


def hub_update_states(hub: Hub, device_id: str) -> list[str]:
    """The ``update.state`` events the hub stored for a machine, oldest first."""
    database = hub.env["HUB_DATABASE_URL"].rsplit("/", 1)[1]
    rows = psql(
        "SELECT e.payload->>'state' FROM fleet_event e JOIN fleet_machine m"
        f" ON m.id = e.machine_id WHERE m.device_id = '{device_id}'"
        " AND e.type = 'update.state' ORDER BY e.seq",
        database,
    )
    return rows.split()


def launch(releases: Path, config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_RELEASES": str(releases)}
    env.pop("PYTHONPATH", None)
    try:
        return subprocess.run(
            [str(LAUNCHER), "update", "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stderr or b"")[-3000:]
        raise AssertionError(f"the launcher did not finish:\n{tail!r}") from None


def kiosk_events(config: Config) -> list[dict[str, Any]]:
    key = read_key_file(config.data_dir / "db.key")
    conn = connect(config.database_path, key, migrate=False)
    try:
        rows = conn.execute(
            "SELECT payload FROM outbox WHERE type = 'update.state' ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(row[0]) for row in rows]


def test_v1_to_v2_then_a_broken_v3_rolls_back_by_itself(hub: Hub, tmp_path: Path) -> None:
    repo = Path(hub.env["HUB_UPDATES_REPOSITORY"])
    keys = tmp_path / "keys"
    init(repo, keys)
    for version, unhealthy in (("0.1.0", False), ("0.2.0", False)):
        publish_release(build_bundle(tmp_path, version, unhealthy=unhealthy), version, repo, keys)

    code = hub.manage("enroll_machine", "--site", "Updates", "--machine", "kiosk-u1")
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), tmp_path / "data")
    releases = tmp_path / "releases"
    layout = ReleaseLayout(releases)
    install_first(layout, repo, "0.1.0")
    config = Config(
        site_name="Updates",
        data_dir=tmp_path / "data",
        hub_url=hub.url,
        releases_dir=releases,
        update_health_seconds=60,
        update_max_starts=2,
    )
    config_path = tmp_path / "kiosk.toml"
    write_config(config, config_path)

    # v1 starts, is healthy, syncs: nothing offered yet.
    result = launch(releases, config_path)
    assert result.returncode == 0, result.stderr
    assert hub_version(hub, credentials.device_id) == "0.1.0"

    # The hub offers v2: v1 fetches only what changed, switches, v2 starts and is healthy.
    offer(hub, credentials.device_id, "0.2.0", 7)
    result = launch(releases, config_path)
    assert result.returncode == 0, result.stderr
    assert layout.current_version() == "0.2.0" and layout.previous_version() == "0.1.0"
    assert layout.pending() is None
    assert hub_version(hub, credentials.device_id) == "0.2.0"
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
    offer(hub, credentials.device_id, "0.3.0", 8)
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
    assert hub_version(hub, credentials.device_id) == "0.2.0"
    # The hub holds the whole story: two switches, one healthy, one rolled back.
    on_hub = hub_update_states(hub, credentials.device_id)
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
