"""What the live update tests share: a hub on PostgreSQL serving an update repository, a
kiosk enrolled with it whose first release is installed, and the real launcher
(deploy/kiosk-launcher) running that kiosk's ``kiosk update``."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.services.config import Config, write_config
from kiosk.services.sync import provision
from kiosk.services.updates import ReleaseLayout
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file
from tests.sync.test_live_hub import Hub, psql
from tests.updates.releases import ROOT, build_bundle, install_first

LAUNCHER = ROOT / "deploy" / "kiosk-launcher"


@contextmanager
def updates_hub(workdir: Path) -> Iterator[Hub]:
    """A hub on its own database, serving the update repository ``workdir/updates``."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = f"kiosk_updates_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {database}")
    server = Hub(database, workdir)
    server.env["HUB_UPDATES_REPOSITORY"] = str(workdir / "updates")
    server.env["HUB_UPDATES_KEYS"] = str(workdir / "update-keys")
    try:
        server.manage("migrate", "--noinput")
        server.start()
        yield server
    finally:
        server.stop()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@dataclass(frozen=True)
class LiveKiosk:
    device_id: str
    config: Config
    config_path: Path
    layout: ReleaseLayout


def enroll_kiosk(
    hub: Hub, where: Path, first: str, *, site: str = "Updates", machine: str = "kiosk-u1"
) -> LiveKiosk:
    """A kiosk enrolled with ``hub`` whose releases folder holds ``first`` as current."""
    code = hub.manage("enroll_machine", "--site", site, "--machine", machine)
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), where / "data")
    layout = ReleaseLayout(where / "releases")
    install_first(layout, Path(hub.env["HUB_UPDATES_REPOSITORY"]), first)
    config = Config(
        site_name=site,
        data_dir=where / "data",
        hub_url=hub.url,
        releases_dir=layout.root,
        update_health_seconds=60,
        update_max_starts=2,
    )
    write_config(config, where / "kiosk.toml")
    return LiveKiosk(credentials.device_id, config, where / "kiosk.toml", layout)


def launch(
    releases: Path, config: Path, timeout: float = 60, entry: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The launcher running ``<current>/kiosk update`` until the kiosk is done (exit 0)."""
    env = {**os.environ, "KIOSK_RELEASES": str(releases)}
    env.pop("PYTHONPATH", None)
    if entry is not None:
        env["KIOSK_ENTRY"] = entry
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


def publish(hub: Hub, where: Path, version: str, *, unhealthy: bool = False) -> str:
    """A test release (tests/updates/releases.py) signed into the hub's repository with
    ``manage.py publish_release``; its output (sizes)."""
    return publish_bundle(hub, build_bundle(where, version, unhealthy=unhealthy), version)


def publish_bundle(hub: Hub, bundle: Path, version: str) -> str:
    return hub.manage("publish_release", str(bundle), "--version", version).strip()


def start_campaign(hub: Hub, device_id: str, version: str) -> int:
    """A campaign of ``version`` for the kiosk's site: the kiosk as the pilot, then 100 %,
    no soak, paused by the first failure; started as the care page starts one."""
    return int(
        hub.shell(
            "from fleet import campaign_actions\n"
            "from fleet.models import Campaign, Machine, Release\n"
            f"m = Machine.objects.get(device_id={device_id!r})\n"
            "c = Campaign.objects.create(\n"
            f"    release=Release.objects.get(version={version!r}),\n"
            "    percents=[100], soak_minutes=0, failure_count=1)\n"
            "c.sites.set([m.site])\n"
            "c.pilot_machines.set([m])\n"
            "campaign_actions.act(c.pk, 'start', None)\n"
            "print(c.pk)\n"
        ).splitlines()[-1]
    )


def kiosk_events(config: Config) -> list[dict[str, Any]]:
    """The ``update.state`` events in the kiosk's outbox, oldest first."""
    key = read_key_file(config.data_dir / "db.key")
    conn = connect(config.database_path, key, migrate=False)
    try:
        rows = conn.execute(
            "SELECT payload FROM outbox WHERE type = 'update.state' ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(row[0]) for row in rows]


def _kiosk_row(config: Config, sql: str, *args: object) -> tuple[Any, ...] | None:
    key = read_key_file(config.data_dir / "db.key")
    conn = connect(config.database_path, key, migrate=False)
    try:
        row = conn.execute(sql, args).fetchone()
    finally:
        conn.close()
    return None if row is None else tuple(row)


def kiosk_offer(config: Config) -> tuple[str, int | None] | None:
    """The update offer the kiosk holds from the hub (None: none, or tombstoned)."""
    row = _kiosk_row(config, "SELECT version, campaign_id FROM update_offer")
    return None if row is None else (str(row[0]), row[1])


def kiosk_setting(config: Config, key: str) -> Any:
    """A site setting the kiosk pulled (None when it has none)."""
    row = _kiosk_row(config, "SELECT value FROM site_settings WHERE key = ?", key)
    return None if row is None else json.loads(row[0])


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
