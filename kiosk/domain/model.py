"""Value objects shared by the dosing rules and the participant flow."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time


@dataclass(frozen=True)
class Medication:
    id: int
    name: str  # e.g. "hydromorphone"
    strength: str  # e.g. "8 mg"
    form: str  # "tablet" | "capsule"


@dataclass(frozen=True)
class Window:
    """A dose window in site-local wall time. ``end <= start`` means it runs past midnight."""

    start: time
    end: time


class LaneStatus(enum.StrEnum):
    """A lane's state as the store keeps it: the controller's (ready, jammed, empty, fault),
    or a stock count that differs from the record (discrepancy) until a pharmacist resolves
    it. Only a ready lane dispenses."""

    READY = "ready"
    JAMMED = "jammed"
    EMPTY = "empty"
    FAULT = "fault"
    DISCREPANCY = "discrepancy"


class PrescriptionStatus(enum.Enum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Prescription:
    """One medication on one schedule.

    The schedule is either fixed ``windows`` (site-local times) or, when
    ``interval_minutes`` is set, an interval: at least that long between doses and at most
    ``max_doses_per_day`` doses in a dosing day.
    """

    id: int
    participant_id: int
    medication: Medication
    units_per_dose: int
    windows: tuple[Window, ...]
    daily_max_units: int
    start_date: date  # first dosing day, inclusive
    end_date: date | None  # last dosing day, inclusive
    status: PrescriptionStatus = PrescriptionStatus.ACTIVE
    hold_reason: str = ""
    interval_minutes: int | None = None
    max_doses_per_day: int | None = None
    accumulate: bool = False  # unused earlier windows of the same dosing day may be picked up
    witnessed: bool = False  # a nurse or pharmacist witnesses each dose
    missed_dose_limit: int | None = None  # None: the site default
    released_at: datetime | None = None  # last release from a hold (UTC): restarts the count
    # Dosing days whose doses are given at another machine (a guest pass the hub confirmed
    # with this machine): refused here that day, whatever the history says.
    away_days: frozenset[date] = frozenset()
    hub_id: str | None = None  # the hub's id for a prescription it sent (remote approvals)

    @property
    def is_interval(self) -> bool:
        return self.interval_minutes is not None


@dataclass(frozen=True)
class PastDispense:
    """A dispense already recorded: only drop-confirmed units count."""

    prescription_id: int
    at: datetime  # UTC, aware
    units: int


@dataclass(frozen=True)
class SiteClock:
    """The site's rules of time: its IANA zone, the hour the dosing day starts, and how
    many dosing days without a pickup put a prescription on hold for review."""

    timezone: str
    day_start_hour: int = 4
    missed_dose_days: int = 3  # site default: days without pickup before a review hold


@dataclass(frozen=True)
class SiteContact:
    """Where participants find staff, and when, in the site's own words (from the
    configuration): shown as written, in every language. None: the site has not said."""

    staff_location: str | None = None
    staff_hours: str | None = None
    on_call: str | None = None  # whom to call when nobody could be told ([site] on_call)
