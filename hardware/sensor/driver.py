"""ZFM-20 / R30x fingerprint sensor driver, on top of pyfingerprint 1.5.

pyfingerprint speaks the wire protocol; this module makes it safe for a kiosk:

* Every library call runs on one I/O thread owned by the driver, and the caller waits at
  most ``call_budget`` seconds. pyfingerprint has no notion of a deadline: on a silent
  sensor it sits ~24 s in its read loop. On expiry the call is abandoned (its port is
  closed), the caller gets SensorTimeout and the next call reopens the port.
* The library raises bare ``Exception``s with English messages and lets pyserial errors
  through; every one of them becomes a typed SensorError here.
* After a timeout, a vanished port or a garbled answer the next call reopens the port
  (and verifies the password again), so a replugged or revived sensor just works.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import re
import struct
import termios
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import serial
from pyfingerprint.pyfingerprint import PyFingerprint

from hardware.ports import (
    DeviceState,
    ImageProblem,
    Match,
    PoorImage,
    SensorDisconnected,
    SensorError,
    SensorInfo,
    SensorProtocolError,
    SensorRefused,
    SensorTimeout,
)

log = logging.getLogger("hardware.sensor")

T = TypeVar("T")

_ADDRESS = 0xFFFFFFFF  # the factory broadcast address; we never change it
_BYTE_TIMEOUT = 0.2  # the library's per-byte serial timeout (2 s as it comes)
_GRACE = 0.5  # after abandoning a call, how long the I/O thread gets to let go
_PACKET_SIZES = (32, 64, 128, 256)
_PAGE = 256  # template positions per index page
_WRONG_PASSWORD = 0x13
# Refusals that say the session is not established (wrong password; "verify the password
# first", as after a sensor power cycle): reopening, which verifies again, is the cure.
_SESSION_CODES = (_WRONG_PASSWORD, 0x21)
_SERIAL_ATTR = "_PyFingerprint__serial"  # where the library keeps its pyserial port

_POOR = ("too messy", "few feature points", "image is invalid", "could not read image")
_GARBLED = ("header", "checksum", "no ack", "no data packet", "communication error")
_REFUSED = ("could not", "invalid position", "writing to flash", "address is wrong", "unknown")


class _Abandoned(Exception):
    """Raised on the I/O thread once its caller has given up on the call."""


class _Line:
    """The library's serial port, wrapped so that a call can be abandoned.

    pyfingerprint reads one byte at a time and, when a read times out, appends the empty
    result to the packet it is assembling. A short per-byte timeout on its own would
    therefore garble every answer slower than that timeout (taking an image takes about
    0.4 s). Here the short timeout only bounds how long the I/O thread sleeps before
    checking whether its caller gave up; the library only ever sees real bytes.
    """

    def __init__(self, port: Any) -> None:
        self._port = port
        self._lock = threading.Lock()  # close() vs. wake() from the watchdog
        self._abandoned = threading.Event()

    def begin(self, abandoned: threading.Event) -> None:
        """Bind the line to the call about to run (each call has its own event)."""
        self._abandoned = abandoned

    # -- the three methods pyfingerprint calls on its port
    def read(self, size: int = 1) -> bytes:
        while not self._abandoned.is_set():
            data: bytes = self._port.read(size)
            if data:
                return data
        self.close()
        raise _Abandoned

    def write(self, data: bytes) -> int:
        if self._abandoned.is_set():
            self.close()
            raise _Abandoned
        written: int = self._port.write(data)
        return written

    def isOpen(self) -> bool:
        return bool(self._port.is_open)

    # -- ours
    def close(self) -> None:
        with self._lock, contextlib.suppress(Exception):
            self._port.close()

    def flush_input(self) -> None:
        """Drop stale bytes: the protocol is strictly request/answer, so anything waiting
        before a command is a late answer or line noise."""
        self._port.reset_input_buffer()

    def wake(self) -> None:
        """Interrupt a blocked read or write (pyserial's abort pipes). Any thread."""
        with self._lock, contextlib.suppress(Exception):
            if self._port.is_open:
                self._port.cancel_read()
                self._port.cancel_write()


@dataclass
class _Session:
    """One open port: the library object and the line it talks through."""

    fp: Any  # PyFingerprint (untyped)
    line: _Line


class ZfmSensor:
    """``FingerprintSensor`` for ZFM-20 / R305 / R307 modules on a serial port."""

    def __init__(
        self, port: str, *, baudrate: int = 57600, password: int = 0, call_budget: float = 3.0
    ) -> None:
        if baudrate % 9600 or not 9600 <= baudrate <= 115200:
            raise ValueError(f"baudrate {baudrate} is not a multiple of 9600 up to 115200")
        if not 0 <= password <= 0xFFFFFFFF:
            raise ValueError("password must fit in 32 bits")
        if call_budget <= 0:
            raise ValueError("call_budget must be positive")
        self._port = port
        self._baudrate = baudrate
        self._password = password
        self._budget = call_budget
        self._lock = threading.Lock()  # one call at a time, state changes with it
        self._state = DeviceState.CLOSED
        self._executor: cf.ThreadPoolExecutor | None = None
        self._session: _Session | None = None  # replaced on the I/O thread only
        self._reopen = True

    @property
    def state(self) -> DeviceState:
        return self._state

    def open(self) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = cf.ThreadPoolExecutor(1, thread_name_prefix="sensor-io")
            self._reopen = True
            self._call_locked("open", lambda fp: None)
        log.info("fingerprint sensor open on %s", self._port)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            self._state = DeviceState.CLOSED
            if executor is None:
                return
            closing = executor.submit(self._close_io)
            if not cf.wait([closing], timeout=self._budget).done:
                session = self._session  # I/O thread wedged: take the port from under it
                if session is not None:
                    session.line.close()
            executor.shutdown(wait=False)
        log.info("fingerprint sensor closed")

    # ------------------------------------------------------------ FingerprintSensor

    def info(self) -> SensorInfo:
        def op(fp: Any) -> SensorInfo:
            params = fp.getSystemParameters()
            count = int(fp.getTemplateCount())
            code = int(params[5])
            if not 0 <= code < len(_PACKET_SIZES):
                raise SensorProtocolError(f"unknown packet size code {code}")
            return SensorInfo(
                capacity=int(params[2]),
                security_level=int(params[3]),
                template_count=count,
                packet_size=_PACKET_SIZES[code],
            )

        return self._call("info", op)

    def finger_present(self) -> bool:
        return self._call("read image", lambda fp: bool(fp.readImage()))

    def identify(self) -> Match | None:
        def op(fp: Any) -> Match | None:
            fp.convertImage(1)
            position, score = fp.searchTemplate()
            return None if position < 0 else Match(position=int(position), score=int(score))

        return self._call("identify", op)

    def capture_characteristics(self, buffer: int) -> None:
        _check_buffer(buffer)
        self._call("convert image", lambda fp: fp.convertImage(buffer))

    def compare_characteristics(self) -> int:
        return self._call("compare", lambda fp: int(fp.compareCharacteristics()))

    def create_template(self) -> bool:
        return self._call("create template", lambda fp: bool(fp.createTemplate()))

    def store_template(self, position: int) -> None:
        _check_position(position)
        self._call("store template", lambda fp: fp.storeTemplate(position, 1))

    def download_characteristics(self, buffer: int = 1) -> bytes:
        _check_buffer(buffer)
        return self._call("download", lambda fp: bytes(fp.downloadCharacteristics(buffer)))

    def upload_characteristics(self, data: bytes, buffer: int = 1) -> None:
        _check_buffer(buffer)
        if not data:
            raise ValueError("no characteristics to upload")

        def op(fp: Any) -> None:
            # The library reads the buffer back and compares; a difference means the
            # bytes were damaged on the way and the sensor holds something else.
            if not fp.uploadCharacteristics(buffer, list(data)):
                raise SensorProtocolError("characteristics read back differ from the upload")

        self._call("upload", op)

    def load_template(self, position: int, buffer: int = 1) -> None:
        _check_position(position)
        _check_buffer(buffer)
        self._call("load template", lambda fp: fp.loadTemplate(position, buffer))

    def delete_template(self, position: int) -> None:
        _check_position(position)

        def op(fp: Any) -> None:
            if not fp.deleteTemplate(position):
                raise SensorRefused(f"could not delete template {position}", code=0x10)

        self._call("delete template", op)

    def template_positions(self) -> list[int]:
        def op(fp: Any) -> list[int]:
            capacity = int(fp.getStorageCapacity())
            positions: list[int] = []
            for page in range(min(4, (capacity + _PAGE - 1) // _PAGE)):
                used = fp.getTemplateIndex(page)
                base = page * _PAGE
                positions += [base + i for i, u in enumerate(used) if u and base + i < capacity]
            return positions

        return self._call("template index", op)

    # ------------------------------------------------------------ calling, caller side

    def _call(self, what: str, op: Callable[[Any], T]) -> T:
        with self._lock:
            if self._executor is None:
                raise SensorError("not open")
            return self._call_locked(what, op)

    def _call_locked(self, what: str, op: Callable[[Any], T]) -> T:
        assert self._executor is not None
        abandoned = threading.Event()
        self._state = DeviceState.BUSY
        future = self._executor.submit(self._run_io, op, self._reopen, abandoned)
        if not cf.wait([future], timeout=self._budget).done:
            self._abandon(future, abandoned)
            raise self._failed(what, SensorTimeout(f"no answer within {self._budget:g} s"))
        exc = future.exception()
        if exc is not None:
            error = _translate(exc)
            raise self._failed(what, error) from (None if error is exc else exc)
        self._state = DeviceState.READY
        self._reopen = False
        return future.result()

    def _abandon(self, future: cf.Future[Any], abandoned: threading.Event) -> None:
        abandoned.set()
        session = self._session
        if session is not None:
            session.line.wake()  # the I/O thread sees `abandoned`, closes its port, exits
        if not cf.wait([future], timeout=_GRACE).done:
            # Stuck in a system call that ignores the abort pipes: close the port under it.
            for stuck in (session, self._session):  # the job may have opened a new one
                if stuck is not None:
                    stuck.line.close()
            log.error("sensor I/O thread still busy %.1f s after its call was abandoned", _GRACE)

    def _failed(self, what: str, error: SensorError) -> SensorError:
        """Record what a failure says about the link; return the error to raise."""
        local = isinstance(error, PoorImage) or (
            isinstance(error, SensorRefused) and error.code not in _SESSION_CODES
        )
        if local:  # the sensor answered properly: the link is fine
            self._state = DeviceState.READY
            self._reopen = False
            log.info("%s: %s", what, error)
            return error
        if isinstance(error, SensorTimeout):
            self._state = DeviceState.SILENT
        elif isinstance(error, SensorDisconnected):
            self._state = DeviceState.DISCONNECTED
        else:
            self._state = DeviceState.FAULT
        self._reopen = True
        log.warning("%s failed: %s", what, error)
        return error

    # ------------------------------------------------------------ calling, I/O thread

    def _run_io(self, op: Callable[[Any], T], reopen: bool, abandoned: threading.Event) -> T:
        if reopen or self._session is None:
            self._open_io(abandoned)
            assert self._session is not None
        else:
            self._session.line.begin(abandoned)
            self._session.line.flush_input()
        return op(self._session.fp)

    def _open_io(self, abandoned: threading.Event) -> None:
        self._close_io()
        fp = PyFingerprint(self._port, self._baudrate, _ADDRESS, self._password)
        port = getattr(fp, _SERIAL_ATTR)
        port.timeout = _BYTE_TIMEOUT
        port.write_timeout = self._budget
        line = _Line(port)
        line.begin(abandoned)
        setattr(fp, _SERIAL_ATTR, line)
        self._session = _Session(fp, line)
        if not fp.verifyPassword():
            self._close_io()
            raise SensorRefused("wrong sensor password", code=_WRONG_PASSWORD)

    def _close_io(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.line.close()


def _check_buffer(buffer: int) -> None:
    if buffer not in (1, 2):
        raise ValueError(f"char buffer must be 1 or 2, not {buffer}")


def _check_position(position: int) -> None:
    if position < 0:
        raise ValueError(f"template position must not be negative: {position}")


def _translate(exc: BaseException) -> SensorError:
    """Turn whatever pyfingerprint or pyserial raised into a typed SensorError."""
    if isinstance(exc, SensorError):
        return exc
    if isinstance(exc, _Abandoned | serial.SerialTimeoutException):
        return SensorTimeout("no answer in time")
    if isinstance(exc, serial.SerialException | OSError | termios.error):
        return SensorDisconnected(f"port error: {exc}")
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ValueError):  # the library checks positions against the capacity
        return SensorRefused(f"rejected: {text}", code=0x0B)
    if isinstance(exc, IndexError | TypeError | struct.error):  # answer too short to parse
        return SensorProtocolError(f"malformed answer ({type(exc).__name__})")
    low = text.lower()
    if any(s in low for s in _POOR):
        if "messy" in low:
            return PoorImage(text, ImageProblem.MESSY)
        if "few feature" in low:
            return PoorImage(text, ImageProblem.FEW_FEATURES)
        return PoorImage(text)
    if any(s in low for s in _GARBLED):
        return SensorProtocolError(text)
    if any(s in low for s in _REFUSED):
        code = re.search(r"0x([0-9a-f]+)", low)
        return SensorRefused(text, code=int(code.group(1), 16) if code else 0)
    return SensorError(text[:120])
