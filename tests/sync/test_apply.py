"""Applying pulled pages: upserts, tombstones, the cursor in the same transaction, the audit
chain, no echo into the outbox, conflicts kept for staff."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from kiosk.services.clock import FixedClock
from kiosk.services.sync import Change, ChangesPage, HubUnreachable, SyncService
from kiosk.services.sync.apply import ApplyError, apply_page
from kiosk.services.sync.thread import _describe as describe_failure
from kiosk.store import sync_repo
from kiosk.store.audit import verify_chain
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.sync.fakehub import FakeHub, delete, participant, prescription, staff

PIN_HASH = hash_pin("836154")


def outbox_count(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def rx_row(store: Store, hub_id: str) -> tuple:  # type: ignore[type-arg]
    return store.conn.execute(
        "SELECT id, status, units_per_dose, windows, end_date, medication_id FROM prescriptions"
        " WHERE hub_id = ?",
        (hub_id,),
    ).fetchone()


def test_a_page_is_applied_with_its_cursor_and_never_echoed(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [
        participant("P-0001", language="fr_CA"),
        prescription("41", "P-0001"),
        staff("7", PIN_HASH),
        {"kind": "setting", "op": "upsert", "key": "day_start_hour", "data": {"value": 5}},
    ]
    before = outbox_count(store)
    report = sync.run_once()
    assert (report.pulled, report.conflicts, report.cursor) == (4, 0, 4)
    p = store.participant_by_code("P-0001")
    assert p is not None and (p.display_name, p.language, p.status) == (
        "Alex Example",
        "fr_CA",
        "active",
    )
    rx = store.prescriptions(p.id)
    assert len(rx) == 1 and rx[0].units_per_dose == 2 and rx[0].missed_dose_limit == 3
    assert rx[0].medication.name == "Hydromorphone" and rx[0].start_date == date(2026, 6, 1)
    assert store.staff_with_roles(("nurse",))[0][2] == PIN_HASH
    assert sync_repo.setting(store.conn, "day_start_hour") == 5
    assert sync_repo.read_state(store.conn).cursor == 4
    # Audited as the hub, chain intact, and nothing new to push back.
    actors = store.conn.execute("SELECT DISTINCT actor FROM audit_log").fetchall()
    assert ("hub",) in actors
    assert verify_chain(store.conn).ok
    assert outbox_count(store) == before
    # The next round pulls from the stored cursor.
    hub.pulls.clear()
    sync.run_once()
    assert hub.pulls == [4]


def test_an_upsert_changes_the_same_record_and_tombstones_keep_rows(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [participant("P-0002"), prescription("9", "P-0002"), staff("3", PIN_HASH)]
    sync.run_once()
    first = rx_row(store, "9")
    hub.log += [
        prescription("9", "P-0002", units_per_dose=3, windows=[["09:00", "12:00"]]),
        prescription("10", "P-0002", status="ended"),
    ]
    sync.run_once()
    changed = rx_row(store, "9")
    assert changed[0] == first[0]  # same local id: today's dispenses still count
    assert changed[2] == 3 and json.loads(changed[3]) == [["09:00", "12:00"]]
    assert rx_row(store, "10")[1] == "cancelled"
    hub.log += [delete("prescription", "9"), delete("participant", "P-0002"), delete("staff", "3")]
    sync.run_once()
    assert rx_row(store, "9")[1] == "cancelled"
    p = store.participant_by_code("P-0002")
    assert p is not None and p.status == "removed"
    assert store.staff_with_roles(("nurse",)) == []  # inactive, row kept
    assert store.conn.execute("SELECT active FROM staff WHERE hub_id = '3'").fetchone() == (0,)
    assert sync_repo.read_state(store.conn).cursor == 8


def test_a_failing_apply_leaves_the_cursor_and_the_records_unchanged(
    store: Store, clock: FixedClock
) -> None:
    good = Change("participant", "upsert", "P-0003", participant("P-0003")["data"])
    bad = Change("prescription", "upsert", "77", prescription("77", "P-9999")["data"])
    audit_before = store.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    with pytest.raises(ApplyError, match="P-9999"):
        apply_page(store.conn, ChangesPage(12, False, False, [good, bad]), clock.now())
    assert sync_repo.read_state(store.conn).cursor == 0
    assert store.participant_by_code("P-0003") is None  # the good change rolled back too
    assert store.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit_before
    assert not store.conn.in_transaction


def test_a_failing_page_records_an_error_without_personal_data(
    store: Store, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [participant("P-0004", name="Jordan Private"), prescription("5", "P-0404")]
    with pytest.raises(ApplyError):
        sync.run_once()
    state = sync_repo.read_state(store.conn)
    assert state.cursor == 0 and "P-0404" in state.last_error
    assert "Jordan" not in state.last_error


def test_an_unsent_local_edit_turns_a_hub_change_into_a_conflict(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [participant("P-0005"), prescription("21", "P-0005")]
    sync.run_once()
    local_id = rx_row(store, "21")[0]
    # Staff hold it on the kiosk while the hub is unreachable: the edit waits in the outbox.
    assert store.hold_prescription(local_id, "review", "staff", clock.now(), "staff:1")
    hub.down = True
    with pytest.raises(HubUnreachable):
        sync.run_once()
    hub.down = False
    # The hub changed the same prescription meanwhile; the push will not get through.
    hub.log.append(prescription("21", "P-0005", units_per_dose=5))
    hub.hold_back_after = 0
    report = sync.run_once()
    assert report.conflicts == 1
    row = rx_row(store, "21")
    assert row[1] == "on_hold" and row[2] == 2  # not overwritten
    conflicts = sync_repo.open_conflicts(store.conn)
    assert [(c.kind, c.key, c.op) for c in conflicts] == [("prescription", "21", "upsert")]
    assert conflicts[0].local_seqs
    alerts = store.open_alerts()
    assert [(kind, subject) for _id, kind, subject, _m in alerts] == [
        ("sync_conflict", "prescription:21")
    ]
    assert sync_repo.read_state(store.conn).cursor == 3  # the conflict is kept, the log moves on
    assert verify_chain(store.conn).ok


def test_a_local_staff_account_is_linked_not_copied(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    local = store.add_staff("Sam Nurse", "nurse", PIN_HASH, clock.now(), "test")
    sync.run_once()  # pushes staff.added
    hub.log = [staff("15", PIN_HASH, name="Sam N.")]
    sync.run_once()
    rows = store.conn.execute("SELECT id, name, hub_id FROM staff").fetchall()
    assert rows == [(local, "Sam N.", "15")]


def test_a_snapshot_tombstones_what_it_no_longer_lists(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    hub.log = [
        participant("P-0010"),
        participant("P-0011"),
        prescription("1", "P-0010"),
        prescription("2", "P-0011"),
        staff("4", PIN_HASH),
    ]
    sync.run_once()
    # Enrolled on the kiosk, not yet known to the hub: a snapshot must not remove it.
    store.add_participant("P-0099", "Local Only", None, clock.now(), "staff:1")
    hub.hold_back_after = 0  # its event does not get through before the pull
    hub.snapshot = {
        "cursor": 50,
        "snapshot": True,
        "more": False,
        "changes": [participant("P-0010"), prescription("1", "P-0010")],
    }
    sync.run_once()
    status = dict(store.conn.execute("SELECT code, status FROM participants").fetchall())
    assert status == {"P-0010": "active", "P-0011": "removed", "P-0099": "active"}
    assert rx_row(store, "1")[1] == "active" and rx_row(store, "2")[1] == "cancelled"
    assert store.staff_with_roles(("nurse",)) == []
    state = sync_repo.read_state(store.conn)
    assert state.cursor == 50 and not state.snapshot_open


def test_the_log_names_neither_a_conflicting_participant_nor_an_unknown_one(
    store: Store,
    clock: FixedClock,
    hub: FakeHub,
    sync: SyncService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hub.log = [participant("P-0005", name="Casey Private")]
    sync.run_once()
    local = store.participant_by_code("P-0005")
    assert local is not None
    store.note(
        clock.now(), "staff:1", "participant.language_changed", f"participant:{local.id}", {}
    )
    hub.hold_back_after = 0  # the local edit stays unsent
    hub.log.append(participant("P-0005", name="Casey Private", language="es"))
    assert sync.run_once().conflicts == 1
    assert "sync conflict" in caplog.text
    failing = ApplyError("prescription 5 names participant P-0404, unknown here")
    assert "P-0404" not in describe_failure(failing)  # what the sync thread logs
    for secret in ("P-0005", "Casey", "Private"):
        assert secret not in caplog.text
