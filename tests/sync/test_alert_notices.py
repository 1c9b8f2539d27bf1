"""Who has been told: the hub's alert_notice records applied, linked to this kiosk's alerts,
kept without staff names in the audit chain or the log, and a malformed one skipped with a
log line while the rest of its page applies. And the heartbeat: an idle round still makes
one signed request to the hub, so an idle machine is never taken for an offline one."""

from __future__ import annotations

import json
import logging
import queue
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from kiosk.domain.alerts import AlertKind
from kiosk.domain.told import Channel, NoticeRole
from kiosk.services.clock import FixedClock
from kiosk.services.sync import Credentials, HubClient, SyncReport, SyncService, SyncThread
from kiosk.store import sync_repo
from kiosk.store.audit import verify_chain
from kiosk.store.db import connect
from kiosk.store.repository import Store
from tests.sync.conftest import HUB_URL
from tests.sync.fakehub import DEVICE_ID, SECRET, FakeHub, alert_notice, delete, participant

MARIA = {
    "role": "pharmacist",
    "label": "Maria L.",
    "channel": "email",
    "at": "2026-06-03T07:12:00Z",
}
SAM = {"role": "nurse", "label": "Sam K.", "at": "2026-06-03T07:20:00+00:00"}


def outbox_count(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def jam_alert(store: Store, clock: FixedClock) -> int:
    assert store.raise_alert(AlertKind.LANE_JAMMED, "lane:2", "Lane 2 jammed", clock.now())
    return int(store.conn.execute("SELECT max(id) FROM alerts").fetchone()[0])


def audit_text(store: Store) -> str:
    rows = store.conn.execute("SELECT action, subject, details FROM audit_log").fetchall()
    return json.dumps([list(r) for r in rows])


def test_a_notice_is_kept_linked_to_its_alert_and_names_stay_out_of_the_audit(
    store: Store, hub: FakeHub, sync: SyncService, clock: FixedClock
) -> None:
    alert_id = jam_alert(store, clock)
    hub.log = [alert_notice("901", alert_id, "lane_jammed", told=[MARIA], acknowledged=SAM)]
    before = outbox_count(store)
    report = sync.run_once()
    assert report.pulled == 1
    [notice] = sync_repo.alert_notices(store.conn)
    assert (notice.hub_key, notice.kiosk_alert_id, notice.kind) == ("901", alert_id, "lane_jammed")
    [told] = notice.told
    assert (told.role, told.label, told.channel) == (
        NoticeRole.PHARMACIST,
        "Maria L.",
        Channel.EMAIL,
    )
    assert told.at == datetime(2026, 6, 3, 7, 12, tzinfo=UTC)
    assert notice.acknowledged is not None and notice.acknowledged.label == "Sam K."
    # Nothing pulled is pushed back; the audit chain holds, with roles and no names.
    assert outbox_count(store) == before
    assert verify_chain(store.conn).ok
    text = audit_text(store)
    assert "sync.alert_notice.upsert" in text and "pharmacist/email" in text
    assert "Maria" not in text and "Sam K" not in text


def test_a_later_notice_replaces_the_kept_one_and_a_delete_or_snapshot_drops_it(
    store: Store, hub: FakeHub, sync: SyncService, clock: FixedClock
) -> None:
    alert_id = jam_alert(store, clock)
    hub.log = [alert_notice("901", alert_id, "lane_jammed")]
    sync.run_once()
    assert sync_repo.alert_notices(store.conn)[0].told == ()
    hub.log.append(alert_notice("901", alert_id, "lane_jammed", told=[MARIA]))
    hub.log.append(alert_notice("902", None, "machine_offline", told=[MARIA]))
    sync.run_once()
    notices = {n.hub_key: n for n in sync_repo.alert_notices(store.conn)}
    assert len(notices["901"].told) == 1 and notices["902"].kiosk_alert_id is None
    hub.log.append(delete("alert_notice", "901"))
    sync.run_once()
    assert [n.hub_key for n in sync_repo.alert_notices(store.conn)] == ["902"]
    # A snapshot that no longer lists the hub's notice: it goes.
    hub.snapshot = {"cursor": 50, "snapshot": True, "more": False, "changes": []}
    sync.run_once()
    assert sync_repo.alert_notices(store.conn) == []


BAD_NOTICES = [
    ("kiosk_alert_id", "7"),
    ("kiosk_alert_id", True),
    ("kiosk_alert_id", -1),
    ("machine_alert", "yes"),
    ("kind", ""),
    ("kind", None),
    ("told", "Maria L."),
    ("told", ["Maria L."]),
    ("told", [{**MARIA, "channel": "pager"}]),
    ("told", [{**MARIA, "at": "03:12"}]),
    ("told", [{**MARIA, "at": "2026-06-03T07:12:00"}]),  # no zone
    ("told", [{**MARIA, "label": "Maria\x00L."}]),
    ("told", [{**MARIA, "label": 5}]),
    ("acknowledged", "Sam K."),
    ("acknowledged", {"role": "nurse", "label": "Sam K."}),
]


@pytest.mark.parametrize(("field", "value"), BAD_NOTICES)
def test_a_malformed_notice_is_a_log_line_and_the_rest_of_the_page_applies(
    store: Store,
    hub: FakeHub,
    sync: SyncService,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: object,
) -> None:
    caplog.set_level(logging.WARNING, logger="kiosk.sync")
    bad = alert_notice("901", 1, "lane_jammed", told=[MARIA])
    bad["data"][field] = value
    hub.log = [bad, participant("P-0001")]
    report = sync.run_once()
    assert report.cursor == 2  # the page went through: the cursor moved past it
    assert store.participant_by_code("P-0001") is not None
    assert sync_repo.alert_notices(store.conn) == []
    lines = [r.getMessage() for r in caplog.records if "alert notice" in r.getMessage()]
    assert len(lines) == 1 and "Maria" not in lines[0] and "Sam" not in lines[0]


def test_an_unknown_role_is_kept_as_other_staff(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [alert_notice("903", None, "machine_offline", told=[{**MARIA, "role": "janitor"}])]
    sync.run_once()
    [notice] = sync_repo.alert_notices(store.conn)
    assert notice.told[0].role is NoticeRole.OTHER


# ------------------------------------------------------------------ the heartbeat


class Counting:
    """The fake hub behind a transport that counts what reached it, by method."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        self.requests: list[tuple[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = self.hub.handle(request)
        if response.status_code == 200:
            self.requests.append((request.method, request.url.path))
        return response

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def test_an_idle_round_still_makes_one_signed_request(
    store: Store, hub: FakeHub, clock: FixedClock
) -> None:
    counting = Counting(hub)
    with HubClient(
        HUB_URL, Credentials(DEVICE_ID, SECRET), clock.now, transport=counting.transport()
    ) as client:
        sync = SyncService(store.conn, client, clock)
        sync.run_once()  # the first round may send the anchor or the boot's events
        counting.requests.clear()
        assert sync_repo.pending_count(store.conn) == 0
        for _ in range(3):
            report = sync.run_once()
            assert (report.pushed, report.waiting) == (0, 0)
    # Nothing to push, and yet each round was an authenticated request the hub accepted
    # (the fake hub checks the signature and the nonce): the hub sees the machine alive.
    assert counting.requests == [("GET", "/v1/sync/changes")] * 3
    assert sync_repo.read_state(store.conn).last_success_at == clock.now()


def test_the_thread_keeps_contacting_the_hub_with_nothing_to_send(
    tmp_path: Path, key: bytes, store: Store, hub: FakeHub, clock: FixedClock
) -> None:
    counting = Counting(hub)
    outcomes: queue.Queue[tuple[SyncReport | None, BaseException | None]] = queue.Queue()
    thread = SyncThread(
        lambda: connect(tmp_path / "kiosk.db", key, migrate=False),
        lambda: HubClient(
            HUB_URL, Credentials(DEVICE_ID, SECRET), clock.now, transport=counting.transport()
        ),
        clock=clock,
        interval=0.01,  # the loop's own wait between rounds: no test sleeps
        on_report=lambda report, error: outcomes.put((report, error)),
    )
    thread.start()
    try:
        reports = [outcomes.get(timeout=10) for _ in range(4)]
    finally:
        thread.stop(timeout=10)
    assert all(error is None for _, error in reports)
    assert all(r is not None and r.pushed == 0 for r, _ in reports[1:])
    assert counting.requests.count(("GET", "/v1/sync/changes")) >= 4
    assert not thread.is_alive() and threading.active_count() >= 1
