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


class PrescriptionStatus(enum.Enum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Prescription:
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


@dataclass(frozen=True)
class PastDispense:
    """A dispense already recorded: only drop-confirmed units count."""

    prescription_id: int
    at: datetime  # UTC, aware
    units: int


@dataclass(frozen=True)
class SiteClock:
    """How the site reads wall time: its IANA zone and the hour the dosing day starts."""

    timezone: str
    day_start_hour: int = 4
