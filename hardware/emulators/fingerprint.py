"""A ZFM-20 / R307 fingerprint sensor on a pty, answering the packets pyfingerprint sends.

Wire format (both ways): ``EF 01`` start, 4-byte module address, packet type (01 command,
02 data, 07 ack, 08 end of data), 2-byte length (payload + checksum), payload, 2-byte
checksum = sum of type, length bytes and payload. Every command gets one ack whose first
payload byte is a confirmation code; downloads follow the ack with data packets of the
configured packet size and a final end-data packet; uploads send data packets after an OK.

A "finger" is a key such as ``"participant-17/right-index"``; a good capture of it always
converts to ``characteristics_for(key)``, so repeated captures match exactly and a test
can predict what the sensor stores. ``python -m hardware.emulators.fingerprint`` runs one
by hand or from a test harness, driven by one-line commands on stdin (see ``main``).

``unplug()``/``replug()`` pull and reinsert the USB serial adapter: the pty (and the stable
link, if one was given) goes away and comes back on a new pty; the sensor keeps its state,
its template library above all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import select
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

from hardware.emulators.console import serve_console
from hardware.emulators.pty_port import close_pty, open_pty_pair, point_link, remove_link

# "partial": the image converts, but from the edge of the finger: its characteristics agree
# with a full press of the same finger only weakly (a low compare score, as a real ZFM gives).
Quality = Literal["good", "poor", "messy", "partial"]
PARTIAL_SCORE = 25  # what 0x03 answers for a partial press against a full one

CHAR_SIZE = 512  # one characteristics file / template
IMAGE_SIZE = 256 * 288 // 2  # 4 bits per pixel
PACKET_SIZES = (32, 64, 128, 256)  # by the packet-size code in the system parameters
DATASHEET_IMAGE_SECONDS = 0.4
DATASHEET_SEARCH_SECONDS = 0.3

START = b"\xef\x01"
COMMAND, DATA, ACK, END_DATA = 0x01, 0x02, 0x07, 0x08

# Confirmation codes (ZFM-20 user manual, table of confirmation codes).
OK = 0x00
ERR_RECEIVE = 0x01
NO_FINGER = 0x02
MESSY_IMAGE = 0x06
FEW_FEATURES = 0x07
NOT_MATCHING = 0x08
NOT_FOUND = 0x09
MERGE_FAILED = 0x0A
BAD_POSITION = 0x0B
LOAD_FAILED = 0x0C
DELETE_FAILED = 0x10
WRONG_PASSWORD = 0x13
INVALID_IMAGE = 0x15
BAD_REGISTER = 0x1A
VERIFY_FIRST = 0x21

_MAX_LENGTH = 2 + 256 + 64  # anything longer is line noise, not a packet: resync


def new_finger(number: int) -> str:
    """The key of the ``number``-th finger nobody has enrolled yet (a demo enrolling one
    person's two fingers, or two people, needs fingers that differ)."""
    if number < 1:
        raise ValueError(f"new finger numbers start at 1, not {number}")
    return f"new-finger/{number}"


def characteristics_for(key: str) -> bytes:
    """The 512-byte characteristics every good capture of finger ``key`` converts to."""
    return hashlib.shake_256(f"zfm-characteristics:{key}".encode()).digest(CHAR_SIZE)


def encode_packet(packet_type: int, payload: bytes, address: int = 0xFFFFFFFF) -> bytes:
    """One packet as it travels on the wire."""
    length = len(payload) + 2
    checksum = (packet_type + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF
    head = START + address.to_bytes(4, "big") + bytes([packet_type]) + length.to_bytes(2, "big")
    return head + payload + checksum.to_bytes(2, "big")


@dataclass(frozen=True)
class Packet:
    address: int
    type: int
    payload: bytes
    checksum_ok: bool


class PacketParser:
    """Splits a byte stream into packets, skipping noise until the next start code."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def clear(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[Packet]:
        self._buf += data
        packets: list[Packet] = []
        while True:
            start = self._buf.find(START)
            if start < 0:
                # Keep a trailing 0xEF: it may be the first half of a start code.
                del self._buf[: -1 if self._buf.endswith(START[:1]) else len(self._buf)]
                return packets
            del self._buf[:start]
            if len(self._buf) < 9:
                return packets
            length = int.from_bytes(self._buf[7:9], "big")
            if not 2 <= length <= _MAX_LENGTH:
                del self._buf[:1]
                continue
            if len(self._buf) < 9 + length:
                return packets
            raw = bytes(self._buf[: 9 + length])
            del self._buf[: 9 + length]
            payload = raw[9:-2]
            expected = (raw[6] + raw[7] + raw[8] + sum(payload)) & 0xFFFF
            ok = expected == int.from_bytes(raw[-2:], "big")
            packets.append(Packet(int.from_bytes(raw[2:6], "big"), raw[6], payload, ok))


@dataclass(frozen=True)
class _Finger:
    key: str
    quality: Quality


@dataclass(frozen=True)
class _Reply:
    code: int
    data: bytes = b""
    delay: float = 0.0
    follow: bytes | None = None  # data packets after the ack (downloads)


class FingerprintEmulator:
    """The sensor: a template library, two char buffers, an image buffer and a glass.

    Thread-safe control API for tests; one thread serves the pty while plugged in. Usable
    as a context manager (start/stop); start/stop/start works.
    """

    def __init__(
        self,
        *,
        capacity: int = 300,
        password: int = 0,
        image_seconds: float = 0.0,
        search_seconds: float = 0.0,
        link_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if not 1 <= capacity <= 4 * 256:  # the template index has four 256-bit pages
            raise ValueError(f"capacity {capacity} outside 1..1024")
        self.image_seconds = image_seconds
        self.search_seconds = search_seconds
        self._capacity = capacity
        self._password = password
        self._verified = False
        self._address = 0xFFFFFFFF
        self._security_level = 3
        self._packet_code = 2  # 128-byte data packets, the ZFM-20 default
        self._baud_code = 6  # 6 x 9600 = 57600
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # inject(now=True) vs. the serving thread
        self._plug_lock = threading.Lock()  # start, stop, unplug, replug
        self._templates: dict[int, bytes] = {}
        self._names: dict[bytes, str] = {}
        self._finger_of: dict[bytes, bytes] = {}  # a partial press's blob -> the full one's
        self._buffers = {1: bytes(CHAR_SIZE), 2: bytes(CHAR_SIZE)}
        self._finger: _Finger | None = None
        self._empty_reads = 0
        self._image: _Finger | None = None
        self._silent = False
        self._noise = b""
        self._receiving: int | None = None  # char buffer an upload is filling
        self._incoming = bytearray()
        self._commands: dict[int, Callable[[bytes], _Reply]] = {
            0x01: self._read_image,
            0x02: self._convert_image,
            0x03: self._compare,
            0x04: self._search,
            0x05: self._create_template,
            0x06: self._store,
            0x07: self._load,
            0x08: self._download_characteristics,
            0x09: self._upload_characteristics,
            0x0A: self._download_image,
            0x0C: self._delete,
            0x0D: self._clear,
            0x0E: self._set_parameter,
            0x0F: self._system_parameters,
            0x12: self._set_password,
            0x13: self._verify_password,
            0x14: self._random,
            0x15: self._set_address,
            0x1D: self._template_count,
            0x1F: self._template_index,
        }
        self._link = Path(link_path) if link_path is not None else None
        self._started = False
        self._master: int | None = None  # None while unplugged (or not started)
        self._port: str | None = None  # the pty slave, kept after unplug for messages
        self._wake: tuple[int, int] | None = None  # pipe that wakes the serving thread
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> str:
        """The path a driver opens: the link path when one was given (valid at any time;
        it exists only while plugged in), else the pty slave, e.g. ``/dev/pts/7`` (valid
        after ``start()``)."""
        if self._link is not None:
            return str(self._link)
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def plugged(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Plug the sensor in and serve. Does nothing when running; after ``stop()`` it
        starts again on a new pty, with the library and settings it had."""
        with self._plug_lock:
            if not self._started:
                self._plug()
                self._started = True

    def stop(self) -> None:
        """Stop serving and close the pty: the driver's port vanishes (and the link, if
        any). Idempotent."""
        with self._plug_lock:
            self._started = False
            self._unplug()

    def unplug(self) -> None:
        """The USB serial adapter is pulled: the link vanishes and the pty closes. The
        sensor keeps everything (library, password, parameters, finger on the glass)."""
        with self._plug_lock:
            if not self._started:
                raise RuntimeError("emulator not started")
            self._unplug()

    def replug(self) -> None:
        """The adapter is plugged back: a new pty, the link pointed at it, serving resumes
        with a fresh receive state. Does nothing when already plugged in."""
        with self._plug_lock:
            if not self._started:
                raise RuntimeError("emulator not started")
            if self._thread is None:
                self._plug()

    def _plug(self) -> None:
        master, path = open_pty_pair()
        try:
            os.set_blocking(master, False)
            if self._link is not None:
                point_link(self._link, path)
        except BaseException:
            close_pty(master)
            raise
        wake_r, wake_w = os.pipe()
        stopping = threading.Event()
        with self._write_lock:
            self._master, self._port, self._stopping = master, path, stopping
        self._wake = (wake_r, wake_w)
        self._receiving, self._incoming = None, bytearray()  # no thread serves right now
        self._thread = threading.Thread(
            target=self._serve, args=(master, wake_r, stopping), name="fingerprint-emulator"
        )
        self._thread.daemon = True
        self._thread.start()

    def _unplug(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return  # not plugged in: in particular, a link we did not make is left alone
        if self._link is not None:  # the stable name first, as in the controller emulator
            remove_link(self._link)
        self._stopping.set()
        assert self._wake is not None
        wake_r, wake_w = self._wake
        self._wake = None
        os.write(wake_w, b"x")
        thread.join(timeout=5)
        with self._write_lock:
            master, self._master = self._master, None
            if master is not None:
                close_pty(master)
        os.close(wake_r)
        os.close(wake_w)

    def __enter__(self) -> FingerprintEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ control API

    def place_finger(self, key: str, quality: Quality = "good") -> None:
        """Put a finger on the glass; "poor" converts with 0x07, "messy" with 0x06,
        "partial" converts to characteristics that agree only weakly with a full press."""
        if quality not in get_args(Quality):
            raise ValueError(f"unknown quality {quality!r}")
        with self._lock:
            self._finger = _Finger(key, quality)
            self._names[characteristics_for(key)] = key

    @property
    def empty_reads(self) -> int:
        """How many images found no finger: tests wait for the host to notice a lift."""
        with self._lock:
            return self._empty_reads

    def lift_finger(self) -> None:
        with self._lock:
            self._finger = None

    def enroll(self, key: str, position: int) -> None:
        """Preload the library as if ``key`` had been enrolled at ``position``."""
        if not 0 <= position < self._capacity:
            raise ValueError(f"position {position} outside 0..{self._capacity - 1}")
        blob = characteristics_for(key)
        with self._lock:
            self._templates[position] = blob
            self._names[blob] = key

    def library(self) -> dict[int, str | bytes]:
        """Stored templates: position -> finger key when known, else the raw blob."""
        with self._lock:
            return {pos: self._names.get(blob, blob) for pos, blob in self._templates.items()}

    def set_silent(self, silent: bool) -> None:
        """A dead sensor: input is read and dropped, nothing is ever answered."""
        with self._lock:
            self._silent = silent

    def inject(self, data: bytes, *, now: bool = False) -> None:
        """Line noise: ``data`` goes on the wire just ahead of the next reply (mid-exchange,
        where a driver cannot flush it away), or at once with ``now=True``."""
        if now:
            self._write(data)
            return
        with self._lock:
            self._noise += data

    # ------------------------------------------------------------ serving

    def _serve(self, master: int, wake_r: int, stopping: threading.Event) -> None:
        parser = PacketParser()  # each plug-in starts from a clean receive state
        while not stopping.is_set():
            ready, _, _ = select.select([master, wake_r], [], [])
            if wake_r in ready:
                return
            try:
                chunk = os.read(master, 4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # EIO: nobody holds the slave; pty_port prevents it, but wait
                stopping.wait(0.05)
                continue
            with self._lock:
                silent = self._silent
            if silent:
                parser.clear()  # a revived sensor starts from a clean receive state
                continue
            for packet in parser.feed(chunk):
                self._handle(packet, stopping)

    def _handle(self, packet: Packet, stopping: threading.Event) -> None:
        if packet.address != self._address:
            return  # a packet for another module on the bus: a real one stays quiet
        if packet.type in (DATA, END_DATA):
            self._take_data(packet)
            return
        if packet.type != COMMAND:
            return
        self._receiving = None
        with self._lock:
            if not packet.checksum_ok or not packet.payload:
                reply = _Reply(ERR_RECEIVE)
            else:
                reply = self._execute(packet.payload[0], packet.payload[1:])
        if reply.delay > 0 and stopping.wait(reply.delay):
            return
        self._send(reply)

    def _take_data(self, packet: Packet) -> None:
        if self._receiving is None:
            return  # stray data packet
        self._incoming += packet.payload
        if packet.type == END_DATA:
            data = bytes(self._incoming[:CHAR_SIZE]).ljust(CHAR_SIZE, b"\0")
            with self._lock:
                self._buffers[self._receiving] = data
            self._receiving = None
            self._incoming = bytearray()

    def _send(self, reply: _Reply) -> None:
        with self._lock:
            if self._silent:
                return
            out, self._noise = self._noise, b""
            address, size = self._address, PACKET_SIZES[self._packet_code]
        out += encode_packet(ACK, bytes([reply.code]) + reply.data, address)
        if reply.follow is not None:
            chunks = [reply.follow[i : i + size] for i in range(0, len(reply.follow), size)]
            for i, chunk in enumerate(chunks):
                kind = END_DATA if i == len(chunks) - 1 else DATA
                out += encode_packet(kind, chunk, address)
        self._write(out)

    def _write(self, data: bytes) -> None:
        # Non-blocking master: a driver that stopped reading must not wedge the emulator.
        # Like a UART with nobody listening, drop what cannot be sent within 2 s.
        deadline = time.monotonic() + 2.0
        with self._write_lock:
            master, stopping = self._master, self._stopping
            while data and master is not None and not stopping.is_set():
                if time.monotonic() >= deadline:
                    return
                try:
                    data = data[os.write(master, data) :]
                except BlockingIOError:
                    select.select([], [master], [], 0.1)
                except OSError:
                    return

    def _execute(self, instruction: int, args: bytes) -> _Reply:
        handler = self._commands.get(instruction)
        if handler is None:
            return _Reply(ERR_RECEIVE)
        if self._password != 0 and not self._verified and instruction != 0x13:
            return _Reply(VERIFY_FIRST)
        try:
            return handler(args)
        except (IndexError, ValueError, struct.error):
            return _Reply(ERR_RECEIVE)  # short or malformed arguments

    # ------------------------------------------------------------ commands (lock held)

    def _char_buffer(self, number: int) -> int:
        if number not in (1, 2):
            raise ValueError(number)
        return number

    def _verify_password(self, args: bytes) -> _Reply:
        if struct.unpack_from(">I", args)[0] != self._password:
            return _Reply(WRONG_PASSWORD)
        self._verified = True
        return _Reply(OK)

    def _set_password(self, args: bytes) -> _Reply:
        self._password = struct.unpack_from(">I", args)[0]
        return _Reply(OK)

    def _set_address(self, args: bytes) -> _Reply:
        self._address = struct.unpack_from(">I", args)[0]
        return _Reply(OK)

    def _system_parameters(self, args: bytes) -> _Reply:
        status = (0x04 if self._verified else 0) | (0x08 if self._image is not None else 0)
        data = struct.pack(
            ">HHHHIHH",
            status,
            0x0009,  # system identifier code, a constant in the manual
            self._capacity,
            self._security_level,
            self._address,
            self._packet_code,
            self._baud_code,
        )
        return _Reply(OK, data)

    def _set_parameter(self, args: bytes) -> _Reply:
        register, value = args[0], args[1]
        if register == 4 and 1 <= value <= 12:
            self._baud_code = value
        elif register == 5 and 1 <= value <= 5:
            self._security_level = value
        elif register == 6 and 0 <= value <= 3:
            self._packet_code = value
        else:
            return _Reply(BAD_REGISTER)
        return _Reply(OK)

    def _template_count(self, args: bytes) -> _Reply:
        return _Reply(OK, len(self._templates).to_bytes(2, "big"))

    def _template_index(self, args: bytes) -> _Reply:
        page = args[0]
        if page > 3:
            return _Reply(ERR_RECEIVE)
        bitmap = bytearray(32)
        for position in self._templates:
            offset = position - page * 256
            if 0 <= offset < 256:
                bitmap[offset // 8] |= 1 << (offset % 8)  # LSB first, as the manual says
        return _Reply(OK, bytes(bitmap))

    def _read_image(self, args: bytes) -> _Reply:
        self._image = self._finger
        if self._finger is None:
            self._empty_reads += 1
            return _Reply(NO_FINGER)
        return _Reply(OK, delay=self.image_seconds)

    def _convert_image(self, args: bytes) -> _Reply:
        buffer = self._char_buffer(args[0])
        if self._image is None:
            return _Reply(INVALID_IMAGE)
        if self._image.quality == "poor":
            return _Reply(FEW_FEATURES)
        if self._image.quality == "messy":
            return _Reply(MESSY_IMAGE)
        full = characteristics_for(self._image.key)
        if self._image.quality == "partial":
            blob = characteristics_for(f"{self._image.key}~partial")
            self._finger_of[blob] = full
            self._buffers[buffer] = blob
        else:
            self._buffers[buffer] = full
        return _Reply(OK)

    def _same_finger(self) -> bool:
        first, second = self._buffers[1], self._buffers[2]
        return self._finger_of.get(first, first) == self._finger_of.get(second, second)

    def _create_template(self, args: bytes) -> _Reply:
        if not self._same_finger():
            return _Reply(MERGE_FAILED)
        return _Reply(OK)  # the merged template lands in both buffers: unchanged here

    def _store(self, args: bytes) -> _Reply:
        buffer = self._char_buffer(args[0])
        position = struct.unpack_from(">H", args, 1)[0]
        if position >= self._capacity:
            return _Reply(BAD_POSITION)
        self._templates[position] = self._buffers[buffer]
        return _Reply(OK)

    def _load(self, args: bytes) -> _Reply:
        buffer = self._char_buffer(args[0])
        position = struct.unpack_from(">H", args, 1)[0]
        if position >= self._capacity:
            return _Reply(BAD_POSITION)
        if position not in self._templates:
            return _Reply(LOAD_FAILED)
        self._buffers[buffer] = self._templates[position]
        return _Reply(OK)

    def _delete(self, args: bytes) -> _Reply:
        position, count = struct.unpack_from(">HH", args)
        if position + count > self._capacity:
            return _Reply(DELETE_FAILED)
        for p in range(position, position + count):
            self._templates.pop(p, None)
        return _Reply(OK)

    def _clear(self, args: bytes) -> _Reply:
        self._templates.clear()
        return _Reply(OK)

    def _search(self, args: bytes) -> _Reply:
        wanted = self._buffers[self._char_buffer(args[0])]
        start, count = struct.unpack_from(">HH", args, 1)
        for position in sorted(self._templates):
            if start <= position < start + count and self._templates[position] == wanted:
                data = struct.pack(">HH", position, _score(wanted))
                return _Reply(OK, data, delay=self.search_seconds)
        return _Reply(NOT_FOUND, delay=self.search_seconds)

    def _compare(self, args: bytes) -> _Reply:
        if not self._same_finger():
            return _Reply(NOT_MATCHING)
        if self._buffers[1] != self._buffers[2]:  # a partial press of the same finger
            return _Reply(OK, PARTIAL_SCORE.to_bytes(2, "big"))
        return _Reply(OK, _score(self._buffers[1]).to_bytes(2, "big"))

    def _random(self, args: bytes) -> _Reply:
        return _Reply(OK, os.urandom(4))

    def _download_characteristics(self, args: bytes) -> _Reply:
        return _Reply(OK, follow=self._buffers[self._char_buffer(args[0])])

    def _upload_characteristics(self, args: bytes) -> _Reply:
        self._receiving = self._char_buffer(args[0])
        self._incoming = bytearray()
        return _Reply(OK)

    def _download_image(self, args: bytes) -> _Reply:
        if self._image is None:
            return _Reply(OK, follow=b"\xff" * IMAGE_SIZE)  # blank glass: all white
        image = hashlib.shake_256(f"zfm-image:{self._image.key}".encode()).digest(IMAGE_SIZE)
        return _Reply(OK, follow=image)


def _score(blob: bytes) -> int:
    """A plausible, deterministic match score (the ZFM reports roughly 50..300)."""
    return 60 + blob[0] % 200


_HELP = (
    "commands (one answer line each: ok, JSON, or error: ...): "
    "place KEY [good|poor|messy|partial] | lift | silent on|off | library | unplug | replug | quit"
)


def main(argv: list[str] | None = None) -> int:
    """Run an emulator until ``quit``, SIGTERM or ^C.

    stdout is for a harness: the first line is ``PORT <path>`` (the link path with
    ``--link``), then exactly one line per command read on stdin, flushed: ``ok``, the JSON
    of ``library`` (position -> finger key, or ``<N bytes>`` for an unknown blob), or
    ``error: ...``. Blank lines are ignored; the command list goes to stderr. When stdin
    closes (run in the background) it serves on until a signal.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enroll", action="append", default=[], metavar="KEY:POS")
    parser.add_argument("--capacity", type=int, default=300)
    parser.add_argument("--password", type=lambda s: int(s, 0), default=0)
    parser.add_argument("--image-seconds", type=float, default=DATASHEET_IMAGE_SECONDS)
    parser.add_argument("--search-seconds", type=float, default=DATASHEET_SEARCH_SECONDS)
    parser.add_argument("--link", default=None, help="stable symlink to the pty, as udev makes")
    args = parser.parse_args(argv)
    emulator = FingerprintEmulator(
        capacity=args.capacity,
        password=args.password,
        image_seconds=args.image_seconds,
        search_seconds=args.search_seconds,
        link_path=args.link,
    )
    for item in args.enroll:
        key, _, pos = item.rpartition(":")
        emulator.enroll(key, int(pos))
    return serve_console(emulator, lambda words: _console(emulator, words), _HELP)


def _console(emulator: FingerprintEmulator, words: list[str]) -> str:
    """Run one stdin command; return its one-line answer."""
    try:
        match words:
            case ["place", key]:
                emulator.place_finger(key)
            case ["place", key, quality]:
                emulator.place_finger(key, cast(Quality, quality))  # validated there
            case ["lift"]:
                emulator.lift_finger()
            case ["silent", flag] if flag in ("on", "off"):
                emulator.set_silent(flag == "on")
            case ["library"]:
                library = {
                    str(pos): who if isinstance(who, str) else f"<{len(who)} bytes>"
                    for pos, who in sorted(emulator.library().items())
                }
                return json.dumps(library, separators=(",", ":"))
            case ["unplug"]:
                emulator.unplug()
            case ["replug"]:
                emulator.replug()
            case ["quit"]:
                pass
            case _:
                return f"error: unknown command: {' '.join(words)}"
    except (ValueError, RuntimeError, OSError) as exc:
        return f"error: {exc}"
    return "ok"


if __name__ == "__main__":
    raise SystemExit(main())
