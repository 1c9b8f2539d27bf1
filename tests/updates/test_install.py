"""Installing signed releases without the network (the USB path) and every refusal: a tampered
file, expired metadata, an older release offered as newer, metadata replayed from the past.
The same python-tuf verification serves the hub path (tests/updates/test_live_updates.py).
Also: no switch while a vend is open, and a store migrated by a newer release is kept."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from kiosk.domain.model import Window
from kiosk.domain.update_plan import NotQuiet, UpdateState
from kiosk.services.clock import FixedClock
from kiosk.services.config import Config
from kiosk.services.updates import ReleaseLayout, ScreenState, UpdateAgent
from kiosk.services.updates.facade import SoftwareFacade, UsbOutcome
from kiosk.services.updates.install import UpdateRefused, stage
from kiosk.services.updates.sources import folder_updater
from kiosk.store import db, updates_repo
from kiosk.store.db import StoreError, connect
from kiosk.store.keyfile import create_key_file, read_key_file
from kiosk.store.repository import Intent, Store
from kiosk.update_round import switch_from_folder
from tests.updates.releases import build_bundle, install_first
from tools import release as release_tool
from tools.release import (
    ReleaseError,
    file_target_name,
    init,
    publish_release,
    refresh_timestamp,
)

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 03:00 in Vancouver
QUIET = ScreenState(idle=True, participant_mid_flow=False)


@dataclass
class World:
    repo: Path
    keys: Path
    layout: ReleaseLayout
    store: Store
    agent: UpdateAgent
    database: Path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    init(repo, keys)
    for version in ("0.1.0", "0.2.0"):
        publish_release(build_bundle(tmp_path, version), version, repo, keys)
    layout = ReleaseLayout(tmp_path / "releases")
    install_first(layout, repo, "0.1.0")
    database = tmp_path / "kiosk.db"
    conn = connect(database, create_key_file(tmp_path / "db.key"))
    store = Store(conn)
    agent = UpdateAgent(
        store,
        layout,
        FixedClock(NOW),
        timezone="America/Vancouver",
        database_path=database,
        health_seconds=60,
        max_starts=2,
        running="0.1.0",
    )
    yield World(repo, keys, layout, store, agent, database)
    conn.close()


def stick(world: World, where: Path) -> Path:
    """A copy of the release repository on a "USB stick"."""
    copy = where / "stick"
    shutil.copytree(world.repo, copy)
    return copy


def last(world: World) -> updates_repo.UpdateStatus:
    status = world.agent.status()
    assert status is not None
    return status


def test_a_release_installs_from_a_usb_folder(world: World, tmp_path: Path) -> None:
    code = switch_from_folder(world.agent, stick(world, tmp_path))
    assert code == 75  # switched: the launcher starts 0.2.0
    assert world.layout.current_version() == "0.2.0"
    assert world.layout.pending() is not None
    assert last(world).state is UpdateState.SWITCHED
    init_file = world.layout.folder("0.2.0") / "_internal" / "kiosk" / "__init__.py"
    assert '__version__ = "0.2.0"' in init_file.read_text()


def test_a_bundles_symlinks_are_signed_and_made_again_inside_the_release(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyInstaller's onedir links ``_internal/libQt6Core.so.6`` to ``PySide6/Qt/lib/...``:
    a release carries such relative links; one that leaves the bundle is refused at both
    ends (tools/release.py does not sign it, the kiosk does not make it)."""
    bundle = build_bundle(tmp_path, "0.3.0")
    os.symlink("libQt6Standin.so", bundle / "_internal" / "libQt6Link.so")
    os.symlink("../kiosk", bundle / "_internal" / "start")
    publish_release(bundle, "0.3.0", world.repo, world.keys)
    staged = stage(folder_updater(world.layout, world.repo), "0.3.0", world.layout, tmp_path)
    link = staged.folder / "_internal" / "libQt6Link.so"
    assert os.readlink(link) == "libQt6Standin.so" and link.stat().st_size > 0
    assert os.readlink(staged.folder / "_internal" / "start") == "../kiosk"

    outside = build_bundle(tmp_path, "0.4.0")
    os.symlink("../../etc/passwd", outside / "_internal" / "passwd")
    with pytest.raises(ReleaseError, match="points outside it"):
        publish_release(outside, "0.4.0", world.repo, world.keys)
    # Signed anyway (a stolen targets key): the kiosk still refuses to make the link.
    monkeypatch.setattr(release_tool, "_link_target", lambda _root, path: os.readlink(path))
    publish_release(outside, "0.4.0", world.repo, world.keys)
    with pytest.raises(UpdateRefused, match="links outside the release"):
        stage(folder_updater(world.layout, world.repo), "0.4.0", world.layout, tmp_path)
    assert not world.layout.folder("0.4.0").exists()


def test_a_tampered_file_is_refused_and_nothing_is_unpacked(world: World, tmp_path: Path) -> None:
    copy = stick(world, tmp_path)
    changed = build_bundle(tmp_path / "again", "0.2.0") / "_internal" / "kiosk" / "__init__.py"
    name = file_target_name(hashlib.sha256(changed.read_bytes()).hexdigest())
    digest = name.split("/")[1]
    target = copy / "targets" / "files" / f"{digest}.{digest}"
    target.write_bytes(target.read_bytes().replace(b"0.2.0", b"6.6.6"))
    code = switch_from_folder(world.agent, copy)
    assert code == 2
    assert last(world).state is UpdateState.REFUSED
    assert last(world).detail == "a release file does not match its signed hash (tampered): refused"
    assert not world.layout.folder("0.2.0").exists()
    assert world.layout.current_version() == "0.1.0"


def test_expired_metadata_is_refused(world: World, tmp_path: Path) -> None:
    refresh_timestamp(world.repo, world.keys, datetime.now(UTC) - timedelta(hours=1))
    code = switch_from_folder(world.agent, stick(world, tmp_path))
    assert code == 2
    assert last(world).detail == "the release metadata has expired: refused"
    assert world.layout.current_version() == "0.1.0"


def test_an_older_release_offered_as_newer_is_refused(world: World) -> None:
    world.agent.running = "0.2.0"
    updates_repo.set_offer(world.store.conn, "current", "0.1.0", 3, NOW)
    staged = world.agent.check(
        lambda: folder_updater(world.layout, world.repo), world.layout.folder("0.1.0")
    )
    assert not staged
    status = last(world)
    assert (status.state, status.target, status.campaign_id) == (UpdateState.REFUSED, "0.1.0", 3)
    assert status.detail == "release 0.1.0 is not newer than the running 0.2.0: refused"


def test_metadata_replayed_from_the_past_is_refused(world: World, tmp_path: Path) -> None:
    old = stick(world, tmp_path / "before")  # 0.1.0 and 0.2.0 only
    publish_release(build_bundle(tmp_path / "b3", "0.3.0"), "0.3.0", world.repo, world.keys)
    folder_updater(world.layout, world.repo).refresh()  # the kiosk has seen the newer metadata
    code = switch_from_folder(world.agent, old)
    assert code == 2
    assert last(world).detail == (
        "the release metadata is older than what this kiosk trusts: refused"
    )


def test_never_switches_while_a_vend_is_open(world: World, tmp_path: Path) -> None:
    store = world.store
    med = store.add_medication("hydromorphone", "8 mg", "tablet", NOW)
    person = store.add_participant("P-1", "Test Person", None, NOW, "test")
    rx = store.add_prescription(
        person, med, 2, (Window(time(0), time(23, 59)),), 8, date(2026, 1, 1), None, NOW, "test"
    )
    store.set_lane(1, med, 50, NOW, "test")
    vend = store.new_vend_id()
    store.record_intent(Intent(vend, person, rx, 1, 2, NOW))  # no outcome yet: open
    updates_repo.set_offer(store.conn, "current", "0.2.0", 1, NOW)
    assert world.agent.check(
        lambda: folder_updater(world.layout, world.repo), world.layout.folder("0.1.0")
    )
    assert world.agent.try_switch(QUIET) is NotQuiet.VEND_OPEN
    assert world.layout.current_version() == "0.1.0"
    store.record_result(vend, 2, "complete", None, NOW + timedelta(seconds=5))
    store.conn.execute(
        "INSERT INTO site_settings (key, value, updated_at) VALUES"
        ' (\'maintenance_hours\', \'{"start": "04:00", "end": "05:00"}\', \'2026-06-10T10:00:00Z\')'
    )
    assert world.agent.try_switch(QUIET) is NotQuiet.OUTSIDE_HOURS  # 03:00 site time
    store.conn.execute("DELETE FROM site_settings WHERE key = 'maintenance_hours'")
    assert (
        world.agent.try_switch(ScreenState(idle=True, participant_mid_flow=True))
        is NotQuiet.MID_FLOW
    )
    assert world.agent.try_switch(QUIET) is None
    assert world.layout.current_version() == "0.2.0"
    assert list(world.layout.backups.glob("kiosk-0.1.0-*.db"))


def test_a_store_migrated_by_a_newer_release_is_kept_never_replaced(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Fault injection: the new release migrates the store, records a dispense, then fails;
    the old release refuses the newer schema (out of service, clear words) and the record
    stays in the store (the backup is not put back over it)."""
    store = world.store
    updates_repo.set_offer(store.conn, "current", "0.2.0", 1, NOW)
    world.agent.check(
        lambda: folder_updater(world.layout, world.repo), world.layout.folder("0.1.0")
    )
    assert world.agent.try_switch(QUIET) is None
    # "0.2.0" runs: a migration this software does not know, then a dispense.
    newest = db.latest_version()
    store.conn.execute(f"PRAGMA user_version = {newest + 1}")
    med = store.add_medication("hydromorphone", "8 mg", "tablet", NOW)
    person = store.add_participant("P-2", "Test Person", None, NOW, "test")
    rx = store.add_prescription(
        person, med, 2, (Window(time(0), time(23, 59)),), 8, date(2026, 1, 1), None, NOW, "test"
    )
    store.set_lane(1, med, 50, NOW, "test")
    vend = store.new_vend_id()
    store.record_intent(Intent(vend, person, rx, 1, 2, NOW))
    store.record_result(vend, 2, "complete", None, NOW)
    store.conn.close()
    key = read_key_file(tmp_path / "db.key")
    # Back on 0.1.0 (the launcher rolled back): the store is refused, clearly, and kept.
    with pytest.raises(StoreError, match=r"upgraded by newer kiosk software.*reinstall the newer"):
        connect(world.database, key)
    monkeypatch.setattr(db, "latest_version", lambda: newest + 1)
    conn = connect(world.database, key, migrate=False)
    try:
        assert conn.execute(
            "SELECT outcome FROM dispense_results WHERE vend_id = ?", (vend,)
        ).fetchone() == ("complete",)
    finally:
        conn.close()
    world.store = Store(connect(world.database, key, migrate=False))


def test_the_admin_facade_installs_from_usb_and_shows_the_state(
    world: World, tmp_path: Path
) -> None:
    config = Config(site_name="T", data_dir=tmp_path / "data", releases_dir=world.layout.root)
    facade = SoftwareFacade(config, world.store, FixedClock(NOW))
    assert facade.install_from_folder(tmp_path / "empty").outcome is UsbOutcome.NO_FOLDER
    result = facade.install_from_folder(stick(world, tmp_path))
    assert (result.outcome, result.version) == (UsbOutcome.STAGED, "0.2.0")
    status = facade.status()
    assert (status.state, status.target, status.updates_on) == (UpdateState.STAGED, "0.2.0", True)
    again = facade.install_from_folder(stick(world, tmp_path / "2"))
    assert again.outcome is UsbOutcome.STAGED  # the same release, unpacked anew
    off = SoftwareFacade(
        Config(site_name="T", data_dir=tmp_path / "d"), world.store, FixedClock(NOW)
    )
    assert off.install_from_folder(tmp_path).outcome is UsbOutcome.UPDATES_OFF
