"""A dose given by hand is checked against the machine's own dosing rules before it is
recorded (kiosk.domain.manual_doses.rules_concern): without an override, doses by hand never
break the daily maximum nor give twice in a window, whatever the order of times."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.dosing import RefusalReason
from kiosk.domain.manual_doses import rules_concern
from kiosk.domain.model import (
    PastDispense,
    Prescription,
    PrescriptionStatus,
    SiteClock,
    Window,
)
from kiosk.domain.schedule import dosing_day
from tests.domain.scenarios import at, rx
from tests.domain.test_dosing import PATIENT_SITE, ZONES, prescriptions

SITE = SiteClock("America/Vancouver", 4, PATIENT_SITE)


def test_what_the_rules_say_of_a_dose_by_hand() -> None:
    morning = rx(
        units_per_dose=2,
        daily_max_units=4,
        windows=(Window(time(8), time(10)), Window(time(18), time(20))),
        start_date=date(2026, 3, 5),
    )
    nine = at("2026-03-06 09:00", SITE.timezone)
    assert rules_concern(morning, [], nine, 2, SITE) is None
    given = [PastDispense(morning.id, nine - timedelta(minutes=30), 2)]
    assert rules_concern(morning, given, nine, 2, SITE) is RefusalReason.ALREADY_DOSED
    # A dose reported late counts too: one given since hides nothing.
    later = [PastDispense(morning.id, nine + timedelta(minutes=30), 2)]
    assert rules_concern(morning, later, nine, 2, SITE) is RefusalReason.ALREADY_DOSED
    assert rules_concern(morning, [], nine, 3, SITE) is RefusalReason.DAILY_MAXIMUM
    noon = at("2026-03-06 12:00", SITE.timezone)
    assert rules_concern(morning, [], noon, 2, SITE) is RefusalReason.TOO_EARLY
    held = dataclasses.replace(morning, status=PrescriptionStatus.ON_HOLD)
    assert rules_concern(held, [], nine, 2, SITE) is RefusalReason.ON_HOLD
    ended = dataclasses.replace(morning, end_date=date(2026, 3, 5))
    assert rules_concern(ended, [], nine, 2, SITE) is RefusalReason.ENDED


@settings(max_examples=150, deadline=None)
@given(
    prescriptions(),
    st.lists(st.tuples(st.integers(0, 4 * 24 * 60), st.integers(1, 8)), max_size=30),
    st.sampled_from(ZONES),
)
def test_doses_by_hand_the_rules_accept_never_exceed_the_daily_maximum(
    prescription: Prescription, doses: list[tuple[int, int]], zone: str
) -> None:
    site = SiteClock(zone, 4, PATIENT_SITE)
    start: datetime = at("2026-03-05 00:00", zone)
    history: list[PastDispense] = []
    for minutes, units in doses:  # in the order staff record them, not by time
        given_at = start + timedelta(minutes=minutes)
        if rules_concern(prescription, history, given_at, units, site) is None:
            history.append(PastDispense(prescription.id, given_at, units))
    per_day: dict[date, int] = {}
    for past in history:
        day = dosing_day(past.at, site)
        per_day[day] = per_day.get(day, 0) + past.units
    assert all(total <= prescription.daily_max_units for total in per_day.values())
