"""Shared pieces of the service tests: the real controller driver on a wire-level emulator,
and a fingerprint sensor that is not under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import DeviceState, ProtocolVersion, SensorInfo


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
