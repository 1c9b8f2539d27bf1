"""Prescriptions entered by staff: roles, validation, changes in place, audit with why."""

from __future__ import annotations

import json
from datetime import date, time, timedelta

import pytest

from kiosk.domain.model import PrescriptionStatus, SiteClock, Window
from kiosk.services.clock import FixedClock
from kiosk.services.decide import DecideService
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.prescriptions import PrescriptionService, PrescriptionSpec
from kiosk.services.seed import ALL_DAY
from kiosk.services.staff import StaffService
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Intent, Store

SITE = SiteClock("America/Vancouver", 4, 3)


@pytest.fixture
def setup(store: Store, clock: FixedClock):  # type: ignore[no-untyped-def]
    now = clock.now()
    store.add_staff("Pharmacist", "pharmacist", hash_pin("482916"), now, "test")
    store.add_staff("Nurse", "nurse", hash_pin("735204"), now, "test")
    staff = StaffService(store, clock)
    service = PrescriptionService(store, clock, staff)
    pid = store.add_participant("P-1", "Name", None, now, "test")
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    return service, staff, pid, med


def test_a_pharmacist_adds_a_prescription_with_every_field(store: Store, setup) -> None:  # type: ignore[no-untyped-def]
    service, staff, pid, med = setup
    pharmacist = staff.login("482916")
    spec = PrescriptionSpec(
        med,
        2,
        8,
        date(2026, 6, 10),
        date(2026, 7, 10),
        windows=ALL_DAY,
        accumulate=True,
        witnessed=True,
        missed_dose_limit=5,
    )
    rx_id = service.add(pharmacist, pid, spec, "new start, per Dr. order")
    [rx] = store.prescriptions(pid)
    assert rx.id == rx_id
    assert PrescriptionSpec.of(rx) == spec
    details = json.loads(
        store.conn.execute(
            "SELECT details FROM audit_log WHERE action = 'prescription.added'"
        ).fetchone()[0]
    )
    assert details["reason"] == "new start, per Dr. order"


def test_a_nurse_may_not_enter_prescriptions(setup) -> None:  # type: ignore[no-untyped-def]
    service, staff, pid, med = setup
    nurse = staff.login("735204")
    with pytest.raises(NotPermitted):
        service.add(
            nurse, pid, PrescriptionSpec(med, 2, 8, date(2026, 6, 10), windows=ALL_DAY), "trying"
        )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"units_per_dose": 0}, "units_per_dose"),
        ({"units_per_dose": 21}, "units_per_dose"),
        ({"daily_max_units": 1}, "daily_max_units"),
        ({"end_date": date(2026, 6, 1)}, "end_date"),
        ({"windows": ()}, "windows"),
        ({"interval_minutes": 240}, "interval_minutes"),
        ({"windows": (), "interval_minutes": 240, "max_doses_per_day": 0}, "max_doses_per_day"),
        ({"missed_dose_limit": 0}, "missed_dose_limit"),
    ],
)
def test_invalid_terms_are_refused(setup, changes: dict[str, object], code: str) -> None:  # type: ignore[no-untyped-def]
    service, staff, pid, med = setup
    base = {
        "medication_id": med,
        "units_per_dose": 2,
        "daily_max_units": 8,
        "start_date": date(2026, 6, 10),
        "windows": ALL_DAY,
    }
    with pytest.raises(InvalidInput) as bad:
        service.add(staff.login("482916"), pid, PrescriptionSpec(**{**base, **changes}), "why")  # type: ignore[arg-type]
    assert bad.value.code == code


def test_a_change_keeps_todays_doses_counting(
    store: Store,
    clock: FixedClock,
    setup,  # type: ignore[no-untyped-def]
) -> None:
    service, staff, pid, med = setup
    pharmacist = staff.login("482916")
    windows = (Window(time(8), time(23)),)
    spec = PrescriptionSpec(med, 2, 8, date(2026, 6, 9), windows=windows)
    rx_id = service.add(pharmacist, pid, spec, "start")
    store.set_lane(1, med, 50, clock.now(), "test")
    store.record_intent(Intent(1, pid, rx_id, 1, 2, clock.now()))
    store.record_result(1, 2, "complete", None, clock.now())
    # Raise the dose: the window's dose was given today, so no second dose in it.
    service.change(
        pharmacist,
        rx_id,
        PrescriptionSpec(med, 3, 9, date(2026, 6, 9), windows=windows),
        "dose increase",
    )
    clock.at += timedelta(minutes=5)
    view = DecideService(store, clock, SITE).decide(pid)
    assert not view.doses
    assert store.prescriptions(pid)[0].units_per_dose == 3
    service.end(pharmacist, rx_id, None, "stopped by prescriber")
    assert store.prescriptions(pid) == []  # cancelled ones are not listed
    status = store.conn.execute("SELECT status FROM prescriptions").fetchone()[0]
    assert status == PrescriptionStatus.CANCELLED.value
