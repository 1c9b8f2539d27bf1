"""The controller emulator as firmware 1.0 and 1.1, seen from the wire with raw frames
(no driver in the way, so what the firmware does is what the test sees)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from hardware.controller import frame as fr
from hardware.controller.frame import Frame, FrameDecoder
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import (
    ControllerInfo,
    ProtocolVersion,
    VendAckResult,
    VendOutcome,
    VendQueryState,
    VendRecord,
    VendState,
)
from tests.hardware.conftest import WAIT
from tests.hardware.test_replug import Cli


class RawLine:
    """A host that writes frames by hand and reads back the next reply (events skipped)."""

    def __init__(self, port: str) -> None:
        self.serial = serial.Serial(port, 115200, timeout=0.02)
        self.decoder = FrameDecoder()

    def ask(self, seq: int, type_: int, payload: bytes = b"") -> Frame:
        self.serial.write(fr.encode_frame(seq, type_, payload))
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for frame in self.decoder.feed(self.serial.read(64), time.monotonic()):
                if frame.seq != fr.EVENT_SEQ:
                    return frame
        raise AssertionError(f"no reply to 0x{type_:02X} seq {seq}")

    def vend(self, seq: int, vend_id: int, lane: int, units: int) -> Frame:
        return self.ask(seq, fr.CMD_VEND, fr.vend_payload(vend_id, lane, units))

    def query(self, seq: int, vend_id: int) -> Frame:
        return self.ask(seq, fr.CMD_VEND_QUERY, fr.vend_query_payload(vend_id))

    def log(self, seq: int, index: int) -> Frame:
        return self.ask(seq, fr.CMD_VEND_LOG, fr.vend_log_payload(index))


@pytest.fixture(params=list(ProtocolVersion), ids=lambda v: f"proto{int(v)}")
def emu(request: pytest.FixtureRequest, nvram_path: Path) -> Iterator[ControllerEmulator]:
    proto = request.param
    with ControllerEmulator(
        unit_seconds=0.001, jam_seconds=0.02, nvram_path=nvram_path, proto=proto
    ) as e:
        yield e


@pytest.fixture
def line(emu: ControllerEmulator) -> Iterator[RawLine]:
    raw = RawLine(emu.port)
    yield raw
    raw.serial.close()


def finished(emu: ControllerEmulator, vend_id: int) -> None:
    assert emu.wait_vend_finished(vend_id, WAIT) is not None


def test_pong_reports_the_firmware_version(emu: ControllerEmulator, line: RawLine) -> None:
    info = fr.parse_pong(line.ask(1, fr.CMD_PING).payload)
    name = {ProtocolVersion.V1: "EMU-1.0", ProtocolVersion.V1_1: "EMU-1.1"}[emu.proto]
    assert info == ControllerInfo(int(emu.proto), 4, name)


def test_a_new_command_with_the_last_seq(emu: ControllerEmulator, line: RawLine) -> None:
    ack = line.vend(7, 500, 1, 1)
    assert fr.parse_vend_ack(ack.payload).result is VendAckResult.ACCEPTED
    finished(emu, 500)
    reply = line.query(7, 500)  # what a restarted host sends first, one time in 255
    if emu.proto is ProtocolVersion.V1:
        assert reply == ack  # 1.0 replays the old reply and does not act
    else:
        state = fr.parse_vend_state(reply.payload)
        assert state == VendState(500, VendQueryState.FINISHED, 1, VendOutcome.COMPLETE)
    assert [seq for seq, _ in emu.commands] == [7, 7]


def test_the_same_frame_again_is_answered_without_acting(
    emu: ControllerEmulator, line: RawLine
) -> None:
    first = line.vend(9, 501, 2, 1)
    assert line.vend(9, 501, 2, 1) == first  # not DUPLICATE: the very reply again
    assert emu.vends_started == {501: 1}


ONLY_1_0 = pytest.mark.parametrize("emu", [ProtocolVersion.V1], indirect=True)
ONLY_1_1 = pytest.mark.parametrize("emu", [ProtocolVersion.V1_1], indirect=True)


@ONLY_1_0
def test_vend_log_is_unknown_to_1_0(line: RawLine) -> None:
    assert line.log(1, 0) == Frame(1, fr.REPLY_NAK, bytes((fr.NAK_UNKNOWN_COMMAND,)))


@ONLY_1_1
def test_vend_log_newest_first(emu: ControllerEmulator, line: RawLine) -> None:
    assert line.log(1, 0) == Frame(1, fr.REPLY_NAK, bytes((fr.NAK_BAD_PAYLOAD,)))  # empty
    emu.force_jam(3, after_units=1)
    line.vend(2, 600, 3, 2)
    finished(emu, 600)
    line.vend(3, 601, 1, 1)
    finished(emu, 601)
    newest = fr.parse_vend_record(line.log(4, 0).payload)
    oldest = fr.parse_vend_record(line.log(5, 1).payload)
    assert newest == fr.VendLogEntry(2, 0, VendRecord(601, 1, 1, 1, VendOutcome.COMPLETE))
    assert oldest == fr.VendLogEntry(2, 1, VendRecord(600, 3, 2, 1, VendOutcome.JAM))
    assert line.log(6, 2).type == fr.REPLY_NAK


@ONLY_1_1
def test_vend_log_shows_a_running_vend(emu: ControllerEmulator, line: RawLine) -> None:
    emu.unit_seconds = 5.0
    line.vend(1, 700, 4, 3)
    entry = fr.parse_vend_record(line.log(2, 0).payload)
    assert entry.record == VendRecord(700, 4, 3, 0, VendOutcome.NONE)
    assert entry.record.running


def test_old_nvram_without_lane_and_units_is_read(nvram_path: Path) -> None:
    records = [{"vend_id": 42, "dropped": 2, "outcome": int(VendOutcome.COMPLETE)}]
    nvram_path.write_text(json.dumps({"version": 1, "records": records}), encoding="utf-8")
    with ControllerEmulator(nvram_path=nvram_path, proto=ProtocolVersion.V1_1) as emu:
        line = RawLine(emu.port)
        try:
            assert fr.parse_vend_state(line.query(1, 42).payload).dropped == 2
            assert fr.parse_vend_ack(line.vend(2, 42, 1, 1).payload).result is (
                VendAckResult.DUPLICATE
            )
            entry = fr.parse_vend_record(line.log(3, 0).payload)
        finally:
            line.serial.close()
    assert entry.record == VendRecord(42, None, None, 2, VendOutcome.COMPLETE)


def test_cli_proto_option(tmp_path: Path) -> None:
    cli = Cli("controller", "--proto", "2", "--nvram", str(tmp_path / "nvram.json"))
    try:
        line = RawLine(cli.port)
        try:
            assert fr.parse_pong(line.ask(1, fr.CMD_PING).payload).proto == 2
        finally:
            line.serial.close()
        assert cli.ask("quit") == "ok"
    finally:
        cli.close()
