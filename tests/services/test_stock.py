"""Lanes and stock on the real encrypted store: locker lanes, blind-count restocks with a
second sign-off, discrepancies that block a lane until a pharmacist resolves them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from kiosk.services.clock import FixedClock
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.stock import StockService
from kiosk.store import audit, outbox, stock_repo
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store

WORKER_PIN = "735204"
NURSE_PIN = "615243"
PHARMACIST_PIN = "482916"


@dataclass
class Site:
    store: Store
    clock: FixedClock
    service: StockService
    worker: StaffSession
    nurse: StaffSession
    pharmacist: StaffSession
    hydro: int
    morphine: int
    alex: int  # participant ids
    sam: int


@pytest.fixture
def site(store: Store, clock: FixedClock) -> Site:
    now = clock.now()
    ids = {}
    for name, role, pin in (
        ("Worker", "staff", WORKER_PIN),
        ("Nurse", "nurse", NURSE_PIN),
        ("Pharmacist", "pharmacist", PHARMACIST_PIN),
    ):
        ids[role] = store.add_staff(name, role, hash_pin(pin), now, "test")
    hydro = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    morphine = store.add_medication("slow-release oral morphine", "200 mg", "capsule", now)
    store.set_lane(1, hydro, 10, now, "test")
    store.set_lane(2, hydro, 10, now, "test")
    alex = store.add_participant("P-0001", "Alex Example", None, now, "test")
    sam = store.add_participant("P-0002", "Sam Example", None, now, "test")
    staff = StaffService(store, clock)
    return Site(
        store,
        clock,
        StockService(store, clock, staff),
        StaffSession(ids["staff"], "Worker", "staff", now),
        StaffSession(ids["nurse"], "Nurse", "nurse", now),
        StaffSession(ids["pharmacist"], "Pharmacist", "pharmacist", now),
        hydro,
        morphine,
        alex,
        sam,
    )


def last_audit(store: Store) -> tuple[str, str, str, dict[str, object]]:
    row = store.conn.execute(
        "SELECT actor, action, subject, details FROM audit_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return row[0], row[1], row[2], json.loads(row[3])


def lane(site: Site, number: int) -> stock_repo.LaneRow:
    row = stock_repo.lane_row(site.store, number)
    assert row is not None
    return row


def chain_and_outbox_agree(store: Store) -> None:
    report = audit.verify_chain(store.conn)
    assert report.ok
    assert outbox.pending_count(store.conn) == report.entries  # one event per entry


def test_a_restock_with_a_matching_count(site: Site) -> None:
    result = site.service.restock(site.worker, 1, 10, 20, NURSE_PIN)
    assert (result.expected, result.counted, result.added, result.stock) == (10, 10, 20, 30)
    assert result.matches and result.discrepancy_id is None
    assert result.second_staff_id == site.nurse.staff_id
    row = site.store.conn.execute(
        "SELECT kind, units, expected, counted, staff_id, second_staff_id, medication_id"
        " FROM stock_movements"
    ).fetchall()
    assert row == [("restock", 20, 10, 10, site.worker.staff_id, site.nurse.staff_id, site.hydro)]
    assert (lane(site, 1).stock, lane(site, 1).state) == (30, "ready")
    actor, action, subject, details = last_audit(site.store)
    assert (actor, action, subject) == (site.worker.actor, "stock.restocked", "lane:1")
    assert details["movement_id"] == result.movement_id
    assert details["discrepancy_id"] is None
    assert site.store.open_alerts() == []
    chain_and_outbox_agree(site.store)


def test_a_discrepancy_blocks_the_lane_until_a_pharmacist_resolves_it(site: Site) -> None:
    store, hydro = site.store, site.hydro
    assert stock_repo.lane_for_participant(store, hydro, site.alex, 2).lane in (1, 2)
    result = site.service.restock(site.worker, 1, 8, 12, NURSE_PIN)  # 2 missing
    assert (result.expected, result.counted, result.difference, result.stock) == (10, 8, -2, 20)
    assert result.discrepancy_id is not None
    row = lane(site, 1)
    assert (row.stock, row.state, row.discrepancy_id) == (20, "discrepancy", result.discrepancy_id)
    [(_, kind, subject, _)] = store.open_alerts()
    assert (kind, subject) == ("discrepancy", "lane:1")
    # Lane 1 is now the fullest, but it must not dispense: lane 2 serves.
    assert stock_repo.lane_for_participant(store, hydro, site.alex, 2).lane == 2
    # Even when a controller STATUS writes 'ready' over it, the open discrepancy blocks.
    store.set_lane_state(1, "ready", site.clock.now(), "controller")
    store.set_lane_state(2, "jammed", site.clock.now(), "controller")
    assert stock_repo.lane_for_participant(store, hydro, site.alex, 2) is None
    store.set_lane_state(1, "discrepancy", site.clock.now(), "test")

    with pytest.raises(NotPermitted):  # the plain staff role may not resolve
        site.service.resolve_discrepancy(site.worker, result.discrepancy_id, "recount")
    with pytest.raises(NotPermitted):  # nor a nurse: pharmacists only
        site.service.resolve_discrepancy(site.nurse, result.discrepancy_id, "recount")
    assert last_audit(store)[1] == "staff.refused"
    with pytest.raises(InvalidInput) as no_reason:
        site.service.resolve_discrepancy(site.pharmacist, result.discrepancy_id, "  ")
    assert no_reason.value.code == "reason"
    assert lane(site, 1).discrepancy_id == result.discrepancy_id

    resolved = site.service.resolve_discrepancy(
        site.pharmacist, result.discrepancy_id, "two units found in the pharmacy safe log"
    )
    assert (resolved.lane, resolved.lane_state, resolved.still_open) == (1, "ready", 0)
    assert (lane(site, 1).state, lane(site, 1).discrepancy_id) == ("ready", None)
    assert store.open_alerts() == []
    assert stock_repo.lane_for_participant(store, hydro, site.alex, 2).lane == 1
    actor, action, _, details = last_audit(store)
    assert (actor, action) == (site.pharmacist.actor, "discrepancy.resolved")
    assert details["reason"] == "two units found in the pharmacy safe log"
    with pytest.raises(InvalidInput) as again:
        site.service.resolve_discrepancy(site.pharmacist, result.discrepancy_id, "again")
    assert again.value.code == "resolved"
    chain_and_outbox_agree(store)


def test_a_second_discrepancy_keeps_the_lane_blocked(site: Site) -> None:
    first = site.service.count(site.worker, 1, 9)
    second = site.service.count(site.worker, 1, 8)
    assert first.discrepancy_id and second.discrepancy_id
    assert len(site.store.open_alerts()) == 1  # one alert per lane
    done = site.service.resolve_discrepancy(site.pharmacist, first.discrepancy_id, "miscount")
    assert (done.lane_state, done.still_open) == ("discrepancy", 1)
    assert lane(site, 1).discrepancy_id == second.discrepancy_id
    assert len(site.store.open_alerts()) == 1
    site.service.resolve_discrepancy(site.pharmacist, second.discrepancy_id, "miscount")
    assert lane(site, 1).state == "ready"


def test_a_second_signature_by_the_same_person_is_refused(site: Site) -> None:
    with pytest.raises(InvalidInput) as same:
        site.service.restock(site.worker, 1, 10, 5, WORKER_PIN)
    assert same.value.code == "second_signature"
    with pytest.raises(InvalidInput):
        site.service.restock(site.worker, 1, 10, 5, "999999")  # nobody's PIN
    assert site.store.conn.execute("SELECT count(*) FROM stock_movements").fetchone()[0] == 0
    assert lane(site, 1).stock == 10
    actor, action, subject, details = last_audit(site.store)
    assert (actor, action, subject) == (site.worker.actor, "pin.refused", "second_signature")
    assert details["failures"] == 2


def test_a_locker_lane_serves_only_its_participant(site: Site) -> None:
    store, hydro = site.store, site.hydro
    with pytest.raises(NotPermitted):  # plain staff may not assign lanes
        site.service.assign(site.worker, 3, hydro, site.alex, "locker for P-0001")
    with pytest.raises(InvalidInput) as no_reason:
        site.service.assign(site.pharmacist, 3, hydro, site.alex, "")
    assert no_reason.value.code == "reason"
    view = site.service.assign(site.pharmacist, 3, hydro, site.alex, "locker for P-0001")
    assert (view.lane, view.participant_code, view.personal, view.stock) == (3, "P-0001", True, 0)
    site.service.restock(site.worker, 3, 0, 4, NURSE_PIN)

    # The locker is preferred for its owner although shared lanes hold more.
    assert stock_repo.lane_for_participant(store, hydro, site.alex, 2).lane == 3
    assert stock_repo.lane_for_participant(store, hydro, site.sam, 2).lane in (1, 2)
    # With the shared lanes out of service, Sam gets nothing, never Alex's locker.
    for shared in (1, 2):
        store.set_lane_state(shared, "empty", site.clock.now(), "controller")
    assert stock_repo.lane_for_participant(store, hydro, site.sam, 2) is None
    assert stock_repo.lane_for_participant(store, hydro, site.alex, 2).lane == 3
    assert stock_repo.lane_for_participant(store, hydro, site.alex, 5) is None  # 4 in it
    assert stock_repo.lane_for_participant(store, site.morphine, site.alex, 1) is None

    views = {v.lane: v for v in site.service.lanes(site.worker)}
    assert views[3].medication == "hydromorphone 8 mg tablet"
    assert (views[1].participant_code, views[3].participant_code) == (None, "P-0001")
    # A lane holding units cannot change medication; nor go to an unknown participant.
    with pytest.raises(InvalidInput) as full:
        site.service.assign(site.pharmacist, 3, site.morphine, None, "swap")
    assert full.value.code == "lane_not_empty"
    with pytest.raises(InvalidInput) as nobody:
        site.service.assign(site.pharmacist, 4, hydro, 999, "locker")
    assert nobody.value.code == "participant"
    # Back to shared: now Sam may use it.
    site.service.assign(site.pharmacist, 3, hydro, None, "participant moved away")
    assert stock_repo.lane_for_participant(store, hydro, site.sam, 2).lane == 3
    actor, action, subject, details = last_audit(store)
    assert (actor, action, subject) == (site.pharmacist.actor, "lane.assigned", "lane:3")
    assert details["previous_participant_id"] == site.alex
    chain_and_outbox_agree(store)


def test_returns_and_witnessed_waste_take_units_out(site: Site) -> None:
    returned = site.service.record_return(site.worker, 1, 3, "prescription ended")
    assert (returned.kind, returned.units, returned.stock) == ("return", 3, 7)
    with pytest.raises(InvalidInput) as same:
        site.service.record_waste(site.worker, 1, 1, "dropped on the floor", WORKER_PIN)
    assert same.value.code == "second_signature"
    wasted = site.service.record_waste(site.worker, 1, 1, "dropped on the floor", NURSE_PIN)
    assert (wasted.kind, wasted.stock, wasted.second_staff_id) == ("waste", 6, site.nurse.staff_id)
    with pytest.raises(InvalidInput) as too_many:
        site.service.record_return(site.worker, 1, 7, "more than the lane holds")
    assert too_many.value.code == "units"
    with pytest.raises(InvalidInput) as no_reason:
        site.service.record_return(site.worker, 1, 1, "")
    assert no_reason.value.code == "reason"
    rows = site.store.conn.execute(
        "SELECT kind, units, second_staff_id FROM stock_movements ORDER BY id"
    ).fetchall()
    assert rows == [("return", -3, None), ("waste", -1, site.nurse.staff_id)]
    assert lane(site, 1).stock == 6
    assert last_audit(site.store)[1] == "stock.wasted"
