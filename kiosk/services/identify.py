"""Identify a participant from a finger on the sensor (the sensor does the 1:N search)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from hardware.ports import FingerprintSensor, PoorImage
from kiosk.domain.notices import Notice
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.identify")


@dataclass(frozen=True)
class Recognised:
    participant_id: int
    language: str | None
    notices: tuple[Notice, ...] = ()  # staff's notices still to show them (InteractionService)


@dataclass(frozen=True)
class Unrecognised:
    pass


@dataclass(frozen=True)
class BadImage:
    pass


ScanOutcome = Recognised | Unrecognised | BadImage


class IdentifyService:
    def __init__(self, store: Store, sensor: FingerprintSensor) -> None:
        self._store = store
        self._sensor = sensor
        # After a scan the same finger still rests on the glass: wait until it is lifted
        # so one touch is one interaction.
        self._awaiting_lift = False

    def scan(self, on_finger: Callable[[], None] | None = None) -> ScanOutcome | None:
        """One poll of the sensor. None when no (new) finger is there. Raises SensorError."""
        present = self._sensor.finger_present()
        if self._awaiting_lift:
            self._awaiting_lift = present
            return None
        if not present:
            return None
        self._awaiting_lift = True
        if on_finger is not None:
            on_finger()
        try:
            match = self._sensor.identify()
        except PoorImage:
            log.info("finger image too poor to identify")
            return BadImage()
        if match is None:
            log.info("finger not recognised")
            return Unrecognised()
        participant = self._store.participant_at_position(match.position)
        if participant is None or participant.status != "active":
            # A template on the sensor with no active participant in the store.
            log.warning("sensor position %d has no active participant", match.position)
            return Unrecognised()
        log.info("identified participant %d", participant.id)
        return Recognised(participant.id, participant.language)

    @property
    def awaiting_lift(self) -> bool:
        return self._awaiting_lift

    def require_lift(self) -> None:
        """A finger already on the glass is not read: it must be lifted and placed again.

        Used when the kiosk goes out of service: a finger left on the sensor through the
        outage is not a request made when the machine could serve (nobody is served by a
        touch they made while told the machine was down)."""
        self._awaiting_lift = True

    def forget_finger(self) -> None:
        """Accept the next touch even if the finger was not lifted (e.g. after idle)."""
        self._awaiting_lift = False
