"""Witnessing a dose: a nurse or pharmacist confirms with their own PIN (audited)."""

from __future__ import annotations

import logging

from kiosk.domain.permissions import Permission, roles_with
from kiosk.services.clock import Clock
from kiosk.store.pins import verify_pin
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.witness")

WITNESS_ROLES = roles_with(Permission.WITNESS_DOSE)


class WitnessService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def verify(self, participant_id: int, pin: str) -> int | None:
        """The id of the nurse or pharmacist whose PIN this is, or None. Every try audited."""
        subject = f"participant:{participant_id}"
        if pin.isdigit():
            for staff_id, role, pin_hash in self._store.staff_with_roles(WITNESS_ROLES):
                if verify_pin(pin, pin_hash):
                    self._store.note(
                        self._clock.now(),
                        f"staff:{staff_id}",
                        "witness.accepted",
                        subject,
                        {"role": role},
                    )
                    log.info(
                        "dose for participant %d witnessed by staff %d", participant_id, staff_id
                    )
                    return staff_id
        self._store.note(self._clock.now(), "unknown", "witness.refused", subject)
        log.warning("witness PIN refused for participant %d", participant_id)
        return None
