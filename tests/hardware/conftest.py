"""Fixtures for the hardware tests: emulators on real ptys and drivers talking to them."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import ControllerEvent, ProtocolVersion

WAIT = 2.0  # generous upper bound for anything the emulator does in tens of ms


class EventLog:
    """An event handler that queues events so tests can wait for them without sleeping."""

    def __init__(self) -> None:
        self._queue: queue.Queue[ControllerEvent] = queue.Queue()
        self.seen: list[ControllerEvent] = []

    def __call__(self, event: ControllerEvent) -> None:
        self._queue.put(event)

    def wait_for(
        self, predicate: Callable[[ControllerEvent], bool], timeout: float = WAIT
    ) -> ControllerEvent:
        """Return the first not yet consumed event matching ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = self._queue.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise AssertionError(f"no matching event within {timeout} s: {self.seen}") from None
            self.seen.append(event)
            if predicate(event):
                return event

    def drain(self) -> list[ControllerEvent]:
        """Consume what is already queued (no waiting)."""
        while True:
            try:
                self.seen.append(self._queue.get_nowait())
            except queue.Empty:
                return self.seen


def make_emulator(
    nvram_path: Path | None, proto: ProtocolVersion = ProtocolVersion.V1
) -> ControllerEmulator:
    return ControllerEmulator(
        lanes=4,
        unit_seconds=0.01,
        jam_seconds=0.1,
        boot_seconds=0.02,
        nvram_path=nvram_path,
        proto=proto,
    )


@pytest.fixture
def nvram_path(tmp_path: Path) -> Path:
    return tmp_path / "controller-nvram.json"


@pytest.fixture
def emulator(nvram_path: Path) -> Iterator[ControllerEmulator]:
    emu = make_emulator(nvram_path)
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
def events(controller: SerialController) -> EventLog:
    log = EventLog()
    controller.set_event_handler(log)
    return log
