"""The update plan (kiosk/domain/update_plan.py): the quiet-moment rule and the states."""

from __future__ import annotations

import itertools
from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.update_plan import (
    MaintenanceHours,
    Moment,
    NotQuiet,
    UpdateState,
    is_upgrade,
    may_follow,
    parse_hours,
    switch_blocker,
)

times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
hours = st.none() | st.builds(MaintenanceHours, times, times).filter(lambda h: h.start != h.end)
moments = st.builds(
    Moment,
    screen_idle=st.booleans(),
    participant_mid_flow=st.booleans(),
    vend_open=st.booleans(),
    clock_trusted=st.booleans(),
    local_time=st.none() | times,
    hours=hours,
)


@given(moments)
def test_never_switches_while_a_vend_is_open_or_a_participant_is_mid_flow(moment: Moment) -> None:
    verdict = switch_blocker(moment)
    if moment.vend_open or moment.participant_mid_flow or not moment.screen_idle:
        assert verdict is not None
    if verdict is None:
        assert moment.clock_trusted and moment.local_time is not None
        assert moment.hours is None or moment.hours.contains(moment.local_time)


@given(moments)
def test_an_open_vend_is_the_reason_given_first(moment: Moment) -> None:
    if moment.vend_open:
        assert switch_blocker(moment) is NotQuiet.VEND_OPEN


def test_maintenance_hours_may_wrap_midnight() -> None:
    window = parse_hours({"start": "23:00", "end": "02:00"})
    assert window is not None
    assert window.contains(time(23, 30)) and window.contains(time(1, 59))
    assert not window.contains(time(2, 0)) and not window.contains(time(22, 59))
    assert parse_hours(None) is None


@pytest.mark.parametrize(
    "value",
    [
        {"start": "2:00", "end": "05:00"},
        {"start": "02:00"},
        "02:00-05:00",
        {"start": "02:00", "end": "02:00"},
    ],
)
def test_malformed_hours_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_hours(value)


@pytest.mark.parametrize(
    ("offered", "running", "upgrade"),
    [
        ("0.2.0", "0.1.0", True),
        ("0.10.0", "0.9.9", True),
        ("0.1.0", "0.1.0", False),
        ("0.0.9", "0.1.0", False),
        ("1.0.0rc1", "0.1.0", False),
        ("../0.2.0", "0.1.0", False),
    ],
)
def test_only_a_strictly_newer_release_is_an_upgrade(
    offered: str, running: str, upgrade: bool
) -> None:
    assert is_upgrade(offered, running) is upgrade


def test_states_follow_the_order_of_an_attempt() -> None:
    path = [
        UpdateState.RUNNING,
        UpdateState.DOWNLOADING,
        UpdateState.DOWNLOADED,
        UpdateState.STAGED,
        UpdateState.SWITCHED,
        UpdateState.HEALTHY,
    ]
    assert all(may_follow(a, b) for a, b in itertools.pairwise(path))
    assert not may_follow(UpdateState.DOWNLOADING, UpdateState.SWITCHED)
    assert may_follow(UpdateState.SWITCHED, UpdateState.ROLLED_BACK)
