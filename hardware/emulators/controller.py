"""Emulator of the dispenser controller: controller-protocol v1 on the master side of a pty.

It behaves as the document says a controller behaves (replies, events, one vend at a time,
idempotent ``vend_id`` records in "nvram", a repeated command answered again without acting
twice), as firmware 1.0 (``proto`` 1: a repeated SEQ alone makes a repeat, so a new command
can be answered with the previous reply) or 1.1 (``proto`` 2: a repeat is the same frame;
VEND_LOG reads the nvram records). It has a thread-safe control API so tests can jam lanes,
open doors, cut power, lose replies, add line noise and unplug the USB serial adapter
(``unplug``/``replug``: the board keeps its power and goes on vending, only the line to the
host goes away).
``python -m hardware.emulators.controller`` runs one by hand or from a test harness, driven
by one-line commands on stdin (see ``main``).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import logging
import os
import select
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.controller import frame as fr
from hardware.emulators.console import serve_console
from hardware.emulators.pty_port import close_pty, open_pty_pair, point_link, remove_link
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

log = logging.getLogger("hardware.emulators.controller")

NVRAM_RECORDS = fr.LOG_RECORDS
_FIRMWARE = {ProtocolVersion.V1: "EMU-1.0", ProtocolVersion.V1_1: "EMU-1.1"}
POLL_SECONDS = 0.01  # longest sleep of the emulator loop (bounds stop() and timer slack)

Reply = tuple[int, bytes]  # (TYPE, payload)


class ReplyNoise(enum.Enum):
    """Special items for ``noise_before_replies`` besides raw bytes."""

    REPEAT_PREVIOUS_REPLY = "repeat-previous-reply"  # a late duplicate of the last reply


@dataclass
class NvramRecord:
    """One vend as the controller remembers it; ``outcome`` NONE while it runs. ``lane``
    and ``units`` are 0 in a record read from an nvram file that did not keep them."""

    vend_id: int
    lane: int
    units: int
    dropped: int = 0
    outcome: VendOutcome = VendOutcome.NONE

    def frozen(self) -> VendRecord:
        """As VEND_LOG reports it."""
        return VendRecord(
            self.vend_id, self.lane or None, self.units or None, self.dropped, self.outcome
        )


@dataclass
class _Run:
    record: NvramRecord
    next_at: float
    jam_after: int | None  # units that fall before the lane jams; None: no forced jam
    jamming: bool = False  # the motor turns and nothing falls: the next step is the jam


class ControllerEmulator:
    def __init__(
        self,
        lanes: int = 4,
        *,
        unit_seconds: float = 0.05,
        jam_seconds: float = 3.0,
        nvram_path: str | os.PathLike[str] | None = None,
        proto: ProtocolVersion = ProtocolVersion.V1,
        firmware: str | None = None,
        stock: int = 20,
        boot_seconds: float = 0.05,
        link_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if not 1 <= lanes <= fr.MAX_PAYLOAD - 3:
            raise ValueError(f"lanes {lanes} outside 1..{fr.MAX_PAYLOAD - 3}")
        self.lanes = lanes
        self.unit_seconds = unit_seconds
        self.jam_seconds = jam_seconds
        self.boot_seconds = boot_seconds
        # Version 1 by default: it is what the field runs, and what the kiosk self-test
        # expects; set it (here or at any time, as a firmware update would) to 2 for 1.1.
        self.proto = ProtocolVersion(proto)
        self.firmware = firmware or _FIRMWARE[self.proto]
        self._nvram_path = Path(nvram_path) if nvram_path is not None else None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # a unit fell or a vend ended
        self._stock = dict.fromkeys(range(1, lanes + 1), stock)
        self._jammed: set[int] = set()  # lane state JAMMED until LANE_RESET
        self._blocked: set[int] = set()  # physically obstructed: turns jam, reset refused
        self._jam_armed: dict[int, int] = {}  # lane -> units that fall before it jams
        self._door_open = False
        self._tamper = False
        self._nvram: dict[int, NvramRecord] = {}  # insertion order = age
        self._load_nvram()
        self._log: list[NvramRecord] = []
        self._physical: Counter[int] = Counter()  # units that really fell, per vend_id
        self._vends_started: Counter[int] = Counter()  # accepted VENDs, per vend_id
        self._commands: deque[tuple[int, int]] = deque(maxlen=4096)  # bounded for long runs
        self._run: _Run | None = None
        self._silent = False
        self._drop_replies = 0
        self._last: tuple[fr.Frame, bytes] | None = None  # (command, reply frame)
        self._previous_reply: bytes | None = None  # the last reply frame put on the wire
        self._reply_noise: deque[bytes | ReplyNoise] = deque()
        self._off_until: float | None = None  # power is off until then, then BOOT
        self._after_reply: list[Callable[[], None]] = []
        self._decoder = fr.FrameDecoder()
        self._link = Path(link_path) if link_path is not None else None
        self._master: int | None = None  # None while unplugged (or not started)
        self._plug_gen = 0  # changes on every plug and unplug: tells a stale fd apart
        self._port: str | None = None  # the pty slave, kept after unplug for messages
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> str:
        """The path a driver opens: the link path when one was given (valid at any time;
        it exists only while plugged in), else the pty slave (valid after ``start()``)."""
        if self._link is not None:
            return str(self._link)
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def plugged(self) -> bool:
        with self._lock:
            return self._master is not None

    def start(self) -> None:
        """Power the board (start its thread) and plug it in. Does nothing when running;
        after ``stop()`` it starts again, with a fresh line, on a new pty."""
        with self._lock:
            if self._thread is not None:
                return
            self._plug()
            self._last = None
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._loop, args=(self._stop,), name="controller-emu", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the pty: to the driver the cable is pulled (and the
        link, if any, removed). Every other state is kept; ``start()`` resumes."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)
        with self._lock:
            self._unplug()

    def unplug(self) -> None:
        """The USB serial adapter is pulled: the link vanishes and the pty closes (a driver
        sees its port fail). The board keeps its power: a running vend goes on dropping,
        and stock, nvram, jams, log and counts are all kept. Its events are lost."""
        with self._lock:
            if self._thread is None:
                raise RuntimeError("emulator not started")
            self._unplug()

    def replug(self) -> None:
        """The adapter is plugged back: a new pty, the link pointed at it, serving resumes
        with a fresh receive state. Does nothing when already plugged in."""
        with self._lock:
            if self._thread is None:
                raise RuntimeError("emulator not started")
            if self._master is None:
                self._plug()

    def _plug(self) -> None:
        master, path = open_pty_pair()
        try:
            os.set_blocking(master, False)  # a host that stops reading must not block us
            if self._link is not None:
                point_link(self._link, path)
        except BaseException:
            close_pty(master)
            raise
        self._master, self._port = master, path
        self._plug_gen += 1
        self._decoder.reset()
        log.info("controller emulator plugged in on %s", self.port)

    def _unplug(self) -> None:
        master, self._master = self._master, None
        if master is None:
            return  # not plugged in: in particular, a link we did not make is left alone
        # The stable name goes first, so a driver reopening at once cannot follow it to a
        # pty number that may already belong to somebody else.
        if self._link is not None:
            remove_link(self._link)
        self._plug_gen += 1
        close_pty(master)
        self._decoder.reset()
        log.info("controller emulator unplugged")

    def __enter__(self) -> ControllerEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------ control API

    def set_stock(self, lane: int, units: int) -> None:
        if units < 0:
            raise ValueError(f"stock {units} is negative")
        with self._lock:
            self._stock[self._lane(lane)] = units

    def stock(self, lane: int) -> int:
        with self._lock:
            return self._stock[self._lane(lane)]

    def lane_state(self, lane: int) -> LaneState:
        with self._lock:
            return self._lane_state(self._lane(lane))

    def force_jam(self, lane: int, after_units: int = 0) -> None:
        """The next vend on ``lane`` jams once ``after_units`` units have fallen."""
        with self._lock:
            self._jam_armed[self._lane(lane)] = after_units

    def clear_jam(self, lane: int) -> None:
        """Someone cleared the lane by hand: LANE_RESET will now succeed."""
        with self._lock:
            self._blocked.discard(self._lane(lane))
            self._jam_armed.pop(lane, None)

    def block_lane(self, lane: int, blocked: bool) -> None:
        with self._lock:
            (self._blocked.add if blocked else self._blocked.discard)(self._lane(lane))

    @property
    def door_open(self) -> bool:
        with self._lock:
            return self._door_open

    def open_door(self) -> None:
        with self._lock:
            self._set_door(True)

    def close_door(self) -> None:
        with self._lock:
            self._set_door(False)

    def trip_tamper(self) -> None:
        with self._lock:
            self._set_tamper(True)

    def clear_tamper(self) -> None:
        with self._lock:
            self._set_tamper(False)

    def power_cut(self) -> None:
        """Power off now (a running vend is recorded aborted); BOOT after ``boot_seconds``."""
        with self._lock:
            if self._run is not None:
                self._run.record.outcome = VendOutcome.ABORTED
                self._run = None
                self._save_nvram()
                self._changed.notify_all()
            self._off_until = time.monotonic() + self.boot_seconds
            self._last = None  # the repeated-SEQ memory is RAM, not nvram
            self._decoder.reset()

    def set_silent(self, silent: bool) -> None:
        """Silent: every byte from the host is read and ignored (events still go out)."""
        with self._lock:
            self._silent = silent

    def drop_next_replies(self, count: int) -> None:
        """Act on the next ``count`` commands but lose their replies on the wire."""
        with self._lock:
            self._drop_replies = count

    def inject(self, data: bytes) -> None:
        """Write raw bytes to the host (line noise, broken frames)."""
        with self._lock:
            self._write(data)

    def noise_before_replies(self, items: Iterable[bytes | ReplyNoise]) -> None:
        """Queue noise for the next replies, one item just ahead of each reply (where it
        lands mid-exchange, while the host waits): raw bytes (garbage, a truncated frame,
        a frame with a bad CRC...) or ``REPEAT_PREVIOUS_REPLY``, which sends the previous
        reply frame again, as a late duplicate. Items queue up behind earlier ones."""
        with self._lock:
            self._reply_noise.extend(items)

    @property
    def pending_noise(self) -> int:
        """Items of ``noise_before_replies`` not sent yet."""
        with self._lock:
            return len(self._reply_noise)

    def dropped_total(self, vend_id: int) -> int:
        """Units that physically fell for ``vend_id`` while this object ran."""
        with self._lock:
            return self._physical[vend_id]

    @property
    def vends_started(self) -> dict[int, int]:
        """vend_id -> how many VENDs with that id were accepted (started a vend) by this
        object. A correct host never makes a count exceed 1."""
        with self._lock:
            return dict(self._vends_started)

    def wait_vend_finished(self, vend_id: int, timeout: float) -> NvramRecord | None:
        """Wait until the vend ``vend_id`` has an outcome; a copy of its record, or None
        when it is unknown or still running after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                record = self._record(vend_id)
                if record is not None and record.outcome is not VendOutcome.NONE:
                    return dataclasses.replace(record)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def snapshot(self) -> dict[str, Any]:
        """The state a fault harness checks, JSON-ready (keys are strings): ``stock`` per
        lane, ``vends_started`` and physically ``dropped`` units per vend_id, and the nvram
        ``records`` oldest first as [vend_id, lane, units, dropped, outcome]."""
        with self._lock:
            return {
                "stock": {str(lane): n for lane, n in self._stock.items()},
                "vends_started": {str(k): n for k, n in self._vends_started.items()},
                "dropped": {str(k): n for k, n in self._physical.items()},
                "records": [
                    [r.vend_id, r.lane, r.units, r.dropped, int(r.outcome)]
                    for r in self._nvram.values()
                ],
            }

    @property
    def log(self) -> list[NvramRecord]:
        """Copies of every vend this object started, oldest first."""
        with self._lock:
            return [dataclasses.replace(r) for r in self._log]

    @property
    def commands(self) -> list[tuple[int, int]]:
        """(SEQ, TYPE) of the command frames received (the last 4096), repeats included."""
        with self._lock:
            return list(self._commands)

    def nvram_record(self, vend_id: int) -> NvramRecord | None:
        with self._lock:
            record = self._nvram.get(vend_id)
            return dataclasses.replace(record) if record else None

    def _record(self, vend_id: int) -> NvramRecord | None:
        record = self._nvram.get(vend_id)
        if record is None:  # pushed out of nvram by newer vends: the log still has it
            record = next((r for r in reversed(self._log) if r.vend_id == vend_id), None)
        return record

    # ------------------------------------------------------------ the loop

    def _loop(self, stop: threading.Event) -> None:
        """The board: serves the line while plugged in, runs vends and boots regardless."""
        while not stop.is_set():
            with self._lock:
                master, gen = self._master, self._plug_gen
            timeout = self._poll_timeout()
            ready: list[int] = []
            if master is None:
                stop.wait(timeout)  # unplugged: nobody to talk to, the motors run on
            else:
                try:
                    ready, _, _ = select.select([master], [], [], timeout)
                except (OSError, ValueError):
                    stop.wait(timeout)  # closed by unplug() meanwhile: look again
            with self._lock:
                if stop.is_set():
                    return
                data = b""
                # Read only from the pty we selected on: after an unplug its fd number may
                # already be reused by another file.
                if master is not None and ready and gen == self._plug_gen:
                    data = self._read(master)
                now = time.monotonic()
                self._tick(now)
                if self._silent or self._off_until is not None:
                    continue  # read and ignored
                for frame in self._decoder.feed(data, now):
                    self._handle(frame)

    def _read(self, master: int) -> bytes:
        try:
            return os.read(master, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:  # EIO: nobody holds the slave (pty_port prevents it)
            log.warning("emulator pty failed: %s", exc)
            self._unplug()
            return b""

    def _poll_timeout(self) -> float:
        with self._lock:
            run_at = self._run.next_at if self._run is not None else None
            deadlines = [t for t in (self._off_until, run_at) if t is not None]
        if not deadlines:
            return POLL_SECONDS
        return max(0.0, min(POLL_SECONDS, min(deadlines) - time.monotonic()))

    def _tick(self, now: float) -> None:
        if self._off_until is not None:
            if now < self._off_until:
                return
            self._off_until = None
            self._event(ControllerBooted(self.firmware))
        while self._run is not None and now >= self._run.next_at:
            self._step(self._run)

    def _handle(self, frame: fr.Frame) -> None:
        if frame.seq == fr.EVENT_SEQ:
            log.info("ignoring host frame with SEQ 0")
            return
        self._commands.append((frame.seq, frame.type))
        if self._last is not None and self._is_repeat(self._last[0], frame):
            self._send_reply(self._last[1])  # a repeat: answer again, do nothing again
            return
        type_, payload = self._execute(frame)
        reply = fr.encode_frame(frame.seq, type_, payload)
        self._last = (frame, reply)
        self._send_reply(reply)
        actions, self._after_reply = self._after_reply, []
        for action in actions:
            action()

    def _is_repeat(self, last: fr.Frame, frame: fr.Frame) -> bool:
        if self.proto is ProtocolVersion.V1:
            return last.seq == frame.seq  # the 1.0 flaw: a new command can look repeated
        return last == frame  # byte for byte: the encoding of a Frame is unique

    def _send_reply(self, data: bytes) -> None:
        if self._reply_noise:
            noise = self._reply_noise.popleft()
            if noise is ReplyNoise.REPEAT_PREVIOUS_REPLY:
                if self._previous_reply is not None:
                    self._write(self._previous_reply)
            elif isinstance(noise, bytes):
                self._write(noise)
        if self._drop_replies > 0:
            self._drop_replies -= 1
            return
        self._write(data)
        self._previous_reply = data

    def _execute(self, frame: fr.Frame) -> Reply:
        handlers: dict[int, Callable[[bytes], Reply]] = {
            fr.CMD_PING: self._cmd_ping,
            fr.CMD_STATUS: self._cmd_status,
            fr.CMD_VEND: self._cmd_vend,
            fr.CMD_VEND_QUERY: self._cmd_vend_query,
            fr.CMD_DOOR_UNLOCK: self._cmd_door_unlock,
            fr.CMD_LANE_RESET: self._cmd_lane_reset,
        }
        if self.proto >= ProtocolVersion.V1_1:
            handlers[fr.CMD_VEND_LOG] = self._cmd_vend_log
        handler = handlers.get(frame.type)
        if handler is None:
            return _nak(fr.NAK_UNKNOWN_COMMAND)
        try:
            return handler(frame.payload)
        except ControllerProtocolError:
            return _nak(fr.NAK_BAD_PAYLOAD)

    # ------------------------------------------------------------ commands

    def _cmd_ping(self, payload: bytes) -> Reply:
        fr.parse_empty(payload, "PING")
        info = ControllerInfo(int(self.proto), self.lanes, self.firmware)
        return fr.REPLY_PONG, fr.pong_payload(info)

    def _cmd_status(self, payload: bytes) -> Reply:
        fr.parse_empty(payload, "STATUS")
        lanes = tuple(self._lane_state(lane) for lane in self._stock)
        return fr.REPLY_STATUS, fr.status_payload(
            ControllerStatus(self._door_open, self._tamper, lanes)
        )

    def _cmd_vend(self, payload: bytes) -> Reply:
        cmd = fr.parse_vend(payload)
        # The idempotency key wins over every other answer: a host retrying after a crash
        # must hear "duplicate" even while that very vend is still running.
        if cmd.vend_id in self._nvram:
            result = VendAckResult.DUPLICATE
        elif cmd.lane not in self._stock:
            result = VendAckResult.BAD_LANE
        elif self._run is not None:
            result = VendAckResult.BUSY
        elif self._door_open:
            result = VendAckResult.DOOR_OPEN
        elif self._lane_state(cmd.lane) is not LaneState.READY:
            result = VendAckResult.LANE_NOT_READY
        else:
            result = VendAckResult.ACCEPTED
            self._vends_started[cmd.vend_id] += 1
            self._start_vend(NvramRecord(cmd.vend_id, cmd.lane, cmd.units))
        return fr.REPLY_VEND_ACK, fr.vend_ack_payload(cmd.vend_id, result)

    def _cmd_vend_query(self, payload: bytes) -> Reply:
        vend_id = fr.parse_vend_query(payload)
        record = self._nvram.get(vend_id)
        if record is None:
            state = VendState(vend_id, VendQueryState.UNKNOWN, 0, VendOutcome.NONE)
        else:
            running = record.outcome is VendOutcome.NONE
            query = VendQueryState.RUNNING if running else VendQueryState.FINISHED
            state = VendState(vend_id, query, record.dropped, record.outcome)
        return fr.REPLY_VEND_STATE, fr.vend_state_payload(state)

    def _cmd_vend_log(self, payload: bytes) -> Reply:
        index = fr.parse_vend_log(payload)
        if index >= len(self._nvram):
            return _nak(fr.NAK_BAD_PAYLOAD)
        record = list(self._nvram.values())[-1 - index]  # insertion order: newest last
        entry = fr.VendLogEntry(len(self._nvram), index, record.frozen())
        return fr.REPLY_VEND_RECORD, fr.vend_record_payload(entry)

    def _cmd_door_unlock(self, payload: bytes) -> Reply:
        fr.parse_door_unlock(payload)
        # The door swings open once the solenoid releases, i.e. after our reply.
        self._after_reply.append(lambda: self._set_door(True))
        return fr.REPLY_OK, b""

    def _cmd_lane_reset(self, payload: bytes) -> Reply:
        lane = fr.parse_lane_reset(payload)
        if lane not in self._stock:
            return _nak(fr.NAK_BAD_PAYLOAD)
        running_here = self._run is not None and self._run.record.lane == lane
        if lane in self._blocked or running_here:
            return _nak(fr.NAK_REFUSED)
        self._jammed.discard(lane)
        return fr.REPLY_OK, b""

    # ------------------------------------------------------------ vending

    def _start_vend(self, record: NvramRecord) -> None:
        self._nvram[record.vend_id] = record
        while len(self._nvram) > NVRAM_RECORDS:
            del self._nvram[next(iter(self._nvram))]
        self._save_nvram()
        self._log.append(record)
        run = _Run(record, 0.0, self._jam_armed.pop(record.lane, None))
        self._run = run
        self._schedule(run, time.monotonic())

    def _schedule(self, run: _Run, base: float) -> None:
        lane = run.record.lane
        forced = run.jam_after is not None and run.record.dropped >= run.jam_after
        run.jamming = forced or lane in self._blocked
        run.next_at = base + (self.jam_seconds if run.jamming else self.unit_seconds)

    def _step(self, run: _Run) -> None:
        record, lane = run.record, run.record.lane
        if run.jamming:
            self._jammed.add(lane)
            self._blocked.add(lane)  # stays blocked until cleared by hand
            self._finish(VendOutcome.JAM)
        elif self._stock[lane] <= 0:
            self._finish(VendOutcome.LANE_EMPTY)
        else:
            self._stock[lane] -= 1
            record.dropped += 1
            self._physical[record.vend_id] += 1
            self._save_nvram()  # the confirmed count must survive a power cut
            self._changed.notify_all()
            self._event(UnitDropped(record.vend_id, record.dropped))
            if record.dropped >= record.units:
                self._finish(VendOutcome.COMPLETE)
            else:
                self._schedule(run, run.next_at)

    def _finish(self, outcome: VendOutcome) -> None:
        assert self._run is not None
        record = self._run.record
        record.outcome = outcome
        self._run = None
        self._save_nvram()
        self._changed.notify_all()
        self._event(VendDone(record.vend_id, record.dropped, outcome))

    # ------------------------------------------------------------ switches

    def _set_door(self, door_open: bool) -> None:
        if self._door_open == door_open:
            return
        self._door_open = door_open
        self._event(DoorChanged(door_open))
        if door_open and self._run is not None:
            self._finish(VendOutcome.ABORTED)

    def _set_tamper(self, tripped: bool) -> None:
        if self._tamper != tripped:
            self._tamper = tripped
            self._event(TamperChanged(tripped))

    def _lane_state(self, lane: int) -> LaneState:
        if lane in self._jammed:
            return LaneState.JAMMED
        return LaneState.EMPTY if self._stock[lane] <= 0 else LaneState.READY

    def _lane(self, lane: int) -> int:
        if lane not in self._stock:
            raise ValueError(f"lane {lane} outside 1..{self.lanes}")
        return lane

    # ------------------------------------------------------------ output

    def _event(self, event: ControllerEvent) -> None:
        if self._off_until is None:  # no power, no events
            type_, payload = fr.encode_event(event)
            self._write(fr.encode_frame(fr.EVENT_SEQ, type_, payload))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self._master is not None:
            try:
                view = view[os.write(self._master, view) :]
            except BlockingIOError:
                # Nobody reads the line: like a UART, the bytes are simply lost.
                log.warning("emulator output full, %d bytes lost", len(view))
                return
            except OSError as exc:
                log.warning("emulator write failed: %s", exc)
                return

    # ------------------------------------------------------------ nvram

    def _load_nvram(self) -> None:
        path = self._nvram_path
        if path is None or not path.exists():
            return
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            records = [_nvram_record(r) for r in raw["records"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("emulator nvram %s unreadable, starting empty: %s", path, exc)
            return
        for record in records[-NVRAM_RECORDS:]:
            if record.outcome is VendOutcome.NONE:
                # It was running when the process died: that is a power cut mid-vend.
                record.outcome = VendOutcome.ABORTED
            self._nvram[record.vend_id] = record

    def _save_nvram(self) -> None:
        path = self._nvram_path
        if path is None:
            return
        records = [
            dataclasses.asdict(r) | {"outcome": int(r.outcome)} for r in self._nvram.values()
        ]
        tmp = path.with_name(path.name + ".tmp")
        # Write aside then rename: a kill at any instant leaves the old or the new file.
        tmp.write_text(json.dumps({"version": 1, "records": records}), encoding="utf-8")
        os.replace(tmp, path)


def _nvram_record(raw: dict[str, Any]) -> NvramRecord:
    # A file of an emulator that kept only what VEND_QUERY needs has no lane nor units.
    lane, units = raw.get("lane", 0), raw.get("units", 0)
    return NvramRecord(raw["vend_id"], lane, units, raw["dropped"], VendOutcome(raw["outcome"]))


def _nak(code: int) -> Reply:
    return fr.REPLY_NAK, fr.nak_payload(code)


_HELP = (
    "commands (one answer line each: ok, JSON, or error: ...): stock LANE N | "
    "jam LANE [AFTER] | clear LANE | door open|close | tamper on|off | power | "
    "silent on|off | unplug | replug | state | quit"
)


def main(argv: list[str] | None = None) -> int:
    """Run an emulator until ``quit``, SIGTERM or ^C.

    stdout is for a harness: the first line is ``PORT <path>`` (the link path with
    ``--link``), then exactly one line per command read on stdin, flushed: ``ok``, the JSON
    of ``state``, or ``error: ...``. Blank lines are ignored. Logs go to stderr. When stdin
    closes (run in the background) it serves on until a signal.
    """
    parser = argparse.ArgumentParser(description="Dispenser controller emulator on a pty")
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--stock", type=int, default=20, help="units in every lane")
    parser.add_argument("--nvram", default=None, help="JSON file keeping vend records")
    parser.add_argument("--unit-seconds", type=float, default=0.5)
    parser.add_argument("--jam-seconds", type=float, default=3.0)
    parser.add_argument("--link", default=None, help="stable symlink to the pty, as udev makes")
    parser.add_argument(
        "--proto",
        type=int,
        choices=[int(v) for v in ProtocolVersion],
        default=int(ProtocolVersion.V1),
        help="1: firmware 1.0; 2: firmware 1.1 (whole-frame repeats, VEND_LOG)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)  # stderr: stdout belongs to the harness
    emulator = ControllerEmulator(
        args.lanes,
        stock=args.stock,
        nvram_path=args.nvram,
        unit_seconds=args.unit_seconds,
        jam_seconds=args.jam_seconds,
        link_path=args.link,
        proto=ProtocolVersion(args.proto),
    )
    return serve_console(emulator, lambda words: _console(emulator, words), _HELP)


def _console(emulator: ControllerEmulator, words: list[str]) -> str:
    """Run one stdin command; return its one-line answer."""
    try:
        match words:
            case ["stock", lane, units]:
                emulator.set_stock(int(lane), int(units))
            case ["jam", lane]:
                emulator.force_jam(int(lane))
            case ["jam", lane, after]:
                emulator.force_jam(int(lane), int(after))
            case ["clear", lane]:
                emulator.clear_jam(int(lane))
            case ["door", "open"]:
                emulator.open_door()
            case ["door", "close"]:
                emulator.close_door()
            case ["tamper", flag] if flag in ("on", "off"):
                (emulator.trip_tamper if flag == "on" else emulator.clear_tamper)()
            case ["power"]:
                emulator.power_cut()
            case ["silent", flag] if flag in ("on", "off"):
                emulator.set_silent(flag == "on")
            case ["unplug"]:
                emulator.unplug()
            case ["replug"]:
                emulator.replug()
            case ["state"]:
                return json.dumps(emulator.snapshot(), separators=(",", ":"))
            case ["quit"]:
                pass
            case _:
                return f"error: unknown command: {' '.join(words)}"
    except (ValueError, RuntimeError, OSError) as exc:
        return f"error: {exc}"
    return "ok"


if __name__ == "__main__":
    raise SystemExit(main())
