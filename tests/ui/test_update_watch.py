"""The screen's update watch (kiosk/ui/update_watch.py): at the idle screen it confirms a
switched version healthy and switches to a staged release (exit code 75 for the launcher)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.domain.flow import Screen
from kiosk.domain.update_plan import UpdateState
from kiosk.services.clock import FixedClock
from kiosk.services.updates import SWITCH_EXIT_CODE, ReleaseLayout, UpdateAgent
from kiosk.services.updates.sources import folder_updater
from kiosk.store import updates_repo
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file, resolve_key_path
from kiosk.store.repository import Store
from kiosk.ui import update_watch
from kiosk.ui.update_watch import UpdateWatch
from tests.ui.conftest import Kiosk
from tests.updates.releases import build_bundle, install_first
from tools.release import init, publish_release


def test_the_watch_confirms_health_then_switches_at_the_idle_screen(
    kiosk: Kiosk, qtbot: QtBot, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    init(repo, keys)
    for version in ("0.1.0", "0.2.0"):
        publish_release(build_bundle(tmp_path, version), version, repo, keys)
    layout = ReleaseLayout(tmp_path / "releases")
    install_first(layout, repo, "0.1.0")
    (layout.root / "pending").write_text("0.1.0 180 3\n")  # this start follows a switch
    config = kiosk.runtime.config
    key = read_key_file(resolve_key_path(config.data_dir, config.key_file))
    conn = connect(config.database_path, key, migrate=False)
    agent = UpdateAgent(
        Store(conn),
        layout,
        clock,
        timezone=config.timezone,
        database_path=config.database_path,
        health_seconds=180,
        max_starts=3,
        running="0.1.0",
    )
    exits: list[int] = []
    monkeypatch.setattr(update_watch.QApplication, "exit", lambda code=0: exits.append(code))
    watch = UpdateWatch(agent, kiosk.driver, conn)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=10000)

    watch.check()  # healthy idle: confirmed; nothing staged
    assert layout.pending() is None
    status = agent.status()
    assert status is not None and status.state is UpdateState.HEALTHY
    assert exits == []

    updates_repo.set_offer(conn, "current", "0.2.0", 4, clock.now())
    assert agent.check(lambda: folder_updater(layout, repo), layout.folder("0.1.0"))
    watch.check()
    assert exits == [SWITCH_EXIT_CODE]
    assert layout.current_version() == "0.2.0"
    watch.stop()
