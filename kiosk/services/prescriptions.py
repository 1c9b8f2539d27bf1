"""Prescriptions as staff enter them: add, change, end. Pharmacists or prescriber-entry staff
only; every change audited with who and why.

A change keeps the prescription's id, so today's dispenses still count against the new
terms (a new id would reset the daily maximum and could double a dose).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date

from kiosk.domain import prescription_rules
from kiosk.domain.model import Medication, Prescription, Window
from kiosk.domain.permissions import Permission
from kiosk.domain.text import clean_text
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.prescriptions")


@dataclass(frozen=True)
class PrescriptionSpec:
    medication_id: int
    units_per_dose: int
    daily_max_units: int
    start_date: date
    end_date: date | None = None
    windows: tuple[Window, ...] = ()
    interval_minutes: int | None = None
    max_doses_per_day: int | None = None
    accumulate: bool = False
    witnessed: bool = False
    missed_dose_limit: int | None = None

    def validate(self) -> None:
        # The rules are the domain's, shared with the hub's care app.
        found = prescription_rules.problems(
            units_per_dose=self.units_per_dose,
            daily_max_units=self.daily_max_units,
            start_date=self.start_date,
            end_date=self.end_date,
            window_count=len(self.windows),
            interval_minutes=self.interval_minutes,
            max_doses_per_day=self.max_doses_per_day,
            missed_dose_limit=self.missed_dose_limit,
        )
        if found:
            raise InvalidInput(found[0])

    @staticmethod
    def of(rx: Prescription) -> PrescriptionSpec:
        return PrescriptionSpec(
            rx.medication.id,
            rx.units_per_dose,
            rx.daily_max_units,
            rx.start_date,
            rx.end_date,
            rx.windows,
            rx.interval_minutes,
            rx.max_doses_per_day,
            rx.accumulate,
            rx.witnessed,
            rx.missed_dose_limit,
        )


def _details(spec: PrescriptionSpec) -> dict[str, object]:
    body = asdict(spec)
    body["start_date"] = spec.start_date.isoformat()
    body["end_date"] = spec.end_date.isoformat() if spec.end_date else None
    body["windows"] = [[w.start.strftime("%H:%M"), w.end.strftime("%H:%M")] for w in spec.windows]
    return body


class PrescriptionService:
    def __init__(self, store: Store, clock: Clock, staff: StaffService) -> None:
        self._store = store
        self._clock = clock
        self._staff = staff

    def medications(self) -> list[Medication]:
        return self._store.medications()

    def add_medication(self, session: StaffSession, name: str, strength: str, form: str) -> int:
        self._staff.require(session, Permission.EDIT_PRESCRIPTION)
        name, strength = clean_text(name), clean_text(strength)
        if not name or not strength or form not in ("tablet", "capsule"):
            raise InvalidInput("medication")
        return self._store.add_medication(name, strength, form, self._clock.now())

    def add(
        self, session: StaffSession, participant_id: int, spec: PrescriptionSpec, reason: str
    ) -> int:
        self._staff.require(session, Permission.EDIT_PRESCRIPTION)
        spec.validate()
        reason = _need_reason(reason)
        return self._store.add_prescription(
            participant_id,
            spec.medication_id,
            spec.units_per_dose,
            spec.windows,
            spec.daily_max_units,
            spec.start_date,
            spec.end_date,
            self._clock.now(),
            session.actor,
            interval_minutes=spec.interval_minutes,
            max_doses_per_day=spec.max_doses_per_day,
            accumulate=spec.accumulate,
            witnessed=spec.witnessed,
            missed_dose_limit=spec.missed_dose_limit,
            reason=reason,
        )

    def change(
        self, session: StaffSession, prescription_id: int, spec: PrescriptionSpec, reason: str
    ) -> None:
        self._staff.require(session, Permission.EDIT_PRESCRIPTION)
        spec.validate()
        reason = _need_reason(reason)
        self._store.update_prescription(
            prescription_id, _details(spec), reason, self._clock.now(), session.actor
        )
        log.info("prescription %d changed by staff %d", prescription_id, session.staff_id)

    def end(
        self, session: StaffSession, prescription_id: int, last_day: date | None, reason: str
    ) -> None:
        """End on ``last_day`` (inclusive), or cancel now when it is None."""
        self._staff.require(session, Permission.EDIT_PRESCRIPTION)
        reason = _need_reason(reason)
        self._store.end_prescription(
            prescription_id, last_day, reason, self._clock.now(), session.actor
        )


def _need_reason(reason: str) -> str:
    reason = clean_text(reason)
    if len(reason) < 3:
        raise InvalidInput("reason")
    return reason
