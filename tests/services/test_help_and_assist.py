"""The help and assisted-identification services on a real encrypted store: one open help
request per machine, "told" only once the hub has it, "someone is coming" from either side;
the site's assisted_id setting as the hub sends it."""

from __future__ import annotations

from datetime import timedelta

from kiosk.domain.alerts import AlertKind
from kiosk.domain.told import AlertRecord, NoticeRole
from kiosk.services.assisted import AssistedIdService
from kiosk.services.clock import FixedClock
from kiosk.services.help import HelpService
from kiosk.services.sync.apply import apply_page
from kiosk.services.sync.client import Change, ChangesPage
from kiosk.store import sync_repo
from kiosk.store.repository import Store


def pull(store: Store, clock: FixedClock, cursor: int, *changes: Change) -> None:
    apply_page(store.conn, ChangesPage(cursor, False, False, list(changes)), clock.now())


def help_alerts(store: Store) -> list[tuple[int, str]]:
    return [(i, s) for i, kind, s, _m in store.open_alerts() if kind == AlertKind.HELP]


def test_one_open_request_and_told_only_once_the_hub_has_it(
    store: Store, clock: FixedClock
) -> None:
    woken: list[int] = []
    service = HelpService(store, clock, wake=lambda: woken.append(1), hub=True)
    first = service.ask(7)
    assert help_alerts(store) == [(first.alert_id, "participant:7")]
    assert first.told.record is AlertRecord.NONE and not first.coming
    again = service.ask(None)  # a stuck button, or the next person: the open one stands
    assert again.alert_id == first.alert_id and len(help_alerts(store)) == 1
    assert woken == [1, 1]
    last = int(store.conn.execute("SELECT max(seq) FROM outbox").fetchone()[0])
    sync_repo.mark_sent_through(store.conn, last, clock.now() + timedelta(seconds=1))
    assert service.news(first.alert_id).told.record is AlertRecord.RECORDED
    # The hub told a nurse, then the nurse acknowledged: the role and time, then coming.
    told = {"role": "nurse", "label": "Sam K.", "channel": "webhook", "at": "2026-06-10T19:00:00Z"}
    notice = {"kiosk_alert_id": first.alert_id, "kind": "help", "told": [told]}
    pull(store, clock, 1, Change("alert_notice", "upsert", "5", notice))
    news = service.news(first.alert_id)
    assert (news.told.role, news.coming) == (NoticeRole.NURSE, False)
    ack = {"role": "nurse", "label": "Sam K.", "at": "2026-06-10T19:02:00Z"}
    pull(store, clock, 2, Change("alert_notice", "upsert", "5", {**notice, "acknowledged": ack}))
    assert service.news(first.alert_id).coming
    # No message, log or event names anyone: ids only.
    events = [row[0] for row in store.conn.execute("SELECT payload FROM outbox")]
    assert not any("Sam" in e for e in events)


def test_without_a_hub_the_record_is_the_notice_and_a_new_request_follows_an_ack(
    store: Store, clock: FixedClock
) -> None:
    service = HelpService(store, clock)
    first = service.ask(None)
    assert first.told.record is AlertRecord.RECORDED and not first.coming
    store.conn.execute(
        "UPDATE alerts SET acknowledged_at = ? WHERE id = ?",
        ("2026-06-10T19:00:00Z", first.alert_id),
    )
    assert service.news(first.alert_id).coming
    second = service.ask(None)
    assert second.alert_id != first.alert_id and not second.coming


def test_the_hubs_setting_overrides_the_kiosks_own(store: Store, clock: FixedClock) -> None:
    service = AssistedIdService(store, clock, allowed=True)
    assert service.allowed()
    pull(store, clock, 1, Change("setting", "upsert", "assisted_id", {"value": False}))
    assert not service.allowed()
    pull(store, clock, 2, Change("setting", "upsert", "assisted_id", {"value": True}))
    assert service.allowed()
    pull(store, clock, 3, Change("setting", "delete", "assisted_id", {}))
    assert AssistedIdService(store, clock, allowed=False).allowed() is False
