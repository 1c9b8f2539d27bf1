"""Doses elsewhere and guest days on the kiosk (docs/SYNC.md, "Transfers and guest doses"):
a dose the hub says was given at another machine counts in the rules like one given here; a
guest block refuses the day's doses and queues the ``guest.blocked`` acknowledgement."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from kiosk.domain.dosing import Allowed, RefusalReason, Refused, decide, history_days
from kiosk.domain.model import SiteClock
from kiosk.services.clock import FixedClock
from kiosk.services.decide import DecideService
from kiosk.services.explain import explain_text
from kiosk.services.sync import SyncService
from kiosk.store.repository import Store
from tests.conftest import NOON
from tests.sync.fakehub import FakeHub, delete, participant, prescription

SITE = SiteClock("America/Vancouver")
MEDICATION = {"name": "Hydromorphone", "strength": "8 mg", "form": "tablet"}


def dose_elsewhere(key: str, code: str, **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "participant": code,
        "prescription": None,
        "medication": MEDICATION,
        "units": 2,
        "taken_at": (NOON - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "machine": "12",
    }
    body.update(data)
    return {"kind": "dose_elsewhere", "op": "upsert", "key": key, "data": body}


def guest_block(key: str, code: str, day: str, ids: list[str]) -> dict[str, Any]:
    data = {"participant": code, "day": day, "prescriptions": ids}
    return {"kind": "guest_block", "op": "upsert", "key": key, "data": data}


def one_rx(store: Store, code: str) -> Any:
    found = store.participant_by_code(code)
    assert found is not None
    return store.prescriptions(found.id)[0]


def verdict(store: Store, code: str) -> Any:
    rx = one_rx(store, code)
    since = NOON - timedelta(days=history_days(SITE, rx))
    return decide(rx, store.history(rx.id, since), NOON, SITE)


def outbox(store: Store, type_: str) -> list[dict[str, Any]]:
    rows = store.conn.execute("SELECT payload FROM outbox WHERE type = ?", (type_,)).fetchall()
    return [json.loads(row[0]) for row in rows]


# A window 11:00-13:00 local holds NOON (12:00 in Vancouver); one dose per window, 4 a day.
WINDOW = {"windows": [["11:00", "13:00"], ["17:00", "20:00"]], "start_date": "2026-06-10"}


def test_a_dose_elsewhere_counts_like_one_given_here(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [participant("P-0001"), prescription("41", "P-0001", **WINDOW)]
    sync.run_once()
    assert isinstance(verdict(store, "P-0001"), Allowed)
    # Given at another machine half an hour ago, in the same window: the window is used.
    hub.log.append(dose_elsewhere("de-1", "P-0001", prescription="41"))
    sync.run_once()
    refused = verdict(store, "P-0001")
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.ALREADY_DOSED
    # Re-sent (a snapshot, a lost reply): kept once.
    hub.log.append(dose_elsewhere("de-1", "P-0001", prescription="41"))
    sync.run_once()
    assert store.conn.execute("SELECT count(*) FROM doses_elsewhere").fetchone()[0] == 1
    # Nothing of it goes back to the hub.
    assert outbox(store, "dispense.result") == []


def test_a_dose_elsewhere_without_a_known_prescription_matches_by_medication(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [
        participant("P-0002"),
        prescription(
            "50",
            "P-0002",
            daily_max_units=2,
            interval_minutes=60,
            windows=[],
            start_date="2026-06-10",
        ),
        # The other machine's prescription id means nothing here: the medication decides.
        dose_elsewhere("de-2", "P-0002", prescription="999", units=2),
        # Another medication does not count against this one.
        dose_elsewhere("de-3", "P-0002", medication={**MEDICATION, "strength": "2 mg"}),
        # Another participant's dose does not either.
        dose_elsewhere("de-4", "P-0099"),
    ]
    sync.run_once()
    refused = verdict(store, "P-0002")
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.TOO_EARLY
    rx = one_rx(store, "P-0002")
    assert [d.units for d in store.history(rx.id, NOON - timedelta(days=3))] == [2]


def test_a_guest_block_refuses_that_day_and_is_acknowledged(
    store: Store, hub: FakeHub, sync: SyncService, clock: FixedClock
) -> None:
    hub.log = [participant("P-0003"), prescription("60", "P-0003", **WINDOW)]
    sync.run_once()
    hub.log.append(guest_block("7", "P-0003", "2026-06-10", ["60"]))
    sync.run_once()
    refused = verdict(store, "P-0003")
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.DOSES_ELSEWHERE
    # The decision staff see says why.
    participant_id = store.participant_by_code("P-0003").id  # type: ignore[union-attr]
    view = DecideService(store, clock, SITE).decide(participant_id)
    assert view.refusal is not None and view.refusal.reason is RefusalReason.DOSES_ELSEWHERE
    assert "another site" in explain_text(view, SITE)
    # The acknowledgement waits in the outbox, written with the block (ids and a day only).
    assert outbox(store, "guest.blocked") == [
        {"guest_pass": "7", "subject": "P-0003", "day": "2026-06-10"}
    ]
    # Sent again: no second acknowledgement.
    hub.log.append(guest_block("7", "P-0003", "2026-06-10", ["60"]))
    sync.run_once()
    assert len(outbox(store, "guest.blocked")) == 1
    # Another day is not blocked; a withdrawn block lifts the refusal.
    hub.log.append(delete("guest_block", "7"))
    sync.run_once()
    assert isinstance(verdict(store, "P-0003"), Allowed)


def test_a_block_of_every_prescription_and_of_another_day(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [
        participant("P-0004"),
        prescription("70", "P-0004", **WINDOW),
        guest_block("8", "P-0004", "2026-06-11", []),
    ]
    sync.run_once()
    assert isinstance(verdict(store, "P-0004"), Allowed)  # tomorrow's block, not today's
    hub.log.append(guest_block("9", "P-0004", "2026-06-10", []))
    sync.run_once()
    refused = verdict(store, "P-0004")
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.DOSES_ELSEWHERE


def test_a_snapshot_lifts_blocks_it_no_longer_lists(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [
        participant("P-0005"),
        prescription("80", "P-0005", **WINDOW),
        guest_block("10", "P-0005", "2026-06-10", []),
    ]
    sync.run_once()
    assert isinstance(verdict(store, "P-0005"), Refused)
    changes = [participant("P-0005"), prescription("80", "P-0005", **WINDOW)]
    hub.snapshot = {"cursor": 50, "snapshot": True, "more": False, "changes": changes}
    sync.run_once()
    assert isinstance(verdict(store, "P-0005"), Allowed)
