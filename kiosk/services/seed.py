"""Seeded demo data: participants, prescriptions, lanes, a staff member, some history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta

from kiosk.domain.model import SiteClock, Window
from kiosk.domain.schedule import dosing_day
from kiosk.services.clock import Clock
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Intent, Store

# Four windows that cover the whole dosing day, so the demo works at any hour.
ALL_DAY = (
    Window(time(4), time(10)),
    Window(time(10), time(16)),
    Window(time(16), time(22)),
    Window(time(22), time(4)),
)
DEMO_ADMIN_PIN = "123456"  # documented in the README; demo data only
DEMO_NURSE_PIN = "246810"
DEMO_PHARMACIST_PIN = "135790"
DEMO_WORKER_PIN = "975310"  # the plain "staff" role: night shift, jams, restocks


@dataclass(frozen=True)
class DemoParticipant:
    code: str
    name: str
    finger_key: str  # what the sensor emulator is told to "place"
    position: int
    story: str  # what the simulator button shows


DEMO_PARTICIPANTS = (
    DemoParticipant("P-0001", "Alex", "P-0001/right-index", 0, "due now: 2 tablets"),
    DemoParticipant("P-0002", "Sam", "P-0002/right-index", 1, "already dosed: too early"),
    DemoParticipant("P-0003", "Jordan", "P-0003/right-index", 2, "on hold: see staff"),
    DemoParticipant("P-0004", "Robin", "P-0004/right-index", 3, "two medications due"),
    DemoParticipant("P-0005", "Casey", "P-0005/right-index", 4, "witnessed dose (nurse PIN)"),
)
LANE_STOCK = {1: 40, 2: 40, 3: 30, 4: 0}


def seed_demo(
    store: Store, clock: Clock, site: SiteClock, characteristics: Callable[[str], bytes]
) -> None:
    now = clock.now()
    actor = "system:demo-seed"
    hydro = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    srom = store.add_medication("slow-release oral morphine", "200 mg", "capsule", now)
    store.set_lane(1, hydro, LANE_STOCK[1], now, actor)
    store.set_lane(2, hydro, LANE_STOCK[2], now, actor)
    store.set_lane(3, srom, LANE_STOCK[3], now, actor)
    store.set_lane(4, None, LANE_STOCK[4], now, actor)
    store.add_staff("Demo Admin", "admin", hash_pin(DEMO_ADMIN_PIN), now, actor)
    store.add_staff("Demo Nurse", "nurse", hash_pin(DEMO_NURSE_PIN), now, actor)
    store.add_staff("Demo Pharmacist", "pharmacist", hash_pin(DEMO_PHARMACIST_PIN), now, actor)
    store.add_staff("Demo Worker", "staff", hash_pin(DEMO_WORKER_PIN), now, actor)
    # Started yesterday: nobody is on a missed-dose hold when the demo opens.
    start = dosing_day(now, site) - timedelta(days=1)
    ids = {}
    for person in DEMO_PARTICIPANTS:
        language = "fr_CA" if person.code == "P-0002" else "en"
        pid = store.add_participant(person.code, person.name, language, now, actor)
        ids[person.code] = pid
        store.add_template(
            pid, "right-index", person.position, characteristics(person.finger_key), now, actor
        )
    store.add_prescription(ids["P-0001"], hydro, 2, ALL_DAY, 8, start, None, now, actor)
    sam_rx = store.add_prescription(ids["P-0002"], hydro, 1, ALL_DAY, 4, start, None, now, actor)
    store.add_prescription(ids["P-0003"], hydro, 2, ALL_DAY, 8, start, None, now, actor)
    store.hold_prescription_of(ids["P-0003"], "needs prescriber review", now, actor)
    store.add_prescription(ids["P-0004"], hydro, 1, ALL_DAY, 4, start, None, now, actor)
    # Slow-release morphine on an interval schedule: 12 hours apart, twice a day at most.
    store.add_prescription(
        ids["P-0004"],
        srom,
        1,
        (),
        2,
        start,
        None,
        now,
        actor,
        interval_minutes=720,
        max_doses_per_day=2,
    )
    store.add_prescription(
        ids["P-0005"], hydro, 2, ALL_DAY, 8, start, None, now, actor, witnessed=True
    )
    # Sam already picked up in this window: the demo shows "your next dose is at ...".
    vend_id = store.new_vend_id()
    store.record_intent(Intent(vend_id, ids["P-0002"], sam_rx, 1, 1, now))
    store.record_result(vend_id, 1, "complete", None, now)
