"""One PIN lockout policy at every staff PIN entry: the admin login, the witness pad, the
confirm-secure pad and the second signature each lock after five wrong PINs, refuse even the
right PIN while locked, keep the lock across a restart, double it, audit every try and alert.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from hardware.ports import ControllerStatus, LaneState
from kiosk.services.clock import FixedClock
from kiosk.services.errors import InvalidInput
from kiosk.services.health import HealthService, NotSecure
from kiosk.services.pin_gate import (
    LONGEST_LOCK,
    SHARED_CEILING,
    SHARED_WINDOW,
    EntryPoint,
    PinGate,
    PinLocked,
    WrongPin,
    lock_after,
)
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.witness import WitnessService
from kiosk.store.db import connect
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store

ADMIN, NURSE, TECHNICIAN, WORKER = "482916", "615243", "358147", "735204"
WRONG = "000001"
ROOT = Path(__file__).resolve().parents[2]


class SecureController:
    """Door closed, no tamper: confirm-secure only has the PIN to decide on."""

    def status(self) -> ControllerStatus:
        return ControllerStatus(False, False, (LaneState.READY,))


class NoEvents:
    def subscribe(self, handler: Callable[[object], None]) -> None:
        pass


@dataclass
class Kiosk:
    store: Store
    clock: FixedClock
    staff: StaffService
    witness: WitnessService
    health: HealthService
    worker: StaffSession
    participant: int

    def attempt(self, entry: EntryPoint, pin: str) -> bool:
        """True when ``pin`` was accepted at ``entry``, False when refused; PinLocked
        propagates. Each entry point through the service that really uses it."""
        try:
            if entry is EntryPoint.ADMIN_LOGIN:
                self.staff.login(pin)
            elif entry is EntryPoint.WITNESS:
                return self.witness.verify(self.participant, pin) is not None
            elif entry is EntryPoint.CONFIRM_SECURE:
                self.health.confirm_secure(pin)
            elif entry is EntryPoint.SECOND_SIGNATURE:
                self.staff.second_signature(pin, self.worker)
            else:
                raise AssertionError(entry)
        except (WrongPin, NotSecure, InvalidInput):
            return False
        return True


# The PIN each entry point accepts (a witness must be a nurse; confirm-secure a technician).
RIGHT = {
    EntryPoint.ADMIN_LOGIN: ADMIN,
    EntryPoint.WITNESS: NURSE,
    EntryPoint.CONFIRM_SECURE: TECHNICIAN,
    EntryPoint.SECOND_SIGNATURE: NURSE,  # someone other than the worker who signs first
}
ENTRY_POINTS = list(RIGHT)


def make_kiosk(store: Store, clock: FixedClock) -> Kiosk:
    health = HealthService(store, None, SecureController(), clock, None, NoEvents())  # type: ignore[arg-type]
    worker_id = int(store.conn.execute("SELECT id FROM staff WHERE role = 'staff'").fetchone()[0])
    participant = int(store.conn.execute("SELECT id FROM participants").fetchone()[0])
    return Kiosk(
        store,
        clock,
        StaffService(store, clock),
        WitnessService(store, clock),
        health,
        StaffSession(worker_id, "Worker", "staff", clock.now()),
        participant,
    )


@pytest.fixture
def kiosk(store: Store, clock: FixedClock) -> Kiosk:
    now = clock.now()
    for name, role, pin in (
        ("Admin", "admin", ADMIN),
        ("Nurse", "nurse", NURSE),
        ("Tech", "technician", TECHNICIAN),
        ("Worker", "staff", WORKER),
    ):
        store.add_staff(name, role, hash_pin(pin), now, "test")
    store.add_participant("P-0042", "Alex Example", None, now, "test")
    return make_kiosk(store, clock)


def fail_until_locked(kiosk: Kiosk, entry: EntryPoint) -> PinLocked:
    for _ in range(4):
        assert kiosk.attempt(entry, WRONG) is False
    with pytest.raises(PinLocked) as locked:
        kiosk.attempt(entry, WRONG)
    return locked.value


def audit_rows(store: Store, action_prefix: str = "pin.") -> list[tuple[str, str, str, dict]]:  # type: ignore[type-arg]
    rows = store.conn.execute(
        "SELECT actor, action, subject, details FROM audit_log WHERE action LIKE ? ORDER BY seq",
        (action_prefix + "%",),
    ).fetchall()
    return [(a, b, c, json.loads(d)) for a, b, c, d in rows]


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.value)
def test_five_wrong_pins_lock_the_entry_point_even_against_the_right_pin(
    kiosk: Kiosk, entry: EntryPoint
) -> None:
    locked = fail_until_locked(kiosk, entry)
    assert (locked.entry, locked.seconds_left) == (entry, 30)
    assert locked.until == kiosk.clock.now() + timedelta(seconds=30)
    kiosk.clock.at += timedelta(seconds=10)
    with pytest.raises(PinLocked) as still:
        kiosk.attempt(entry, RIGHT[entry])
    assert still.value.seconds_left == 20
    for other in ENTRY_POINTS:  # each entry point counts its own failures
        if other is not entry:
            assert kiosk.attempt(other, RIGHT[other]) is True
    kiosk.clock.at += timedelta(seconds=21)
    assert kiosk.attempt(entry, RIGHT[entry]) is True
    for _ in range(4):  # the success reset the count
        assert kiosk.attempt(entry, WRONG) is False


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.value)
def test_the_lock_survives_a_restart(
    kiosk: Kiosk, entry: EntryPoint, tmp_path: Path, key: bytes
) -> None:
    fail_until_locked(kiosk, entry)
    conn = connect(tmp_path / "kiosk.db", key)  # the kiosk restarted: new connection, services
    try:
        restarted = make_kiosk(Store(conn), kiosk.clock)
        with pytest.raises(PinLocked) as locked:
            restarted.attempt(entry, RIGHT[entry])
        assert locked.value.seconds_left == 30
    finally:
        conn.close()


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.value)
def test_each_further_failure_doubles_the_lock(kiosk: Kiosk, entry: EntryPoint) -> None:
    fail_until_locked(kiosk, entry)
    for expected in (60, 120, 240):
        kiosk.clock.at += timedelta(seconds=expected // 2)  # the last lock is over
        with pytest.raises(PinLocked) as locked:
            kiosk.attempt(entry, WRONG)
        assert locked.value.seconds_left == expected


def test_the_doubling_stops_at_a_day() -> None:
    assert [lock_after(n) for n in (1, 4)] == [None, None]
    assert lock_after(5) == timedelta(seconds=30)
    assert lock_after(9) == timedelta(seconds=480)
    assert lock_after(17) == LONGEST_LOCK == timedelta(days=1)
    assert lock_after(500) == LONGEST_LOCK


def test_every_attempt_is_audited_with_ids_only(kiosk: Kiosk) -> None:
    participant = f"participant:{kiosk.participant}"
    assert kiosk.attempt(EntryPoint.WITNESS, NURSE) is True
    fail_until_locked(kiosk, EntryPoint.WITNESS)
    with pytest.raises(PinLocked):
        kiosk.attempt(EntryPoint.WITNESS, NURSE)
    rows = audit_rows(kiosk.store)
    nurse = int(kiosk.store.conn.execute("SELECT id FROM staff WHERE role = 'nurse'").fetchone()[0])
    assert [(actor, action, subject) for actor, action, subject, _ in rows] == [
        (f"staff:{nurse}", "pin.accepted", "witness"),
        *[("unknown", "pin.refused", "witness")] * 5,
        ("unknown", "pin.refused_locked", "witness"),
    ]
    assert [r[3]["failures"] for r in rows[1:6]] == [1, 2, 3, 4, 5]
    assert rows[5][3]["locked_seconds"] == 30
    assert rows[6][3] == {"context": participant, "seconds_left": 30}
    assert all(details["context"] == participant for *_, details in rows)
    # Second signatures are attributed to the staff member asking for one.
    kiosk.attempt(EntryPoint.SECOND_SIGNATURE, WRONG)
    assert audit_rows(kiosk.store)[-1][:3] == (
        kiosk.worker.actor,
        "pin.refused",
        "second_signature",
    )
    everything = str(kiosk.store.conn.execute("SELECT * FROM audit_log").fetchall())
    everything += str(kiosk.store.conn.execute("SELECT * FROM outbox").fetchall())
    for pin in (ADMIN, NURSE, TECHNICIAN, WORKER, WRONG):
        assert pin not in everything
    attempts = str(audit_rows(kiosk.store))
    assert "P-0042" not in attempts and "Alex" not in attempts


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.value)
def test_a_lock_raises_one_alert_naming_the_entry_point(kiosk: Kiosk, entry: EntryPoint) -> None:
    fail_until_locked(kiosk, entry)
    kiosk.clock.at += timedelta(seconds=31)
    with pytest.raises(PinLocked):
        kiosk.attempt(entry, WRONG)  # locked again: the alert is still open, not repeated
    alerts = [(kind, subject, message) for _, kind, subject, message in kiosk.store.open_alerts()]
    assert [(kind, subject) for kind, subject, _ in alerts] == [("pin_lockout", entry.value)]
    assert "P-0042" not in alerts[0][2] and "Alex" not in alerts[0][2]


def test_a_pin_of_the_wrong_role_is_a_failure_too(kiosk: Kiosk) -> None:
    for entry, pin in ((EntryPoint.WITNESS, WORKER), (EntryPoint.CONFIRM_SECURE, NURSE)):
        for _ in range(4):
            assert kiosk.attempt(entry, pin) is False
        with pytest.raises(PinLocked):
            kiosk.attempt(entry, pin)


def test_a_shared_ceiling_stops_rotating_between_entry_points(kiosk: Kiosk) -> None:
    """Four guesses at each entry point, each count reset with a PIN the guesser knows:
    no entry point locks by itself, but the fifteenth wrong PIN locks them all."""
    assert SHARED_CEILING == 15
    for entry in ENTRY_POINTS[:3]:
        for _ in range(4):
            assert kiosk.attempt(entry, WRONG) is False
        assert kiosk.attempt(entry, RIGHT[entry]) is True
    assert kiosk.attempt(EntryPoint.SECOND_SIGNATURE, WRONG) is False
    assert kiosk.attempt(EntryPoint.ADMIN_LOGIN, WRONG) is False  # 14 wrong PINs so far
    with pytest.raises(PinLocked) as locked:
        kiosk.attempt(EntryPoint.WITNESS, WRONG)
    window_end = locked.value.until
    assert window_end > kiosk.clock.now() + SHARED_WINDOW - timedelta(minutes=1)
    for entry in ENTRY_POINTS:  # every entry point, even with its right PIN
        with pytest.raises(PinLocked) as refused:
            kiosk.attempt(entry, RIGHT[entry])
        assert refused.value.until == window_end
    assert ("pin_lockout", "all") in [(a[1], a[2]) for a in kiosk.store.open_alerts()]
    kiosk.clock.at = window_end
    assert all(kiosk.attempt(entry, RIGHT[entry]) for entry in ENTRY_POINTS)


def test_one_entry_point_alone_cannot_reach_the_shared_ceiling(kiosk: Kiosk) -> None:
    """A participant at the witness pad, trying as fast as the locks allow for the whole
    window, cannot lock staff out of the admin panel."""
    start = kiosk.clock.now()
    failures = 0
    while kiosk.clock.now() < start + SHARED_WINDOW:
        try:
            kiosk.attempt(EntryPoint.WITNESS, WRONG)
        except PinLocked as locked:
            kiosk.clock.at = locked.until
        failures += 1
    assert failures == 11 < SHARED_CEILING
    assert kiosk.attempt(EntryPoint.ADMIN_LOGIN, ADMIN) is True


def test_a_new_pin_that_is_taken_counts_as_a_failure(kiosk: Kiosk) -> None:
    admin = kiosk.staff.login(ADMIN)
    for _ in range(4):
        with pytest.raises(InvalidInput, match="pin_taken"):
            kiosk.staff.change_pin(admin, admin.staff_id, NURSE)
    kiosk.staff.change_pin(admin, admin.staff_id, "592817")  # a free PIN: no reset, no count
    with pytest.raises(PinLocked):
        kiosk.staff.change_pin(admin, admin.staff_id, WORKER)
    with pytest.raises(PinLocked):
        kiosk.staff.add(admin, "Someone", "nurse", "417263")
    assert kiosk.staff.login("592817").staff_id == admin.staff_id  # logging in is not locked
    assert audit_rows(kiosk.store)[-2][1:3] == ("pin.refused_locked", "new_pin")


def test_a_malformed_pin_is_a_failure_and_is_never_hashed(kiosk: Kiosk) -> None:
    gate = PinGate(kiosk.store, kiosk.clock)
    for pin in ("12345", "abcdef", ""):
        with pytest.raises(WrongPin):
            gate.check(EntryPoint.ADMIN_LOGIN, pin)
    assert gate.seconds_locked(EntryPoint.ADMIN_LOGIN) == 0
    with pytest.raises(WrongPin):
        gate.check(EntryPoint.ADMIN_LOGIN, "1234")
    with pytest.raises(PinLocked):
        gate.check(EntryPoint.ADMIN_LOGIN, "1234")
    assert gate.seconds_locked(EntryPoint.ADMIN_LOGIN) == 30


def python_sources() -> Iterator[Path]:
    for folder in ("kiosk", "hardware", "tools", "bench", "hub"):
        yield from (ROOT / folder).rglob("*.py")


def test_no_pin_is_checked_outside_the_gate() -> None:
    """Present and future: any PIN check that does not go through PinGate bypasses the
    lockout. Only the gate may call (or import) verify_pin; only kiosk.store.pins defines it."""
    allowed = {ROOT / "kiosk/services/pin_gate.py", ROOT / "kiosk/store/pins.py"}
    offenders = []
    for path in python_sources():
        if path in allowed:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            named = (
                (isinstance(node, ast.Name) and node.id == "verify_pin")
                or (isinstance(node, ast.Attribute) and node.attr == "verify_pin")
                or (
                    isinstance(node, ast.ImportFrom)
                    and any(alias.name == "verify_pin" for alias in node.names)
                )
                or (isinstance(node, ast.Constant) and node.value == "verify_pin")
            )
            if named:
                offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}")
    assert offenders == [], "check staff PINs through kiosk.services.pin_gate.PinGate"
    assert "verify_pin(" in (ROOT / "kiosk/services/pin_gate.py").read_text()
