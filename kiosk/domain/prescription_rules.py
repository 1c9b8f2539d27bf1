"""The rules a prescription's terms must keep, as one pure function.

The kiosk's staff screens (``PrescriptionSpec.validate``) and the hub's care app (its
prescription form) both call ``problems``, so a prescription the hub's pharmacist verifies is
one the kiosk would have accepted from its own staff: one table of rules, two callers.
"""

from __future__ import annotations

from datetime import date

from kiosk.domain.dosing import MAX_UNITS_PER_VEND

MAX_MISSED_DOSE_LIMIT = 60


def problems(
    *,
    units_per_dose: int,
    daily_max_units: int,
    start_date: date,
    end_date: date | None,
    window_count: int,
    interval_minutes: int | None,
    max_doses_per_day: int | None,
    missed_dose_limit: int | None,
) -> list[str]:
    """The names of the fields whose values break a rule, in the order the kiosk checks them
    (its ``InvalidInput`` names the first). Empty: the terms are acceptable."""
    found: list[str] = []
    if not 1 <= units_per_dose <= MAX_UNITS_PER_VEND:
        found.append("units_per_dose")
    if daily_max_units < units_per_dose:
        found.append("daily_max_units")
    if end_date is not None and end_date < start_date:
        found.append("end_date")
    if interval_minutes is None:
        # A windowed schedule: at least one window, and no per-day count (windows are it).
        if window_count == 0:
            found.append("windows")
        if max_doses_per_day is not None:
            found.append("max_doses_per_day")
    else:
        # An interval schedule: windows would contradict it.
        if interval_minutes < 0 or window_count:
            found.append("interval_minutes")
        if max_doses_per_day is not None and max_doses_per_day < 1:
            found.append("max_doses_per_day")
    if missed_dose_limit is not None and not 1 <= missed_dose_limit <= MAX_MISSED_DOSE_LIMIT:
        found.append("missed_dose_limit")
    return found
