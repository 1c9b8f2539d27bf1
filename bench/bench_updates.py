"""`make bench` (updates part, docs/UPDATES.md): figures, no pass/fail.

- full bundle size: of dist/kiosk (``make package``) when present, and the bytes of a
  code-only release of it (the same sources rebuilt at another version, ~1 min), else said so
  (and the size of the bench's own onedir-like bundle);
- bytes transferred for a release that changes only our code: signed by tools/release.py,
  served by the real hub (runserver on PostgreSQL), fetched by the kiosk's signed fetcher
  (goal < 10 MB);
- download-to-idle: from the running release's `kiosk update` to the new release healthy, run
  by deploy/kiosk-launcher;
- switch downtime: from `switched` recorded to the new release's `running`;
- rollback time: a release whose self-test fails, from `switched` to `rolled_back`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from kiosk.services.clock import SystemClock
from kiosk.services.config import Config, write_config
from kiosk.services.sync import provision
from kiosk.services.updates import ReleaseLayout
from kiosk.services.updates.install import stage
from kiosk.services.updates.sources import hub_updater_factory
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file
from tests.package.frozen import build_frozen
from tests.sync.test_live_hub import Hub, psql
from tests.updates.releases import ROOT, build_bundle, install_first
from tools.release import init, publish_release

DIST = ROOT / "dist" / "kiosk"
LAUNCHER = ROOT / "deploy" / "kiosk-launcher"
MB = 1024 * 1024


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def offer(hub: Hub, device_id: str, version: str) -> None:
    hub.shell(
        "from django.db import transaction\n"
        "from fleet import changelog\n"
        "from fleet.models import Machine, SyncEntry\n"
        f"m = Machine.objects.get(device_id={device_id!r})\n"
        "with transaction.atomic():\n"
        "    changelog.publish([('upsert', SyncEntry('update_offer', 'current',"
        f" {{'version': {version!r}, 'campaign_id': 1}}, m.site_id, m.pk))])\n"
    )


def launch(releases: Path, config: Path) -> float:
    env = {**os.environ, "KIOSK_RELEASES": str(releases)}
    env.pop("PYTHONPATH", None)
    started = time.monotonic()
    subprocess.run(
        [str(LAUNCHER), "update", "--config", str(config)],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    return time.monotonic() - started


def event_times(config: Config) -> list[tuple[str, str, datetime]]:
    conn = connect(config.database_path, read_key_file(config.data_dir / "db.key"), migrate=False)
    try:
        rows = conn.execute(
            "SELECT payload, created_at FROM outbox WHERE type = 'update.state' ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    out = []
    for payload, at in rows:
        event = json.loads(payload)
        out.append((event["state"], event["running"], datetime.fromisoformat(at)))
    return out


def between(events: list[tuple[str, str, datetime]], first: str, then: str) -> float:
    start = max(at for state, _r, at in events if state == first)
    end = min(at for state, _r, at in events if state == then and at >= start)
    return (end - start).total_seconds()


def frozen_code_only_release() -> None:
    """dist/kiosk as 0.1.0 and a PyInstaller build of the same sources at 0.2.0 (a release
    that changes only our code), signed into a repository: what a kiosk on 0.1.0 fetches is
    the content 0.1.0 lacks (plus a few KB of TUF metadata)."""
    work = Path(tempfile.mkdtemp(prefix="bench-frozen-"))
    try:
        started = time.monotonic()
        rebuilt = build_frozen(work, "0.2.0")
        built = time.monotonic() - started
        repo, keys = work / "updates", work / "keys"
        init(repo, keys)
        first = publish_release(DIST, "0.1.0", repo, keys)
        second = publish_release(rebuilt, "0.2.0", repo, keys)
        print(
            f"full bundle (dist/kiosk): {first.bundle_bytes / MB:.1f} MB in {first.file_count}"
            f" files (+ symlinks)"
        )
        print(
            f"frozen code-only release (dist/kiosk -> the same sources at 0.2.0, built in"
            f" {built:.0f} s): {second.new_bytes} bytes of new content to fetch"
            f" (goal < 10 MB)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    print("== software updates (bench_updates) ==")
    if DIST.is_dir():
        frozen_code_only_release()
    else:
        print("full bundle: dist/kiosk is not built (run `make package`); sizes below are of")
        print("  the bench's onedir-like bundle (our packages + a 3 MB stand-in for Qt)")
    database = f"kiosk_bench_upd_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {database}")
    work = Path(tempfile.mkdtemp(prefix="bench-updates-"))
    hub = Hub(database, work)
    repo, keys = work / "updates", work / "keys"
    hub.env["HUB_UPDATES_REPOSITORY"] = str(repo)
    try:
        hub.manage("migrate", "--noinput")
        hub.start()
        init(repo, keys)
        v1 = build_bundle(work, "0.1.0")
        print(f"bench bundle: {folder_bytes(v1) / MB:.1f} MB")
        publish_release(v1, "0.1.0", repo, keys)
        info = publish_release(build_bundle(work, "0.2.0"), "0.2.0", repo, keys)
        code = hub.manage("enroll_machine", "--site", "Bench", "--machine", "kiosk-b1")
        data = work / "data"
        credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), data)
        releases = work / "releases"
        layout = ReleaseLayout(releases)
        install_first(layout, repo, "0.1.0")

        # Bytes over the wire for the code-only release (its own copy of the layout).
        probe = ReleaseLayout(work / "probe")
        install_first(probe, repo, "0.1.0")
        make, fetchers = hub_updater_factory(probe, hub.url, data, SystemClock(), 0)
        started = time.monotonic()
        staged = stage(make(), "0.2.0", probe, probe.folder("0.1.0"))
        seconds = time.monotonic() - started
        print(
            f"code-only release 0.2.0: {fetchers[0].received / 1024:.0f} KiB transferred "
            f"({staged.downloaded_files} files fetched, {staged.reused_files} reused; "
            f"new content in the repository {info.new_bytes} bytes) in {seconds:.2f} s"
        )

        config = Config(
            site_name="Bench",
            data_dir=data,
            hub_url=hub.url,
            releases_dir=releases,
            update_health_seconds=60,
            update_max_starts=1,
        )
        config_path = work / "kiosk.toml"
        write_config(config, config_path)
        launch(releases, config_path)  # v1 reports, syncs (snapshot)
        offer(hub, credentials.device_id, "0.2.0")
        total = launch(releases, config_path)
        events = event_times(config)
        print(f"download-to-idle (offer seen → 0.2.0 healthy, via the launcher): {total:.2f} s")
        downtime = between(events, "switched", "running")
        print(f"switch downtime (switched → 0.2.0 running): {downtime:.2f} s")

        publish_release(build_bundle(work, "0.3.0", unhealthy=True), "0.3.0", repo, keys)
        offer(hub, credentials.device_id, "0.3.0")
        launch(releases, config_path)
        events = event_times(config)
        print(
            "rollback (switched to a failing 0.3.0 → 0.2.0 reports rolled_back): "
            f"{between(events, 'switched', 'rolled_back'):.2f} s"
        )
    finally:
        hub.stop()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
