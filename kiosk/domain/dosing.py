"""The dosing decision: for one prescription at one instant, what may be given now, or why not.

The first rules (widened by the rules-engine issue): units per dose, fixed windows in the
site's time zone, one dose per window, a daily maximum, start and end dates, holds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kiosk.domain.model import PastDispense, Prescription, PrescriptionStatus, SiteClock
from kiosk.domain.schedule import Interval, dosing_day, windows_of_day

# How far ahead the next eligible time is searched; beyond it the answer is "see staff".
_LOOKAHEAD_DAYS = 8
# A wall clock this far behind the latest recorded event is not trusted (DESIGN invariant 3).
CLOCK_TOLERANCE = timedelta(minutes=2)


class RefusalReason(enum.Enum):
    TOO_EARLY = "too_early"  # a later window (or tomorrow) will allow a dose
    DAILY_MAXIMUM = "daily_maximum"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"
    CLOCK_UNTRUSTED = "clock_untrusted"
    NO_PRESCRIPTION = "no_prescription"


@dataclass(frozen=True)
class Allowed:
    prescription_id: int
    units: int
    window: Interval


@dataclass(frozen=True)
class Refused:
    prescription_id: int | None
    reason: RefusalReason
    next_eligible: datetime | None = None  # UTC
    units_left_today: int = 0
    hold_reason: str = ""


Decision = Allowed | Refused


def clock_is_trusted(now: datetime | None, latest_recorded: datetime | None) -> bool:
    """False when there is no time at all, or the wall clock runs behind what was recorded."""
    if now is None:
        return False
    if latest_recorded is None:
        return True
    return now >= latest_recorded - CLOCK_TOLERANCE


def _units_on_day(day: date, history: Iterable[PastDispense], site: SiteClock) -> int:
    return sum(d.units for d in history if dosing_day(d.at, site) == day)


def _dosed_in(window: Interval, history: Iterable[PastDispense]) -> bool:
    return any(window.contains(d.at) and d.units > 0 for d in history)


def _active_on(day: date, rx: Prescription) -> bool:
    return rx.start_date <= day and (rx.end_date is None or day <= rx.end_date)


def decide(
    rx: Prescription,
    history: list[PastDispense],
    now: datetime,
    site: SiteClock,
) -> Decision:
    """Decide for one prescription. ``history`` holds this prescription's past dispenses."""
    history = [d for d in history if d.prescription_id == rx.id]
    if rx.status is PrescriptionStatus.CANCELLED:
        return Refused(rx.id, RefusalReason.CANCELLED)
    if rx.status is PrescriptionStatus.ON_HOLD:
        return Refused(rx.id, RefusalReason.ON_HOLD, hold_reason=rx.hold_reason)

    today = dosing_day(now, site)
    if rx.end_date is not None and today > rx.end_date:
        return Refused(rx.id, RefusalReason.ENDED)

    used_today = _units_on_day(today, history, site)
    left_today = max(0, rx.daily_max_units - used_today)
    if _active_on(today, rx) and left_today >= rx.units_per_dose:
        for window in windows_of_day(today, rx.windows, site):
            if window.contains(now) and not _dosed_in(window, history):
                return Allowed(rx.id, rx.units_per_dose, window)

    reason = RefusalReason.TOO_EARLY
    if today < rx.start_date:
        reason = RefusalReason.NOT_STARTED
    elif left_today < rx.units_per_dose:
        reason = RefusalReason.DAILY_MAXIMUM
    return Refused(
        rx.id,
        reason,
        next_eligible=next_eligible(rx, history, now, site),
        units_left_today=left_today if _active_on(today, rx) else 0,
    )


def next_eligible(
    rx: Prescription, history: list[PastDispense], now: datetime, site: SiteClock
) -> datetime | None:
    """The first instant after ``now`` at which a dose would be allowed, if any soon."""
    today = dosing_day(now, site)
    for offset in range(_LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        if not _active_on(day, rx):
            if rx.end_date is not None and day > rx.end_date:
                return None
            continue
        if _units_on_day(day, history, site) + rx.units_per_dose > rx.daily_max_units:
            continue
        for window in windows_of_day(day, rx.windows, site):
            if window.end <= now or _dosed_in(window, history):
                continue
            return max(window.start, now)
    return None
