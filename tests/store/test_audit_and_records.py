"""Audit chain, outbox and the dispense records written in one transaction."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from kiosk.domain.model import Window
from kiosk.services.clock import FixedClock
from kiosk.store import audit, outbox
from kiosk.store.db import transaction
from kiosk.store.repository import Intent, Store


def seed(store: Store, clock: FixedClock) -> tuple[int, int]:
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 10, now, "test")
    pid = store.add_participant("P-1", "Name", "en", now, "test")
    rx = store.add_prescription(
        pid, med, 2, (Window(time(8), time(11)),), 6, date(2026, 1, 1), None, now, "test"
    )
    return pid, rx


def test_every_change_writes_audit_and_outbox(store: Store, clock: FixedClock) -> None:
    pid, rx = seed(store, clock)
    before = audit.verify_chain(store.conn).entries
    store.record_intent(Intent(42, pid, rx, 1, 2, clock.now()))
    store.record_result(42, 2, "complete", None, clock.now())
    report = audit.verify_chain(store.conn)
    assert report.ok
    assert report.entries == before + 2
    assert outbox.pending_count(store.conn) == report.entries
    assert store.lanes()[0].stock == 8
    assert store.unfinished_intents() == []


def test_a_failed_change_leaves_nothing_behind(store: Store, clock: FixedClock) -> None:
    seed(store, clock)
    entries = audit.verify_chain(store.conn).entries
    with pytest.raises(LookupError):
        store.record_result(999, 1, "complete", None, clock.now())
    with pytest.raises(Exception, match="FOREIGN KEY"):
        store.record_intent(Intent(43, 999, 999, 1, 2, clock.now()))
    assert audit.verify_chain(store.conn).entries == entries
    assert store.unfinished_intents() == []


def test_tampering_with_any_entry_is_found(store: Store, clock: FixedClock) -> None:
    seed(store, clock)
    assert audit.verify_chain(store.conn).ok
    with transaction(store.conn):
        store.conn.execute("UPDATE audit_log SET details = '{\"stock\":99}' WHERE seq = 2")
    report = audit.verify_chain(store.conn)
    assert report.first_bad_seq == 2
    assert "changed" in report.problem


def test_a_deleted_entry_is_found(store: Store, clock: FixedClock) -> None:
    seed(store, clock)
    with transaction(store.conn):
        store.conn.execute("DELETE FROM audit_log WHERE seq = 2")
    assert audit.verify_chain(store.conn).first_bad_seq == 2


def test_history_counts_confirmed_units_and_an_unsettled_vend_in_full(
    store: Store, clock: FixedClock
) -> None:
    pid, rx = seed(store, clock)
    store.record_intent(Intent(1, pid, rx, 1, 2, clock.now()))
    store.record_result(1, 1, "jam", "jammed", clock.now())
    store.record_intent(Intent(2, pid, rx, 1, 2, clock.now()))  # never finished
    history = store.history(rx, clock.now() - timedelta(days=1))
    # The jammed vend gave 1 of 2; the open one may have dropped both (invariant 6).
    assert sorted(h.units for h in history) == [1, 2]
    assert store.lanes()[0].state == "jammed"
    assert [i.vend_id for i in store.unfinished_intents()] == [2]
    assert store.lane_for(1, 2) is None  # the only lane is jammed
