"""Protocol 1.1 in the driver, against firmware 1.0 and 1.1 emulators over a real pty:
the version learnt from PONG, stale replies after a host restart, and VEND_LOG."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hardware.controller import frame as fr
from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import (
    ControllerBooted,
    ControllerInfo,
    ControllerProtocolError,
    ControllerStatus,
    ControllerUnsupported,
    DeviceState,
    LaneState,
    ProtocolVersion,
    VendAckResult,
    VendOutcome,
    VendQueryState,
    VendRecord,
    VendState,
)
from tests.hardware.conftest import WAIT, EventLog, make_emulator

BOTH = pytest.mark.parametrize("proto", list(ProtocolVersion), ids=lambda v: f"proto{int(v)}")
IDLE = ControllerStatus(False, False, (LaneState.READY,) * 4)
FIRST_SEQ = 10  # fixed so a test can aim a stale reply at the SEQ in flight


@pytest.fixture(params=list(ProtocolVersion), ids=lambda v: f"proto{int(v)}")
def emu(request: pytest.FixtureRequest, nvram_path: Path) -> Iterator[ControllerEmulator]:
    with make_emulator(nvram_path, request.param) as emulator:
        yield emulator


@contextlib.contextmanager
def opened(emu: ControllerEmulator, first_seq: int) -> Iterator[SerialController]:
    drv = SerialController(emu.port, first_seq=first_seq)
    drv.open()
    try:
        yield drv
    finally:
        drv.close()


@pytest.fixture
def driver(emu: ControllerEmulator) -> Iterator[SerialController]:
    with opened(emu, FIRST_SEQ) as drv:
        yield drv


def finished(emu: ControllerEmulator, vend_id: int) -> None:
    assert emu.wait_vend_finished(vend_id, WAIT) is not None


def previous(seq: int) -> int:
    return 255 if seq == 1 else seq - 1


# ---------------------------------------------------------------- the version


def test_first_seq_is_the_first_seq_sent(emu: ControllerEmulator) -> None:
    for first in (1, 255):
        with opened(emu, first) as drv:
            drv.status()
            drv.status()
        assert [seq for seq, _ in emu.commands[-2:]] == [first, first % 255 + 1]
    for bad in (0, 256):
        with pytest.raises(ValueError):
            SerialController(emu.port, first_seq=bad)


def test_version_is_learnt_from_pong(emu: ControllerEmulator, driver: SerialController) -> None:
    assert driver.protocol_version is None  # open() talks to nobody
    assert driver.ping().proto == int(emu.proto)
    assert driver.protocol_version is emu.proto
    events = EventLog()
    driver.set_event_handler(events)
    emu.power_cut()  # how a firmware update arrives: forget what the old one said
    events.wait_for(lambda e: isinstance(e, ControllerBooted))
    assert driver.protocol_version is None
    driver.ping()
    driver.close()
    driver.open()
    assert driver.protocol_version is None


def test_an_unknown_version_is_a_fault(emu: ControllerEmulator, driver: SerialController) -> None:
    future = fr.pong_payload(ControllerInfo(3, 4, "EMU-9"))
    emu.noise_before_replies([fr.encode_frame(FIRST_SEQ, fr.REPLY_PONG, future)])
    with pytest.raises(ControllerProtocolError):
        driver.ping()
    assert driver.state is DeviceState.FAULT
    assert driver.protocol_version is None
    assert driver.ping().proto == int(emu.proto)  # the real PONG, to the next SEQ


# ---------------------------------------------------------------- stale replies


def test_stale_reply_of_another_vend_is_resent_with_a_new_seq(
    emu: ControllerEmulator, driver: SerialController
) -> None:
    assert driver.vend(1, 2, 1) is VendAckResult.ACCEPTED  # SEQ 10
    finished(emu, 1)
    other = fr.vend_state_payload(VendState(99, VendQueryState.FINISHED, 3, VendOutcome.COMPLETE))
    emu.noise_before_replies([fr.encode_frame(FIRST_SEQ + 1, fr.REPLY_VEND_STATE, other)])
    state = driver.vend_query(1)  # SEQ 11 gets vend 99's state first: dropped, asked again
    assert state == VendState(1, VendQueryState.FINISHED, 1, VendOutcome.COMPLETE)
    assert driver.stale_replies == 1
    assert driver.dropped_replies == 1  # the real answer to SEQ 11, come too late
    assert [seq for seq, _ in emu.commands] == [FIRST_SEQ, FIRST_SEQ + 1, FIRST_SEQ + 2]
    assert driver.state is DeviceState.READY


def test_only_stale_replies_fail_within_the_budget(
    emu: ControllerEmulator, driver: SerialController
) -> None:
    tries = driver.retries + 1
    ack = fr.vend_ack_payload(5, VendAckResult.ACCEPTED)
    emu.noise_before_replies(
        [fr.encode_frame(FIRST_SEQ + n, fr.REPLY_VEND_ACK, ack) for n in range(tries)]
    )
    started = time.monotonic()
    with pytest.raises(ControllerProtocolError, match="stale"):
        driver.status()
    assert time.monotonic() - started < tries * driver.reply_timeout
    assert driver.state is DeviceState.FAULT
    assert len(emu.commands) == tries
    assert driver.status() == IDLE


# ---------------------------------------------------------------- a host restart at every SEQ

# What the dead process sent last, as SEQ s, before the new one starts at s too.
LAST_COMMANDS: tuple[Callable[[SerialController, int], object], ...] = (
    lambda drv, vend_id: drv.vend(vend_id, 1, 1),  # VEND_ACK (DUPLICATE), another TYPE
    lambda drv, vend_id: drv.vend_query(vend_id + 1_000),  # VEND_STATE of another vend
    lambda drv, vend_id: drv.status(),  # STATUS, another TYPE
)


def dead_process(emu: ControllerEmulator, seq: int, vend_id: int) -> None:
    """A host that vends, sends its last command as ``seq`` and stops."""
    with opened(emu, previous(seq)) as drv:
        assert drv.vend(vend_id, 1, 1) is VendAckResult.ACCEPTED
        finished(emu, vend_id)
        LAST_COMMANDS[seq % len(LAST_COMMANDS)](drv, vend_id)
        assert drv.stale_replies == 0
    assert emu.commands[-1][0] == seq


def restarted_process(emu: ControllerEmulator, seq: int, vend_id: int) -> int:
    """The next host, starting at the dead one's last SEQ: every answer right; how many
    stale replies it dropped."""
    with opened(emu, seq) as drv:
        state = drv.vend_query(vend_id)
        assert state == VendState(vend_id, VendQueryState.FINISHED, 1, VendOutcome.COMPLETE)
        assert drv.status() == IDLE
        assert drv.ping().proto == int(emu.proto)
        assert drv.state is DeviceState.READY
        return drv.stale_replies


@BOTH
def test_restart_at_every_seq_gets_right_answers(proto: ProtocolVersion) -> None:
    stale: dict[int, int] = {}
    with make_emulator(None, proto) as emu:
        emu.unit_seconds = 0.001
        emu.set_stock(1, 1_000)
        for seq in range(1, 256):
            vend_id = 50_000 + seq
            dead_process(emu, seq, vend_id)
            stale[seq] = restarted_process(emu, seq, vend_id)
        assert emu.vends_started == {50_000 + seq: 1 for seq in range(1, 256)}
    # Firmware 1.0 replays its last reply to the new first command, every time; the
    # driver drops it and asks again. Firmware 1.1 sees a new command.
    expected = 1 if proto is ProtocolVersion.V1 else 0
    assert stale == dict.fromkeys(range(1, 256), expected)


# ---------------------------------------------------------------- VEND_LOG

ONLY_1_0 = pytest.mark.parametrize("emu", [ProtocolVersion.V1], indirect=True)
ONLY_1_1 = pytest.mark.parametrize("emu", [ProtocolVersion.V1_1], indirect=True)


@ONLY_1_0
def test_vend_log_is_unsupported_by_firmware_1_0(
    emu: ControllerEmulator, driver: SerialController
) -> None:
    with pytest.raises(ControllerUnsupported):
        driver.vend_log(0)
    with pytest.raises(ControllerUnsupported):
        driver.vend_log_all()
    assert driver.protocol_version is ProtocolVersion.V1  # learnt by a PING of its own
    assert [type_ for _, type_ in emu.commands] == [fr.CMD_PING]  # never sent VEND_LOG
    assert driver.state is DeviceState.READY


@ONLY_1_1
def test_vend_log_newest_first(emu: ControllerEmulator, driver: SerialController) -> None:
    assert driver.vend_log(0) is None
    assert driver.vend_log_all() == []
    emu.force_jam(2, after_units=1)
    emu.set_stock(3, 1)
    for vend_id, lane, units in ((1, 2, 3), (2, 3, 2), (3, 1, 2)):
        assert driver.vend(vend_id, lane, units) is VendAckResult.ACCEPTED
        finished(emu, vend_id)
    emu.unit_seconds = 5.0
    assert driver.vend(4, 4, 5) is VendAckResult.ACCEPTED
    records = driver.vend_log_all()
    assert records == [
        VendRecord(4, 4, 5, 0, VendOutcome.NONE),
        VendRecord(3, 1, 2, 2, VendOutcome.COMPLETE),
        VendRecord(2, 3, 2, 1, VendOutcome.LANE_EMPTY),
        VendRecord(1, 2, 3, 1, VendOutcome.JAM),
    ]
    assert records[0].running
    assert not records[1].running
    assert driver.vend_log(1) == records[1]
    assert driver.vend_log(4) is None  # NAK 3: past the last record
    assert driver.state is DeviceState.READY


@ONLY_1_1
def test_vend_log_holds_the_last_32(emu: ControllerEmulator, driver: SerialController) -> None:
    emu.unit_seconds = 0.001
    for vend_id in range(1, 36):
        assert driver.vend(vend_id, 1 + vend_id % 4, 1) is VendAckResult.ACCEPTED
        finished(emu, vend_id)
    records = driver.vend_log_all()
    assert [r.vend_id for r in records] == list(range(35, 3, -1))
    assert driver.vend_log(31) == records[31]
    assert driver.vend_log(32) is None


@ONLY_1_1
def test_firmware_downgrade_makes_vend_log_unsupported(
    emu: ControllerEmulator, driver: SerialController
) -> None:
    assert driver.ping().proto == 2
    emu.proto = ProtocolVersion.V1  # without a BOOT the driver could see
    with pytest.raises(ControllerUnsupported):
        driver.vend_log(0)
    assert driver.protocol_version is None  # asked again next time
    with pytest.raises(ControllerUnsupported):
        driver.vend_log_all()
    assert driver.protocol_version is ProtocolVersion.V1
