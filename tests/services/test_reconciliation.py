"""Daily reconciliation on a seeded ledger (exact numbers) and its CSV export."""

from __future__ import annotations

import csv
import errno
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.model import SiteClock
from kiosk.services import reconciliation as reconciliation_module
from kiosk.services.clock import FixedClock
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.reconciliation import ReconciliationLine, ReconciliationService
from kiosk.services.seed import ALL_DAY
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.stock import StockService
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Intent, Store

SITE = SiteClock("America/Vancouver")  # dosing day from 04:00 local
DAY = date(2026, 6, 10)
NURSE_PIN = "615243"


def local(text: str) -> datetime:
    """A site-local wall time as the UTC instant the store keeps."""
    naive = datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo(SITE.timezone)).astimezone(UTC)


@dataclass
class Books:
    service: ReconciliationService
    worker: StaffSession
    nurse: StaffSession
    hydro: int
    morphine: int


@pytest.fixture
def books(store: Store, clock: FixedClock) -> Books:
    clock.at = local("2026-06-09 10:00")
    now = clock.now()
    worker_id = store.add_staff("Worker", "staff", "no-pin", now, "test")
    nurse_id = store.add_staff("Nurse", "nurse", hash_pin(NURSE_PIN), now, "test")
    worker = StaffSession(worker_id, "Worker", "staff", now)
    nurse = StaffSession(nurse_id, "Nurse", "nurse", now)
    hydro = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    morphine = store.add_medication("slow-release oral morphine", "200 mg", "capsule", now)
    store.set_lane(1, hydro, 50, now, "test")
    store.set_lane(2, morphine, 20, now, "test")
    alex = store.add_participant("P-0001", "Alex Example", None, now, "test")
    sam = store.add_participant("P-0002", "Sam Example", None, now, "test")
    alex_rx = store.add_prescription(alex, hydro, 2, ALL_DAY, 20, date(2026, 6, 1), None, now, "t")
    sam_rx = store.add_prescription(sam, morphine, 1, ALL_DAY, 9, date(2026, 6, 1), None, now, "t")
    staff = StaffService(store, clock)
    stock = StockService(store, clock, staff)

    def vend(
        when: str,
        person: int,
        rx: int,
        lane: int,
        units: int,
        dropped: int,
        witness: int | None = None,
    ) -> None:
        at = local(when)
        vend_id = store.new_vend_id()
        store.record_intent(Intent(vend_id, person, rx, lane, units, at, witness))
        outcome = "complete" if dropped == units else "jam"
        store.record_result(vend_id, dropped, outcome, None, at)

    def at(when: str) -> None:
        clock.at = local(when)

    at("2026-06-09 18:00")
    assert stock.count(worker, 1, 50).matches  # the last count before the day
    vend("2026-06-09 20:00", alex, alex_rx, 1, 2, 2)
    vend("2026-06-10 02:00", alex, alex_rx, 1, 2, 2)  # before 04:00: still June 9
    # ---- the dosing day of June 10 ----
    at("2026-06-10 09:00")
    assert stock.restock(worker, 1, 46, 20, NURSE_PIN).matches
    vend("2026-06-10 10:00", alex, alex_rx, 1, 2, 2, witness=nurse_id)
    vend("2026-06-10 11:00", alex, alex_rx, 1, 3, 1)  # cut short by a jam
    vend("2026-06-10 11:30", sam, sam_rx, 2, 1, 1)
    at("2026-06-10 12:00")
    stock.record_return(worker, 1, 5, "prescription changed")
    at("2026-06-10 13:00")
    stock.record_waste(worker, 1, 1, "dropped and crushed", NURSE_PIN)
    at("2026-06-10 20:00")
    assert stock.count(worker, 1, 56).discrepancy_id is not None  # one missing (57 expected)
    at("2026-06-10 21:00")
    stock.record_return(worker, 1, 1, "damaged blister")
    vend("2026-06-11 03:00", alex, alex_rx, 1, 2, 2)  # after midnight: still June 10
    # ---- June 11 ----
    vend("2026-06-11 05:00", alex, alex_rx, 1, 2, 2)
    vend("2026-06-11 05:30", sam, sam_rx, 2, 1, 1)
    at("2026-06-11 09:00")
    return Books(ReconciliationService(store, clock, staff), worker, nurse, hydro, morphine)


def by_medication(lines: list[ReconciliationLine]) -> dict[str, ReconciliationLine]:
    return {line.medication.split()[0]: line for line in lines}


def numbers(line: ReconciliationLine) -> tuple[object, ...]:
    return (
        line.opening,
        line.restocked,
        line.dispensed,
        line.returned,
        line.wasted,
        line.expected_closing,
        line.counted_closing,
        line.balanced,
    )


def test_the_day_balances_to_the_unit(books: Books) -> None:
    lines = by_medication(books.service.reconcile(books.nurse, DAY, SITE))
    hydro, morphine = lines["hydromorphone"], lines["slow-release"]
    # 46 at 04:00 (50 counted, then 2 + 2 given); +20; -5 given; -6 returned; -1 wasted.
    # Counted 56 at 20:00 where 57 was expected, then 1 returned and 2 given: 53 counted.
    assert numbers(hydro) == (46, 20, 5, 6, 1, 54, 53, False)
    assert (hydro.difference, hydro.lanes, hydro.medication_id) == (-1, (1,), books.hydro)
    # Never counted: the opening comes back from today's record, 18 + 2 given since.
    assert numbers(morphine) == (20, 0, 1, 0, 0, 19, None, True)
    assert morphine.difference is None


def test_the_next_day_opens_from_the_count_and_the_day_before_balances(books: Books) -> None:
    after = by_medication(books.service.reconcile(books.nurse, date(2026, 6, 11), SITE))
    assert numbers(after["hydromorphone"]) == (53, 0, 2, 0, 0, 51, None, True)
    assert numbers(after["slow-release"]) == (19, 0, 1, 0, 0, 18, None, True)
    before = by_medication(books.service.reconcile(books.nurse, date(2026, 6, 9), SITE))
    assert numbers(before["hydromorphone"]) == (50, 0, 4, 0, 0, 46, 46, True)


def test_only_reconciling_roles_may_reconcile(books: Books, tmp_path: Path) -> None:
    with pytest.raises(NotPermitted):
        books.service.reconcile(books.worker, DAY, SITE)
    with pytest.raises(NotPermitted):
        books.service.export_csv(books.worker, DAY, SITE, tmp_path)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_the_export_writes_both_files_with_codes_and_never_names(
    books: Books, store: Store, tmp_path: Path
) -> None:
    stick = tmp_path / "usb"
    stick.mkdir()
    paths = books.service.export_csv(books.nurse, DAY, SITE, stick)
    assert [p.name for p in paths] == ["reconciliation-2026-06-10.csv", "dispenses-2026-06-10.csv"]
    assert sorted(os.listdir(stick)) == sorted(p.name for p in paths)  # no temporary left
    reconciliation, dispenses = (read_csv(p) for p in paths)
    assert reconciliation == [
        list(reconciliation_module.RECONCILIATION_HEADER),
        [
            "2026-06-10",
            str(books.hydro),
            "hydromorphone 8 mg tablet",
            *["46", "20", "5", "6", "1", "0", "0", "54", "53", "-1", "no"],
        ],
        [
            "2026-06-10",
            str(books.morphine),
            "slow-release oral morphine 200 mg capsule",
            *["20", "0", "1", "0", "0", "0", "0", "19"],
            "",
            "",
            "yes",
        ],
    ]
    assert dispenses[0] == list(reconciliation_module.DISPENSE_HEADER)
    rows = [[r[0], *r[2:]] for r in dispenses[1:]]  # vend ids are random per database
    nurse = str(books.nurse.staff_id)
    hydro, morphine = "hydromorphone 8 mg tablet", "slow-release oral morphine 200 mg capsule"
    assert rows == [
        ["2026-06-10T10:00:00-07:00", "P-0001", hydro, "1", "2", "2", "complete", nurse],
        ["2026-06-10T11:00:00-07:00", "P-0001", hydro, "1", "3", "1", "jam", ""],
        ["2026-06-10T11:30:00-07:00", "P-0002", morphine, "2", "1", "1", "complete", ""],
        ["2026-06-11T03:00:00-07:00", "P-0001", hydro, "1", "2", "2", "complete", ""],
    ]
    vend_ids = [int(r[1]) for r in dispenses[1:]]
    assert vend_ids == sorted(vend_ids)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "Alex" not in text and "Sam" not in text and "Example" not in text
    action, subject = store.conn.execute(
        "SELECT action, subject FROM audit_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert (action, subject) == ("reconciliation.exported", "day:2026-06-10")


def test_an_unwritable_or_full_stick_is_a_clear_refusal(
    books: Books, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    for folder in (not_a_folder, tmp_path / "missing"):
        with pytest.raises(InvalidInput) as bad:
            books.service.export_csv(books.nurse, DAY, SITE, folder)
        assert bad.value.code == "folder"

    stick = tmp_path / "usb"
    stick.mkdir()
    first = books.service.export_csv(books.nurse, DAY, SITE, stick)
    before = {p.name: p.read_bytes() for p in first}

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(reconciliation_module.os, "fsync", disk_full)
    with pytest.raises(InvalidInput) as full:
        books.service.export_csv(books.nurse, DAY, SITE, stick)
    assert full.value.code == "folder"
    # The earlier export is intact and nothing half-written is left beside it.
    assert {p.name: p.read_bytes() for p in stick.iterdir()} == before
