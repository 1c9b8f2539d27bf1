"""The hub's update offer and maintenance hours, applied on the kiosk (docs/SYNC.md,
"Software updates")."""

from __future__ import annotations

from kiosk.services.clock import FixedClock
from kiosk.services.sync import Change, ChangesPage
from kiosk.services.sync.apply import apply_page
from kiosk.store import sync_repo, updates_repo
from kiosk.store.repository import Store


def page(cursor: int, *changes: Change, snapshot: bool = False) -> ChangesPage:
    return ChangesPage(cursor, snapshot, False, list(changes))


def test_an_offer_is_kept_replaced_and_withdrawn(store: Store, clock: FixedClock) -> None:
    offer = Change("update_offer", "upsert", "current", {"version": "0.2.0", "campaign_id": 7})
    apply_page(store.conn, page(1, offer), clock.now())
    assert updates_repo.offer(store.conn) == updates_repo.Offer("0.2.0", 7)
    newer = Change("update_offer", "upsert", "current", {"version": "0.3.0", "campaign_id": None})
    apply_page(store.conn, page(2, newer), clock.now())
    assert updates_repo.offer(store.conn) == updates_repo.Offer("0.3.0", None)
    apply_page(store.conn, page(3, Change("update_offer", "delete", "current", {})), clock.now())
    assert updates_repo.offer(store.conn) is None


def test_a_snapshot_without_the_offer_withdraws_it(store: Store, clock: FixedClock) -> None:
    offer = Change("update_offer", "upsert", "current", {"version": "0.2.0", "campaign_id": 7})
    apply_page(store.conn, page(1, offer), clock.now())
    apply_page(store.conn, page(5, snapshot=True), clock.now())
    assert updates_repo.offer(store.conn) is None


def test_a_malformed_offer_is_skipped_and_the_page_still_applies(
    store: Store, clock: FixedClock
) -> None:
    bad = Change("update_offer", "upsert", "current", {"version": "../../etc", "campaign_id": 7})
    hours = Change(
        "setting", "upsert", "maintenance_hours", {"value": {"start": "02:00", "end": "05:00"}}
    )
    result = apply_page(store.conn, page(1, bad, hours), clock.now())
    assert result.skipped == 1
    assert updates_repo.offer(store.conn) is None
    assert sync_repo.setting(store.conn, "maintenance_hours") == {"start": "02:00", "end": "05:00"}
    assert sync_repo.read_state(store.conn).cursor == 1
