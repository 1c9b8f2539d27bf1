"""Framing and messages of controller-protocol v1 and its 1.1 additions
(``docs/controller-protocol.md``).

Pure code: no I/O and no clock reads (the decoder is handed the time), so the driver and
the emulator share exactly these functions and the tests never sleep.

Builders raise ``ValueError`` for arguments out of range (a bug in the caller); parsers
raise ``ControllerProtocolError`` for a payload the other side should never have sent.
"""

from __future__ import annotations

import binascii
import struct
from bisect import bisect_right
from dataclasses import dataclass
from typing import TypeVar

from hardware.ports import (
    ControllerBooted,
    ControllerEvent,
    ControllerInfo,
    ControllerProtocolError,
    ControllerStatus,
    DoorChanged,
    LaneState,
    ProtocolVersion,
    TamperChanged,
    UnitDropped,
    VendAckResult,
    VendDone,
    VendOutcome,
    VendQueryState,
    VendRecord,
    VendState,
)

# ---------------------------------------------------------------- frame layout

STX = 0x02
MAX_PAYLOAD = 250
HEADER_SIZE = 4  # STX, LEN, SEQ, TYPE
CRC_SIZE = 2
FRAME_TIMEOUT = 0.05  # a frame not complete this long after its STX is dropped
EVENT_SEQ = 0
MAX_UNITS = 20
MAX_UNLOCK_SECONDS = 60
LOG_RECORDS = 32  # vend records a controller keeps in non-volatile memory

# ---------------------------------------------------------------- codes

CMD_PING = 0x01
CMD_STATUS = 0x02
CMD_VEND = 0x10
CMD_VEND_QUERY = 0x11
CMD_VEND_LOG = 0x12  # protocol 1.1
CMD_DOOR_UNLOCK = 0x20
CMD_LANE_RESET = 0x21

REPLY_OK = 0x80
REPLY_PONG = 0x81
REPLY_STATUS = 0x82
REPLY_VEND_ACK = 0x90
REPLY_VEND_STATE = 0x91
REPLY_VEND_RECORD = 0x92  # protocol 1.1
REPLY_NAK = 0xFF

EVT_UNIT_DROPPED = 0xE0
EVT_VEND_DONE = 0xE1
EVT_DOOR = 0xE2
EVT_TAMPER = 0xE3
EVT_BOOT = 0xE4

NAK_BAD_FRAME = 1
NAK_UNKNOWN_COMMAND = 2
NAK_BAD_PAYLOAD = 3
NAK_REFUSED = 4

# The reply each command expects when it is not NAKed.
EXPECTED_REPLY: dict[int, int] = {
    CMD_PING: REPLY_PONG,
    CMD_STATUS: REPLY_STATUS,
    CMD_VEND: REPLY_VEND_ACK,
    CMD_VEND_QUERY: REPLY_VEND_STATE,
    CMD_VEND_LOG: REPLY_VEND_RECORD,
    CMD_DOOR_UNLOCK: REPLY_OK,
    CMD_LANE_RESET: REPLY_OK,
}
# Replies that repeat a field of their command: (where in the command, where in the reply).
_ECHOES: dict[int, tuple[slice, slice]] = {
    CMD_VEND: (slice(0, 4), slice(0, 4)),  # vend_id
    CMD_VEND_QUERY: (slice(0, 4), slice(0, 4)),  # vend_id
    CMD_VEND_LOG: (slice(0, 1), slice(1, 2)),  # index
}
EVENT_TYPES = frozenset({EVT_UNIT_DROPPED, EVT_VEND_DONE, EVT_DOOR, EVT_TAMPER, EVT_BOOT})

_U32 = struct.Struct(">I")
_VEND = struct.Struct(">IBB")
_VEND_ACK = struct.Struct(">IB")
_VEND_STATE = struct.Struct(">IBBB")
_UNIT_DROPPED = struct.Struct(">IB")
_VEND_DONE = struct.Struct(">IBB")
_VEND_RECORD = struct.Struct(">BBIBBBB")


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class Frame:
    seq: int
    type: int
    payload: bytes = b""

    def encode(self) -> bytes:
        return encode_frame(self.seq, self.type, self.payload)


def answers(command: Frame, reply: Frame) -> bool:
    """Can ``reply`` (with the command's SEQ) be the answer to ``command``?

    Its TYPE must be the command's reply or NAK, and a reply that repeats the command's
    vend_id or index must repeat the same one. No: a controller of version 1 replayed an
    older reply because our SEQ matched its last one (after a host restart). A reply too
    short to hold the echoed field is let through for the parser to report as malformed.
    """
    if reply.type == REPLY_NAK:
        return True
    if reply.type != EXPECTED_REPLY.get(command.type, REPLY_NAK):
        return False
    echo = _ECHOES.get(command.type)
    if echo is None or len(reply.payload) < echo[1].stop:
        return True
    return command.payload[echo[0]] == reply.payload[echo[1]]


def encode_frame(seq: int, type_: int, payload: bytes) -> bytes:
    _check_range("seq", seq, 0, 0xFF)
    _check_range("type", type_, 0, 0xFF)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes((len(payload), seq, type_)) + payload
    return bytes((STX,)) + body + crc16(body).to_bytes(2, "big")


# ---------------------------------------------------------------- streaming decoder


@dataclass
class DecoderStats:
    """What the decoder threw away, for diagnostics (a noisy cable shows up here)."""

    frames: int = 0
    dropped_bytes: int = 0  # every byte that did not end up in a good frame
    bad_crc: int = 0
    bad_length: int = 0  # LEN above MAX_PAYLOAD
    timeouts: int = 0  # incomplete FRAME_TIMEOUT after the STX

    @property
    def dropped_frames(self) -> int:
        return self.bad_crc + self.bad_length + self.timeouts


class FrameDecoder:
    """Turns a byte stream into frames; resynchronises on garbage the way the doc says.

    On a bad frame only its STX byte is discarded and the scan restarts at the next byte:
    a stray 0x02 in line noise claims a LEN that may cover real frames behind it, and
    skipping the whole claimed length would throw those away.
    """

    def __init__(self, frame_timeout: float = FRAME_TIMEOUT) -> None:
        self.frame_timeout = frame_timeout
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        # (stream offset where a chunk starts, time it was fed): gives each STX its age.
        self._arrivals: list[tuple[int, float]] = []

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        self._consume(len(self._buf))

    def feed(self, data: bytes, now: float) -> list[Frame]:
        """Add bytes received at ``now`` (monotonic seconds); return the frames completed.

        Call it with ``b""`` now and then so that an incomplete frame is timed out even
        when nothing else arrives. A frame that is complete when looked at is accepted
        even if it was read late: only incomplete frames age out.
        """
        if data:
            self._arrivals.append((self._base + len(self._buf), now))
            self._buf += data
        buf, stats = self._buf, self.stats
        frames: list[Frame] = []
        i, n = 0, len(buf)
        while i < n:
            if buf[i] != STX:
                nxt = buf.find(STX, i)
                nxt = n if nxt < 0 else nxt
                stats.dropped_bytes += nxt - i
                i = nxt
                continue
            length = buf[i + 1] if i + 1 < n else 0
            if length > MAX_PAYLOAD:
                stats.bad_length += 1
                stats.dropped_bytes += 1
                i += 1
                continue
            end = i + HEADER_SIZE + length + CRC_SIZE
            if end > n:
                if now - self._arrival(i) < self.frame_timeout:
                    break  # wait for the rest
                stats.timeouts += 1
                stats.dropped_bytes += 1
                i += 1
                continue
            crc_at = end - CRC_SIZE
            if crc16(buf[i + 1 : crc_at]) != int.from_bytes(buf[crc_at:end], "big"):
                stats.bad_crc += 1
                stats.dropped_bytes += 1
                i += 1
                continue
            frames.append(Frame(buf[i + 2], buf[i + 3], bytes(buf[i + HEADER_SIZE : crc_at])))
            stats.frames += 1
            i = end
        self._consume(i)
        return frames

    def _arrival(self, index: int) -> float:
        pos = self._base + index
        k = bisect_right(self._arrivals, pos, key=lambda a: a[0]) - 1
        return self._arrivals[max(k, 0)][1]

    def _consume(self, count: int) -> None:
        del self._buf[:count]
        self._base += count
        if not self._buf:
            self._arrivals.clear()
            return
        # Forget chunks that now lie wholly before the buffer.
        k = bisect_right(self._arrivals, self._base, key=lambda a: a[0]) - 1
        if k > 0:
            del self._arrivals[:k]


# ---------------------------------------------------------------- helpers


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} {value} outside {low}..{high}")


def _expect_len(payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise ControllerProtocolError(f"{what}: payload of {len(payload)} bytes, want {size}")


_E = TypeVar("_E", LaneState, VendAckResult, VendQueryState, VendOutcome, ProtocolVersion)


def _enum(kind: type[_E], value: int, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise ControllerProtocolError(f"{what}: invalid {kind.__name__} {value}") from None


def _u8_payload(name: str, value: int) -> bytes:
    _check_range(name, value, 0, 0xFF)
    return bytes((value,))


def _parse_u8(payload: bytes, what: str) -> int:
    _expect_len(payload, 1, what)
    return payload[0]


def _flag(value: int, what: str) -> bool:
    if value not in (0, 1):
        raise ControllerProtocolError(f"{what}: flag {value} is neither 0 nor 1")
    return value == 1


def _ascii(payload: bytes, what: str) -> str:
    try:
        return payload.decode("ascii")
    except UnicodeDecodeError:
        raise ControllerProtocolError(f"{what}: firmware name is not ASCII") from None


def _ascii_bytes(text: str, limit: int) -> bytes:
    data = text.encode("ascii")  # UnicodeEncodeError is a ValueError
    if len(data) > limit:
        raise ValueError(f"firmware name longer than {limit} bytes")
    return data


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class VendCommand:
    vend_id: int
    lane: int
    units: int


def vend_payload(vend_id: int, lane: int, units: int) -> bytes:
    _check_range("vend_id", vend_id, 0, 0xFFFFFFFF)
    _check_range("lane", lane, 0, 0xFF)
    _check_range("units", units, 1, MAX_UNITS)
    return _VEND.pack(vend_id, lane, units)


def parse_vend(payload: bytes) -> VendCommand:
    _expect_len(payload, _VEND.size, "VEND")
    vend_id, lane, units = _VEND.unpack(payload)
    if not 1 <= units <= MAX_UNITS:
        raise ControllerProtocolError(f"VEND: units {units} outside 1..{MAX_UNITS}")
    return VendCommand(vend_id, lane, units)


def vend_query_payload(vend_id: int) -> bytes:
    _check_range("vend_id", vend_id, 0, 0xFFFFFFFF)
    return _U32.pack(vend_id)


def parse_vend_query(payload: bytes) -> int:
    _expect_len(payload, _U32.size, "VEND_QUERY")
    vend_id: int = _U32.unpack(payload)[0]
    return vend_id


def vend_log_payload(index: int) -> bytes:
    return _u8_payload("index", index)


def parse_vend_log(payload: bytes) -> int:
    return _parse_u8(payload, "VEND_LOG")


def door_unlock_payload(seconds: int) -> bytes:
    _check_range("seconds", seconds, 1, MAX_UNLOCK_SECONDS)
    return bytes((seconds,))


def parse_door_unlock(payload: bytes) -> int:
    _expect_len(payload, 1, "DOOR_UNLOCK")
    if not 1 <= payload[0] <= MAX_UNLOCK_SECONDS:
        raise ControllerProtocolError(f"DOOR_UNLOCK: {payload[0]} s outside 1..60")
    return payload[0]


def lane_reset_payload(lane: int) -> bytes:
    return _u8_payload("lane", lane)


def parse_lane_reset(payload: bytes) -> int:
    return _parse_u8(payload, "LANE_RESET")


def parse_empty(payload: bytes, what: str) -> None:
    """PING, STATUS and the OK reply carry nothing."""
    _expect_len(payload, 0, what)


# ---------------------------------------------------------------- replies


@dataclass(frozen=True)
class VendAck:
    vend_id: int
    result: VendAckResult


@dataclass(frozen=True)
class VendLogEntry:
    """A VEND_RECORD reply: one record and how many the controller holds."""

    count: int
    index: int
    record: VendRecord


def protocol_version(info: ControllerInfo) -> ProtocolVersion:
    """The version a PONG reports, if it is one we speak."""
    return _enum(ProtocolVersion, info.proto, "PONG")


def pong_payload(info: ControllerInfo) -> bytes:
    _check_range("proto", info.proto, 0, 0xFF)
    _check_range("lanes", info.lanes, 0, 0xFF)
    return bytes((info.proto, info.lanes)) + _ascii_bytes(info.firmware, MAX_PAYLOAD - 2)


def parse_pong(payload: bytes) -> ControllerInfo:
    if len(payload) < 2:
        raise ControllerProtocolError(f"PONG: payload of {len(payload)} bytes, want >= 2")
    return ControllerInfo(payload[0], payload[1], _ascii(payload[2:], "PONG"))


def status_payload(status: ControllerStatus) -> bytes:
    if len(status.lanes) > MAX_PAYLOAD - 3:
        raise ValueError("too many lanes for one frame")
    head = bytes((int(status.door_open), int(status.tamper), len(status.lanes)))
    return head + bytes(int(lane) for lane in status.lanes)


def parse_status(payload: bytes) -> ControllerStatus:
    if len(payload) < 3 or len(payload) != 3 + payload[2]:
        raise ControllerProtocolError(f"STATUS: inconsistent payload of {len(payload)} bytes")
    lanes = tuple(_enum(LaneState, b, "STATUS") for b in payload[3:])
    return ControllerStatus(_flag(payload[0], "STATUS door"), _flag(payload[1], "STATUS"), lanes)


def vend_ack_payload(vend_id: int, result: VendAckResult) -> bytes:
    _check_range("vend_id", vend_id, 0, 0xFFFFFFFF)
    return _VEND_ACK.pack(vend_id, int(result))


def parse_vend_ack(payload: bytes) -> VendAck:
    _expect_len(payload, _VEND_ACK.size, "VEND_ACK")
    vend_id, result = _VEND_ACK.unpack(payload)
    return VendAck(vend_id, _enum(VendAckResult, result, "VEND_ACK"))


def vend_state_payload(state: VendState) -> bytes:
    _check_range("vend_id", state.vend_id, 0, 0xFFFFFFFF)
    _check_range("dropped", state.dropped, 0, 0xFF)
    return _VEND_STATE.pack(state.vend_id, int(state.state), state.dropped, int(state.outcome))


def parse_vend_state(payload: bytes) -> VendState:
    _expect_len(payload, _VEND_STATE.size, "VEND_STATE")
    vend_id, state, dropped, outcome = _VEND_STATE.unpack(payload)
    parsed = VendState(
        vend_id,
        _enum(VendQueryState, state, "VEND_STATE"),
        dropped,
        _enum(VendOutcome, outcome, "VEND_STATE"),
    )
    # A finished vend always has an outcome; a running one never has.
    running = parsed.state is VendQueryState.RUNNING
    finished = parsed.state is VendQueryState.FINISHED
    no_outcome = parsed.outcome is VendOutcome.NONE
    if (running and not no_outcome) or (finished and no_outcome):
        raise ControllerProtocolError(f"VEND_STATE: state {state} with outcome {outcome}")
    return parsed


def vend_record_payload(entry: VendLogEntry) -> bytes:
    record = entry.record
    _check_range("index", entry.index, 0, entry.count - 1)
    _check_range("count", entry.count, 1, 0xFF)
    _check_range("vend_id", record.vend_id, 0, 0xFFFFFFFF)
    # 0 cannot be a real lane or unit count (VEND refuses them): it stands for "not kept".
    lane, units = record.lane or 0, record.units or 0
    fields = (entry.count, entry.index, record.vend_id, lane, units, record.dropped)
    return _VEND_RECORD.pack(*fields, int(record.outcome))


def parse_vend_record(payload: bytes) -> VendLogEntry:
    _expect_len(payload, _VEND_RECORD.size, "VEND_RECORD")
    count, index, vend_id, lane, units, dropped, outcome = _VEND_RECORD.unpack(payload)
    if index >= count:
        raise ControllerProtocolError(f"VEND_RECORD: index {index} of {count} records")
    outcome_ = _enum(VendOutcome, outcome, "VEND_RECORD")
    record = VendRecord(vend_id, lane or None, units or None, dropped, outcome_)
    return VendLogEntry(count, index, record)


def nak_payload(code: int) -> bytes:
    _check_range("code", code, 0, 0xFF)
    return bytes((code,))


def parse_nak(payload: bytes) -> int:
    _expect_len(payload, 1, "NAK")
    return payload[0]


# ---------------------------------------------------------------- events


def encode_event(event: ControllerEvent) -> tuple[int, bytes]:
    """(TYPE, payload) of an event frame; the frame itself carries SEQ 0."""
    match event:
        case UnitDropped(vend_id, index):
            _check_range("index", index, 1, 0xFF)
            return EVT_UNIT_DROPPED, _UNIT_DROPPED.pack(vend_id, index)
        case VendDone(vend_id, dropped, outcome):
            if outcome is VendOutcome.NONE:
                raise ValueError("VEND_DONE needs an outcome")
            return EVT_VEND_DONE, _VEND_DONE.pack(vend_id, dropped, int(outcome))
        case DoorChanged(door_open):
            return EVT_DOOR, bytes((int(door_open),))
        case TamperChanged(tripped):
            return EVT_TAMPER, bytes((int(tripped),))
        case ControllerBooted(firmware):
            return EVT_BOOT, _ascii_bytes(firmware, MAX_PAYLOAD)
    raise ValueError(f"not a controller event: {event!r}")  # pragma: no cover


def parse_event(type_: int, payload: bytes) -> ControllerEvent:
    if type_ == EVT_UNIT_DROPPED:
        _expect_len(payload, _UNIT_DROPPED.size, "UNIT_DROPPED")
        vend_id, index = _UNIT_DROPPED.unpack(payload)
        if index < 1:
            raise ControllerProtocolError("UNIT_DROPPED: index 0")
        return UnitDropped(vend_id, index)
    if type_ == EVT_VEND_DONE:
        _expect_len(payload, _VEND_DONE.size, "VEND_DONE")
        vend_id, dropped, outcome = _VEND_DONE.unpack(payload)
        parsed = _enum(VendOutcome, outcome, "VEND_DONE")
        if parsed is VendOutcome.NONE:
            raise ControllerProtocolError("VEND_DONE: outcome 0")
        return VendDone(vend_id, dropped, parsed)
    if type_ == EVT_DOOR:
        _expect_len(payload, 1, "DOOR")
        return DoorChanged(_flag(payload[0], "DOOR"))
    if type_ == EVT_TAMPER:
        _expect_len(payload, 1, "TAMPER")
        return TamperChanged(_flag(payload[0], "TAMPER"))
    if type_ == EVT_BOOT:
        return ControllerBooted(_ascii(payload, "BOOT"))
    raise ControllerProtocolError(f"unknown event type 0x{type_:02X}")
