"""The one lockout policy every staff PIN check goes through.

Each entry point (``EntryPoint``) counts its own wrong PINs in a row: the fifth locks it for
30 s, and each further failure (once the lock is over) doubles the lock, up to a day. A right
PIN resets that entry point's count. While an entry point is locked nothing is checked, not
even the right PIN: ``PinLocked`` says how long is left. Counters live in the store
(``pin_attempts``), so a restart resets nothing and every ``PinGate`` over the same store
enforces the same locks. Every attempt is audited (``pin.accepted``, ``pin.refused``,
``pin.refused_locked``; ids only, never the PIN) and a lock raises a ``pin_lockout`` alert.

Why each entry point counts on its own: the witness pad is in front of participants, and a
participant typing at it must not be able to lock staff out of the admin panel. But every
entry takes the same staff PINs, so someone rotating between entry points gets several
guesses per lock, and someone who knows one PIN (a staff member) could reset an entry's count
with it after every four guesses and hunt for a colleague's PIN without end. Hence a shared
ceiling as well: ``SHARED_CEILING`` wrong PINs, at any entry points, within ``SHARED_WINDOW``
of the first of them lock every entry point until that window ends; a right PIN does not
reset it. One entry point alone cannot reach it (with the doubling, at most 11 failures fit in
an hour), so the witness pad alone cannot lock the admin panel; failures at two entry points
can, and that takes an attacker minutes of sustained guessing that the alerts report.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk.domain.alerts import AlertKind
from kiosk.domain.permissions import Permission, Role, roles_with
from kiosk.services.clock import Clock
from kiosk.services.errors import Refusal
from kiosk.store.db import Connection
from kiosk.store.pins import verify_pin
from kiosk.store.repository import Store
from kiosk.store.timefmt import from_text, to_text

log = logging.getLogger("kiosk.pins")

MIN_PIN_DIGITS = 6
LOCK_AFTER_FAILURES = 5
FIRST_LOCK = timedelta(seconds=30)
# Nobody can lift a lock by hand, so the doubling stops at a day (17 failures in a row).
LONGEST_LOCK = timedelta(days=1)
SHARED_CEILING = 15
SHARED_WINDOW = timedelta(hours=1)
SHARED = "all"  # the pin_attempts row of the shared ceiling
ALL_ROLES = tuple(role.value for role in Role)
ALERT_KIND = AlertKind.PIN_LOCKOUT


class EntryPoint(enum.Enum):
    """Every place a staff PIN is typed. The value keys its row in ``pin_attempts``."""

    ADMIN_LOGIN = "admin"  # the admin panel (the key the lock had before this module)
    WITNESS = "witness"  # a nurse or pharmacist witnesses a dose, on the participant screen
    CONFIRM_SECURE = "confirm_secure"  # clearing a service-door or tamper lockout
    SECOND_SIGNATURE = "second_signature"  # restock, waste: a second staff member signs
    NEW_PIN = "new_pin"  # a new PIN must be unique, so "taken" would be an oracle
    APPROVAL_CODE = "approval_code"  # a remote approver's response code (remote_approval.py)
    ASSISTED_ID = "assisted_id"  # staff identify a participant whose finger will not read


@dataclass(frozen=True)
class PinHolder:
    """The staff member whose PIN was accepted."""

    staff_id: int
    role: str

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"


class PinRefused(Refusal):
    """The PIN was not accepted at ``entry``."""

    def __init__(self, entry: EntryPoint, message: str) -> None:
        super().__init__(message)
        self.entry = entry


class WrongPin(PinRefused):
    def __init__(self, entry: EntryPoint, failures: int) -> None:
        super().__init__(entry, f"wrong PIN at {entry.value} ({failures} in a row)")
        self.failures = failures


class PinLocked(PinRefused):
    """Too many wrong PINs: the entry point refuses every PIN for ``seconds_left``."""

    def __init__(self, entry: EntryPoint, until: datetime, now: datetime) -> None:
        super().__init__(entry, f"{entry.value} locked until {until.isoformat()}")
        self.until = until
        # Rounded up: "try again in 0 s" while still locked would be a lie.
        self.seconds_left = max(1, math.ceil((until - now).total_seconds()))


@dataclass(frozen=True)
class _Count:
    failures: int = 0
    locked_until: datetime | None = None
    window_started_at: datetime | None = None


def lock_after(failures: int) -> timedelta | None:
    """How long the ``failures``-th wrong PIN in a row locks its entry point (None: not)."""
    if failures < LOCK_AFTER_FAILURES:
        return None
    doublings = min(failures - LOCK_AFTER_FAILURES, 32)  # 2**32 * 30 s is past any cap
    return min(FIRST_LOCK * (1 << doublings), LONGEST_LOCK)


class PinGate:
    """Checks staff PINs under the lockout policy. Holds no state: the store does."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def check(
        self,
        entry: EntryPoint,
        pin: str,
        permission: Permission | None = None,
        *,
        roles: Collection[Role] | None = None,
        exclude_staff: int | None = None,
        actor: str = "unknown",
        context: str = "",
    ) -> PinHolder:
        """The active staff member whose PIN this is, if their role has ``permission`` (any
        role when None; ``roles`` instead, when a site setting decides) and they are not
        ``exclude_staff``. Raises ``PinLocked`` while the
        entry point is locked (nothing is checked) or when this failure locks it, else
        ``WrongPin``. ``actor`` and ``context`` (ids only) go into the audit."""
        now = self._clock.now()
        details: dict[str, Any] = {"context": context} if context else {}
        self._refuse_if_locked(entry, now, actor, details)
        if roles is not None:
            names = tuple(role.value for role in roles)
        else:
            names = ALL_ROLES if permission is None else roles_with(permission)
        holder = self._holder(pin, names, exclude_staff)
        if holder is not None:
            with self._store.change(now, holder.actor, "pin.accepted", entry.value, details) as c:
                _write(c, entry.value, _Count())
            return holder
        failures = self._failure(entry, now, actor, details)
        raise WrongPin(entry, failures)

    def pin_taken(self, pin: str, *, actor: str) -> bool:
        """Whether an active staff member has this PIN: a new PIN must be unique, so the
        answer tells whoever chose it that it is someone's PIN. A taken PIN therefore counts
        as a failure at ``NEW_PIN`` (by chance it happens about once in a million picks); a
        free one neither counts nor resets, as it confirms nobody's PIN. Raises
        ``PinLocked``."""
        now = self._clock.now()
        self._refuse_if_locked(EntryPoint.NEW_PIN, now, actor, {})
        if self._holder(pin, ALL_ROLES, None) is None:
            return False
        self._failure(EntryPoint.NEW_PIN, now, actor, {})
        return True

    # ------------------------------------------------------------ codes other than PINs

    def refuse_if_locked(self, entry: EntryPoint, *, actor: str, context: str = "") -> None:
        """Raise ``PinLocked`` while ``entry`` (or every entry) is locked: for a code that is
        not a PIN (an approval response), checked by its caller under the same policy."""
        details: dict[str, Any] = {"context": context} if context else {}
        self._refuse_if_locked(entry, self._clock.now(), actor, details)

    def count_failure(self, entry: EntryPoint, *, actor: str, context: str = "") -> int:
        """A wrong code at ``entry``: counted, audited, alerted like a wrong PIN. Returns the
        failures in a row; raises ``PinLocked`` when this one locks."""
        details: dict[str, Any] = {"context": context} if context else {}
        return self._failure(entry, self._clock.now(), actor, details)

    def count_success(self, entry: EntryPoint, *, actor: str, context: str = "") -> None:
        """A right code at ``entry``: its count starts again (audited)."""
        details: dict[str, Any] = {"context": context} if context else {}
        with self._store.change(
            self._clock.now(), actor, "pin.accepted", entry.value, details
        ) as c:
            _write(c, entry.value, _Count())

    def seconds_locked(self, entry: EntryPoint) -> int:
        """Seconds until ``entry`` takes PINs again (0: it does now)."""
        now = self._clock.now()
        until = self._locked_until(entry, now)
        return PinLocked(entry, until, now).seconds_left if until else 0

    # ------------------------------------------------------------ internals

    def _refuse_if_locked(
        self, entry: EntryPoint, now: datetime, actor: str, details: dict[str, Any]
    ) -> None:
        until = self._locked_until(entry, now)
        if until is None:
            return
        locked = PinLocked(entry, until, now)
        self._store.note(
            now,
            actor,
            "pin.refused_locked",
            entry.value,
            {**details, "seconds_left": locked.seconds_left},
        )
        raise locked

    def _locked_until(self, entry: EntryPoint, now: datetime) -> datetime | None:
        locks = [
            count.locked_until
            for count in (self._read(entry.value), self._read(SHARED))
            if count.locked_until is not None and count.locked_until > now
        ]
        return max(locks, default=None)

    def _failure(
        self, entry: EntryPoint, now: datetime, actor: str, details: dict[str, Any]
    ) -> int:
        """Count a wrong PIN at ``entry`` and in the shared ceiling; raise ``PinLocked`` when
        either locks. Returns the entry point's failures in a row."""
        failures = self._read(entry.value).failures + 1
        lock = lock_after(failures)
        own = _Count(failures, now + lock if lock else None)
        shared = self._read(SHARED)
        start, earlier = shared.window_started_at, shared.failures
        if start is None or now >= start + SHARED_WINDOW:
            start, earlier = now, 0  # the last window is over: this failure opens a new one
        in_window = earlier + 1
        window_end = start + SHARED_WINDOW
        shared = _Count(in_window, window_end if in_window >= SHARED_CEILING else None, start)
        until = max((u for u in (own.locked_until, shared.locked_until) if u), default=None)
        audit = {**details, "failures": failures, "shared_failures": in_window}
        if until is not None:
            audit["locked_seconds"] = PinLocked(entry, until, now).seconds_left
        with self._store.change(now, actor, "pin.refused", entry.value, audit) as conn:
            _write(conn, entry.value, own)
            _write(conn, SHARED, shared)
        log.info("wrong staff PIN at %s (%d in a row)", entry.value, failures)
        if own.locked_until is not None:
            self._alert(
                entry.value,
                f"Wrong staff PINs at the {entry.value} PIN entry: it is locked, "
                "longer after each further wrong PIN.",
                now,
            )
        if shared.locked_until is not None:
            self._alert(
                SHARED,
                f"{SHARED_CEILING} wrong staff PINs within {_minutes(SHARED_WINDOW)} minutes: "
                "every PIN entry is locked until they are over.",
                now,
            )
        if until is not None:
            raise PinLocked(entry, until, now)
        return failures

    def _alert(self, subject: str, message: str, now: datetime) -> None:
        log.warning("staff PIN entry %s locked", subject)
        self._store.raise_alert(ALERT_KIND, subject, message, now)

    def _holder(
        self, pin: str, roles: tuple[str, ...], exclude_staff: int | None
    ) -> PinHolder | None:
        if not (pin.isdigit() and len(pin) >= MIN_PIN_DIGITS):
            return None
        for staff_id, role, pin_hash in self._store.staff_with_roles(roles):
            if verify_pin(pin, pin_hash):  # PINs are unique: the first match is the only one
                return None if staff_id == exclude_staff else PinHolder(staff_id, role)
        return None

    def _read(self, key: str) -> _Count:
        row = self._store.conn.execute(
            "SELECT failures, locked_until, window_started_at FROM pin_attempts WHERE entry = ?",
            (key,),
        ).fetchone()
        if row is None:
            return _Count()
        return _Count(int(row[0]), _instant(row[1]), _instant(row[2]))


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _instant(text: str | None) -> datetime | None:
    return from_text(text) if text else None


def _write(conn: Connection, key: str, count: _Count) -> None:
    conn.execute(
        "INSERT INTO pin_attempts (entry, failures, locked_until, window_started_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (entry) DO UPDATE SET failures = excluded.failures,"
        " locked_until = excluded.locked_until, window_started_at = excluded.window_started_at",
        (
            key,
            count.failures,
            to_text(count.locked_until) if count.locked_until else None,
            to_text(count.window_started_at) if count.window_started_at else None,
        ),
    )
