"""The first dosing decision: windows in the site's zone, one dose per window, daily max."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.dosing import Allowed, RefusalReason, Refused, clock_is_trusted, decide
from kiosk.domain.model import (
    Medication,
    PastDispense,
    Prescription,
    PrescriptionStatus,
    SiteClock,
    Window,
)
from kiosk.domain.schedule import dosing_day, windows_of_day

VANCOUVER = SiteClock("America/Vancouver", 4)
HYDRO = Medication(1, "hydromorphone", "8 mg", "tablet")
WINDOWS = (Window(time(8), time(11)), Window(time(13), time(16)), Window(time(20), time(23)))


def local(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    zone = ZoneInfo(VANCOUVER.timezone)
    return datetime(2026, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def rx(**changes: object) -> Prescription:
    base = {
        "id": 7,
        "participant_id": 1,
        "medication": HYDRO,
        "units_per_dose": 2,
        "windows": WINDOWS,
        "daily_max_units": 6,
        "start_date": date(2026, 1, 1),
        "end_date": None,
    }
    base.update(changes)
    return Prescription(**base)  # type: ignore[arg-type]


def given_at(*instants: datetime, units: int = 2) -> list[PastDispense]:
    return [PastDispense(7, at, units) for at in instants]


def test_inside_a_window_the_dose_is_allowed() -> None:
    verdict = decide(rx(), [], local(10, 9), VANCOUVER)
    assert isinstance(verdict, Allowed)
    assert verdict.units == 2


def test_between_windows_the_next_window_start_is_given() -> None:
    verdict = decide(rx(), [], local(10, 11, 30), VANCOUVER)
    assert isinstance(verdict, Refused)
    assert verdict.reason is RefusalReason.TOO_EARLY
    assert verdict.next_eligible == local(10, 13)


def test_second_scan_in_the_same_window_is_refused_until_the_next_one() -> None:
    verdict = decide(rx(), given_at(local(10, 8, 5)), local(10, 9), VANCOUVER)
    assert isinstance(verdict, Refused)
    assert verdict.next_eligible == local(10, 13)
    assert verdict.units_left_today == 4


def test_daily_maximum_stops_further_doses_until_the_next_dosing_day() -> None:
    history = given_at(local(10, 8, 5), local(10, 13, 5), units=3)
    verdict = decide(rx(units_per_dose=3), history, local(10, 21), VANCOUVER)
    assert isinstance(verdict, Refused)
    assert verdict.reason is RefusalReason.DAILY_MAXIMUM
    assert verdict.next_eligible == local(11, 8)


def test_a_two_am_pickup_belongs_to_the_previous_dosing_day() -> None:
    night = (Window(time(22), time(3)),)
    verdict = decide(rx(windows=night), given_at(local(10, 22, 30)), local(11, 2), VANCOUVER)
    assert isinstance(verdict, Refused)  # same window, same dosing day
    assert dosing_day(local(11, 2), VANCOUVER) == date(2026, 6, 10)
    assert verdict.next_eligible == local(11, 22)


def test_before_start_and_after_end_nothing_is_given() -> None:
    early = decide(rx(start_date=date(2026, 6, 12)), [], local(10, 9), VANCOUVER)
    assert isinstance(early, Refused)
    assert early.reason is RefusalReason.NOT_STARTED
    assert early.next_eligible == local(12, 8)
    ended = decide(rx(end_date=date(2026, 6, 9)), [], local(10, 9), VANCOUVER)
    assert isinstance(ended, Refused)
    assert ended.reason is RefusalReason.ENDED
    assert ended.next_eligible is None


def test_holds_and_cancellations_send_to_staff() -> None:
    held = decide(
        rx(status=PrescriptionStatus.ON_HOLD, hold_reason="review"), [], local(10, 9), VANCOUVER
    )
    assert isinstance(held, Refused)
    assert held.reason is RefusalReason.ON_HOLD
    assert held.hold_reason == "review"


@pytest.mark.parametrize(
    ("zone", "day", "month"),
    [("America/Vancouver", 8, 3), ("America/Vancouver", 1, 11), ("America/St_Johns", 8, 3)],
)
def test_dst_nights_keep_windows_at_local_wall_time(zone: str, day: int, month: int) -> None:
    site = SiteClock(zone, 4)
    at = datetime(2026, month, day, 9, 0, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    verdict = decide(rx(), [], at, site)
    assert isinstance(verdict, Allowed)
    assert verdict.window.start == datetime(2026, month, day, 8, tzinfo=ZoneInfo(zone))


def test_clock_trust() -> None:
    recorded = local(10, 9)
    assert clock_is_trusted(recorded, recorded)
    assert clock_is_trusted(recorded - timedelta(minutes=1), recorded)
    assert not clock_is_trusted(recorded - timedelta(minutes=3), recorded)
    assert not clock_is_trusted(None, recorded)
    assert clock_is_trusted(recorded, None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3 * 24 * 60), min_size=1, max_size=60))
def test_no_sequence_of_scans_exceeds_the_daily_maximum(minutes: list[int]) -> None:
    """Replay scans at random instants, giving whatever is allowed each time."""
    start = local(10, 0)
    history: list[PastDispense] = []
    prescription = rx(units_per_dose=2, daily_max_units=5)
    for offset in sorted(minutes):
        now = start + timedelta(minutes=offset)
        verdict = decide(prescription, history, now, VANCOUVER)
        if isinstance(verdict, Allowed):
            history.append(PastDispense(prescription.id, now, verdict.units))
    per_day: dict[date, int] = {}
    for past in history:
        day = dosing_day(past.at, VANCOUVER)
        per_day[day] = per_day.get(day, 0) + past.units
    assert all(total <= 5 for total in per_day.values())
    # Never two doses in one window.
    windows = [
        next(
            w
            for w in windows_of_day(dosing_day(p.at, VANCOUVER), WINDOWS, VANCOUVER)
            if w.contains(p.at)
        )
        for p in history
    ]
    assert len(windows) == len(set(windows))
