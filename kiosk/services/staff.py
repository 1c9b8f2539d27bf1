"""Staff accounts, PIN login with lockout, permissions, second sign-off.

PINs are at least six digits, unique per person, stored only as scrypt hashes. Five wrong
PINs in a row lock the entry for 30 s, doubling with each further failure; the lock is in
the store, so restarting the kiosk does not reset it. Every attempt is audited (never the
PIN itself).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain.permissions import Permission, Role, allowed
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.store.pins import hash_pin, verify_pin
from kiosk.store.repository import Store
from kiosk.store.timefmt import from_text, to_text

log = logging.getLogger("kiosk.staff")

MIN_PIN_DIGITS = 6
LOCK_AFTER_FAILURES = 5
FIRST_LOCK = timedelta(seconds=30)
IDLE_LOGOUT_SECONDS = 120
ALL_ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True)
class StaffSession:
    staff_id: int
    name: str
    role: str
    started_at: datetime

    def can(self, permission: Permission) -> bool:
        return allowed(self.role, permission)

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"


class PinLocked(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


class WrongPin(Exception):
    def __init__(self, failures: int) -> None:
        super().__init__(f"wrong PIN ({failures} in a row)")
        self.failures = failures


@dataclass(frozen=True)
class StaffRecord:
    id: int
    name: str
    role: str
    active: bool


class StaffService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # ------------------------------------------------------------ login

    def login(self, pin: str, entry: str = "admin") -> StaffSession:
        now = self._clock.now()
        failures, locked_until = self._attempts(entry)
        if locked_until is not None and now < locked_until:
            self._store.note(now, "unknown", "staff.login_locked", entry)
            raise PinLocked(locked_until)
        match = self._find(pin)
        if match is None:
            failures += 1
            until = None
            if failures >= LOCK_AFTER_FAILURES:
                until = now + FIRST_LOCK * 2 ** (failures - LOCK_AFTER_FAILURES)
            self._set_attempts(entry, failures, until)
            self._store.note(now, "unknown", "staff.login_failed", entry, {"failures": failures})
            log.warning("wrong staff PIN at %s (%d in a row)", entry, failures)
            if until is not None:
                raise PinLocked(until)
            raise WrongPin(failures)
        self._set_attempts(entry, 0, None)
        staff_id, name, role = match
        self._store.note(now, f"staff:{staff_id}", "staff.login", entry, {"role": role})
        log.info("staff %d (%s) logged in", staff_id, role)
        return StaffSession(staff_id, name, role, now)

    def logout(self, session: StaffSession, reason: str = "logout") -> None:
        self._store.note(self._clock.now(), session.actor, f"staff.{reason}", "admin")

    def require(self, session: StaffSession, permission: Permission) -> None:
        if not session.can(permission):
            self._store.note(
                self._clock.now(),
                session.actor,
                "staff.refused",
                permission.value,
                {"role": session.role},
            )
            raise NotPermitted(permission.value)

    def second_signature(self, pin: str, first: StaffSession) -> int:
        """Another active staff member's PIN (blind counts, restocks). Audited."""
        match = self._find(pin)
        now = self._clock.now()
        if match is None or match[0] == first.staff_id:
            self._store.note(now, first.actor, "staff.second_signature_refused", "admin")
            raise InvalidInput("second_signature")
        return match[0]

    def _find(self, pin: str) -> tuple[int, str, str] | None:
        if not (pin.isdigit() and len(pin) >= MIN_PIN_DIGITS):
            return None
        for staff_id, role, pin_hash in self._store.staff_with_roles(ALL_ROLES):
            if verify_pin(pin, pin_hash):
                record = self._store.staff_member(staff_id)
                return (staff_id, record[0] if record else "", role)
        return None

    def _attempts(self, entry: str) -> tuple[int, datetime | None]:
        row = self._store.conn.execute(
            "SELECT failures, locked_until FROM pin_attempts WHERE entry = ?", (entry,)
        ).fetchone()
        if row is None:
            return 0, None
        return int(row[0]), from_text(row[1]) if row[1] else None

    def _set_attempts(self, entry: str, failures: int, until: datetime | None) -> None:
        self._store.conn.execute(
            "INSERT INTO pin_attempts (entry, failures, locked_until) VALUES (?, ?, ?)"
            " ON CONFLICT (entry) DO UPDATE SET failures = excluded.failures,"
            " locked_until = excluded.locked_until",
            (entry, failures, to_text(until) if until else None),
        )

    # ------------------------------------------------------------ accounts (admins)

    def staff(self) -> list[StaffRecord]:
        rows = self._store.conn.execute(
            "SELECT id, name, role, active FROM staff ORDER BY active DESC, name"
        ).fetchall()
        return [StaffRecord(int(a), str(b), str(c), bool(d)) for a, b, c, d in rows]

    def add(self, session: StaffSession, name: str, role: str, pin: str) -> int:
        self.require(session, Permission.MANAGE_STAFF)
        self._check_new_pin(pin)
        if role not in ALL_ROLES:
            raise InvalidInput("role")
        if not name.strip():
            raise InvalidInput("name")
        return self._store.add_staff(
            name.strip(), role, hash_pin(pin), self._clock.now(), session.actor
        )

    def change_pin(self, session: StaffSession, staff_id: int, pin: str) -> None:
        if staff_id != session.staff_id:
            self.require(session, Permission.MANAGE_STAFF)
        self._check_new_pin(pin)
        with self._store.change(
            self._clock.now(), session.actor, "staff.pin_changed", f"staff:{staff_id}"
        ) as conn:
            conn.execute("UPDATE staff SET pin_hash = ? WHERE id = ?", (hash_pin(pin), staff_id))

    def set_active(self, session: StaffSession, staff_id: int, active: bool) -> None:
        self.require(session, Permission.MANAGE_STAFF)
        if staff_id == session.staff_id and not active:
            raise InvalidInput("self")
        action = "staff.activated" if active else "staff.deactivated"
        with self._store.change(
            self._clock.now(), session.actor, action, f"staff:{staff_id}"
        ) as conn:
            conn.execute("UPDATE staff SET active = ? WHERE id = ?", (int(active), staff_id))

    def _check_new_pin(self, pin: str) -> None:
        if not (pin.isdigit() and len(pin) >= MIN_PIN_DIGITS):
            raise InvalidInput("pin_short")
        if len(set(pin)) == 1 or pin in "01234567890" or pin in "98765432109":
            raise InvalidInput("pin_trivial")
        if self._find(pin) is not None:
            raise InvalidInput("pin_taken")  # a PIN names its owner: it must be unique
