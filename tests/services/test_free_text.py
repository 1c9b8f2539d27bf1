"""What staff type never carries a NUL or a lone surrogate into the store or the outbox (a
hub refuses such an event; issue 13): the services clean it, and the outbox guards last."""

from __future__ import annotations

import json
from typing import Any

from kiosk.services.clock import FixedClock
from kiosk.services.participants import ParticipantService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.stock import StockService
from kiosk.store import outbox
from kiosk.store.db import transaction
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store


def outbox_rows(store: Store) -> list[tuple[str, str]]:
    rows = store.conn.execute("SELECT type, payload FROM outbox ORDER BY seq").fetchall()
    return [(str(a), str(b)) for a, b in rows]


def session(store: Store, clock: FixedClock, role: str) -> StaffSession:
    staff_id = store.add_staff(role.title(), role, hash_pin("735204"), clock.now(), "test")
    return StaffSession(staff_id, role.title(), role, clock.now())


def test_a_stock_count_whose_reason_holds_a_nul_is_recorded_without_it(
    store: Store, clock: FixedClock
) -> None:
    medication = store.add_medication("hydromorphone", "8 mg", "tablet", clock.now())
    store.set_lane(1, medication, 10, clock.now(), "test")
    worker = session(store, clock, "staff")
    service = StockService(store, clock, StaffService(store, clock))
    result = service.count(worker, 1, 10, "end of\x00 day \ud800count")
    assert result.counted == 10  # the count is kept: staff meant it
    reason = store.conn.execute("SELECT reason FROM stock_movements").fetchone()[0]
    assert reason == "end of day count"
    type_, payload = outbox_rows(store)[-1]
    assert type_ == "stock.counted"
    assert "\\u0000" not in payload and "\\ud800" not in payload
    assert json.loads(payload)["reason"] == "end of day count"


def test_a_hold_reason_and_a_name_are_cleaned_too(store: Store, clock: FixedClock) -> None:
    nurse = session(store, clock, "nurse")
    sensor: Any = None  # not used by create and hold
    participants = ParticipantService(store, sensor, clock, StaffService(store, clock))
    medication = store.add_medication("hydromorphone", "8 mg", "tablet", clock.now())
    pid = participants.create(nurse, None, "Alex\x00 Example", None)
    assert store.conn.execute("SELECT display_name FROM participants").fetchone()[0] == (
        "Alex Example"
    )
    store.add_prescription(pid, medication, 1, (), 4, clock.now().date(), None, clock.now(), "test")
    assert participants.hold(nurse, pid, "\x00seen\x07 at the desk") != []
    payloads = "".join(payload for _type, payload in outbox_rows(store))
    assert "\\u0000" not in payloads and "\\u0007" not in payloads
    assert "seen at the desk" in payloads


def test_the_outbox_drops_what_slipped_past_a_service(store: Store, clock: FixedClock) -> None:
    with transaction(store.conn):
        outbox.add(store.conn, clock.now(), "test.event", {"note": "a\x00b", "x": ["\udfff"]})
    _type, payload = outbox_rows(store)[-1]
    assert json.loads(payload) == {"note": "ab", "x": [""]}
