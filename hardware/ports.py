"""Device ports: what the kiosk needs from each device, independent of the driver.

Drivers (``hardware.sensor.driver``, ``hardware.controller.driver``) implement these
Protocols against real wire protocols; emulators (``hardware.emulators``) speak the same
wire protocols on a pty so the drivers never know which they talk to.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# ---------------------------------------------------------------- states and values


class DeviceState(enum.Enum):
    """Connection state of one device, as its driver sees it."""

    CLOSED = "closed"
    READY = "ready"
    BUSY = "busy"
    FAULT = "fault"  # answered, but wrongly (bad frames, wrong password, ...)
    SILENT = "silent"  # did not answer within its time budget
    DISCONNECTED = "disconnected"  # the port itself is gone


class LaneState(enum.IntEnum):
    READY = 0
    JAMMED = 1
    EMPTY = 2
    MOTOR_FAULT = 3


class VendAckResult(enum.IntEnum):
    ACCEPTED = 0
    BUSY = 1
    BAD_LANE = 2
    LANE_NOT_READY = 3
    DOOR_OPEN = 4
    DUPLICATE = 5


class VendQueryState(enum.IntEnum):
    UNKNOWN = 0
    RUNNING = 1
    FINISHED = 2


class VendOutcome(enum.IntEnum):
    NONE = 0  # still running
    COMPLETE = 1
    JAM = 2
    LANE_EMPTY = 3
    MOTOR_FAULT = 4
    ABORTED = 5


class ProtocolVersion(enum.IntEnum):
    """The ``proto`` a controller reports in PONG (its firmware generation)."""

    V1 = 1  # firmware 1.0: a repeated SEQ alone replays the last reply
    V1_1 = 2  # firmware 1.1: repeats are whole frames; VEND_LOG


@dataclass(frozen=True)
class ControllerInfo:
    proto: int
    lanes: int
    firmware: str


@dataclass(frozen=True)
class ControllerStatus:
    door_open: bool
    tamper: bool
    lanes: tuple[LaneState, ...]  # index 0 is lane 1


@dataclass(frozen=True)
class VendState:
    vend_id: int
    state: VendQueryState
    dropped: int
    outcome: VendOutcome


@dataclass(frozen=True)
class VendRecord:
    """One vend as the controller's non-volatile log keeps it (VEND_LOG, protocol 1.1).

    ``lane`` and ``units`` (asked) are None for a record the controller kept without them
    (written by firmware 1.0 before an upgrade). ``outcome`` is NONE while it runs.
    """

    vend_id: int
    lane: int | None
    units: int | None
    dropped: int
    outcome: VendOutcome

    @property
    def running(self) -> bool:
        return self.outcome is VendOutcome.NONE


# Controller events (unsolicited frames, SEQ 0).


@dataclass(frozen=True)
class UnitDropped:
    vend_id: int
    index: int


@dataclass(frozen=True)
class VendDone:
    vend_id: int
    dropped: int
    outcome: VendOutcome


@dataclass(frozen=True)
class DoorChanged:
    door_open: bool


@dataclass(frozen=True)
class TamperChanged:
    tripped: bool


@dataclass(frozen=True)
class ControllerBooted:
    firmware: str


ControllerEvent = UnitDropped | VendDone | DoorChanged | TamperChanged | ControllerBooted
EventHandler = Callable[[ControllerEvent], None]


@dataclass(frozen=True)
class SensorInfo:
    capacity: int
    security_level: int
    template_count: int
    packet_size: int


@dataclass(frozen=True)
class Match:
    position: int
    score: int


# ---------------------------------------------------------------- errors


class DeviceError(Exception):
    """Base of every typed device failure. ``device`` names it for one-line messages."""

    device = "device"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.device}: {self.message}"


class DeviceTimeout(DeviceError):
    """The device did not answer within its time budget (silent)."""


class DeviceDisconnected(DeviceError):
    """The port could not be opened or vanished (USB adapter unplugged)."""


class ProtocolError(DeviceError):
    """The device answered with something that is not a valid answer."""


class DeviceRefused(DeviceError):
    """The device understood and refused (NAK, wrong password, ...)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class SensorError(DeviceError):
    device = "fingerprint sensor"


class SensorTimeout(SensorError, DeviceTimeout):
    pass


class SensorDisconnected(SensorError, DeviceDisconnected):
    pass


class SensorProtocolError(SensorError, ProtocolError):
    pass


class SensorRefused(SensorError, DeviceRefused):
    pass


class ImageProblem(enum.Enum):
    """Why an image could not be turned into characteristics (the ZFM's convert answers)."""

    FEW_FEATURES = "few_features"  # 0x07: too little of the finger on the glass
    MESSY = "messy"  # 0x06: smudged, wet or moving
    UNREADABLE = "unreadable"  # no valid image at all


class PoorImage(SensorError):
    """The image could not be turned into characteristics (messy, too few points)."""

    def __init__(self, message: str, problem: ImageProblem = ImageProblem.UNREADABLE) -> None:
        super().__init__(message)
        self.problem = problem


class ControllerError(DeviceError):
    device = "dispenser controller"


class ControllerTimeout(ControllerError, DeviceTimeout):
    pass


class ControllerDisconnected(ControllerError, DeviceDisconnected):
    pass


class ControllerProtocolError(ControllerError, ProtocolError):
    pass


class ControllerRefused(ControllerError, DeviceRefused):
    pass


class ControllerUnsupported(ControllerError):
    """The controller's firmware does not have this command (VEND_LOG before 1.1)."""


# ---------------------------------------------------------------- ports


@runtime_checkable
class FingerprintSensor(Protocol):
    """A ZFM/R30x-style sensor that stores templates and does the 1:N search itself."""

    @property
    def state(self) -> DeviceState: ...

    def open(self) -> None:
        """Open the port and verify the sensor password. Raises SensorError."""

    def close(self) -> None: ...

    def info(self) -> SensorInfo: ...

    def finger_present(self) -> bool:
        """Take an image; True when a finger was on the glass (image kept in the sensor)."""

    def identify(self) -> Match | None:
        """Convert the last image and search the sensor's library. Raises PoorImage."""

    def capture_characteristics(self, buffer: int) -> None:
        """Convert the last image into char buffer 1 or 2 (enrollment)."""

    def compare_characteristics(self) -> int:
        """How well the characteristics in buffers 1 and 2 agree (the ZFM's match score,
        0 when they do not match at all)."""
        ...

    def create_template(self) -> bool:
        """Merge char buffers 1 and 2; False when the two captures do not match."""

    def store_template(self, position: int) -> None: ...

    def download_characteristics(self, buffer: int = 1) -> bytes:
        """Read the characteristics out of a char buffer (to keep them in the store)."""

    def upload_characteristics(self, data: bytes, buffer: int = 1) -> None: ...

    def load_template(self, position: int, buffer: int = 1) -> None: ...

    def delete_template(self, position: int) -> None: ...

    def template_positions(self) -> list[int]: ...


@runtime_checkable
class DispenserController(Protocol):
    """The motor board speaking controller-protocol v1, with the 1.1 additions."""

    @property
    def state(self) -> DeviceState: ...

    @property
    def protocol_version(self) -> ProtocolVersion | None:
        """What the last PONG said; None until a PING was answered since ``open()``."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def set_event_handler(self, handler: EventHandler | None) -> None:
        """Called on the driver's reader thread for every event frame."""

    def ping(self) -> ControllerInfo: ...

    def status(self) -> ControllerStatus: ...

    def vend(self, vend_id: int, lane: int, units: int) -> VendAckResult: ...

    def vend_query(self, vend_id: int) -> VendState: ...

    def door_unlock(self, seconds: int) -> None: ...

    def lane_reset(self, lane: int) -> None: ...

    def vend_log(self, index: int) -> VendRecord | None:
        """The controller's record ``index`` (0 = newest); None past the last one.
        Raises ``ControllerUnsupported`` on firmware before 1.1."""

    def vend_log_all(self) -> list[VendRecord]:
        """Every record the controller holds (up to 32), newest first, read as one
        consistent snapshot. Raises ``ControllerUnsupported`` on firmware before 1.1."""
