"""The dosing rules: for one prescription at one instant, what may be given now, or why not.

Pure: time is an argument, history is a list. Every decision carries the checks that led
to it (``Check``), so staff and prescribers can be told exactly why (``kiosk explain``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from kiosk.domain.model import PastDispense, Prescription, PrescriptionStatus, SiteClock
from kiosk.domain.schedule import Interval, dosing_day, dosing_day_bounds, windows_of_day

# How far ahead the next eligible time is searched; beyond it the answer is "see staff".
LOOKAHEAD_DAYS = 8
# A wall clock this far behind the latest recorded event is not trusted (DESIGN invariant 3).
CLOCK_TOLERANCE = timedelta(minutes=2)
# A clock before this instant has lost its time (a flat RTC battery resets to 1970 or 2000).
EARLIEST_TRUSTED = datetime(2026, 1, 1, tzinfo=UTC)
# The controller vends at most this many units in one VEND command.
MAX_UNITS_PER_VEND = 20
MISSED_DOSES_HOLD_REASON = "needs prescriber review"


class RefusalReason(enum.Enum):
    TOO_EARLY = "too_early"  # outside a window, or the interval has not passed
    ALREADY_DOSED = "already_dosed"  # this window's dose was given
    DAILY_MAXIMUM = "daily_maximum"
    DOSES_PER_DAY = "doses_per_day"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    ON_HOLD = "on_hold"
    MISSED_DOSES = "missed_doses"
    CANCELLED = "cancelled"
    CLOCK_UNTRUSTED = "clock_untrusted"
    NO_PRESCRIPTION = "no_prescription"
    DOSES_ELSEWHERE = "doses_elsewhere"  # today's doses are at another site (a guest pass)


# Reasons that pass with time: the participant is told when to come back.
TIMED_REASONS = frozenset(
    {
        RefusalReason.TOO_EARLY,
        RefusalReason.ALREADY_DOSED,
        RefusalReason.DAILY_MAXIMUM,
        RefusalReason.DOSES_PER_DAY,
        RefusalReason.NOT_STARTED,
    }
)


class Rule(enum.Enum):
    STATUS = "status"
    GUEST_ELSEWHERE = "guest_elsewhere"
    START_DATE = "start_date"
    END_DATE = "end_date"
    MISSED_DOSES = "missed_doses"
    WINDOW = "window"
    ONE_DOSE_PER_WINDOW = "one_dose_per_window"
    ACCUMULATION = "accumulation"
    INTERVAL = "interval"
    DOSES_PER_DAY = "doses_per_day"
    DAILY_MAXIMUM = "daily_maximum"


Fact = str | int | None


@dataclass(frozen=True)
class Check:
    """One rule applied: did it pass, and the facts it looked at (for the explanation)."""

    rule: Rule
    passed: bool
    facts: Mapping[str, Fact] = field(default_factory=dict)


@dataclass(frozen=True)
class Allowed:
    prescription_id: int
    units: int
    window: Interval | None = None
    witnessed: bool = False
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Refused:
    prescription_id: int | None
    reason: RefusalReason
    next_eligible: datetime | None = None  # UTC
    units_left_today: int = 0
    hold_reason: str = ""
    checks: tuple[Check, ...] = ()


Decision = Allowed | Refused


def clock_is_trusted(now: datetime | None, latest_recorded: datetime | None) -> bool:
    """False with no time at all, a reset clock, or one behind what was already recorded."""
    if now is None or now < EARLIEST_TRUSTED:
        return False
    if latest_recorded is None:
        return True
    return now >= latest_recorded - CLOCK_TOLERANCE


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def missed_dose_days(
    rx: Prescription, history: list[PastDispense], today: date, site: SiteClock
) -> int:
    """Whole dosing days, ending yesterday, without a pickup since the count (re)started.

    The count starts at the later of the start date, the last release from a hold and the
    day after the last pickup, so it is right after the kiosk was off for a week.
    """
    anchor = rx.start_date
    if rx.released_at is not None:
        anchor = max(anchor, dosing_day(rx.released_at, site))
    pickups = [dosing_day(d.at, site) for d in history if d.units > 0]
    if pickups:
        anchor = max(anchor, max(pickups) + timedelta(days=1))
    return max(0, (today - anchor).days)


def decide(
    rx: Prescription,
    history: list[PastDispense],
    now: datetime,
    site: SiteClock,
) -> Decision:
    """Decide for one prescription. ``history`` must reach back ``history_days(site)``."""
    history = [d for d in history if d.prescription_id == rx.id and d.units > 0]
    verdict = _evaluate(rx, history, now, site, check_missed=True)
    if isinstance(verdict, Refused) and verdict.reason in TIMED_REASONS:
        found = next_eligible(rx, history, now, site)
        return Refused(
            rx.id,
            verdict.reason,
            next_eligible=found,
            units_left_today=verdict.units_left_today,
            checks=verdict.checks,
        )
    return verdict


def history_days(site: SiteClock, rx: Prescription | None = None) -> int:
    """How many days of history a decision needs (missed-dose count, interval, today)."""
    limit = rx.missed_dose_limit if rx and rx.missed_dose_limit else site.missed_dose_days
    return max(limit, 1) + 2


def _evaluate(
    rx: Prescription,
    history: list[PastDispense],
    now: datetime,
    site: SiteClock,
    *,
    check_missed: bool,
) -> Decision:
    checks: list[Check] = []
    today = dosing_day(now, site)

    def refuse(reason: RefusalReason, left: int = 0, hold: str = "") -> Refused:
        return Refused(rx.id, reason, None, left, hold, tuple(checks))

    status_ok = rx.status is PrescriptionStatus.ACTIVE
    checks.append(
        Check(
            Rule.STATUS,
            status_ok,
            {"status": rx.status.value, "hold_reason": rx.hold_reason or None},
        )
    )
    if rx.status is PrescriptionStatus.CANCELLED:
        return refuse(RefusalReason.CANCELLED)
    if rx.status is PrescriptionStatus.ON_HOLD:
        return refuse(RefusalReason.ON_HOLD, hold=rx.hold_reason)

    # A guest pass: this day's doses were handed to another machine, which may give them
    # only because this one holds this refusal (docs/SYNC.md).
    at_home = today not in rx.away_days
    checks.append(Check(Rule.GUEST_ELSEWHERE, at_home, {"today": today.isoformat()}))
    if not at_home:
        return refuse(RefusalReason.DOSES_ELSEWHERE)

    started = today >= rx.start_date
    checks.append(
        Check(
            Rule.START_DATE,
            started,
            {"start_date": rx.start_date.isoformat(), "today": today.isoformat()},
        )
    )
    if not started:
        return refuse(RefusalReason.NOT_STARTED)
    in_date = rx.end_date is None or today <= rx.end_date
    checks.append(
        Check(
            Rule.END_DATE,
            in_date,
            {
                "end_date": rx.end_date.isoformat() if rx.end_date else None,
                "today": today.isoformat(),
            },
        )
    )
    if not in_date:
        return refuse(RefusalReason.ENDED)

    if check_missed:
        limit = rx.missed_dose_limit or site.missed_dose_days
        missed = missed_dose_days(rx, history, today, site)
        checks.append(
            Check(Rule.MISSED_DOSES, missed < limit, {"missed_days": missed, "limit": limit})
        )
        if missed >= limit:
            return refuse(RefusalReason.MISSED_DOSES, hold=MISSED_DOSES_HOLD_REASON)

    day = dosing_day_bounds(today, site)
    todays = [d for d in history if day.contains(d.at)]
    used = sum(d.units for d in todays)
    left = max(0, rx.daily_max_units - used)

    if rx.is_interval:
        verdict = _interval_rule(rx, history, todays, now, checks)
        window = None
    else:
        verdict, window = _window_rule(rx, todays, now, today, site, checks)
    if isinstance(verdict, RefusalReason):
        return refuse(verdict, left)

    doses = verdict
    by_max = left // rx.units_per_dose
    by_vend = MAX_UNITS_PER_VEND // rx.units_per_dose
    allowed_doses = min(doses, by_max, max(by_vend, 1))
    checks.append(
        Check(
            Rule.DAILY_MAXIMUM,
            allowed_doses >= 1,
            {
                "daily_max_units": rx.daily_max_units,
                "used_today": used,
                "left_today": left,
                "units_per_dose": rx.units_per_dose,
            },
        )
    )
    if allowed_doses < 1:
        return refuse(RefusalReason.DAILY_MAXIMUM, left)
    units = min(allowed_doses * rx.units_per_dose, MAX_UNITS_PER_VEND)
    return Allowed(rx.id, units, window, rx.witnessed, tuple(checks))


def _window_rule(
    rx: Prescription,
    todays: list[PastDispense],
    now: datetime,
    today: date,
    site: SiteClock,
    checks: list[Check],
) -> tuple[int | RefusalReason, Interval | None]:
    """Doses owed now under fixed windows, or the refusal."""
    windows = windows_of_day(today, rx.windows, site)
    current = next((w for w in windows if w.contains(now)), None)
    checks.append(
        Check(
            Rule.WINDOW,
            current is not None,
            {
                "now": now.isoformat(),
                "window_start": _iso(current.start if current else None),
                "window_end": _iso(current.end if current else None),
                "windows_today": len(windows),
            },
        )
    )
    if current is None:
        return RefusalReason.TOO_EARLY, None
    if not rx.accumulate:
        dosed = any(current.contains(d.at) for d in todays)
        checks.append(Check(Rule.ONE_DOSE_PER_WINDOW, not dosed, {"dosed_in_window": int(dosed)}))
        return (RefusalReason.ALREADY_DOSED if dosed else 1), current
    # Accumulation: every window that has opened today owes one dose; doses taken pay them.
    opened = sum(1 for w in windows if w.start <= now)
    # A pickup of several doses pays several windows; a partial one still pays one.
    taken = sum(max(1, math.ceil(d.units / rx.units_per_dose)) for d in todays)
    owed = opened - taken
    checks.append(
        Check(
            Rule.ACCUMULATION,
            owed >= 1,
            {"windows_opened": opened, "doses_taken": taken, "doses_owed": max(owed, 0)},
        )
    )
    return (owed if owed >= 1 else RefusalReason.ALREADY_DOSED), current


def _interval_rule(
    rx: Prescription,
    history: list[PastDispense],
    todays: list[PastDispense],
    now: datetime,
    checks: list[Check],
) -> int | RefusalReason:
    gap = timedelta(minutes=rx.interval_minutes or 0)
    earlier = [d.at for d in history if d.at <= now]
    last = max(earlier) if earlier else None
    waited = last is None or now - last >= gap
    checks.append(
        Check(
            Rule.INTERVAL,
            waited,
            {
                "last_dose": _iso(last),
                "interval_minutes": rx.interval_minutes,
                "eligible_from": _iso(last + gap if last else None),
            },
        )
    )
    if not waited:
        return RefusalReason.TOO_EARLY
    limit = rx.max_doses_per_day
    if limit is not None:
        within = len(todays) < limit
        checks.append(
            Check(
                Rule.DOSES_PER_DAY, within, {"doses_today": len(todays), "max_doses_per_day": limit}
            )
        )
        if not within:
            return RefusalReason.DOSES_PER_DAY
    return 1


def next_eligible(
    rx: Prescription, history: list[PastDispense], now: datetime, site: SiteClock
) -> datetime | None:
    """The first instant after ``now`` at which a dose would be allowed, if any soon.

    Candidates are the instants at which a rule can change its answer (window starts,
    dosing-day starts, the end of an interval); each is checked with the same rules.
    """
    today = dosing_day(now, site)
    candidates: set[datetime] = set()
    for offset in range(LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        candidates.add(dosing_day_bounds(day, site).start)
        for window in windows_of_day(day, rx.windows, site):
            candidates.add(window.start)
    if rx.is_interval and history:
        candidates.add(max(d.at for d in history) + timedelta(minutes=rx.interval_minutes or 0))
    for instant in sorted(c for c in candidates if c > now):
        if isinstance(_evaluate(rx, history, instant, site, check_missed=False), Allowed):
            return instant
    return None


def remainder_allowed(
    rx: Prescription, history: list[PastDispense], now: datetime, site: SiteClock, units: int
) -> bool:
    """May the undelivered rest of a dose that was just cut short be given from another lane?

    Only while the prescription is active and in date, and only within the daily maximum
    (``history`` already holds the units that did drop).
    """
    today = dosing_day(now, site)
    if rx.status is not PrescriptionStatus.ACTIVE or today < rx.start_date:
        return False
    if rx.end_date is not None and today > rx.end_date:
        return False
    day = dosing_day_bounds(today, site)
    used = sum(d.units for d in history if d.prescription_id == rx.id and day.contains(d.at))
    return units > 0 and used + units <= rx.daily_max_units
