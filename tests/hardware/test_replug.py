"""Stable port names and a USB serial adapter unplugged and plugged back.

In the field the kiosk opens udev symlinks (``/dev/serial/by-id/...``); pulling the adapter
makes that path vanish and plugging it back makes it return, on a new tty. The emulators do
the same with ``link_path``, ``unplug()`` and ``replug()``; the real drivers must recover.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.emulators.fingerprint import FingerprintEmulator
from hardware.emulators.pty_port import point_link, remove_link
from hardware.ports import (
    ControllerDisconnected,
    ControllerError,
    ControllerTimeout,
    DeviceState,
    DoorChanged,
    Match,
    SensorDisconnected,
    SensorError,
    SensorTimeout,
    UnitDropped,
    VendAckResult,
    VendDone,
    VendOutcome,
    VendQueryState,
    VendState,
)
from hardware.sensor import ZfmSensor
from tests.hardware.conftest import WAIT, EventLog

ALICE = "participant-17/right-index"
BOB = "participant-42/left-thumb"
BUDGET = 1.0  # sensor call budget
LOST = (DeviceState.DISCONNECTED, DeviceState.SILENT)
ROOT = Path(__file__).resolve().parents[2]


def by_id(tmp_path: Path, name: str) -> Path:
    """Where udev would put the adapter's stable name (the folder does not exist yet)."""
    return tmp_path / "serial" / "by-id" / f"usb-EMU_{name}-if00-port0"


def gone(link: Path) -> bool:
    return not link.is_symlink() and not link.exists()


@pytest.fixture
def controller_emu(tmp_path: Path) -> Iterator[ControllerEmulator]:
    emu = ControllerEmulator(
        lanes=4,
        unit_seconds=0.05,
        jam_seconds=0.5,
        boot_seconds=0.02,
        nvram_path=tmp_path / "nvram.json",
        link_path=by_id(tmp_path, "controller"),
    )
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def driver(controller_emu: ControllerEmulator) -> Iterator[SerialController]:
    drv = SerialController(controller_emu.port)
    drv.open()
    yield drv
    drv.close()


@pytest.fixture
def finger_emu(tmp_path: Path) -> Iterator[FingerprintEmulator]:
    emu = FingerprintEmulator(link_path=by_id(tmp_path, "fingerprint"))
    emu.enroll(ALICE, 5)
    emu.start()
    yield emu
    emu.stop()


# ---------------------------------------------------------------- links


def test_point_link_creates_replaces_and_remove_link_tolerates_missing(tmp_path: Path) -> None:
    link = tmp_path / "by-id" / "ttyX"
    point_link(link, "/dev/pts/1001")
    assert os.readlink(link) == "/dev/pts/1001"
    point_link(link, "/dev/pts/1002")  # replaced in one rename, never missing in between
    assert os.readlink(link) == "/dev/pts/1002"
    assert [p.name for p in link.parent.iterdir()] == ["ttyX"]  # no temporary left behind
    remove_link(link)
    assert gone(link)
    remove_link(link)  # missing is fine


def test_point_link_never_replaces_a_real_file(tmp_path: Path) -> None:
    real = tmp_path / "ttyS0"
    real.write_text("not a link")
    with pytest.raises(FileExistsError):
        point_link(real, "/dev/pts/1001")
    remove_link(real)  # not a symlink: left alone
    assert real.read_text() == "not a link"


def test_port_is_the_link_path(tmp_path: Path) -> None:
    link = by_id(tmp_path, "controller")
    emu = ControllerEmulator(link_path=link)
    assert emu.port == str(link)  # known before start: it is what the config names
    with pytest.raises(RuntimeError):
        ControllerEmulator().port  # noqa: B018 - no link, no pty yet
    with pytest.raises(RuntimeError):
        FingerprintEmulator().port  # noqa: B018
    with pytest.raises(RuntimeError):
        emu.unplug()  # not started


# ---------------------------------------------------------------- restartable emulators


def test_controller_emulator_start_stop_start(tmp_path: Path) -> None:
    link = by_id(tmp_path, "controller")
    emu = ControllerEmulator(unit_seconds=0.01, link_path=link)
    drv = SerialController(emu.port)
    events = EventLog()
    drv.set_event_handler(events)
    try:
        for vend_id in (1, 2, 3):
            emu.start()
            emu.start()  # a second start does nothing
            assert emu.plugged
            assert link.is_symlink()
            drv.open()
            assert drv.ping().lanes == 4
            assert drv.vend(vend_id, 1, 1) is VendAckResult.ACCEPTED
            assert events.wait_for(lambda e: isinstance(e, VendDone)) == VendDone(
                vend_id, 1, VendOutcome.COMPLETE
            )
            emu.stop()
            assert gone(link)
            with pytest.raises(ControllerError):
                drv.ping()
            emu.stop()  # twice is fine
        assert emu.stock(1) == 17  # state kept across restarts
        assert emu.vends_started == {1: 1, 2: 1, 3: 1}
    finally:
        drv.close()
        emu.stop()


def test_fingerprint_emulator_start_stop_start(tmp_path: Path) -> None:
    link = by_id(tmp_path, "fingerprint")
    emu = FingerprintEmulator(link_path=link)
    emu.enroll(ALICE, 5)
    sensor = ZfmSensor(emu.port, call_budget=BUDGET)
    try:
        for position in (7, 8):
            emu.start()
            emu.start()  # a second start does nothing
            assert link.is_symlink()
            sensor.open()
            emu.place_finger(BOB)
            assert sensor.finger_present()
            sensor.capture_characteristics(1)
            sensor.store_template(position)
            sensor.close()
            emu.stop()
            assert gone(link)
        assert emu.library() == {5: ALICE, 7: BOB, 8: BOB}
    finally:
        sensor.close()
        emu.stop()


def test_fingerprint_emulator_restarts_without_a_link() -> None:
    emu = FingerprintEmulator()
    emu.enroll(ALICE, 5)
    try:
        for _ in range(2):
            emu.start()
            sensor = ZfmSensor(emu.port, call_budget=BUDGET)
            sensor.open()
            try:
                assert sensor.template_positions() == [5]
            finally:
                sensor.close()
            emu.stop()
    finally:
        emu.stop()


# ---------------------------------------------------------------- (a) controller driver


def test_controller_driver_recovers_after_replug(
    controller_emu: ControllerEmulator, driver: SerialController, tmp_path: Path
) -> None:
    link = by_id(tmp_path, "controller")
    assert driver.ping().lanes == 4
    for _ in range(3):  # more than once: nothing wears out
        controller_emu.unplug()
        assert gone(link)
        assert not controller_emu.plugged
        started = time.monotonic()
        with pytest.raises((ControllerDisconnected, ControllerTimeout)):
            driver.ping()
        assert time.monotonic() - started < 2.0
        assert driver.state in LOST
        with pytest.raises(ControllerDisconnected):
            driver.open()  # nothing at the stable name while unplugged
        assert driver.state is DeviceState.DISCONNECTED

        controller_emu.replug()
        controller_emu.replug()  # already plugged in: nothing happens
        assert link.is_symlink()
        started = time.monotonic()
        driver.open()
        assert driver.ping().lanes == 4
        recovery = time.monotonic() - started
        assert recovery < 1.0, f"recovery took {recovery:.3f} s"
        assert driver.state is DeviceState.READY


# ---------------------------------------------------------------- (b) sensor driver


def test_sensor_driver_recovers_after_replug(
    finger_emu: FingerprintEmulator, tmp_path: Path
) -> None:
    link = by_id(tmp_path, "fingerprint")
    sensor = ZfmSensor(finger_emu.port, call_budget=BUDGET)
    sensor.open()
    try:
        assert sensor.template_positions() == [5]
        for position in (7, 8):
            finger_emu.unplug()
            assert gone(link)
            started = time.monotonic()
            with pytest.raises((SensorDisconnected, SensorTimeout)):
                sensor.info()
            assert time.monotonic() - started < BUDGET + 1.0
            assert sensor.state in LOST
            with pytest.raises(SensorDisconnected):
                sensor.info()  # it tries to reopen: nothing at the stable name
            assert sensor.state is DeviceState.DISCONNECTED

            finger_emu.replug()
            assert link.is_symlink()
            started = time.monotonic()
            positions = sensor.template_positions()  # reopens by itself
            elapsed = time.monotonic() - started
            assert elapsed < BUDGET, f"first call after replug took {elapsed:.3f} s"
            assert sensor.state is DeviceState.READY
            assert positions == [5, *range(7, position)]  # the library survived
            finger_emu.place_finger(BOB)  # and a new enrolment lands in it
            assert sensor.finger_present()
            sensor.capture_characteristics(1)
            sensor.store_template(position)
        finger_emu.place_finger(ALICE)
        assert sensor.finger_present()
        match = sensor.identify()
        assert isinstance(match, Match)
        assert match.position == 5
        assert finger_emu.library() == {5: ALICE, 7: BOB, 8: BOB}
    finally:
        sensor.close()


# ---------------------------------------------------------------- (c) vend across an unplug


def test_vend_goes_on_while_unplugged_and_is_reported_after_replug(
    controller_emu: ControllerEmulator, driver: SerialController
) -> None:
    events = EventLog()
    driver.set_event_handler(events)
    assert driver.vend(4242, 2, 10) is VendAckResult.ACCEPTED
    events.wait_for(lambda e: e == UnitDropped(4242, 1))
    controller_emu.unplug()
    record = controller_emu.nvram_record(4242)
    assert record is not None
    at_unplug = record.dropped
    assert at_unplug < 10, "the vend should still be running when the adapter goes"
    with pytest.raises((ControllerDisconnected, ControllerTimeout)):
        driver.vend_query(4242)

    # The board is powered separately: it finishes the vend with nobody listening.
    finished = controller_emu.wait_vend_finished(4242, timeout=WAIT)
    assert finished is not None
    assert (finished.dropped, finished.outcome) == (10, VendOutcome.COMPLETE)
    assert not controller_emu.plugged

    controller_emu.replug()
    driver.open()
    assert driver.vend_query(4242) == VendState(
        4242, VendQueryState.FINISHED, 10, VendOutcome.COMPLETE
    )
    # A host unsure whether its vend went through retries it: duplicate, nothing starts.
    assert driver.vend(4242, 2, 10) is VendAckResult.DUPLICATE
    assert controller_emu.vends_started == {4242: 1}
    assert controller_emu.dropped_total(4242) == 10
    assert controller_emu.stock(2) == 10
    # Events sent while unplugged are lost; those that did arrive are genuine.
    seen = [e.index for e in events.drain() if isinstance(e, UnitDropped)]
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) <= at_unplug


# ---------------------------------------------------------------- command-line emulators


class Cli:
    """An emulator process driven line by line, the way a fault harness drives it."""

    def __init__(self, module: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"hardware.emulators.{module}", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        first = self.answer()
        assert first.startswith("PORT "), first
        self.port = first.split(" ", 1)[1]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def answer(self) -> str:
        try:
            return self._lines.get(timeout=10)  # a cold interpreter start included
        except queue.Empty:
            raise AssertionError("emulator did not answer within 10 s") from None

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.answer()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def test_controller_cli(tmp_path: Path) -> None:
    link = by_id(tmp_path, "controller")
    cli = Cli(
        "controller",
        *("--link", str(link), "--unit-seconds", "0.01", "--jam-seconds", "0.1"),
        *("--stock", "5", "--nvram", str(tmp_path / "nvram.json")),
    )
    drv = SerialController(cli.port, reply_timeout=0.1, retries=1)  # "silent on" is quick
    events = EventLog()
    drv.set_event_handler(events)
    try:
        assert cli.port == str(link)
        drv.open()
        assert cli.ask("\nstock 2 3") == "ok"  # the blank line got no answer of its own
        assert drv.vend(9, 2, 2) is VendAckResult.ACCEPTED
        events.wait_for(lambda e: isinstance(e, VendDone) and e.vend_id == 9)
        assert json.loads(cli.ask("state")) == {
            "stock": {"1": 5, "2": 1, "3": 5, "4": 5},
            "vends_started": {"9": 1},
            "dropped": {"9": 2},
            "records": [[9, 2, 2, 2, int(VendOutcome.COMPLETE)]],
        }
        assert cli.ask("unplug") == "ok"
        assert gone(link)
        with pytest.raises((ControllerDisconnected, ControllerTimeout)):
            drv.ping()
        assert cli.ask("replug") == "ok"
        drv.open()
        assert drv.ping().lanes == 4
        assert cli.ask("door open") == "ok"
        assert events.wait_for(lambda e: isinstance(e, DoorChanged)) == DoorChanged(True)
        assert cli.ask("door close") == "ok"
        for command in ("jam 1", "jam 3 2", "clear 1", "tamper on", "tamper off", "silent on"):
            assert cli.ask(command) == "ok", command
        with pytest.raises(ControllerTimeout):
            drv.ping()
        assert cli.ask("silent off") == "ok"
        assert cli.ask("power") == "ok"
        for bad in ("stock 9 1", "stock 1 x", "jam", "door ajar", "fly"):
            assert cli.ask(bad).startswith("error: "), bad
        assert cli.ask("quit") == "ok"
        assert cli.process.wait(10) == 0
        assert gone(link)
    finally:
        drv.close()
        cli.close()


def test_fingerprint_cli(tmp_path: Path) -> None:
    link = by_id(tmp_path, "fingerprint")
    cli = Cli(
        "fingerprint",
        *("--link", str(link), "--enroll", f"{ALICE}:5"),
        *("--image-seconds", "0", "--search-seconds", "0"),
    )
    sensor = ZfmSensor(cli.port, call_budget=BUDGET)
    try:
        assert cli.port == str(link)
        sensor.open()
        assert cli.ask(f"place {ALICE}") == "ok"
        assert sensor.finger_present()
        match = sensor.identify()
        assert match is not None
        assert match.position == 5
        assert json.loads(cli.ask("library")) == {"5": ALICE}
        assert cli.ask("unplug") == "ok"
        assert gone(link)
        with pytest.raises(SensorError):
            sensor.info()
        assert cli.ask("replug") == "ok"
        assert sensor.template_positions() == [5]
        assert cli.ask("lift") == "ok"
        assert sensor.finger_present() is False
        for bad in ("place x bad", "silent maybe", "fly"):
            assert cli.ask(bad).startswith("error: "), bad
        assert cli.ask("quit") == "ok"
        assert cli.process.wait(10) == 0
        assert gone(link)
    finally:
        sensor.close()
        cli.close()
