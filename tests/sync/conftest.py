"""Sync fixtures: a fake hub behind httpx.MockTransport and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.services.clock import FixedClock
from kiosk.services.sync import Credentials, HubClient, SyncService
from kiosk.store.repository import Store
from tests.sync.fakehub import DEVICE_ID, SECRET, FakeHub

HUB_URL = "https://hub.test"


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def client(hub: FakeHub, clock: FixedClock) -> Iterator[HubClient]:
    with HubClient(
        HUB_URL, Credentials(DEVICE_ID, SECRET), clock.now, transport=hub.transport()
    ) as c:
        yield c


@pytest.fixture
def sync(store: Store, client: HubClient, clock: FixedClock) -> SyncService:
    return SyncService(store.conn, client, clock)
