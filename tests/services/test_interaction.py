"""The interaction service on the real controller driver and emulator, and a real store:
what was shown is what is vended, a lane lost on the way is told, the witness is asked only
for what can be given, the next dose time, and out of service when no lane can serve."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from kiosk.domain.model import SiteClock
from kiosk.services.clock import FixedClock
from kiosk.services.dispense import DispenseService
from kiosk.services.events import ControllerEvents
from kiosk.services.health import Fault, HealthService
from kiosk.services.identify import IdentifyService
from kiosk.services.interaction import InteractionService, WitnessRequired
from kiosk.services.seed import ALL_DAY
from kiosk.store.repository import Store
from tests.services.doubles import ReadySensor, controller_on_emulator, two_medications

SITE = SiteClock("America/Vancouver")
FOUR_PM_VANCOUVER = datetime(2026, 6, 10, 23, 0, tzinfo=UTC)  # the next window opens


@dataclass
class Kiosk:
    store: Store
    clock: FixedClock
    emulator: ControllerEmulator
    controller: SerialController
    interaction: InteractionService
    health: HealthService
    participant: int
    hydro: int  # prescription ids
    srom: int


@pytest.fixture
def kiosk(store: Store, clock: FixedClock, tmp_path: Path) -> Iterator[Kiosk]:
    with controller_on_emulator(tmp_path / "controller") as (emulator, controller):
        m = two_medications(store, clock, ALL_DAY, witnessed_capsules=True)
        events = ControllerEvents(controller)
        dispense = DispenseService(store, controller, clock, events=events)
        identify = IdentifyService(store, None)  # type: ignore[arg-type]
        interaction = InteractionService(store, clock, SITE, identify, dispense)
        health = HealthService(store, ReadySensor(), controller, clock, dispense, events)  # type: ignore[arg-type]
        dispense.recover()
        pid, tablets, capsules = m.participant, m.tablets, m.capsules
        yield Kiosk(store, clock, emulator, controller, interaction, health, pid, tablets, capsules)


def lane_state(k: Kiosk, lane: int, state: str) -> None:
    k.store.set_lane_state(lane, state, k.clock.now(), "controller")


def vended_lanes(k: Kiosk) -> list[int]:
    return [record.lane for record in k.emulator.log]


def test_only_the_plan_shown_is_vended_even_when_a_lane_comes_back(kiosk: Kiosk) -> None:
    k = kiosk
    lane_state(k, 2, "jammed")
    view = k.interaction.decide(k.participant)
    assert [d.prescription.id for d in view.doses] == [k.hydro]
    assert [d.prescription.id for d in view.unavailable] == [k.srom]
    assert not view.needs_witness  # the witnessed capsule cannot be given: no nurse
    lane_state(k, 2, "ready")  # staff reset it while the tablets were announced
    [result] = k.interaction.dispense(k.participant, plan=[k.hydro])
    assert (result.lane, result.dropped, result.outcome) == (1, 2, "complete")
    assert vended_lanes(k) == [1]  # the capsule was not announced, so not given


def test_a_lane_lost_between_the_decision_and_the_vend_gives_nothing_for_it_and_tells_staff(
    kiosk: Kiosk,
) -> None:
    k = kiosk
    plan = [k.hydro, k.srom]
    assert [d.prescription.id for d in k.interaction.decide(k.participant).doses] == plan
    lane_state(k, 1, "jammed")
    nurse = k.store.add_staff("Nurse", "nurse", "no-pin", k.clock.now(), "test")
    seen: list[tuple[int, int]] = []
    results = k.interaction.dispense(
        k.participant, nurse, lambda line, n: seen.append((line, n)), plan
    )
    # One result per planned line, in order, so the screen shows each line's truth.
    assert [(r.dropped, r.outcome) for r in results] == [(0, "no_lane"), (1, "complete")]
    assert seen == [(1, 1)]
    assert vended_lanes(k) == [2]
    assert ("no_lane", "medication:1") in [(a[1], a[2]) for a in k.store.open_alerts()]


def test_the_witness_is_required_only_for_what_can_be_given(kiosk: Kiosk) -> None:
    k = kiosk
    with pytest.raises(WitnessRequired):
        k.interaction.dispense(k.participant, plan=[k.hydro, k.srom])
    assert vended_lanes(k) == []
    lane_state(k, 2, "empty")  # the witnessed capsule's lane runs out before the vend
    results = k.interaction.dispense(k.participant, plan=[k.hydro, k.srom])
    assert [(r.dropped, r.outcome) for r in results] == [(2, "complete"), (0, "no_lane")]


def test_the_next_dose_time_comes_from_the_rules_after_the_dispense(kiosk: Kiosk) -> None:
    k = kiosk
    lane_state(k, 2, "jammed")
    assert k.interaction.next_dose(k.participant, [k.hydro]) is None  # still allowed now
    k.interaction.dispense(k.participant, plan=[k.hydro])
    assert k.interaction.next_dose(k.participant, [k.hydro]) == FOUR_PM_VANCOUVER
    # Only the prescriptions just given count: the capsule is still due now, not at 16:00.
    assert k.interaction.next_dose(k.participant, [k.srom]) is None


def test_out_of_service_when_no_lane_can_serve_anyone_and_back_once_one_is_reset(
    kiosk: Kiosk,
) -> None:
    k = kiosk
    assert k.health.check().ok
    k.emulator.force_jam(1)
    [jammed] = k.interaction.dispense(k.participant, plan=[k.hydro])
    assert jammed.outcome == "jam"
    assert k.health.check().ok  # the capsule lane can still serve someone
    k.emulator.set_stock(2, 0)  # the controller reports it empty
    report = k.health.check()
    assert report.faults == {Fault.NO_READY_LANE}
    assert not report.needs_staff  # nothing latched: it clears by itself
    k.emulator.clear_jam(1)
    k.controller.lane_reset(1)
    assert k.health.check().ok
