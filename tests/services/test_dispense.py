"""The dispense service on the real controller driver and emulator, and a real store.

Each test guards a safety invariant: intent before VEND, only confirmed units count,
doubt settled by VEND_QUERY and never by sending the vend again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import VendAckResult
from kiosk.domain.model import Window
from kiosk.services.clock import FixedClock
from kiosk.services.dispense import DispenseService, NoLane, OutcomeUnknown
from kiosk.store.repository import Store

VEND = 0x10


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[ControllerEmulator]:
    emu = ControllerEmulator(
        lanes=2,
        unit_seconds=0.01,
        jam_seconds=0.05,
        boot_seconds=0.02,
        nvram_path=tmp_path / "nvram.json",
        stock=10,
    )
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def controller(emulator: ControllerEmulator) -> Iterator[SerialController]:
    driver = SerialController(emulator.port)
    driver.open()
    yield driver
    driver.close()


@pytest.fixture
def prescription(store: Store, clock: FixedClock):  # type: ignore[no-untyped-def]
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 10, now, "test")
    pid = store.add_participant("P-1", "Name", None, now, "test")
    store.add_prescription(
        pid, med, 2, (Window(time(0), time(23, 59)),), 20, date(2026, 1, 1), None, now, "test"
    )
    return store.prescriptions(pid)[0]


def vends_sent(emulator: ControllerEmulator) -> list[int]:
    return [seq for seq, kind in emulator.commands if kind == VEND]


class IntentCheckingController:
    """Wraps the real driver: at VEND time the intent must already be committed."""

    def __init__(self, inner: SerialController, store_path: Path, key: bytes) -> None:
        self.inner = inner
        self.store_path = store_path
        self.key = key
        self.intent_seen: list[bool] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def vend(self, vend_id: int, lane: int, units: int) -> VendAckResult:
        from kiosk.store.db import connect

        other = connect(self.store_path, self.key)  # another connection sees only commits
        row = other.execute(
            "SELECT lane, units FROM dispense_intents WHERE vend_id = ?", (vend_id,)
        ).fetchone()
        other.close()
        self.intent_seen.append(row == (lane, units))
        return self.inner.vend(vend_id, lane, units)


def test_the_intent_is_committed_before_vend_is_sent(
    store: Store,
    clock: FixedClock,
    controller: SerialController,
    prescription,
    tmp_path: Path,
    key: bytes,
) -> None:
    checking = IntentCheckingController(controller, tmp_path / "kiosk.db", key)
    service = DispenseService(store, checking, clock)  # type: ignore[arg-type]
    result = service.vend(prescription.participant_id, prescription, 2)
    assert checking.intent_seen == [True]
    assert (result.dropped, result.outcome) == (2, "complete")


def test_units_follow_the_drop_sensor_and_stock_follows_units(
    store: Store,
    clock: FixedClock,
    controller: SerialController,
    emulator: ControllerEmulator,
    prescription,
) -> None:
    seen: list[int] = []
    service = DispenseService(store, controller, clock)
    emulator.force_jam(1, after_units=1)
    result = service.vend(prescription.participant_id, prescription, 2, seen.append)
    assert (result.dropped, result.outcome) == (1, "jam")
    assert seen == [1]
    assert emulator.dropped_total(result.vend_id) == 1
    lane = store.lanes()[0]
    assert (lane.stock, lane.state) == (9, "jammed")
    with pytest.raises(NoLane):  # the jammed lane is not used again
        service.vend(prescription.participant_id, prescription, 2)


def test_a_lost_reply_is_resent_with_the_same_seq_and_vends_once(
    store: Store,
    clock: FixedClock,
    controller: SerialController,
    emulator: ControllerEmulator,
    prescription,
) -> None:
    service = DispenseService(store, controller, clock)
    emulator.drop_next_replies(1)
    result = service.vend(prescription.participant_id, prescription, 2)
    seqs = vends_sent(emulator)
    assert len(seqs) == 2 and seqs[0] == seqs[1]  # the same frame again
    assert emulator.dropped_total(result.vend_id) == 2  # acted once
    assert result.dropped == 2


def test_a_silent_controller_leaves_the_intent_open_then_recovery_settles_it(
    store: Store,
    clock: FixedClock,
    controller: SerialController,
    emulator: ControllerEmulator,
    prescription,
) -> None:
    service = DispenseService(store, controller, clock, silence_budget=0.3)
    emulator.set_silent(True)
    with pytest.raises(OutcomeUnknown):
        service.vend(prescription.participant_id, prescription, 2)
    [open_intent] = store.unfinished_intents()
    emulator.set_silent(False)
    settled = service.recover()
    assert [r.vend_id for r in settled] == [open_intent.vend_id]
    assert settled[0].outcome == "not_started"  # the controller never heard of it
    assert vends_sent(emulator) == []  # recovery never sends a vend
    assert store.unfinished_intents() == []


def test_a_power_cut_mid_vend_is_settled_from_the_controllers_memory(
    store: Store,
    clock: FixedClock,
    controller: SerialController,
    emulator: ControllerEmulator,
    prescription,
) -> None:
    service = DispenseService(store, controller, clock, silence_budget=0.3)
    emulator.unit_seconds = 0.2
    seen: list[int] = []

    def cut_after_first(count: int) -> None:
        seen.append(count)
        if count == 1:
            emulator.power_cut()

    result = service.vend(prescription.participant_id, prescription, 2, cut_after_first)
    assert result.outcome == "aborted"
    assert result.dropped == emulator.dropped_total(result.vend_id) == 1
    assert len(vends_sent(emulator)) == 1


def test_the_rest_of_a_jammed_dose_comes_from_another_lane_only_when_allowed(
    store: Store, clock: FixedClock, tmp_path: Path
) -> None:
    from kiosk.domain.model import SiteClock
    from kiosk.services.identify import IdentifyService
    from kiosk.services.interaction import InteractionService

    emu = ControllerEmulator(lanes=2, unit_seconds=0.01, jam_seconds=0.05, stock=10)
    emu.start()
    driver = SerialController(emu.port)
    driver.open()
    try:
        now = clock.now()
        med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
        store.set_lane(1, med, 10, now, "test")
        store.set_lane(2, med, 5, now, "test")
        pid = store.add_participant("P-1", "Name", None, now, "test")
        from kiosk.services.seed import ALL_DAY

        store.add_prescription(pid, med, 2, ALL_DAY, 6, date(2026, 6, 9), None, now, "test")
        site = SiteClock("America/Vancouver")
        dispense = DispenseService(store, driver, clock)
        strict = InteractionService(store, clock, site, IdentifyService(store, None), dispense)  # type: ignore[arg-type]
        emu.force_jam(1, after_units=1)
        [cut] = strict.dispense(pid)
        assert (cut.dropped, cut.outcome) == (1, "jam")  # the site does not allow a retry
        store.set_lane_state(1, "ready", now, "test")
        emu.clear_jam(1)
        driver.lane_reset(1)
        lenient = InteractionService(
            store,
            clock,
            site,
            IdentifyService(store, None),
            dispense,
            retry_remainder=True,  # type: ignore[arg-type]
        )
        clock.at = clock.at.replace(hour=23)  # next window (16:00 local)
        emu.force_jam(1, after_units=1)
        seen: list[tuple[int, int]] = []
        [finished] = lenient.dispense(pid, on_unit=lambda line, n: seen.append((line, n)))
        assert finished.dropped == 2
        assert seen == [(0, 1), (0, 2)]
        assert store.lanes()[1].stock == 4  # the rest came from lane 2
    finally:
        driver.close()
        emu.stop()
