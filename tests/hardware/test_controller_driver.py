"""SerialController against the controller emulator over a real pty."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hardware.controller import frame as fr
from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import (
    ControllerBooted,
    ControllerDisconnected,
    ControllerEvent,
    ControllerInfo,
    ControllerRefused,
    ControllerTimeout,
    DeviceState,
    DispenserController,
    DoorChanged,
    LaneState,
    TamperChanged,
    UnitDropped,
    VendAckResult,
    VendDone,
    VendOutcome,
    VendQueryState,
    VendState,
)
from tests.hardware.conftest import WAIT, EventLog, make_emulator

READY4 = (LaneState.READY,) * 4


def done(vend_id: int) -> Callable[[ControllerEvent], bool]:
    return lambda e: isinstance(e, VendDone) and e.vend_id == vend_id


def vend_events(log: EventLog, vend_id: int) -> list[ControllerEvent]:
    return [e for e in log.seen if isinstance(e, UnitDropped | VendDone) and e.vend_id == vend_id]


# ---------------------------------------------------------------- basics


def test_driver_implements_the_port(controller: SerialController) -> None:
    assert isinstance(controller, DispenserController)
    assert controller.state is DeviceState.READY


def test_ping_and_status(controller: SerialController, emulator: ControllerEmulator) -> None:
    assert controller.ping() == ControllerInfo(1, 4, "EMU-1.0")
    status = controller.status()
    assert (status.door_open, status.tamper, status.lanes) == (False, False, READY4)
    emulator.set_stock(2, 0)
    emulator.trip_tamper()
    status = controller.status()
    assert status.tamper
    assert status.lanes[1] is LaneState.EMPTY


def test_unknown_command_and_bad_payload_are_naked(controller: SerialController) -> None:
    # No public method sends these; the private call shows the NAK path end to end.
    with pytest.raises(ControllerRefused) as unknown:
        controller._call(0x55, b"", bytes)
    assert unknown.value.code == fr.NAK_UNKNOWN_COMMAND
    with pytest.raises(ControllerRefused) as bad:
        controller._call(fr.CMD_VEND, b"\x00\x00\x00\x01\x01\x00", bytes)  # 0 units
    assert bad.value.code == fr.NAK_BAD_PAYLOAD
    assert controller.state is DeviceState.READY


# ---------------------------------------------------------------- vending


def test_vend_reports_each_unit_then_done(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    assert controller.vend(1001, 1, 3) is VendAckResult.ACCEPTED
    events.wait_for(done(1001))
    assert vend_events(events, 1001) == [
        UnitDropped(1001, 1),
        UnitDropped(1001, 2),
        UnitDropped(1001, 3),
        VendDone(1001, 3, VendOutcome.COMPLETE),
    ]
    assert emulator.stock(1) == 17
    assert emulator.dropped_total(1001) == 3
    assert controller.vend_query(1001) == VendState(
        1001, VendQueryState.FINISHED, 3, VendOutcome.COMPLETE
    )


def test_vend_query_running_and_unknown(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    assert controller.vend_query(4242) == VendState(
        4242, VendQueryState.UNKNOWN, 0, VendOutcome.NONE
    )
    emulator.unit_seconds = 0.2
    assert controller.vend(7, 1, 10) is VendAckResult.ACCEPTED
    events.wait_for(lambda e: e == UnitDropped(7, 1))
    state = controller.vend_query(7)
    assert state.state is VendQueryState.RUNNING
    assert state.outcome is VendOutcome.NONE
    assert 1 <= state.dropped < 10
    assert controller.vend(8, 2, 1) is VendAckResult.BUSY
    emulator.unit_seconds = 0.01


def test_duplicate_vend_id_starts_nothing(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    emulator.unit_seconds = 0.1
    assert controller.vend(11, 1, 2) is VendAckResult.ACCEPTED
    assert controller.vend(11, 1, 2) is VendAckResult.DUPLICATE  # while running
    emulator.unit_seconds = 0.01
    events.wait_for(done(11))
    assert controller.vend(11, 2, 1) is VendAckResult.DUPLICATE  # after, another lane
    assert emulator.dropped_total(11) == 2
    assert [r.vend_id for r in emulator.log] == [11]


def test_vend_refusals(controller: SerialController, emulator: ControllerEmulator) -> None:
    assert controller.vend(1, 5, 1) is VendAckResult.BAD_LANE
    assert controller.vend(2, 0, 1) is VendAckResult.BAD_LANE
    emulator.set_stock(3, 0)
    assert controller.vend(3, 3, 1) is VendAckResult.LANE_NOT_READY
    emulator.open_door()
    assert controller.vend(4, 1, 1) is VendAckResult.DOOR_OPEN
    # A refused vend_id is not recorded: it may be used once the reason is gone.
    emulator.close_door()
    assert controller.vend_query(4).state is VendQueryState.UNKNOWN
    assert controller.vend(4, 1, 1) is VendAckResult.ACCEPTED


def test_jam_then_reset(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    emulator.force_jam(2, after_units=1)
    assert controller.vend(20, 2, 3) is VendAckResult.ACCEPTED
    assert events.wait_for(done(20)) == VendDone(20, 1, VendOutcome.JAM)
    assert controller.status().lanes[1] is LaneState.JAMMED
    assert controller.vend(21, 2, 1) is VendAckResult.LANE_NOT_READY
    with pytest.raises(ControllerRefused) as refused:  # still physically blocked
        controller.lane_reset(2)
    assert refused.value.code == fr.NAK_REFUSED
    emulator.clear_jam(2)
    controller.lane_reset(2)
    assert controller.status().lanes == READY4
    assert controller.vend(22, 2, 1) is VendAckResult.ACCEPTED
    assert events.wait_for(done(22)) == VendDone(22, 1, VendOutcome.COMPLETE)


def test_lane_reset_refused_while_blocked(
    controller: SerialController, emulator: ControllerEmulator
) -> None:
    emulator.block_lane(1, True)
    with pytest.raises(ControllerRefused) as refused:
        controller.lane_reset(1)
    assert refused.value.code == fr.NAK_REFUSED
    assert controller.state is DeviceState.READY  # a refusal is an answer
    emulator.block_lane(1, False)
    controller.lane_reset(1)


def test_lane_empties_mid_vend(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    emulator.set_stock(3, 2)
    assert controller.vend(30, 3, 5) is VendAckResult.ACCEPTED
    assert events.wait_for(done(30)) == VendDone(30, 2, VendOutcome.LANE_EMPTY)
    assert [e for e in vend_events(events, 30) if isinstance(e, UnitDropped)] == [
        UnitDropped(30, 1),
        UnitDropped(30, 2),
    ]
    assert controller.status().lanes[2] is LaneState.EMPTY
    assert controller.vend_query(30) == VendState(
        30, VendQueryState.FINISHED, 2, VendOutcome.LANE_EMPTY
    )


# ---------------------------------------------------------------- door, tamper, power


def test_door_unlock_opens_the_door(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    controller.door_unlock(5)
    events.wait_for(lambda e: e == DoorChanged(True))
    assert controller.status().door_open
    emulator.close_door()
    events.wait_for(lambda e: e == DoorChanged(False))
    emulator.trip_tamper()
    events.wait_for(lambda e: e == TamperChanged(True))


def test_door_opened_mid_vend_aborts_it(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    emulator.unit_seconds = 0.1
    assert controller.vend(35, 1, 20) is VendAckResult.ACCEPTED
    events.wait_for(lambda e: e == UnitDropped(35, 1))
    emulator.open_door()
    finished = events.wait_for(done(35))
    assert finished == VendDone(35, emulator.dropped_total(35), VendOutcome.ABORTED)


def test_power_cut_mid_vend(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    emulator.force_jam(4)
    assert controller.vend(39, 4, 1) is VendAckResult.ACCEPTED
    events.wait_for(done(39))
    emulator.unit_seconds = 0.05
    assert controller.vend(40, 1, 20) is VendAckResult.ACCEPTED
    events.wait_for(lambda e: e == UnitDropped(40, 2))
    emulator.power_cut()
    events.wait_for(lambda e: isinstance(e, ControllerBooted))
    assert not any(isinstance(e, VendDone) and e.vend_id == 40 for e in events.seen)
    confirmed = emulator.dropped_total(40)
    assert confirmed >= 2
    assert controller.vend_query(40) == VendState(
        40, VendQueryState.FINISHED, confirmed, VendOutcome.ABORTED
    )
    assert controller.vend(40, 1, 20) is VendAckResult.DUPLICATE
    assert controller.status().lanes[3] is LaneState.JAMMED  # lanes keep their state


# ---------------------------------------------------------------- a bad line


def test_silent_controller_times_out_within_budget(
    controller: SerialController, emulator: ControllerEmulator
) -> None:
    emulator.set_silent(True)
    started = time.monotonic()
    with pytest.raises(ControllerTimeout):
        controller.ping()
    assert time.monotonic() - started < 2.0
    assert controller.state is DeviceState.SILENT
    emulator.set_silent(False)
    controller.ping()
    assert controller.state is DeviceState.READY


def test_garbage_between_replies_is_survived(
    controller: SerialController, emulator: ControllerEmulator
) -> None:
    for noise in (b"\x00\xff\x13\x37", b"\x02\x00\x01\x80\x00\x00", b"\x02"):
        emulator.inject(noise)
        assert controller.ping().proto == 1
    # A stray STX claiming a long frame holds the reply back until it ages out (50 ms),
    # well within the reply timeout.
    emulator.inject(b"\x02\xc8\x00")
    assert controller.status().lanes == READY4
    assert controller.decoder_stats.dropped_bytes > 0
    assert controller.decoder_stats.timeouts >= 1
    # A well-formed reply to a command nobody is waiting for (a late duplicate) is dropped.
    stale_seq = (controller._seq + 100) % 255 + 1
    emulator.inject(fr.encode_frame(stale_seq, fr.REPLY_OK, b""))
    assert controller.ping().lanes == 4  # its reply came after the stale one
    assert controller.dropped_replies == 1


def test_lost_reply_is_resent_with_the_same_seq(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    emulator.drop_next_replies(1)
    assert controller.vend(50, 1, 2) is VendAckResult.ACCEPTED  # not DUPLICATE
    events.wait_for(done(50))
    vends = [c for c in emulator.commands if c[1] == fr.CMD_VEND]
    assert len(vends) == 2
    assert vends[0] == vends[1]  # same SEQ
    assert emulator.dropped_total(50) == 2  # acted on once
    assert [r.vend_id for r in emulator.log] == [50]


def test_all_replies_lost_gives_timeout_after_retries(
    controller: SerialController, emulator: ControllerEmulator
) -> None:
    emulator.drop_next_replies(4)
    with pytest.raises(ControllerTimeout):
        controller.ping()
    seqs = {seq for seq, _ in emulator.commands}
    assert len(emulator.commands) == 4
    assert len(seqs) == 1
    next_info = controller.ping()  # the next command gets a fresh SEQ and works
    assert next_info.lanes == 4
    assert emulator.commands[-1][0] != seqs.pop()


def test_event_handler_errors_do_not_kill_the_reader(
    controller: SerialController, emulator: ControllerEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    called = threading.Event()

    def broken(event: ControllerEvent) -> None:
        called.set()
        raise RuntimeError("handler bug")

    controller.set_event_handler(broken)
    with caplog.at_level(logging.ERROR, logger="hardware.controller"):
        emulator.open_door()
        assert called.wait(WAIT)
        assert controller.ping().proto == 1
    assert "event handler failed" in caplog.text


def test_commands_from_the_event_handler_are_refused(
    controller: SerialController, emulator: ControllerEmulator
) -> None:
    outcome: list[BaseException] = []
    finished = threading.Event()

    def handler(event: ControllerEvent) -> None:
        try:
            controller.ping()
        except RuntimeError as exc:
            outcome.append(exc)
        finished.set()

    controller.set_event_handler(handler)
    emulator.trip_tamper()
    assert finished.wait(WAIT)
    assert len(outcome) == 1


def test_concurrent_commands_are_serialised(controller: SerialController) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert controller.status().lanes == READY4
        except BaseException as exc:  # reported through the list
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []


# ---------------------------------------------------------------- lifecycle


def test_close_stops_the_reader(emulator: ControllerEmulator) -> None:
    driver = SerialController(emulator.port)
    driver.open()
    driver.open()  # already open: nothing happens
    reader = driver._reader
    assert reader is not None and reader.is_alive()
    driver.close()
    assert not reader.is_alive()
    assert driver.state is DeviceState.CLOSED
    with pytest.raises(ControllerDisconnected):
        driver.ping()
    driver.close()  # twice is fine


def test_open_missing_port_is_disconnected(tmp_path: Path) -> None:
    driver = SerialController(str(tmp_path / "no-such-tty"))
    with pytest.raises(ControllerDisconnected):
        driver.open()
    assert driver.state is DeviceState.DISCONNECTED


def test_port_vanishing_then_reconnect(tmp_path: Path, nvram_path: Path) -> None:
    link = tmp_path / "ttyCONTROLLER"  # a stable name, as udev gives the real board
    first = make_emulator(nvram_path)
    first.start()
    link.symlink_to(first.port)
    driver = SerialController(str(link))
    try:
        driver.open()
        driver.ping()
        first.stop()  # the cable is pulled
        with pytest.raises(ControllerDisconnected):
            driver.ping()
        assert driver.state is DeviceState.DISCONNECTED
        with make_emulator(nvram_path) as second:
            link.unlink()
            link.symlink_to(second.port)
            driver.open()
            assert driver.ping().lanes == 4
            assert driver.state is DeviceState.READY
    finally:
        driver.close()
        first.stop()


# ---------------------------------------------------------------- nvram


def test_nvram_survives_recreating_the_emulator(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog, nvram_path: Path
) -> None:
    assert controller.vend(60, 1, 2) is VendAckResult.ACCEPTED
    events.wait_for(done(60))
    controller.close()
    emulator.stop()
    with make_emulator(nvram_path) as again:
        driver = SerialController(again.port)
        driver.open()
        try:
            assert driver.vend_query(60) == VendState(
                60, VendQueryState.FINISHED, 2, VendOutcome.COMPLETE
            )
            assert driver.vend(60, 1, 2) is VendAckResult.DUPLICATE
            assert again.dropped_total(60) == 0
        finally:
            driver.close()


def test_nvram_keeps_the_last_32_vends(
    controller: SerialController, emulator: ControllerEmulator, events: EventLog
) -> None:
    for vend_id in range(100, 133):
        assert controller.vend(vend_id, 1 + vend_id % 4, 1) is VendAckResult.ACCEPTED
        events.wait_for(done(vend_id))
    assert controller.vend_query(100).state is VendQueryState.UNKNOWN  # the 33rd oldest
    assert controller.vend_query(101).state is VendQueryState.FINISHED


def test_process_killed_mid_vend_reports_aborted(nvram_path: Path) -> None:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "hardware.emulators.controller", "--stock", "20"),
            *("--nvram", str(nvram_path), "--unit-seconds", "0.05"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "PORT"
        log = EventLog()
        driver = SerialController(line[1])
        driver.set_event_handler(log)
        driver.open()
        try:
            assert driver.vend(70, 1, 20) is VendAckResult.ACCEPTED
            log.wait_for(lambda e: e == UnitDropped(70, 2))
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            driver.close()
    finally:
        proc.kill()
        proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
    seen = max(e.index for e in log.drain() if isinstance(e, UnitDropped))
    with make_emulator(nvram_path) as again:
        driver = SerialController(again.port)
        driver.open()
        try:
            state = driver.vend_query(70)
        finally:
            driver.close()
    # Every drop the host saw was recorded before its event was sent.
    assert state.state is VendQueryState.FINISHED
    assert state.outcome is VendOutcome.ABORTED
    assert state.dropped >= seen >= 2
