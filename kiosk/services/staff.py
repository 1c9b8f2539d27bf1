"""Staff accounts, PIN login, permissions, second sign-off.

PINs are at least six digits, unique per person, stored only as scrypt hashes. Every PIN
check (login, second signature, a new PIN's uniqueness) goes through the ``PinGate``, whose
lockout policy and audit are the same at every PIN entry of the kiosk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.permissions import Permission, allowed
from kiosk.domain.text import clean_text
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.pin_gate import (
    ALL_ROLES,
    MIN_PIN_DIGITS,
    EntryPoint,
    PinGate,
    WrongPin,
)
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.staff")

IDLE_LOGOUT_SECONDS = 120


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


@dataclass(frozen=True)
class StaffRecord:
    id: int
    name: str
    role: str
    active: bool


class StaffService:
    def __init__(self, store: Store, clock: Clock, pins: PinGate | None = None) -> None:
        self._store = store
        self._clock = clock
        self._pins = pins or PinGate(store, clock)

    # ------------------------------------------------------------ login

    def login(self, pin: str) -> StaffSession:
        """Raises ``WrongPin``, or ``PinLocked`` (the gate's lockout)."""
        holder = self._pins.check(EntryPoint.ADMIN_LOGIN, pin)
        now = self._clock.now()
        record = self._store.staff_member(holder.staff_id)
        self._store.note(now, holder.actor, "staff.login", "admin", {"role": holder.role})
        log.info("staff %d (%s) logged in", holder.staff_id, holder.role)
        return StaffSession(holder.staff_id, record[0] if record else "", holder.role, now)

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
        """Another active staff member's PIN (blind counts, restocks). Audited by the gate;
        raises ``InvalidInput("second_signature")``, or ``PinLocked``."""
        try:
            holder = self._pins.check(
                EntryPoint.SECOND_SIGNATURE,
                pin,
                exclude_staff=first.staff_id,
                actor=first.actor,
            )
        except WrongPin as exc:
            raise InvalidInput("second_signature") from exc
        return holder.staff_id

    # ------------------------------------------------------------ accounts (admins)

    def staff(self) -> list[StaffRecord]:
        rows = self._store.conn.execute(
            "SELECT id, name, role, active FROM staff ORDER BY active DESC, name"
        ).fetchall()
        return [StaffRecord(int(a), str(b), str(c), bool(d)) for a, b, c, d in rows]

    def add(self, session: StaffSession, name: str, role: str, pin: str) -> int:
        self.require(session, Permission.MANAGE_STAFF)
        self._check_new_pin(session, pin)
        if role not in ALL_ROLES:
            raise InvalidInput("role")
        name = clean_text(name)
        if not name:
            raise InvalidInput("name")
        return self._store.add_staff(name, role, hash_pin(pin), self._clock.now(), session.actor)

    def change_pin(self, session: StaffSession, staff_id: int, pin: str) -> None:
        if staff_id != session.staff_id:
            self.require(session, Permission.MANAGE_STAFF)
        self._check_new_pin(session, pin)
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

    def _check_new_pin(self, session: StaffSession, pin: str) -> None:
        if not (pin.isdigit() and len(pin) >= MIN_PIN_DIGITS):
            raise InvalidInput("pin_short")
        if len(set(pin)) == 1 or pin in "01234567890" or pin in "98765432109":
            raise InvalidInput("pin_trivial")
        if self._pins.pin_taken(pin, actor=session.actor):
            raise InvalidInput("pin_taken")  # a PIN names its owner: it must be unique
