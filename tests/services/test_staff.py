"""Staff login: PIN rules, lockout with a growing delay, every attempt audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.domain.permissions import Permission
from kiosk.services.clock import FixedClock
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.pin_gate import PinLocked, WrongPin
from kiosk.services.staff import StaffService
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store


@pytest.fixture
def staff(store: Store, clock: FixedClock) -> StaffService:
    store.add_staff("Admin", "admin", hash_pin("482916"), clock.now(), "test")
    store.add_staff("Worker", "staff", hash_pin("735204"), clock.now(), "test")
    return StaffService(store, clock)


def actions(store: Store) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT action FROM audit_log ORDER BY seq")]


def test_a_right_pin_logs_in_with_its_role(staff: StaffService, store: Store) -> None:
    session = staff.login("735204")
    assert (session.name, session.role) == ("Worker", "staff")
    assert not session.can(Permission.MANAGE_STAFF)
    assert actions(store)[-1] == "staff.login"
    assert "735204" not in str(store.conn.execute("SELECT details FROM audit_log").fetchall())


def test_five_wrong_pins_lock_the_entry_with_a_growing_delay(
    staff: StaffService, store: Store, clock: FixedClock
) -> None:
    for failures in range(1, 5):
        with pytest.raises(WrongPin) as wrong:
            staff.login("000001")
        assert wrong.value.failures == failures
    with pytest.raises(PinLocked) as locked:
        staff.login("000001")
    assert locked.value.until == clock.now() + timedelta(seconds=30)
    with pytest.raises(PinLocked):  # even the right PIN waits
        staff.login("735204")
    clock.at += timedelta(seconds=31)
    with pytest.raises(PinLocked) as longer:
        staff.login("000001")  # the sixth failure doubles the delay
    assert longer.value.until == clock.now() + timedelta(seconds=60)
    clock.at += timedelta(seconds=61)
    assert staff.login("735204").role == "staff"
    assert actions(store).count("pin.refused") == 6
    assert actions(store).count("pin.refused_locked") == 1
    assert actions(store)[-2:] == ["pin.accepted", "staff.login"]


def test_the_lock_survives_a_restart(store: Store, clock: FixedClock) -> None:
    store.add_staff("Worker", "staff", hash_pin("735204"), clock.now(), "test")
    for _ in range(5):
        with pytest.raises((WrongPin, PinLocked)):
            StaffService(store, clock).login("999999")
    with pytest.raises(PinLocked):
        StaffService(store, clock).login("735204")  # a new service object: same lock


def test_admins_manage_accounts_and_pin_rules_hold(staff: StaffService) -> None:
    admin = staff.login("482916")
    worker = staff.login("735204")
    with pytest.raises(NotPermitted):
        staff.add(worker, "Someone", "nurse", "615243")
    for pin, code in (
        ("12345", "pin_short"),
        ("111111", "pin_trivial"),
        ("123456", "pin_trivial"),
        ("735204", "pin_taken"),
    ):
        with pytest.raises(InvalidInput) as bad:
            staff.add(admin, "Someone", "nurse", pin)
        assert bad.value.code == code
    nurse_id = staff.add(admin, "Nurse", "nurse", "615243")
    assert staff.login("615243").staff_id == nurse_id
    staff.set_active(admin, nurse_id, False)
    with pytest.raises(WrongPin):
        staff.login("615243")
    with pytest.raises(InvalidInput):
        staff.set_active(admin, admin.staff_id, False)  # not yourself


def test_a_second_signature_must_be_someone_else(staff: StaffService) -> None:
    worker = staff.login("735204")
    with pytest.raises(InvalidInput):
        staff.second_signature("735204", worker)
    assert staff.second_signature("482916", worker) != worker.staff_id
