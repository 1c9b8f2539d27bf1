"""The frozen variant of the update test (``make package-test``, not the default suite: two
PyInstaller builds take a few minutes on 2 cores). Two real onedir builds of the kiosk that
differ only in our code (the version in kiosk/__init__.py), published with ``manage.py
publish_release`` into a live hub's repository; the frozen v1 under the real launcher updates
itself to the frozen v2 through a campaign and reports it. Prints the figures: the full bundle,
the bytes new in v2, and the bytes the kiosk actually fetched (goal: < 10 MB)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.package.frozen import build_frozen
from tests.updates.live import (
    enroll_kiosk,
    hub_version,
    kiosk_events,
    launch,
    publish_bundle,
    start_campaign,
    updates_hub,
)
from tools.release import init

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        os.environ.get("KIOSK_PACKAGE_TEST") != "1",
        reason="two frozen builds: `make package-test` runs it",
    ),
]

CODE_ONLY_GOAL = 10 * 1024 * 1024


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def test_a_frozen_kiosk_updates_itself_to_a_code_only_release(tmp_path: Path) -> None:
    started = time.monotonic()
    v1 = build_frozen(tmp_path, "0.1.0")
    v2 = build_frozen(tmp_path, "0.2.0")
    built = time.monotonic() - started
    with updates_hub(tmp_path / "hub") as hub:
        init(Path(hub.env["HUB_UPDATES_REPOSITORY"]), Path(hub.env["HUB_UPDATES_KEYS"]))
        publish_bundle(hub, v1, "0.1.0")
        published = publish_bundle(hub, v2, "0.2.0")
        kiosk = enroll_kiosk(hub, tmp_path / "machine", "0.1.0")
        result = launch(kiosk.layout.root, kiosk.config_path, timeout=120)
        assert result.returncode == 0, result.stderr
        start_campaign(hub, kiosk.device_id, "0.2.0")
        switch_started = time.monotonic()
        result = launch(kiosk.layout.root, kiosk.config_path, timeout=300)
        to_healthy = time.monotonic() - switch_started
        assert result.returncode == 0, result.stderr
        assert kiosk.layout.current_version() == "0.2.0" and kiosk.layout.pending() is None
        assert hub_version(hub, kiosk.device_id) == "0.2.0"
    events = kiosk_events(kiosk.config)
    downloaded = next(e for e in events if e["state"] == "downloaded")
    assert [e["state"] for e in events][-1] == "healthy"
    print(
        f"\nfrozen update: builds {built:.0f} s; full bundle {_size(v2) / 1e6:.1f} MB"
        f" ({published.split(': ', 1)[1]}); fetched by the kiosk for 0.1.0 -> 0.2.0:"
        f" {downloaded['bytes'] / 1024:.1f} KiB of files + TUF metadata ({downloaded['detail']});"
        f" offer to healthy v2 {to_healthy:.1f} s"
    )
    assert downloaded["bytes"] < CODE_ONLY_GOAL
