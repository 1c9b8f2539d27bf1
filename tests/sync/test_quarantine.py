"""Issue 13: one bad event no longer wedges a kiosk's sync.

A failed push does not stop the pull (holds, staff and participants still arrive), except
where the hub would refuse the pull too; an event the hub sets aside is kept for staff,
acknowledged, alerted on once, and the next events go; a malformed answer is ignored."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kiosk.domain.alerts import AlertKind
from kiosk.services.clock import FixedClock
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.stock import StockService
from kiosk.services.sync import (
    ClockSkew,
    Credentials,
    HubBusy,
    HubClient,
    HubRefused,
    HubUnreachable,
    SyncService,
)
from kiosk.services.sync.service import pull_after_failed_push
from kiosk.store import sync_repo
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.sync.conftest import HUB_URL
from tests.sync.fakehub import DEVICE_ID, SECRET, FakeHub, participant, prescription
from tests.sync.test_push import make_events


def held_on_kiosk(store: Store, hub_id: str) -> str | None:
    row = store.conn.execute(
        "SELECT status FROM prescriptions WHERE hub_id = ?", (hub_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def quarantine_alerts(store: Store) -> list[tuple[str, str]]:
    rows = store.conn.execute(
        "SELECT subject, message FROM alerts WHERE kind = ? ORDER BY id",
        (AlertKind.SYNC_EVENT_QUARANTINED,),
    ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


# ------------------------------------------------------------------ pull after a failed push


def test_a_hub_failing_every_push_still_delivers_a_hold_and_a_new_participant(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [participant("P-0001"), prescription("7", "P-0001")]
    sync.run_once()
    assert held_on_kiosk(store, "7") == "active"
    make_events(store, clock, 3)
    hub.push_answer = httpx.Response(500, json={"error": "server_error"})
    hub.log += [
        prescription("7", "P-0001", status="on_hold", hold_reason="review", hold_kind="staff"),
        participant("P-0002", name="New Person"),
    ]
    with pytest.raises(HubBusy):  # raised for the backoff, after the pull
        sync.run_once()
    assert held_on_kiosk(store, "7") == "on_hold"
    assert store.participant_by_code("P-0002") is not None
    state = sync_repo.read_state(store.conn)
    assert state.cursor == 4
    # The Sync page does not say "all good": the push failed and nothing was marked sent.
    assert state.last_error == (
        "sending events to the hub failed: the hub is busy or failing (HTTP 500). "
        "Changes from the hub were received."
    )
    assert sync_repo.pending_count(store.conn) == 3 and state.events_waiting == 3
    last_success = state.last_success_at
    clock.at += timedelta(minutes=1)
    with pytest.raises(HubBusy):
        sync.run_once()
    assert sync_repo.read_state(store.conn).last_success_at == last_success
    hub.push_answer = None
    report = sync.run_once()
    assert report.pushed == 3 and report.waiting == 0
    assert sync_repo.read_state(store.conn).last_error == ""


def test_a_push_refused_for_its_content_still_pulls(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 1)
    hub.log = [participant("P-0003")]
    hub.push_answer = httpx.Response(400, json={"error": "bad_request"})
    with pytest.raises(HubRefused):
        sync.run_once()
    assert store.participant_by_code("P-0003") is not None
    assert hub.pulls == [0]


def test_a_push_that_times_out_still_pulls(store: Store, clock: FixedClock, hub: FakeHub) -> None:
    make_events(store, clock, 1)
    hub.log = [participant("P-0004")]
    transport = hub.transport()

    class SlowPush(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                raise httpx.ReadTimeout("slow", request=request)
            return transport.handle_request(request)

    credentials = Credentials(DEVICE_ID, SECRET)
    slow = HubClient(HUB_URL, credentials, clock.now, transport=SlowPush())
    with slow, pytest.raises(HubUnreachable) as raised:
        SyncService(store.conn, slow, clock).run_once()
    assert str(raised.value) == "the hub did not answer in time"
    assert store.participant_by_code("P-0004") is not None


def test_a_pull_that_fails_otherwise_is_named_beside_the_push(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 1)
    hub.push_answer = httpx.Response(500, json={})
    hub.snapshot = {"cursor": "x"}  # a page the kiosk cannot read
    with pytest.raises(HubBusy) as raised:
        sync.run_once()
    assert raised.value.status == 500  # the push's error drives the backoff
    assert sync_repo.read_state(store.conn).last_error == (
        "sending events to the hub failed: the hub is busy or failing (HTTP 500); "
        "receiving changes failed: the hub sent a page of changes this kiosk cannot read"
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "clock_skew", "server_time": 0}),
        (401, {"error": "bad_signature"}),
        (401, {"error": "unknown_device"}),
        (403, {"error": "revoked"}),
        (429, {}),
    ],
)
def test_no_pull_where_the_hub_would_refuse_it_too(
    store: Store,
    clock: FixedClock,
    hub: FakeHub,
    sync: SyncService,
    status: int,
    body: dict[str, Any],
) -> None:
    make_events(store, clock, 1)
    hub.log = [participant("P-0005")]
    hub.push_answer = httpx.Response(status, json=body)
    with pytest.raises((HubRefused, HubBusy)):
        sync.run_once()
    assert hub.pulls == []
    assert store.participant_by_code("P-0005") is None
    assert sync_repo.read_state(store.conn).last_error != ""


def test_which_push_failures_still_pull() -> None:
    assert not pull_after_failed_push(ClockSkew(900.0))
    assert not pull_after_failed_push(HubRefused("x", status=403, code="revoked"))
    assert not pull_after_failed_push(HubBusy("x", status=429))
    assert pull_after_failed_push(HubRefused("x", status=401, code="replay"))
    assert pull_after_failed_push(HubRefused("x", status=413))
    assert pull_after_failed_push(HubBusy("x", status=503))
    assert pull_after_failed_push(HubUnreachable("x"))
    assert pull_after_failed_push(KeyError("a fault of the kiosk's own"))


def test_a_clock_skew_alert_resolves_when_a_pull_is_accepted(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 1)
    hub.answer = httpx.Response(401, json={"error": "clock_skew", "server_time": 0})
    with pytest.raises(ClockSkew):
        sync.run_once()
    assert [k for _i, k, _s, _m in store.open_alerts()] == ["sync_clock_skew"]
    hub.answer = None
    hub.push_answer = httpx.Response(500, json={})
    with pytest.raises(HubBusy):
        sync.run_once()
    assert store.open_alerts() == []


# ------------------------------------------------------------------ events set aside


def test_an_event_set_aside_is_kept_acknowledged_alerted_once_and_the_rest_go(
    store: Store,
    clock: FixedClock,
    hub: FakeHub,
    sync: SyncService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    make_events(store, clock, 5)
    hub.set_aside = {3: "a text field held a character the hub cannot store"}
    report = sync.run_once()
    # All five acknowledged, and the alert's own event (6) went in the same round.
    assert report.pushed == 6 and report.waiting == 0
    assert sorted(hub.events) == [1, 2, 4, 5, 6]
    [kept] = sync_repo.quarantined_events(store.conn)
    assert (kept.seq, kept.type, kept.reason) == (
        3,
        "test.event",
        "a text field held a character the hub cannot store",
    )
    assert kept.reported_at == clock.now()
    assert quarantine_alerts(store) == [
        (
            "event:3",
            "Event #3 (test.event) was set aside by the hub: a text field held a character "
            "the hub cannot store. The hub's staff will review it.",
        )
    ]
    assert "event 3" in caplog.text and "cannot store" not in caplog.text  # ids, not words
    # The next round pushes what followed, and nothing is alerted again.
    make_events(store, clock, 1)
    report = sync.run_once()
    assert report.pushed == 1 and report.waiting == 0
    assert hub.batches[-1] == [7]
    assert len(quarantine_alerts(store)) == 1


def test_a_batch_sent_again_is_not_kept_or_alerted_twice(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 3)
    hub.set_aside = {2: "bad value"}
    hub.hold_back_after = 2  # the hub holds through 2: event 3 goes again with the rest
    sync.run_once()
    assert sync_repo.quarantined_count(store.conn) == 1
    # The alert is acknowledged by staff; the same batch goes again and the hub says so again.
    store.conn.execute("UPDATE alerts SET acknowledged_at = '2026-06-10T19:00:00.000000Z'")
    store.conn.execute("UPDATE outbox SET sent_at = NULL")
    hub.hold_back_after = None
    sync.run_once()
    assert sync_repo.quarantined_count(store.conn) == 1
    assert len(quarantine_alerts(store)) == 1
    assert sync_repo.pending_count(store.conn) == 0


@pytest.mark.parametrize(
    "field",
    [
        "not a list",
        {"seq": 2},
        [None, 7, "x", [2]],
        [{"seq": "2", "reason": "r"}, {"seq": True, "reason": "r"}, {"seq": 0, "reason": "r"}],
        [{"seq": 2}, {"seq": 2, "reason": None}, {"seq": 2, "reason": "r", "type": 5}],
        [{"seq": 2, "reason": "r", "id": "x" * 201}],
    ],
)
def test_a_malformed_quarantined_answer_is_ignored_never_a_crash(
    store: Store,
    clock: FixedClock,
    hub: FakeHub,
    sync: SyncService,
    field: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_events(store, clock, 3)
    hub.quarantined_field = field
    report = sync.run_once()
    assert report.pushed == 3 and report.waiting == 0
    assert sync_repo.quarantined_count(store.conn) == 0
    assert quarantine_alerts(store) == []
    assert "malformed" in caplog.text or "shape not read" in caplog.text


def test_good_entries_beside_bad_ones_are_kept_and_the_hubs_words_cleaned(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 3)
    hub.set_aside = {2: "x"}
    hub.quarantined_field = [
        {"seq": 2, "id": None, "type": None, "reason": "bad\x00 value " + "y" * 600},
        {"seq": "3"},
        {"seq": 9, "id": None, "type": None, "reason": "not in this push"},
    ]
    sync.run_once()
    [kept] = sync_repo.quarantined_events(store.conn)
    assert kept.seq == 2 and kept.type == "test.event"  # this kiosk's own type
    assert kept.reason.startswith("bad value y") and len(kept.reason) == 500


def test_an_older_hub_without_the_field_changes_nothing(
    store: Store, clock: FixedClock, hub: FakeHub, client: HubClient
) -> None:
    make_events(store, clock, 1)
    events = [e.wire() for e in sync_repo.unsent(store.conn, 10)]
    assert client.push(events).quarantined == ()


# ------------------------------------------------------------------ the kiosk's own boundary


def test_a_stock_count_reason_with_a_nul_reaches_the_hub_without_it(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    medication = store.add_medication("hydromorphone", "8 mg", "tablet", clock.now())
    store.set_lane(1, medication, 10, clock.now(), "test")
    staff_id = store.add_staff("Worker", "staff", hash_pin("735204"), clock.now(), "test")
    worker = StaffSession(staff_id, "Worker", "staff", clock.now())
    StockService(store, clock, StaffService(store, clock)).count(worker, 1, 10, "night\x00 count")
    sync.run_once()
    [counted] = [e for e in hub.events.values() if e["type"] == "stock.counted"]
    assert counted["payload"]["reason"] == "night count"
    assert "\\u0000" not in json.dumps(hub.events)
