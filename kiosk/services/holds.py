"""Releasing a prescription from a hold: the right role, a reason, an audit entry."""

from __future__ import annotations

import logging

from kiosk.domain.permissions import Permission, allowed
from kiosk.domain.text import clean_text
from kiosk.services.clock import Clock
from kiosk.services.errors import NotPermitted
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.holds")


class HoldService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def release(self, prescription_id: int, staff_id: int, reason: str) -> None:
        role = self._store.staff_role(staff_id)
        if role is None or not allowed(role, Permission.RELEASE_HOLD):
            self._store.note(
                self._clock.now(),
                f"staff:{staff_id}",
                "prescription.release_refused",
                f"prescription:{prescription_id}",
                {"role": role},
            )
            raise NotPermitted("releasing a hold needs a nurse or pharmacist")
        self._store.release_prescription(
            prescription_id, clean_text(reason), self._clock.now(), f"staff:{staff_id}"
        )
        log.info("prescription %d released by staff %d", prescription_id, staff_id)

    def release_approved(self, prescription_id: int, actor: str, reason: str) -> None:
        """Release a hold a remote approver allowed (kiosk.services.approvals): ``actor``
        names the staff member here and the approver; the role check was the approver's."""
        self._store.release_prescription(
            prescription_id, clean_text(reason), self._clock.now(), actor
        )
        log.info("prescription %d released with a remote approval", prescription_id)
