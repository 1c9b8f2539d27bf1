"""``SerialController``: the ``DispenserController`` port over pyserial (protocol v1).

One reader thread per open port decodes every frame: a reply goes to the one command
waiting for it (same SEQ, expected TYPE or NAK), an event (SEQ 0) goes to the event
handler, anything else is a late duplicate or noise and is dropped. Commands are
serialised by a lock, so there is never more than one waiter.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import serial

from hardware.controller import frame as fr
from hardware.ports import (
    ControllerDisconnected,
    ControllerError,
    ControllerInfo,
    ControllerProtocolError,
    ControllerRefused,
    ControllerStatus,
    ControllerTimeout,
    DeviceState,
    EventHandler,
    VendAckResult,
    VendState,
)

log = logging.getLogger("hardware.controller")
_T = TypeVar("_T")

BAUDRATE = 115200
READ_TIMEOUT = 0.02  # also how often the reader notices close() and ages partial frames
JOIN_TIMEOUT = 1.0


@dataclass
class _Waiter:
    seq: int
    expect: int
    done: threading.Event = field(default_factory=threading.Event)
    reply: fr.Frame | None = None
    error: ControllerError | None = None


class SerialController:
    """Driver for the dispenser controller. Every method returns within a bounded time:
    a command takes at most ``(retries + 1) * reply_timeout`` plus write time.

    The event handler runs on the reader thread: keep it short (hand the event to a
    queue) and do not send commands from it (that would wait on the very thread that
    delivers replies, so it is refused with ``RuntimeError``).
    """

    def __init__(self, port: str, *, reply_timeout: float = 0.2, retries: int = 3) -> None:
        if reply_timeout <= 0 or retries < 0:
            raise ValueError("reply_timeout must be > 0 and retries >= 0")
        self.port = port
        self.reply_timeout = reply_timeout
        self.retries = retries
        self._cmd_lock = threading.Lock()  # one command on the wire at a time; open/close
        self._lock = threading.Lock()  # state, waiter, handler
        self._state = DeviceState.CLOSED
        self._serial: serial.Serial | None = None
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._waiter: _Waiter | None = None
        self._handler: EventHandler | None = None
        self._decoder = fr.FrameDecoder()
        # Start the numbering anywhere: after a host restart a controller that only looks
        # at SEQ would otherwise take our first command for a repeat of its last one.
        self._seq = random.randrange(255)
        self.dropped_replies = 0  # replies nobody waited for (late duplicates)

    # ------------------------------------------------------------ lifecycle

    @property
    def state(self) -> DeviceState:
        with self._lock:
            return self._state

    @property
    def decoder_stats(self) -> fr.DecoderStats:
        return self._decoder.stats

    def open(self) -> None:
        """Open the port and start the reader. Talks to nobody: ``ping()`` to verify.

        Calling it again after a disconnection reconnects; on an open, healthy port it
        does nothing.
        """
        with self._cmd_lock:
            # A failed write marks the port lost before the reader may have noticed.
            lost = self.state is DeviceState.DISCONNECTED
            if self._serial is not None and self._reader_alive() and not lost:
                return
            self._teardown()
            try:
                port = serial.serial_for_url(
                    self.port,
                    baudrate=BAUDRATE,
                    timeout=READ_TIMEOUT,
                    write_timeout=self.reply_timeout,
                    rtscts=False,
                    dsrdtr=False,
                    xonxoff=False,
                )
            except (OSError, serial.SerialException, ValueError) as exc:
                self._set_state(DeviceState.DISCONNECTED)
                log.warning("controller port %s cannot be opened: %s", self.port, exc)
                raise ControllerDisconnected(f"cannot open {self.port}: {exc}") from exc
            self._decoder.reset()
            self._stop = threading.Event()
            self._serial = port
            self._reader = threading.Thread(
                target=self._read_loop,
                args=(port, self._stop),
                name="controller-reader",
                daemon=True,
            )
            self._set_state(DeviceState.READY)
            self._reader.start()
            log.info("controller port %s open", self.port)

    def close(self) -> None:
        # Fail a command in flight first so that it lets go of the command lock at once.
        self._stop.set()
        self._fail_waiter(ControllerDisconnected("port closed"))
        with self._cmd_lock:
            self._teardown()
            self._set_state(DeviceState.CLOSED)

    def _teardown(self) -> None:
        """Stop the reader (join it) and close the port. Caller holds the command lock."""
        self._stop.set()
        port, reader = self._serial, self._reader
        self._serial = self._reader = None
        if port is not None and reader is not None and reader.is_alive():
            with contextlib.suppress(OSError, serial.SerialException):
                port.cancel_read()  # wakes the reader out of its select()
        if reader is not None and reader is not threading.current_thread():
            reader.join(JOIN_TIMEOUT)
            if reader.is_alive():
                log.error("controller reader did not stop within %.1f s", JOIN_TIMEOUT)
        if port is not None:
            # A port that vanished may fail to close; there is nothing left to release.
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()

    def _reader_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def set_event_handler(self, handler: EventHandler | None) -> None:
        with self._lock:
            self._handler = handler

    # ------------------------------------------------------------ commands

    def ping(self) -> ControllerInfo:
        info = self._call(fr.CMD_PING, b"", fr.parse_pong)
        if info.proto != fr.PROTO_VERSION:
            raise self._fault(f"controller speaks protocol {info.proto}, not 1")
        return info

    def status(self) -> ControllerStatus:
        return self._call(fr.CMD_STATUS, b"", fr.parse_status)

    def vend(self, vend_id: int, lane: int, units: int) -> VendAckResult:
        """Ask for a vend. Any error but ``ControllerRefused`` leaves it unknown whether the
        controller started it: ask ``vend_query(vend_id)`` (or repeat this very call, which
        ``vend_id`` makes idempotent) rather than guessing.
        """
        payload = fr.vend_payload(vend_id, lane, units)
        ack = self._call(fr.CMD_VEND, payload, fr.parse_vend_ack)
        if ack.vend_id != vend_id:
            raise self._fault(f"VEND_ACK for vend {ack.vend_id}, sent {vend_id}")
        return ack.result

    def vend_query(self, vend_id: int) -> VendState:
        payload = fr.vend_query_payload(vend_id)
        state = self._call(fr.CMD_VEND_QUERY, payload, fr.parse_vend_state)
        if state.vend_id != vend_id:
            raise self._fault(f"VEND_STATE for vend {state.vend_id}, asked {vend_id}")
        return state

    def door_unlock(self, seconds: int) -> None:
        self._call(fr.CMD_DOOR_UNLOCK, fr.door_unlock_payload(seconds), _parse_ok)

    def lane_reset(self, lane: int) -> None:
        self._call(fr.CMD_LANE_RESET, fr.lane_reset_payload(lane), _parse_ok)

    def _call(self, type_: int, payload: bytes, parse: Callable[[bytes], _T]) -> _T:
        """Send one command, resend the same frame on silence, parse the reply payload."""
        if threading.current_thread() is self._reader:
            raise RuntimeError("controller commands cannot be sent from the event handler")
        # The state is settled under the command lock too, so a close() that waits for
        # this command cannot be overwritten by it.
        with self._cmd_lock:
            try:
                reply = self._exchange(type_, payload)
                if reply.type == fr.REPLY_NAK:
                    code = fr.parse_nak(reply.payload)
                    self._set_state(DeviceState.READY)  # it answered: the link is fine
                    log.info("controller refused command 0x%02X with NAK %d", type_, code)
                    raise ControllerRefused(f"command 0x{type_:02X} refused (NAK {code})", code)
                result = parse(reply.payload)
            except ControllerProtocolError as exc:
                self._set_state(DeviceState.FAULT)
                log.warning("controller answered 0x%02X wrongly: %s", type_, exc)
                raise
            self._set_state(DeviceState.READY)
            return result

    def _exchange(self, type_: int, payload: bytes) -> fr.Frame:
        """One command/reply round trip with resends. Caller holds the command lock."""
        port = self._serial
        if port is None or not self._reader_alive():
            raise ControllerDisconnected("port is not open")
        self._seq = self._seq % 255 + 1
        # A command we have no reply code for can only be answered with a NAK.
        waiter = _Waiter(self._seq, fr.EXPECTED_REPLY.get(type_, fr.REPLY_NAK))
        data = fr.encode_frame(waiter.seq, type_, payload)
        with self._lock:
            self._waiter = waiter
        try:
            for attempt in range(self.retries + 1):
                if attempt:
                    log.info("no reply to 0x%02X seq %d, resending", type_, waiter.seq)
                self._write(port, data)
                if waiter.done.wait(self.reply_timeout):
                    break
            else:
                self._set_state(DeviceState.SILENT)
                log.warning("controller silent: no reply to 0x%02X", type_)
                raise ControllerTimeout(
                    f"no reply to command 0x{type_:02X} after {self.retries + 1} tries"
                )
        finally:
            with self._lock:
                self._waiter = None
        if waiter.error is not None:
            raise waiter.error
        assert waiter.reply is not None  # done is only set with a reply or an error
        return waiter.reply

    def _write(self, port: serial.Serial, data: bytes) -> None:
        try:
            port.write(data)
        except serial.SerialTimeoutException as exc:
            # Output does not drain (hardware flow stuck): the controller is not listening.
            self._set_state(DeviceState.SILENT)
            raise ControllerTimeout("write to controller port timed out") from exc
        except (OSError, serial.SerialException) as exc:
            self._set_state(DeviceState.DISCONNECTED)
            log.warning("controller port %s write failed: %s", self.port, exc)
            raise ControllerDisconnected(f"write failed: {exc}") from exc

    # ------------------------------------------------------------ reader thread

    def _read_loop(self, port: serial.Serial, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                data = port.read(max(1, port.in_waiting))
            except (OSError, serial.SerialException, TypeError) as exc:
                # TypeError: pyserial's read on a port closed under it (fd is None).
                if not stop.is_set():
                    self._on_port_lost(exc)
                return
            for frame in self._decoder.feed(data, time.monotonic()):
                try:
                    self._route(frame)
                except Exception:
                    log.exception("controller reader: routing a frame failed")

    def _on_port_lost(self, exc: BaseException) -> None:
        log.warning("controller port %s lost: %s", self.port, exc)
        self._set_state(DeviceState.DISCONNECTED)
        self._fail_waiter(ControllerDisconnected(f"port lost: {exc}"))

    def _route(self, frame: fr.Frame) -> None:
        if frame.seq == fr.EVENT_SEQ:
            self._dispatch_event(frame)
            return
        with self._lock:
            waiter = self._waiter
            if waiter is None or waiter.seq != frame.seq or waiter.done.is_set():
                self.dropped_replies += 1
                log.debug("dropping unexpected reply 0x%02X seq %d", frame.type, frame.seq)
                return
            if frame.type in (waiter.expect, fr.REPLY_NAK):
                waiter.reply = frame
            else:
                waiter.error = ControllerProtocolError(
                    f"reply 0x{frame.type:02X} to a command expecting 0x{waiter.expect:02X}"
                )
            waiter.done.set()

    def _dispatch_event(self, frame: fr.Frame) -> None:
        try:
            event = fr.parse_event(frame.type, frame.payload)
        except ControllerProtocolError as exc:
            log.warning("dropping malformed controller event: %s", exc)
            return
        with self._lock:
            handler = self._handler
        if handler is None:
            return
        try:
            handler(event)
        except Exception:
            # A broken handler must not take the reader (and every reply) down with it.
            log.exception("controller event handler failed on %s", type(event).__name__)

    # ------------------------------------------------------------ helpers

    def _set_state(self, state: DeviceState) -> None:
        with self._lock:
            if self._state is not state:
                log.debug("controller state %s -> %s", self._state.value, state.value)
            self._state = state

    def _fault(self, message: str) -> ControllerProtocolError:
        self._set_state(DeviceState.FAULT)
        return ControllerProtocolError(message)

    def _fail_waiter(self, error: ControllerError) -> None:
        with self._lock:
            waiter = self._waiter
            if waiter is not None and not waiter.done.is_set():
                waiter.error = error
                waiter.done.set()


def _parse_ok(payload: bytes) -> None:
    fr.parse_empty(payload, "OK")
