"""Pushing the outbox: batches of up to 500 in seq order, marked sent through stored_through."""

from __future__ import annotations

import pytest

from kiosk.services.clock import FixedClock
from kiosk.services.sync import HubUnreachable, SyncService
from kiosk.store import sync_repo
from kiosk.store.repository import Store
from tests.sync.fakehub import FakeHub


def make_events(store: Store, clock: FixedClock, n: int) -> None:
    for i in range(n):
        store.note(clock.now(), "system", "test.event", f"thing:{i}", {"i": i})


def unsent(store: Store) -> int:
    return sync_repo.pending_count(store.conn)


def test_all_events_go_in_batches_of_500_in_seq_order(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 1203)
    report = sync.run_once()
    assert report.pushed == 1203 and report.waiting == 0
    assert [len(b) for b in hub.batches] == [500, 500, 203]
    flat = [seq for batch in hub.batches for seq in batch]
    assert flat == list(range(1, 1204))
    assert unsent(store) == 0
    assert hub.events[1]["type"] == "test.event"
    assert set(hub.events[1]) == {"seq", "id", "type", "created_at", "payload"}
    assert hub.events[1]["created_at"].endswith("Z")
    state = sync_repo.read_state(store.conn)
    assert state.last_success_at == clock.now() and state.last_error == ""
    assert state.events_waiting == 0
    # A second round has nothing to send.
    hub.batches.clear()
    assert sync.run_once().pushed == 0 and hub.batches == []


def test_only_events_through_stored_through_are_marked(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 10)
    hub.hold_back_after = 6
    report = sync.run_once()
    assert report.pushed == 6 and report.waiting == 4
    sent = store.conn.execute("SELECT seq FROM outbox WHERE sent_at IS NOT NULL").fetchall()
    assert [r[0] for r in sent] == [1, 2, 3, 4, 5, 6]
    hub.hold_back_after = None
    assert sync.run_once().pushed == 4
    assert unsent(store) == 0
    assert sorted(hub.events) == list(range(1, 11))  # each stored once


def test_a_hub_that_is_down_loses_nothing_and_the_error_is_recorded(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 3)
    hub.down = True
    with pytest.raises(HubUnreachable):
        sync.run_once()
    assert unsent(store) == 3
    state = sync_repo.read_state(store.conn)
    # The pull was tried too and failed alike: the error is said once.
    assert state.last_error == "the hub cannot be reached (ConnectError)"
    assert state.last_success_at is None and state.events_waiting == 3
    hub.down = False
    assert sync.run_once().pushed == 3
    assert sync_repo.read_state(store.conn).last_error == ""
