"""Doses given by hand through the kiosk's apply code (docs/SYNC.md, "Manual doses"): a
hypothesis property over any order of pages, re-sent pages and snapshots, with a dose made
here coming back from the hub too. One row per uuid; the rules count each dose once; a dose
from a lane leaves the lane's stock once."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.manual_doses import StockSource
from kiosk.services.clock import FixedClock
from kiosk.services.manual_doses import ManualDoseService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.sync.apply import apply_page
from kiosk.services.sync.client import Change, ChangesPage
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.sync.fakehub import participant, prescription

NOW = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)  # 12:00 in Vancouver: in no window
HUB_DOSES = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"]


def hub_dose(key: str, units: int, lane: int | None) -> Change:
    data: dict[str, Any] = {
        "uuid": key,
        "participant": "P-0001",
        "prescription": "41",
        "medication": {"name": "Hydromorphone", "strength": "8 mg", "form": "tablet"},
        "units": units,
        "given_at": (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "source": "machine_lane" if lane else "pharmacy_stock",
        "lane": lane,
        "recorded_by": "hub_user:7",
        "witness": None,
        "origin": "hub",
    }
    return Change("manual_dose", "upsert", key, data)


def told_elsewhere(key: str, units: int, hub_key: str) -> Change:
    """The same dose given by hand, told as a dose elsewhere (the hub never sends one to the
    machine that holds the dose: if it ever did, the rules still count it once)."""
    data: dict[str, Any] = {
        "participant": "P-0001",
        "prescription": "41",
        "medication": {"name": "Hydromorphone", "strength": "8 mg", "form": "tablet"},
        "units": units,
        "taken_at": (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "machine": "9",
        "manual_dose": key,
    }
    return Change("dose_elsewhere", "upsert", hub_key, data)


def page(cursor: int, changes: list[Change], snapshot: bool = False) -> ChangesPage:
    return ChangesPage(cursor, snapshot, False, changes)


# A step: a page of the hub's changes naming some of the doses (indexes into the known ones),
# sent as a normal page or as a snapshot.
steps = st.lists(
    st.tuples(st.lists(st.integers(0, 4), max_size=4), st.booleans()), min_size=1, max_size=6
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_each_dose_is_kept_and_counted_once_whatever_arrives(
    sequence: list[tuple[list[int], bool]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        conn = connect(folder / "kiosk.db", create_key_file(folder / "db.key"))
        try:
            store = Store(conn)
            setup = [participant("P-0001"), prescription("41", "P-0001")]
            apply_page(conn, page(1, [Change(**c) for c in setup]), NOW)
            [rx] = store.prescriptions(store.participant_by_code("P-0001").id)  # type: ignore[union-attr]
            store.set_lane(1, rx.medication.id, 40, NOW, "test")
            clock = FixedClock(NOW)
            nurse = store.add_staff("Nurse", "nurse", hash_pin("615243"), NOW, "test")
            session = StaffSession(nurse, "Nurse", "nurse", NOW)
            service = ManualDoseService(store, clock, StaffService(store, clock))
            [choice] = service.choices(session)
            mine = service.record(
                session,
                choice,
                units=1,
                given_at=NOW - timedelta(minutes=30),
                source=StockSource.MACHINE_LANE,
                lane=1,
                override_reason="test: the rules are not the point here",
            )
            known = [hub_dose(HUB_DOSES[0], 2, 1), hub_dose(HUB_DOSES[1], 3, None)]
            # The hub's copy of the dose made here, as it is pulled back.
            echo = hub_dose(mine.uuid, 1, 1)
            known.append(
                Change("manual_dose", "upsert", mine.uuid, {**echo.data, "origin": "kiosk"})
            )
            # The hub's first dose and the one made here, also told as doses elsewhere, in
            # any order before or after the dose itself.
            known.append(told_elsewhere(HUB_DOSES[0], 2, "501"))
            known.append(told_elsewhere(mine.uuid, 1, "502"))
            kept, told = {mine.uuid}, set()
            for cursor, (indexes, snapshot) in enumerate(sequence, start=2):
                changes = [known[i] for i in indexes]
                apply_page(conn, page(cursor, changes, snapshot), NOW)
                kept |= {c.key for c in changes if c.kind == "manual_dose"}
                told |= {str(c.data["manual_dose"]) for c in changes if c.kind != "manual_dose"}
            rows = conn.execute("SELECT uuid FROM manual_doses").fetchall()
            assert {r[0] for r in rows} == kept
            units = {str(c.data.get("manual_dose") or c.key): int(c.data["units"]) for c in known}
            history = store.history(rx.id, NOW - timedelta(days=2))
            assert sum(d.units for d in history) == sum(units[k] for k in kept | told)
            hub_lane = HUB_DOSES[0] in kept
            assert store.lanes()[0].stock == 40 - 1 - (2 if hub_lane else 0)
            # The hub's figure follows: one manual_dose.applied per hub dose from a lane.
            applied = conn.execute(
                "SELECT count(*) FROM outbox WHERE type = 'manual_dose.applied'"
            ).fetchone()[0]
            assert applied == (1 if hub_lane else 0)
        finally:
            conn.close()
