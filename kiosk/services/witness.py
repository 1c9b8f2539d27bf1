"""Witnessing a dose: a nurse or pharmacist confirms with their own PIN (through the gate)."""

from __future__ import annotations

import logging

from kiosk.domain.permissions import Permission
from kiosk.services.clock import Clock
from kiosk.services.pin_gate import EntryPoint, PinGate, WrongPin
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.witness")


class WitnessService:
    def __init__(self, store: Store, clock: Clock, pins: PinGate | None = None) -> None:
        self._store = store
        self._clock = clock
        self._pins = pins or PinGate(store, clock)

    def verify(self, participant_id: int, pin: str) -> int | None:
        """The id of the nurse or pharmacist whose PIN this is, or None. Raises ``PinLocked``
        while the witness pad is locked. Every try is audited by the gate."""
        subject = f"participant:{participant_id}"
        try:
            holder = self._pins.check(
                EntryPoint.WITNESS, pin, Permission.WITNESS_DOSE, context=subject
            )
        except WrongPin:
            log.info("witness PIN refused for participant %d", participant_id)
            return None
        self._store.note(
            self._clock.now(), holder.actor, "witness.accepted", subject, {"role": holder.role}
        )
        log.info("dose for participant %d witnessed by staff %d", participant_id, holder.staff_id)
        return holder.staff_id

    def verify_requester(self, participant_id: int, pin: str) -> int | None:
        """The id of the staff member (any role) asking for a witness from afar, or None.
        Counted on the witness pad's lockout, like a witness's PIN."""
        subject = f"participant:{participant_id}"
        try:
            holder = self._pins.check(EntryPoint.WITNESS, pin, None, context=subject)
        except WrongPin:
            log.info("remote witness request PIN refused for participant %d", participant_id)
            return None
        return holder.staff_id
