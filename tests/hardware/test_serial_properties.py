"""Properties of the serial line under noise: the real SerialController against the
ControllerEmulator over a pty, with garbage, truncated frames, frames with a bad CRC and
duplicated replies interleaved with real traffic; and the same damage at decoder level.

What must hold whatever the noise: every public call returns or raises a ControllerError;
the reader thread survives and answers a ping at the end; every event the host receives
is genuine; and the truth about a vend (VEND_QUERY) agrees with what physically fell.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hardware.controller import frame as fr
from hardware.controller.driver import SerialController
from hardware.controller.frame import Frame, FrameDecoder
from hardware.emulators.controller import ControllerEmulator, ReplyNoise
from hardware.ports import (
    ControllerError,
    ControllerEvent,
    ControllerInfo,
    DeviceState,
    ProtocolVersion,
    UnitDropped,
    VendAckResult,
    VendDone,
    VendOutcome,
    VendQueryState,
    VendState,
)
from tests.hardware.conftest import WAIT, EventLog

_T = TypeVar("_T")
VEND_ID = 0x00C0FFEE
LANE = 1

# ---------------------------------------------------------------- noise strategies

# Frames a confused line could carry: lies about our vend (a drop count it never reached,
# a finished state), and replies with any SEQ, the one in flight included.
lies_st = st.one_of(
    st.builds(
        lambda i: fr.encode_frame(0, fr.EVT_UNIT_DROPPED, struct.pack(">IB", VEND_ID, i)),
        st.integers(1, 255),
    ),
    st.builds(
        lambda d: fr.encode_frame(0, fr.EVT_VEND_DONE, struct.pack(">IBB", VEND_ID, d, 1)),
        st.integers(0, 255),
    ),
    st.builds(
        lambda seq, d: fr.encode_frame(
            seq, fr.REPLY_VEND_STATE, struct.pack(">IBBB", VEND_ID, 2, d, 1)
        ),
        st.integers(1, 255),
        st.integers(0, 255),
    ),
    st.builds(
        lambda seq: fr.encode_frame(seq, fr.REPLY_PONG, fr.pong_payload(ControllerInfo(1, 9, "X"))),
        st.integers(1, 255),
    ),
    st.builds(lambda seq: fr.encode_frame(seq, fr.REPLY_NAK, b"\x04"), st.integers(1, 255)),
    st.builds(
        fr.encode_frame,
        st.integers(0, 255),
        st.integers(0, 255),
        st.binary(max_size=24),
    ),
)


@st.composite
def truncated_st(draw: st.DrawFn, frames: st.SearchStrategy[bytes] = lies_st) -> bytes:
    """A valid frame cut short."""
    data = draw(frames)
    return data[: draw(st.integers(1, len(data) - 1))]


@st.composite
def bad_crc_st(draw: st.DrawFn, frames: st.SearchStrategy[bytes] = lies_st) -> bytes:
    """A whole frame with one byte after LEN changed: CRC-16 catches every such error."""
    data = bytearray(draw(frames))
    pos = draw(st.integers(2, len(data) - 1))
    data[pos] ^= draw(st.integers(1, 255))
    return bytes(data)


def _no_frame_inside(data: bytes) -> bool:
    decoder = FrameDecoder()
    return not decoder.feed(data, 0.0) and not decoder.feed(b"", 1.0)


# Garbage biased towards STX and plausible lengths, so that false frame starts are common.
garbage_st = (
    st.lists(
        st.one_of(st.integers(0, 255), st.sampled_from([fr.STX, fr.STX, 0x00, 0x06, 0xC8, 0xFF])),
        min_size=1,
        max_size=40,
    )
    .map(bytes)
    .filter(_no_frame_inside)
)

line_noise_st = st.one_of(garbage_st, truncated_st(), bad_crc_st())
reply_noise_st = st.one_of(line_noise_st, st.just(ReplyNoise.REPEAT_PREVIOUS_REPLY))


# ---------------------------------------------------------------- the driver under noise

Step = tuple[str, bytes | None]  # (command, noise injected at once just before it)
COMMANDS = ("ping", "status", "query", "vend again", "lane reset")
step_st: st.SearchStrategy[Step] = st.tuples(
    st.sampled_from(COMMANDS), st.one_of(st.none(), line_noise_st)
)


class _Errors(logging.Handler):
    """Collects ERROR records of the driver (a routing crash is logged, not raised)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _attempt(call: Callable[[], _T], raised: list[ControllerError]) -> _T | None:
    """Run one public call; a ControllerError is allowed (and kept), anything else fails."""
    try:
        return call()
    except ControllerError as exc:
        raised.append(exc)
        return None


def _run_step(drv: SerialController, command: str, raised: list[ControllerError]) -> None:
    calls: dict[str, Callable[[], object]] = {
        "ping": drv.ping,
        "status": drv.status,
        "query": lambda: drv.vend_query(VEND_ID),
        "vend again": lambda: drv.vend(VEND_ID, LANE, 1),  # the idempotency key holds
        "lane reset": lambda: drv.lane_reset(4),
    }
    result = _attempt(calls[command], raised)
    if command == "vend again" and result is not None:
        assert result in (VendAckResult.DUPLICATE, VendAckResult.BUSY), result


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    units=st.integers(1, 8),
    reply_noise=st.lists(reply_noise_st, min_size=2, max_size=16),
    steps=st.lists(step_st, min_size=2, max_size=12),
    tail=st.one_of(st.none(), line_noise_st),
)
def test_driver_survives_noise_and_never_loses_a_confirmed_drop(
    units: int,
    reply_noise: list[bytes | ReplyNoise],
    steps: list[Step],
    tail: bytes | None,
) -> None:
    emu = ControllerEmulator(lanes=4, unit_seconds=0.02, jam_seconds=5.0, stock=20)
    errors = _Errors()
    driver_log = logging.getLogger("hardware.controller")
    driver_log.addHandler(errors)
    raised: list[ControllerError] = []
    events = EventLog()
    emu.start()
    drv = SerialController(emu.port)
    drv.set_event_handler(events)
    try:
        _attempt(drv.open, raised)
        emu.noise_before_replies(reply_noise)
        # The host repeats an unanswered VEND with the same vend_id: never a second vend.
        for _ in range(3):
            ack = _attempt(lambda: drv.vend(VEND_ID, LANE, units), raised)
            if ack is not None:
                assert ack in (VendAckResult.ACCEPTED, VendAckResult.DUPLICATE), ack
                break
        else:
            raise AssertionError(f"VEND never answered: {raised}")

        for command, noise in steps:  # real traffic while units fall
            if noise is not None:
                emu.inject(noise)
            _run_step(drv, command, raised)
        if tail is not None:
            emu.inject(tail)  # lands amid the remaining events

        record = emu.wait_vend_finished(VEND_ID, timeout=WAIT)
        assert record is not None, "the vend did not finish"
        truth = emu.dropped_total(VEND_ID)
        assert (record.dropped, record.outcome) == (units, VendOutcome.COMPLETE)
        assert truth == units
        assert emu.vends_started == {VEND_ID: 1}

        final: VendState | None = None
        for _ in range(3):
            final = _attempt(lambda: drv.vend_query(VEND_ID), raised)
            if final is not None:
                break
        assert final == VendState(VEND_ID, VendQueryState.FINISHED, truth, VendOutcome.COMPLETE)

        # Use up the noise still queued, then the line must be clean and the reader alive.
        for _ in range(emu.pending_noise):
            _attempt(drv.ping, raised)
        assert emu.pending_noise == 0
        assert drv.ping().proto == ProtocolVersion.V1
        assert drv._reader_alive()
        assert drv.state is DeviceState.READY
    finally:
        drv.close()
        emu.stop()
        driver_log.removeHandler(errors)

    # Every event the host received is genuine: a drop index never beyond the truth.
    genuine: set[ControllerEvent] = {UnitDropped(VEND_ID, i) for i in range(1, truth + 1)}
    genuine.add(VendDone(VEND_ID, truth, VendOutcome.COMPLETE))
    seen = events.drain()
    assert set(seen) <= genuine, [e for e in seen if e not in genuine]
    indices = [e.index for e in seen if isinstance(e, UnitDropped)]
    assert max(indices, default=0) <= final.dropped
    assert all(isinstance(exc, ControllerError) for exc in raised)
    assert not errors.records, [r.getMessage() for r in errors.records]
    # A duplicated reply (of an earlier command) is recognised and dropped, not taken.
    repeats = sum(1 for n in reply_noise[1:] if n is ReplyNoise.REPEAT_PREVIOUS_REPLY)
    assert drv.dropped_replies >= repeats


# ---------------------------------------------------------------- the decoder alone

frame_st = st.builds(Frame, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=30))
REPEAT = "repeat"  # the previous real frame again: a duplicated reply


@st.composite
def _real_truncated(draw: st.DrawFn) -> bytes:
    return draw(truncated_st(frame_st.map(Frame.encode)))


@st.composite
def _real_bad_crc(draw: st.DrawFn) -> bytes:
    return draw(bad_crc_st(frame_st.map(Frame.encode)))


part_st = st.one_of(
    frame_st,
    st.just(REPEAT),
    _real_truncated(),
    _real_bad_crc(),
    garbage_st,
)


def _spurious(stream: bytes, start: int, end: int) -> bool:
    """Does a CRC-valid frame start inside the damaged span [start, end)? Only a CRC
    coincidence makes one, and the protocol cannot tell it from a real frame."""
    for pos in range(start, end):
        if stream[pos] != fr.STX or pos + 1 >= len(stream):
            continue
        stop = pos + fr.HEADER_SIZE + stream[pos + 1] + fr.CRC_SIZE
        if stream[pos + 1] > fr.MAX_PAYLOAD or stop > len(stream):
            continue
        if fr.crc16(stream[pos + 1 : stop - 2]) == int.from_bytes(stream[stop - 2 : stop], "big"):
            return True
    return False


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(part_st, max_size=16), cuts=st.lists(st.integers(1, 40), max_size=30))
def test_decoder_yields_every_real_frame_and_each_duplicate_exactly(
    parts: list[Frame | str | bytes], cuts: list[int]
) -> None:
    expected: list[Frame] = []
    chunks: list[bytes] = []
    damaged: list[tuple[int, int]] = []
    pos = 0
    for part in parts:
        if isinstance(part, Frame) or (part == REPEAT and expected):
            frame = part if isinstance(part, Frame) else expected[-1]
            expected.append(frame)
            data = frame.encode()
        elif isinstance(part, bytes):
            data = part
            damaged.append((pos, pos + len(data)))
        else:
            continue  # nothing to repeat yet
        chunks.append(data)
        pos += len(data)
    stream = b"".join(chunks)
    assume(not any(_spurious(stream, a, b) for a, b in damaged))

    decoder = FrameDecoder()
    decoded: list[Frame] = []
    at = 0
    for cut in cuts:  # arbitrary read sizes within one 50 ms window
        decoded += decoder.feed(stream[at : at + cut], 0.0)
        at += cut
    decoded += decoder.feed(stream[at:], 0.0)
    decoded += decoder.feed(b"", 1.0)  # age out a damaged frame still waiting for bytes
    # Exactly the real frames, in order, duplicates included: the decoder neither merges
    # a repeat nor lets damage through; telling a late duplicate apart is the driver's job.
    assert decoded == expected
    assert decoder.pending == 0
