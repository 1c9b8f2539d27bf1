"""Shared pieces of the service tests: the real controller driver on a wire-level emulator,
and a fingerprint sensor that is not under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import DeviceState, ProtocolVersion, SensorInfo
from kiosk.domain.model import Window
from kiosk.services.clock import FixedClock
from kiosk.store.repository import Store


class ReadySensor:
    """The fingerprint sensor is not under test here: always ready."""

    state = DeviceState.READY

    def info(self) -> SensorInfo:
        return SensorInfo(200, 3, 0, 128)


@contextmanager
def controller_on_emulator(
    folder: Path, proto: ProtocolVersion = ProtocolVersion.V1_1, **options: float
) -> Iterator[tuple[ControllerEmulator, SerialController]]:
    """A started emulator (two lanes of 10, fast units) and the real driver, open on it."""
    folder.mkdir(parents=True, exist_ok=True)
    emulator = ControllerEmulator(
        lanes=2,
        unit_seconds=options.pop("unit_seconds", 0.01),
        nvram_path=folder / "nvram.json",
        stock=10,
        proto=proto,
        **options,  # type: ignore[arg-type]
    )
    emulator.start()
    driver = SerialController(emulator.port)
    try:
        driver.open()
        yield emulator, driver
    finally:
        driver.close()
        emulator.stop()


@dataclass(frozen=True)
class TwoMedications:
    participant: int
    hydromorphone: int  # medication ids
    morphine: int
    tablets: int  # prescription ids
    capsules: int


def two_medications(
    store: Store,
    clock: FixedClock,
    windows: tuple[Window, ...],
    *,
    witnessed_capsules: bool = False,
) -> TwoMedications:
    """A participant due 2 hydromorphone tablets (lane 1) and 1 slow-release morphine capsule
    (lane 2), both on ``windows``; 10 units in each lane."""
    now = clock.now()
    hydro = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    srom = store.add_medication("slow-release oral morphine", "200 mg", "capsule", now)
    store.set_lane(1, hydro, 10, now, "test")
    store.set_lane(2, srom, 10, now, "test")
    pid = store.add_participant("P-1", "Name", None, now, "test")
    start = date(2026, 6, 9)
    tablets = store.add_prescription(pid, hydro, 2, windows, 8, start, None, now, "test")
    capsules = store.add_prescription(
        pid, srom, 1, windows, 4, start, None, now, "test", witnessed=witnessed_capsules
    )
    return TwoMedications(pid, hydro, srom, tablets, capsules)
