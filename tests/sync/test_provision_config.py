"""Provisioning (credentials 0600, never in a repr), the [hub] configuration, the admin facade
and the wiring of the sync thread."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.app import start_sync
from kiosk.services.clock import FixedClock
from kiosk.services.config import Config, ConfigError, load_config, to_toml, validate
from kiosk.services.sync import (
    HubRefused,
    SyncFacade,
    credentials_path,
    load_credentials,
    provision,
)
from kiosk.services.sync.credentials import CredentialsError
from kiosk.store.repository import Store
from tests.sync.conftest import HUB_URL
from tests.sync.fakehub import DEVICE_ID, SECRET, FakeHub


def test_provisioning_writes_0600_credentials(tmp_path: Path, hub: FakeHub) -> None:
    credentials = provision(HUB_URL, "GOOD-CODE", tmp_path, transport=hub.transport())
    path = credentials_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials(path) == credentials
    assert (credentials.device_id, credentials.secret) == (DEVICE_ID, SECRET)
    assert SECRET not in repr(credentials)
    with pytest.raises(FileExistsError):
        provision(HUB_URL, "GOOD-CODE", tmp_path, transport=hub.transport())


def test_a_refused_code_writes_nothing(tmp_path: Path, hub: FakeHub) -> None:
    with pytest.raises(HubRefused):
        provision(HUB_URL, "USED", tmp_path, transport=hub.transport())
    assert not credentials_path(tmp_path).exists()


def test_credentials_readable_by_others_are_refused(tmp_path: Path, hub: FakeHub) -> None:
    provision(HUB_URL, "GOOD-CODE", tmp_path, transport=hub.transport())
    credentials_path(tmp_path).chmod(0o644)
    with pytest.raises(CredentialsError, match="readable by others"):
        load_credentials(credentials_path(tmp_path))


def test_the_hub_section(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '[hub]\nurl = "https://hub.example.org"\nenrollment_code = "ABC-123"\n'
        "interval_seconds = 30\n"
    )
    config = load_config(path)
    assert (config.hub_url, config.hub_enrollment_code, config.hub_interval_seconds) == (
        "https://hub.example.org",
        "ABC-123",
        30,
    )
    text = to_toml(config)
    assert 'url = "https://hub.example.org"' in text and "ABC-123" not in text
    assert "[hub]" not in to_toml(Config())
    validate(replace(config, hub_url="http://127.0.0.1:8000"))
    for bad in ("http://hub.example.org", "ftp://x", "hub.example.org"):
        with pytest.raises(ConfigError):
            validate(replace(config, hub_url=bad))


def test_no_hub_no_thread_and_the_facade_says_so(tmp_path: Path, store: Store) -> None:
    clock = FixedClock(
        __import__("datetime").datetime(2026, 6, 10, tzinfo=__import__("datetime").UTC)
    )
    assert start_sync(Config(data_dir=tmp_path), clock) is None
    # A url without credentials nor code: still no thread (nothing to authenticate with).
    assert start_sync(Config(data_dir=tmp_path, hub_url=HUB_URL), clock) is None
    facade = SyncFacade(store, None)
    status = facade.status()
    assert not status.configured and status.cursor == 0 and status.open_conflicts == 0
    assert facade.sync_now() is False


def test_the_facade_wakes_the_thread(store: Store) -> None:
    woken = []

    class Thread:
        def sync_now(self) -> None:
            woken.append(True)

    facade = SyncFacade(store, Thread())
    assert facade.sync_now() is True and woken == [True]
    assert facade.status().configured
