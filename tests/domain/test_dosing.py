"""Properties of the dosing rules (hypothesis): whatever the scans, the limits hold."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.dosing import (
    Allowed,
    RefusalReason,
    Refused,
    clock_is_trusted,
    decide,
)
from kiosk.domain.model import PastDispense, Prescription, SiteClock, Window
from kiosk.domain.schedule import dosing_day, windows_of_day
from tests.domain.scenarios import at, rx

ZONES = [
    "America/Vancouver",
    "America/Toronto",
    "America/Halifax",
    "America/St_Johns",
    "America/Regina",
]
# A generous missed-dose limit, so that the properties below test the other rules.
PATIENT_SITE = 30


@st.composite
def prescriptions(draw: st.DrawFn) -> Prescription:
    interval = draw(st.booleans())
    hours = sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=5)))
    windows = tuple(Window(time(h), time((h + draw(st.integers(1, 3))) % 24)) for h in hours)
    return rx(
        units_per_dose=draw(st.integers(1, 4)),
        daily_max_units=draw(st.integers(1, 12)),
        windows=() if interval else windows,
        accumulate=draw(st.booleans()),
        interval_minutes=draw(st.sampled_from([60, 180, 240, 480])) if interval else None,
        max_doses_per_day=draw(st.integers(1, 6)) if interval else None,
        start_date=date(2026, 3, 5),
        end_date=draw(st.sampled_from([None, date(2026, 3, 9), date(2026, 3, 12)])),
    )


def replay(
    prescription: Prescription, minutes: list[int], site: SiteClock, start: datetime
) -> list[PastDispense]:
    """Scan at each instant and give whatever the rules allow."""
    history: list[PastDispense] = []
    for offset in sorted(minutes):
        now = start + timedelta(minutes=offset)
        verdict = decide(prescription, history, now, site)
        if isinstance(verdict, Allowed):
            history.append(PastDispense(prescription.id, now, verdict.units))
    return history


scan_minutes = st.lists(st.integers(0, 6 * 24 * 60), min_size=1, max_size=80)


@settings(max_examples=200, deadline=None)
@given(prescriptions(), scan_minutes, st.sampled_from(ZONES), st.integers(0, 6))
def test_no_sequence_of_scans_exceeds_the_daily_maximum(
    prescription: Prescription, minutes: list[int], zone: str, day_start: int
) -> None:
    site = SiteClock(zone, day_start, PATIENT_SITE)
    history = replay(prescription, minutes, site, at("2026-03-05 00:00", zone))
    per_day: dict[date, int] = {}
    for past in history:
        day = dosing_day(past.at, site)
        per_day[day] = per_day.get(day, 0) + past.units
    assert all(total <= prescription.daily_max_units for total in per_day.values())


@settings(max_examples=200, deadline=None)
@given(prescriptions(), scan_minutes, st.sampled_from(ZONES))
def test_never_two_doses_in_one_window_without_accumulation(
    prescription: Prescription, minutes: list[int], zone: str
) -> None:
    prescription = Prescription(**{**prescription.__dict__, "accumulate": False})
    site = SiteClock(zone, 4, PATIENT_SITE)
    history = replay(prescription, minutes, site, at("2026-03-05 00:00", zone))
    if prescription.is_interval:
        gaps = [b.at - a.at for a, b in itertools.pairwise(history)]
        assert all(g >= timedelta(minutes=prescription.interval_minutes or 0) for g in gaps)
        return
    seen = []
    for past in history:
        windows = windows_of_day(dosing_day(past.at, site), prescription.windows, site)
        seen.append(next(w for w in windows if w.contains(past.at)))
    assert len(seen) == len(set(seen))


@settings(max_examples=200, deadline=None)
@given(prescriptions(), scan_minutes, st.sampled_from(ZONES))
def test_nothing_before_start_or_after_end(
    prescription: Prescription, minutes: list[int], zone: str
) -> None:
    site = SiteClock(zone, 4, PATIENT_SITE)
    history = replay(prescription, minutes, site, at("2026-03-02 00:00", zone))
    for past in history:
        day = dosing_day(past.at, site)
        assert day >= prescription.start_date
        assert prescription.end_date is None or day <= prescription.end_date


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(0, 10), st.sampled_from(ZONES))
def test_missed_dose_hold_appears_exactly_on_day_n_plus_one(
    limit: int, start_offset: int, zone: str
) -> None:
    site = SiteClock(zone, 4, limit)
    start = date(2026, 3, 1) + timedelta(days=start_offset)
    prescription = rx(start_date=start, windows=(Window(time(8), time(20)),))
    for day_index in range(limit + 2):
        day = start + timedelta(days=day_index)
        verdict = decide(prescription, [], at(f"{day.isoformat()} 09:00", zone), site)
        held = isinstance(verdict, Refused) and verdict.reason is RefusalReason.MISSED_DOSES
        # Days 1..N are missed; the hold shows on day N+1 (index N), not before.
        assert held == (day_index >= limit), (day_index, verdict)


@settings(max_examples=150, deadline=None)
@given(prescriptions(), scan_minutes, st.integers(0, 6 * 24 * 60), st.sampled_from(ZONES))
def test_the_next_eligible_time_really_allows_a_dose(
    prescription: Prescription, minutes: list[int], probe: int, zone: str
) -> None:
    site = SiteClock(zone, 4, PATIENT_SITE)
    start = at("2026-03-05 00:00", zone)
    history = replay(prescription, minutes, site, start)
    now = start + timedelta(minutes=probe)
    past = [h for h in history if h.at <= now]
    verdict = decide(prescription, past, now, site)
    if isinstance(verdict, Refused) and verdict.next_eligible is not None:
        assert verdict.next_eligible > now
        later = decide(prescription, past, verdict.next_eligible, site)
        assert isinstance(later, Allowed), later
        just_before = verdict.next_eligible - timedelta(seconds=1)
        if just_before > now:
            assert isinstance(decide(prescription, past, just_before, site), Refused)


def test_clock_trust() -> None:
    recorded = datetime(2026, 6, 10, 16, tzinfo=UTC)
    assert clock_is_trusted(recorded, recorded)
    assert clock_is_trusted(recorded - timedelta(minutes=1), recorded)
    assert not clock_is_trusted(recorded - timedelta(minutes=3), recorded)
    assert not clock_is_trusted(None, recorded)
    assert clock_is_trusted(recorded, None)
    assert not clock_is_trusted(datetime(2000, 1, 1, tzinfo=UTC), None)  # a reset RTC
