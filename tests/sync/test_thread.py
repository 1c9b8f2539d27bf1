"""The sync thread: its own connection, wakes on sync_now, backs off, never dies, stops
cleanly. Waits are on events the thread signals, never sleeps."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.services.clock import FixedClock
from kiosk.services.sync import ClockSkew, Credentials, HubClient, SyncReport, SyncThread
from kiosk.store import sync_repo
from kiosk.store.db import Connection, connect
from kiosk.store.repository import Store
from tests.sync.conftest import HUB_URL
from tests.sync.fakehub import DEVICE_ID, SECRET, FakeHub

Outcome = tuple[SyncReport | None, BaseException | None]


class Harness:
    def __init__(self, path: Path, key: bytes, hub: FakeHub, clock: FixedClock) -> None:
        self.opened: list[tuple[Connection, threading.Thread]] = []
        self.outcomes: queue.Queue[Outcome] = queue.Queue()
        self.delays: list[tuple[int, float | None]] = []

        def open_connection() -> Connection:
            conn = connect(path, key, migrate=False)
            self.opened.append((conn, threading.current_thread()))
            return conn

        def backoff(attempt: int, retry_after: float | None) -> float:
            self.delays.append((attempt, retry_after))
            return 3600.0  # the test wakes it with sync_now

        self.thread = SyncThread(
            open_connection,
            lambda: HubClient(
                HUB_URL, Credentials(DEVICE_ID, SECRET), clock.now, transport=hub.transport()
            ),
            clock=clock,
            interval=3600.0,
            on_report=lambda report, error: self.outcomes.put((report, error)),
            backoff=backoff,
        )

    def next(self) -> Outcome:
        return self.outcomes.get(timeout=10)

    def round(self) -> Outcome:
        self.thread.sync_now()
        return self.next()


@pytest.fixture
def harness(
    tmp_path: Path, key: bytes, store: Store, hub: FakeHub, clock: FixedClock
) -> Iterator[Harness]:
    h = Harness(tmp_path / "kiosk.db", key, hub, clock)
    yield h
    h.thread.stop(timeout=10)
    assert not h.thread.is_alive()


def test_the_thread_uses_its_own_connection_never_the_main_one(
    store: Store, clock: FixedClock, hub: FakeHub, harness: Harness
) -> None:
    for i in range(5):
        store.note(clock.now(), "system", "test.event", f"thing:{i}")
    main_changes = store.conn.total_changes
    harness.thread.start()
    report, error = harness.next()
    assert error is None and report is not None and report.pushed == 5
    [(conn, opener)] = harness.opened
    assert conn is not store.conn and opener is harness.thread
    # The rows were marked through the thread's connection; the main one wrote nothing.
    assert store.conn.total_changes == main_changes
    assert sync_repo.pending_count(store.conn) == 0
    assert not store.conn.in_transaction


def test_sync_now_wakes_it_and_stop_joins(
    store: Store, clock: FixedClock, hub: FakeHub, harness: Harness
) -> None:
    harness.thread.start()
    assert harness.next()[1] is None
    store.note(clock.now(), "system", "test.event", "late")
    report, error = harness.round()
    assert error is None and report is not None and report.pushed == 1
    harness.thread.stop(timeout=10)
    assert not harness.thread.is_alive()
    conn = harness.opened[0][0]
    with pytest.raises(Exception, match="closed"):
        conn.execute("SELECT 1")


def test_failures_back_off_log_once_and_recovery_is_logged(
    store: Store,
    clock: FixedClock,
    hub: FakeHub,
    harness: Harness,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.sync")
    store.note(clock.now(), "system", "test.event", "x")
    hub.down = True
    harness.thread.start()
    assert harness.next()[1] is not None  # the first round runs at once
    for _ in range(2):
        assert harness.round()[1] is not None
    assert [attempt for attempt, _ in harness.delays[:3]] == [0, 1, 2]
    assert sync_repo.pending_count(store.conn) == 1
    hub.down = False
    report, error = harness.round()
    assert error is None and report is not None and report.pushed == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "kiosk.sync"]
    assert sum("sync failed" in m for m in messages) == 1
    assert sum("recovered" in m for m in messages) == 1


def test_retry_after_reaches_the_backoff(hub: FakeHub, harness: Harness) -> None:
    hub.answer = httpx.Response(503, headers={"Retry-After": "120"}, json={})
    harness.thread.start()
    assert harness.next()[1] is not None
    assert harness.delays[0] == (0, 120.0)


def test_clock_skew_is_told_to_staff_and_nothing_is_lost(
    store: Store, clock: FixedClock, hub: FakeHub, harness: Harness
) -> None:
    store.note(clock.now(), "system", "test.event", "x")
    server_time = clock.now().timestamp() - 17 * 60
    hub.answer = httpx.Response(401, json={"error": "clock_skew", "server_time": server_time})
    harness.thread.start()
    _report, error = harness.next()
    assert isinstance(error, ClockSkew)
    text = "the kiosk clock differs from the hub's by 17 minutes"
    assert sync_repo.read_state(store.conn).last_error == text
    assert [(k, m) for _i, k, _s, m in store.open_alerts()] == [("sync_clock_skew", text)]
    assert sync_repo.pending_count(store.conn) == 2  # the event and the alert's own event


def test_an_unexpected_error_does_not_kill_the_thread(
    tmp_path: Path, key: bytes, store: Store, clock: FixedClock, hub: FakeHub
) -> None:
    outcomes: queue.Queue[Outcome] = queue.Queue()
    calls = []

    def broken_hub() -> HubClient:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return HubClient(
            HUB_URL, Credentials(DEVICE_ID, SECRET), clock.now, transport=hub.transport()
        )

    thread = SyncThread(
        lambda: connect(tmp_path / "kiosk.db", key, migrate=False),
        broken_hub,
        clock=clock,
        interval=3600.0,
        on_report=lambda r, e: outcomes.put((r, e)),
        backoff=lambda attempt, retry_after: 3600.0,
    )
    thread.start()
    try:
        assert isinstance(outcomes.get(timeout=10)[1], RuntimeError)
        assert "RuntimeError" in sync_repo.read_state(store.conn).last_error
        thread.sync_now()
        assert outcomes.get(timeout=10)[1] is None
        assert thread.is_alive()
    finally:
        thread.stop(timeout=10)
