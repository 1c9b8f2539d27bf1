"""``SerialController``: the ``DispenserController`` port over pyserial (protocol v1 and
the 1.1 additions).

One reader thread per open port decodes every frame: a reply goes to the one command
waiting for it (same SEQ), an event (SEQ 0) goes to the event handler, anything else is a
late duplicate or noise and is dropped. A reply with the command's SEQ that cannot answer
it (another TYPE, another vend_id) is stale, an old reply a version 1 controller replayed:
the command is sent again under a new SEQ. Commands are serialised by a lock, so there is
never more than one waiter.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import serial

from hardware.controller import frame as fr
from hardware.ports import (
    ControllerBooted,
    ControllerDisconnected,
    ControllerError,
    ControllerInfo,
    ControllerProtocolError,
    ControllerRefused,
    ControllerStatus,
    ControllerTimeout,
    ControllerUnsupported,
    DeviceState,
    EventHandler,
    ProtocolVersion,
    VendAckResult,
    VendRecord,
    VendState,
)

log = logging.getLogger("hardware.controller")
_T = TypeVar("_T")

BAUDRATE = 115200
READ_TIMEOUT = 0.02  # also how often the reader notices close() and ages partial frames
JOIN_TIMEOUT = 1.0
MAX_SEQ = 255


@dataclass
class _Waiter:
    command: fr.Frame
    done: threading.Event = field(default_factory=threading.Event)
    reply: fr.Frame | None = None
    stale: fr.Frame | None = None  # a reply with our SEQ that does not answer the command
    error: ControllerError | None = None


class SerialController:
    """Driver for the dispenser controller. Every method returns within a bounded time:
    a command takes at most ``(retries + 1) * reply_timeout`` plus write time.

    ``first_seq`` fixes the first SEQ (tests); by default it is random, see below.

    The event handler runs on the reader thread: keep it short (hand the event to a
    queue) and do not send commands from it (that would wait on the very thread that
    delivers replies, so it is refused with ``RuntimeError``).
    """

    def __init__(
        self,
        port: str,
        *,
        reply_timeout: float = 0.2,
        retries: int = 3,
        first_seq: int | None = None,
    ) -> None:
        if reply_timeout <= 0 or retries < 0:
            raise ValueError("reply_timeout must be > 0 and retries >= 0")
        if first_seq is not None and not 1 <= first_seq <= MAX_SEQ:
            raise ValueError(f"first_seq {first_seq} outside 1..{MAX_SEQ}")
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
        # at SEQ (version 1) would otherwise take our first command for a repeat of its
        # last one every time, not one time in 255 (and then the stale check catches it).
        first = random.randint(1, MAX_SEQ) if first_seq is None else first_seq
        self._seq = first - 1  # the last SEQ used: each command steps it first
        self._proto: ProtocolVersion | None = None  # from the last PONG
        self.dropped_replies = 0  # replies nobody waited for (late duplicates)
        self.stale_replies = 0  # replies with our SEQ answering something else

    # ------------------------------------------------------------ lifecycle

    @property
    def state(self) -> DeviceState:
        with self._lock:
            return self._state

    @property
    def decoder_stats(self) -> fr.DecoderStats:
        return self._decoder.stats

    @property
    def protocol_version(self) -> ProtocolVersion | None:
        """What the last PONG said; None until a PING was answered since ``open()`` (which
        talks to nobody) or since the controller's last BOOT (its firmware may be new)."""
        with self._lock:
            return self._proto

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
            self._set_proto(None)  # another board may sit behind the port now
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
        """Raises ``ControllerProtocolError`` for a protocol version this driver lacks."""
        with self._commanding():
            return self._ping_locked()[0]

    def status(self) -> ControllerStatus:
        return self._call(fr.CMD_STATUS, b"", fr.parse_status)

    def vend(self, vend_id: int, lane: int, units: int) -> VendAckResult:
        """Ask for a vend. Any error but ``ControllerRefused`` leaves it unknown whether the
        controller started it: ask ``vend_query(vend_id)`` (or repeat this very call, which
        ``vend_id`` makes idempotent) rather than guessing.
        """
        payload = fr.vend_payload(vend_id, lane, units)
        # The reply's vend_id is ours: another one is stale (see ``fr.answers``).
        return self._call(fr.CMD_VEND, payload, fr.parse_vend_ack).result

    def vend_query(self, vend_id: int) -> VendState:
        payload = fr.vend_query_payload(vend_id)
        return self._call(fr.CMD_VEND_QUERY, payload, fr.parse_vend_state)

    def vend_log(self, index: int) -> VendRecord | None:
        """The controller's vend record ``index`` (0 = newest); None past the last one.
        Raises ``ControllerUnsupported`` when its firmware is older than 1.1."""
        with self._commanding():
            entry = self._log_entry(index)
        return entry.record if entry is not None else None

    def vend_log_all(self) -> list[VendRecord]:
        """Every vend record the controller holds (up to 32), newest first.

        The command lock is held for the whole walk (one VEND_LOG per record): only a VEND,
        which only we send, adds a record, so the list is one consistent snapshot rather
        than a walk over an index that shifts under it. Raises ``ControllerUnsupported``
        when the firmware is older than 1.1. Its time bound is that of up to 33 commands
        (a PING when the version is not known yet, and one VEND_LOG per record).
        """
        with self._commanding():
            first = self._log_entry(0)
            if first is None:
                return []
            records = [first.record]
            for index in range(1, first.count):
                entry = self._log_entry(index)
                if entry is None or entry.count != first.count:
                    raise self._fault("the vend log changed while it was read")
                records.append(entry.record)
        return records

    def door_unlock(self, seconds: int) -> None:
        self._call(fr.CMD_DOOR_UNLOCK, fr.door_unlock_payload(seconds), _parse_ok)

    def lane_reset(self, lane: int) -> None:
        self._call(fr.CMD_LANE_RESET, fr.lane_reset_payload(lane), _parse_ok)

    def _ping_locked(self) -> tuple[ControllerInfo, ProtocolVersion]:
        """PING, and keep the version it reports. Caller holds the command lock."""
        info, version = self._call_locked(fr.CMD_PING, b"", _parse_pong)
        self._set_proto(version)
        return info, version

    def _log_entry(self, index: int) -> fr.VendLogEntry | None:
        """VEND_LOG ``index``; None past the last record. Caller holds the command lock."""
        payload = fr.vend_log_payload(index)  # a bad index is our bug: ValueError, no I/O
        version = self.protocol_version or self._ping_locked()[1]
        if version < ProtocolVersion.V1_1:
            raise ControllerUnsupported(f"no VEND_LOG in protocol {int(version)} firmware")
        try:
            return self._call_locked(fr.CMD_VEND_LOG, payload, fr.parse_vend_record)
        except ControllerRefused as exc:
            if exc.code == fr.NAK_BAD_PAYLOAD:
                return None  # index >= count: the documented answer
            if exc.code == fr.NAK_UNKNOWN_COMMAND:  # older firmware since our last PING
                self._set_proto(None)  # so the next call asks again
                raise ControllerUnsupported("the controller does not know VEND_LOG") from exc
            raise

    @contextlib.contextmanager
    def _commanding(self) -> Iterator[None]:
        """Hold the command lock (one command on the wire at a time)."""
        if threading.current_thread() is self._reader:
            raise RuntimeError("controller commands cannot be sent from the event handler")
        with self._cmd_lock:
            yield

    def _call(self, type_: int, payload: bytes, parse: Callable[[bytes], _T]) -> _T:
        with self._commanding():
            return self._call_locked(type_, payload, parse)

    def _call_locked(self, type_: int, payload: bytes, parse: Callable[[bytes], _T]) -> _T:
        """Send one command and parse its reply payload. Caller holds the command lock.

        The state is settled under the command lock too, so a close() that waits for this
        command cannot be overwritten by it.
        """
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
        """One command/reply round trip with resends. Caller holds the command lock.

        Every try writes one frame and waits up to ``reply_timeout`` for its reply: after
        silence the same frame (same SEQ: the controller answers a repeat without acting
        twice), after a stale reply the command under a new SEQ (the controller did not act
        on it, it replayed). Both cost a try, so the time budget stays as it was.
        """
        port = self._serial
        if port is None or not self._reader_alive():
            raise ControllerDisconnected("port is not open")
        waiter = self._new_waiter(type_, payload)
        try:
            for attempt in range(self.retries + 1):
                if waiter.stale is not None:
                    waiter = self._renumber(waiter)
                elif attempt:
                    log.info("no reply to 0x%02X seq %d, resending", type_, waiter.command.seq)
                self._write(port, waiter.command.encode())
                if waiter.done.wait(self.reply_timeout) and waiter.stale is None:
                    break
            else:
                raise self._gave_up(waiter)
        finally:
            with self._lock:
                self._waiter = None
        if waiter.error is not None:
            raise waiter.error
        assert waiter.reply is not None  # done is only set with a reply, stale or an error
        return waiter.reply

    def _new_waiter(self, type_: int, payload: bytes) -> _Waiter:
        self._seq = self._seq % MAX_SEQ + 1
        waiter = _Waiter(fr.Frame(self._seq, type_, payload))
        with self._lock:
            self._waiter = waiter
        return waiter

    def _renumber(self, waiter: _Waiter) -> _Waiter:
        """The same command under the next SEQ, after a stale reply to ``waiter``."""
        assert waiter.stale is not None
        command, self.stale_replies = waiter.command, self.stale_replies + 1
        log.info(
            "dropping stale reply 0x%02X to command 0x%02X seq %d, resending with a new SEQ",
            *(waiter.stale.type, command.type, command.seq),
        )
        return self._new_waiter(command.type, command.payload)

    def _gave_up(self, waiter: _Waiter) -> ControllerError:
        type_, tries = waiter.command.type, self.retries + 1
        if waiter.stale is not None:
            return ControllerProtocolError(f"only stale replies to 0x{type_:02X} in {tries} tries")
        self._set_state(DeviceState.SILENT)
        log.warning("controller silent: no reply to 0x%02X", type_)
        return ControllerTimeout(f"no reply to command 0x{type_:02X} after {tries} tries")

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
            if waiter is None or waiter.command.seq != frame.seq or waiter.done.is_set():
                self.dropped_replies += 1
                log.debug("dropping unexpected reply 0x%02X seq %d", frame.type, frame.seq)
                return
            if fr.answers(waiter.command, frame):
                waiter.reply = frame
            else:
                waiter.stale = frame  # the command thread resends under a new SEQ
            waiter.done.set()

    def _dispatch_event(self, frame: fr.Frame) -> None:
        try:
            event = fr.parse_event(frame.type, frame.payload)
        except ControllerProtocolError as exc:
            log.warning("dropping malformed controller event: %s", exc)
            return
        with self._lock:
            handler = self._handler
            if isinstance(event, ControllerBooted):
                self._proto = None  # a restart is also how new firmware arrives
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

    def _set_proto(self, version: ProtocolVersion | None) -> None:
        with self._lock:
            self._proto = version

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


def _parse_pong(payload: bytes) -> tuple[ControllerInfo, ProtocolVersion]:
    """PONG, refused (``ControllerProtocolError``) when it reports a version we lack."""
    info = fr.parse_pong(payload)
    return info, fr.protocol_version(info)
