"""Shared helpers for the dosing tests: site-local times in, UTC out."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from kiosk.domain.model import Medication, Prescription, SiteClock, Window

HYDRO = Medication(1, "hydromorphone", "8 mg", "tablet")
WINDOWS = (Window(time(8), time(11)), Window(time(13), time(16)), Window(time(20), time(23)))
VANCOUVER = SiteClock("America/Vancouver", 4)


def at(text: str, zone: str = "America/Vancouver") -> datetime:
    """'2026-06-10 08:30' in the site's zone, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def rx(**changes: object) -> Prescription:
    base: dict[str, object] = {
        "id": 7,
        "participant_id": 1,
        "medication": HYDRO,
        "units_per_dose": 2,
        "windows": WINDOWS,
        "daily_max_units": 6,
        "start_date": date(2026, 6, 8),
        "end_date": None,
    }
    base.update(changes)
    return Prescription(**base)  # type: ignore[arg-type]
