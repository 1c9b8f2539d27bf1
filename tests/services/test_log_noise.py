"""Repeated warnings are rate-limited: the first one, then a count every few minutes or on
recovery. Checked on the filter alone (a fake clock) and on the real sensor driver with its
USB adapter pulled out while health probes it every second."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.emulators.fingerprint import FingerprintEmulator
from hardware.ports import SensorError
from hardware.sensor import ZfmSensor
from kiosk.logsetup import RepeatLimiter
from kiosk.services.clock import FixedClock
from kiosk.services.dispense import DispenseService
from kiosk.services.events import ControllerEvents
from kiosk.services.health import Fault, HealthService
from kiosk.store.repository import Store
from tests.services.doubles import controller_on_emulator


class Lines(logging.Handler):
    """What a log handler with the limiter writes, as (level, text)."""

    def __init__(self, limiter: RepeatLimiter) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []
        self.addFilter(limiter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelname, record.getMessage()))


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def logged(ticks: Ticks) -> Iterator[tuple[logging.Logger, list[tuple[str, str]]]]:
    limiter = RepeatLimiter(window=300, clock=ticks)
    first, second = Lines(limiter), Lines(limiter)
    logger = logging.getLogger("tests.noisy")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(first)
    logger.addHandler(second)  # a second handler gets the same answer for each record
    yield logger, first.lines
    logger.removeHandler(first)
    logger.removeHandler(second)
    assert first.lines == second.lines


def test_a_repeated_warning_is_said_once_then_counted_every_window(
    logged: tuple[logging.Logger, list[tuple[str, str]]], ticks: Ticks
) -> None:
    log, lines = logged
    for second in range(600):  # ten minutes of one failure a second
        ticks.now = 1000.0 + second
        log.warning("%s failed: %s", "info", f"no answer ({second})")
    assert lines == [
        ("WARNING", "info failed: no answer (0)"),
        ("WARNING", "info failed: no answer (300) [299 more like it in the last 5 min]"),
    ]


def test_other_warnings_and_errors_are_not_held_back_by_it(
    logged: tuple[logging.Logger, list[tuple[str, str]]],
) -> None:
    log, lines = logged
    log.warning("%s failed: %s", "info", "no answer")
    log.warning("%s failed: %s", "info", "no answer")
    log.error("%s failed: %s", "info", "no answer")  # another level: another kind
    log.warning("port %s lost", "/dev/ttyUSB0")
    assert [text for _level, text in lines] == [
        "info failed: no answer",
        "info failed: no answer",
        "port /dev/ttyUSB0 lost",
    ]
    assert [level for level, _text in lines] == ["WARNING", "ERROR", "WARNING"]


def test_the_recovery_line_says_what_was_held_back(
    logged: tuple[logging.Logger, list[tuple[str, str]]], ticks: Ticks
) -> None:
    log, lines = logged
    for second in range(30):
        ticks.now = 1000.0 + second
        log.warning("%s failed: %s", "info", "no answer")
    log.info("fingerprint sensor open on %s", "/dev/ttyUSB0")
    log.warning("%s failed: %s", "info", "no answer")  # a new outage is said at once
    assert lines == [
        ("WARNING", "info failed: no answer"),
        (
            "INFO",
            "fingerprint sensor open on /dev/ttyUSB0"
            ' [held back before this: 29 more like "info failed: no answer"]',
        ),
        ("WARNING", "info failed: no answer"),
    ]


def test_an_unplugged_sensor_probed_every_second_warns_once(
    tmp_path: Path, store: Store, clock: FixedClock
) -> None:
    link = tmp_path / "serial" / "by-id" / "usb-EMU_fingerprint-if00-port0"
    emulator = FingerprintEmulator(link_path=link)
    emulator.start()
    sensor = ZfmSensor(str(link), call_budget=1.0)
    lines = Lines(RepeatLimiter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(lines)
    try:
        sensor.open()
        with controller_on_emulator(tmp_path / "controller") as (_emulator, controller):
            events = ControllerEvents(controller)
            dispense = DispenseService(store, controller, clock, events=events)
            health = HealthService(store, sensor, controller, clock, dispense, events)
            assert Fault.SENSOR not in health.check().faults
            emulator.unplug()
            health.report_sensor_failure(SensorError("gone"))  # a scan noticed it
            for _second in range(10):  # health probes a faulty sensor every second
                assert Fault.SENSOR in health.check().faults
            emulator.replug()
            assert Fault.SENSOR not in health.check().faults  # it answers again
    finally:
        root.removeHandler(lines)
        root.setLevel(level)
        sensor.close()
        emulator.stop()
    warnings = [text for level, text in lines.lines if level == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("info failed"), lines.lines
    # Said once it is back (by the driver reopening the port, or health), with the count.
    held = [
        int(count)
        for _level, text in lines.lines
        for count in re.findall(r'(\d+) more like "info failed: ', text)
    ]
    assert sum(held) == 9, lines.lines  # every probe after the first is counted, none lost
