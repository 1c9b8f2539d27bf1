"""Table-driven dosing scenarios: windows, accumulation, intervals, dates, holds, missed
doses, dosing-day boundaries and DST nights in five Canadian zones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

import pytest

from kiosk.domain.dosing import Allowed, RefusalReason, Refused, decide
from kiosk.domain.model import PastDispense, PrescriptionStatus, SiteClock, Window
from tests.domain.scenarios import at, rx

R = RefusalReason
NIGHT = (Window(time(22), time(3)),)


@dataclass(frozen=True)
class Case:
    name: str
    now: str
    expect: int | RefusalReason  # units allowed, or the refusal reason
    next_at: str | None = None  # expected next eligible (site-local), for refusals
    given: tuple[tuple[str, int], ...] = ()  # (site-local time, units) already dispensed
    rx: dict[str, object] = field(default_factory=dict)
    zone: str = "America/Vancouver"
    day_start: int = 4
    missed_days: int = 3


CASES = [
    Case("in the first window", "2026-06-10 08:30", 2),
    Case("window start is inclusive", "2026-06-10 08:00", 2),
    Case("before the first window", "2026-06-10 07:00", R.TOO_EARLY, "2026-06-10 08:00"),
    Case("between windows", "2026-06-10 11:30", R.TOO_EARLY, "2026-06-10 13:00"),
    Case("window end is exclusive", "2026-06-10 11:00", R.TOO_EARLY, "2026-06-10 13:00"),
    Case("after the last window", "2026-06-10 23:30", R.TOO_EARLY, "2026-06-11 08:00"),
    Case(
        "02:00 is still the previous dosing day",
        "2026-06-11 02:00",
        R.TOO_EARLY,
        "2026-06-11 08:00",
    ),
    Case(
        "second scan in the same window",
        "2026-06-10 09:00",
        R.ALREADY_DOSED,
        "2026-06-10 13:00",
        given=(("2026-06-10 08:05", 2),),
    ),
    Case("next window after a dose", "2026-06-10 14:00", 2, given=(("2026-06-10 08:05", 2),)),
    Case(
        "third window with room left",
        "2026-06-10 21:00",
        2,
        given=(("2026-06-10 08:05", 2), ("2026-06-10 13:05", 2)),
    ),
    Case(
        "daily maximum reached",
        "2026-06-10 21:00",
        R.DAILY_MAXIMUM,
        "2026-06-11 08:00",
        given=(("2026-06-10 08:05", 2), ("2026-06-10 13:05", 2)),
        rx={"daily_max_units": 5},
    ),
    Case(
        "daily maximum below one dose",
        "2026-06-10 08:30",
        R.DAILY_MAXIMUM,
        None,
        rx={"daily_max_units": 1},
    ),
    Case("accumulation: missed first window", "2026-06-10 14:00", 4, rx={"accumulate": True}),
    Case(
        "accumulation: whole day in the last window", "2026-06-10 21:00", 6, rx={"accumulate": True}
    ),
    Case(
        "accumulation capped by the daily maximum",
        "2026-06-10 21:00",
        4,
        rx={"accumulate": True, "daily_max_units": 5},
    ),
    Case(
        "accumulation after a regular dose",
        "2026-06-10 14:00",
        2,
        given=(("2026-06-10 08:05", 2),),
        rx={"accumulate": True},
    ),
    Case(
        "accumulation already picked up",
        "2026-06-10 15:00",
        R.ALREADY_DOSED,
        "2026-06-10 20:00",
        given=(("2026-06-10 14:05", 4),),
        rx={"accumulate": True},
    ),
    Case(
        "accumulation still needs a window",
        "2026-06-10 12:00",
        R.TOO_EARLY,
        "2026-06-10 13:00",
        rx={"accumulate": True},
    ),
    Case(
        "accumulation never crosses dosing days",
        "2026-06-10 08:30",
        2,
        given=(("2026-06-09 08:05", 2),),
        rx={"accumulate": True},
    ),
    Case("no accumulation: a missed window is gone", "2026-06-10 14:00", 2),
    Case(
        "accumulation: a partial pickup pays its window",
        "2026-06-10 14:00",
        2,
        given=(("2026-06-10 08:05", 1),),
        rx={"accumulate": True},
    ),
    Case(
        "before the start date",
        "2026-06-10 08:30",
        R.NOT_STARTED,
        "2026-06-12 08:00",
        rx={"start_date": date(2026, 6, 12)},
    ),
    Case("on the start date", "2026-06-10 08:30", 2, rx={"start_date": date(2026, 6, 10)}),
    Case(
        "after the end date", "2026-06-10 08:30", R.ENDED, None, rx={"end_date": date(2026, 6, 9)}
    ),
    Case("on the end date", "2026-06-10 08:30", 2, rx={"end_date": date(2026, 6, 10)}),
    Case(
        "end date: nothing after the last window",
        "2026-06-10 23:30",
        R.TOO_EARLY,
        None,
        rx={"end_date": date(2026, 6, 10)},
    ),
    Case(
        "end date includes its night (02:00)",
        "2026-06-11 02:00",
        2,
        rx={"end_date": date(2026, 6, 10), "windows": NIGHT},
    ),
    Case(
        "on hold",
        "2026-06-10 08:30",
        R.ON_HOLD,
        rx={"status": PrescriptionStatus.ON_HOLD, "hold_reason": "prescriber review"},
    ),
    Case("cancelled", "2026-06-10 08:30", R.CANCELLED, rx={"status": PrescriptionStatus.CANCELLED}),
    Case(
        "missed doses: three days without pickup",
        "2026-06-10 08:30",
        R.MISSED_DOSES,
        rx={"start_date": date(2026, 6, 7)},
    ),
    Case(
        "missed doses: two days is fine", "2026-06-10 08:30", 2, rx={"start_date": date(2026, 6, 8)}
    ),
    Case(
        "missed doses: counted from the last pickup",
        "2026-06-10 08:30",
        R.MISSED_DOSES,
        given=(("2026-06-06 08:05", 2),),
        rx={"start_date": date(2026, 6, 1)},
    ),
    Case(
        "missed doses: recent pickup",
        "2026-06-10 08:30",
        2,
        given=(("2026-06-07 21:05", 2),),
        rx={"start_date": date(2026, 6, 1)},
    ),
    Case(
        "missed doses: a release restarts the count",
        "2026-06-10 08:30",
        2,
        rx={"start_date": date(2026, 6, 1), "released_at": at("2026-06-09 10:00")},
    ),
    Case(
        "missed doses: an old release does not",
        "2026-06-10 08:30",
        R.MISSED_DOSES,
        rx={"start_date": date(2026, 6, 1), "released_at": at("2026-06-07 10:00")},
    ),
    Case(
        "missed doses: per-prescription limit",
        "2026-06-10 08:30",
        2,
        rx={"start_date": date(2026, 6, 6), "missed_dose_limit": 5},
    ),
    Case(
        "missed doses: site limit of one day",
        "2026-06-10 08:30",
        R.MISSED_DOSES,
        missed_days=1,
        rx={"start_date": date(2026, 6, 9)},
    ),
    Case(
        "interval: first dose",
        "2026-06-10 10:17",
        2,
        rx={"interval_minutes": 240, "max_doses_per_day": 4, "windows": ()},
    ),
    Case(
        "interval: too soon",
        "2026-06-10 10:00",
        R.TOO_EARLY,
        "2026-06-10 12:00",
        given=(("2026-06-10 08:00", 2),),
        rx={"interval_minutes": 240, "max_doses_per_day": 4, "windows": ()},
    ),
    Case(
        "interval: exactly on time",
        "2026-06-10 12:00",
        2,
        given=(("2026-06-10 08:00", 2),),
        rx={"interval_minutes": 240, "max_doses_per_day": 4, "windows": ()},
    ),
    Case(
        "interval: across midnight",
        "2026-06-11 01:00",
        R.TOO_EARLY,
        "2026-06-11 03:00",
        given=(("2026-06-10 23:00", 2),),
        rx={"interval_minutes": 240, "max_doses_per_day": 4, "windows": ()},
    ),
    Case(
        "interval: doses per day used up",
        "2026-06-10 22:00",
        R.DOSES_PER_DAY,
        "2026-06-11 04:00",
        given=(("2026-06-10 05:00", 1), ("2026-06-10 09:00", 1), ("2026-06-10 13:00", 1)),
        rx={"interval_minutes": 240, "max_doses_per_day": 3, "windows": (), "units_per_dose": 1},
    ),
    Case(
        "interval: daily maximum of units",
        "2026-06-10 22:00",
        R.DAILY_MAXIMUM,
        "2026-06-11 04:00",
        given=(("2026-06-10 05:00", 2), ("2026-06-10 09:00", 2), ("2026-06-10 13:00", 2)),
        rx={"interval_minutes": 240, "max_doses_per_day": 5, "windows": ()},
    ),
    Case(
        "DST spring forward, Vancouver", "2026-03-08 08:30", 2, rx={"start_date": date(2026, 3, 7)}
    ),
    Case(
        "DST spring forward: next window is local 13:00",
        "2026-03-08 11:30",
        R.TOO_EARLY,
        "2026-03-08 13:00",
        rx={"start_date": date(2026, 3, 7)},
    ),
    Case(
        "DST fall back: the 25-hour day keeps its windows",
        "2026-11-01 13:30",
        2,
        given=(("2026-11-01 08:10", 2),),
        rx={"start_date": date(2026, 10, 31)},
    ),
    Case(
        "DST fall back: 01:30 twice is one dosing day",
        "2026-11-02 01:30",
        R.ALREADY_DOSED,
        "2026-11-02 22:00",
        given=(("2026-11-01 22:30", 2),),
        rx={"start_date": date(2026, 10, 31), "windows": NIGHT},
    ),
    Case(
        "Toronto spring forward, between windows",
        "2026-03-08 11:30",
        R.TOO_EARLY,
        "2026-03-08 13:00",
        zone="America/Toronto",
        rx={"start_date": date(2026, 3, 7)},
    ),
    Case(
        "Halifax fall back, after the last window",
        "2026-11-01 23:30",
        R.TOO_EARLY,
        "2026-11-02 08:00",
        zone="America/Halifax",
        rx={"start_date": date(2026, 10, 31)},
    ),
    Case(
        "St. John's half-hour offset, spring forward",
        "2026-03-08 08:30",
        2,
        zone="America/St_Johns",
        rx={"start_date": date(2026, 3, 7)},
    ),
    Case(
        "St. John's: next window",
        "2026-03-08 16:30",
        R.TOO_EARLY,
        "2026-03-08 20:00",
        zone="America/St_Johns",
        rx={"start_date": date(2026, 3, 7)},
    ),
    Case(
        "Regina has no DST",
        "2026-03-08 08:30",
        2,
        zone="America/Regina",
        rx={"start_date": date(2026, 3, 7)},
    ),
    Case(
        "day start at midnight cuts a night window",
        "2026-06-11 02:00",
        R.TOO_EARLY,
        "2026-06-11 22:00",
        day_start=0,
        rx={"windows": NIGHT, "start_date": date(2026, 6, 10)},
    ),
    Case(
        "default 04:00 day start keeps the night window",
        "2026-06-11 02:00",
        2,
        rx={"windows": NIGHT},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scenario(case: Case) -> None:
    site = SiteClock(case.zone, case.day_start, case.missed_days)
    prescription = rx(**case.rx)
    history = [PastDispense(prescription.id, at(t, case.zone), u) for t, u in case.given]
    verdict = decide(prescription, history, at(case.now, case.zone), site)
    if isinstance(case.expect, int):
        assert isinstance(verdict, Allowed), verdict
        assert verdict.units == case.expect
    else:
        assert isinstance(verdict, Refused), verdict
        assert verdict.reason is case.expect
        expected_next = at(case.next_at, case.zone) if case.next_at else None
        assert verdict.next_eligible == expected_next
    assert verdict.checks, "every decision explains itself"


def test_there_are_at_least_forty_scenarios() -> None:
    assert len(CASES) >= 40
