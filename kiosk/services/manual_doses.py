"""Downtime mode: recording a dose given by hand (docs/SYNC.md, "Manual doses").

A nurse or pharmacist signed in on the admin panel records which prescription, how many
units, when, and where the stock came from; a witnessed prescription needs a second nurse or
pharmacist's PIN. One transaction keeps the dose, takes a lane's units off its recorded stock
(stock from the machine only), writes the audit entry naming both people and queues the
``manual_dose.recorded`` event. The rules then count it (Store.history) and reconciliation
shows it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from kiosk.domain import manual_doses as rules
from kiosk.domain.dosing import RefusalReason, history_days
from kiosk.domain.manual_doses import DoseOrigin, ManualDose, StockSource
from kiosk.domain.model import SiteClock
from kiosk.domain.permissions import Permission
from kiosk.domain.text import clean_text
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput, Refusal
from kiosk.services.pin_gate import EntryPoint, PinGate, WrongPin
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import audit, manual_doses_repo, outbox
from kiosk.store.db import transaction
from kiosk.store.manual_doses_repo import DoseChoice
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.manual_doses")

RECORDED = "manual_dose.recorded"


class RulesWouldRefuse(Refusal):
    """The dosing rules would have refused this dose when it was given: recorded only with an
    override and its reason (``reason`` is the rules' refusal)."""

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(f"the rules would refuse: {reason.value}")
        self.reason = reason


class ManualDoseService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        staff: StaffService,
        pins: PinGate | None = None,
        site: SiteClock | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._staff = staff
        self._pins = pins or PinGate(store, clock)
        self._site = site or SiteClock("UTC")

    def rules_concern(
        self, session: StaffSession, choice: DoseChoice, units: int, given_at: datetime
    ) -> RefusalReason | None:
        """What the machine's dosing rules say of this dose (None: they would allow it)."""
        self._staff.require(session, Permission.RECORD_MANUAL_DOSE)
        return self._concern(choice, units, given_at)

    def _concern(self, choice: DoseChoice, units: int, given_at: datetime) -> RefusalReason | None:
        found = [
            rx
            for rx in self._store.prescriptions(choice.participant_id)
            if rx.id == choice.prescription_id
        ]
        if not found:
            return RefusalReason.NO_PRESCRIPTION
        rx = found[0]
        since = given_at - timedelta(days=history_days(self._site, rx))
        return rules.rules_concern(
            rx, self._store.history(rx.id, since), given_at, units, self._site
        )

    def choices(self, session: StaffSession) -> list[DoseChoice]:
        self._staff.require(session, Permission.RECORD_MANUAL_DOSE)
        return manual_doses_repo.choices(self._store.conn)

    def lanes_of(self, medication_id: int) -> list[tuple[int, int]]:
        """(lane, recorded stock) of the lanes holding a medication."""
        return [
            (lane.lane, lane.stock)
            for lane in self._store.lanes()
            if lane.medication_id == medication_id
        ]

    def recent(self, session: StaffSession, hours: int = 24) -> list[ManualDose]:
        self._staff.require(session, Permission.RECORD_MANUAL_DOSE)
        return manual_doses_repo.recent(self._store.conn, self._clock.now() - rules.MAX_AGE)

    def record(
        self,
        session: StaffSession,
        choice: DoseChoice,
        *,
        units: int,
        given_at: datetime,
        source: StockSource,
        lane: int | None = None,
        witness_pin: str | None = None,
        override_reason: str | None = None,
    ) -> ManualDose:
        """Record a dose given by hand. InvalidInput names the first problem (the codes of
        ``kiosk.domain.manual_doses.ManualDoseProblem``, or ``witness_pin``); raises
        ``PinLocked`` while the witness pad is locked, and ``RulesWouldRefuse`` when the
        dosing rules would have refused it and no ``override_reason`` is given (with one, the
        override and its reason are audited)."""
        self._staff.require(session, Permission.RECORD_MANUAL_DOSE)
        now = self._clock.now()
        override = clean_text(override_reason or "").strip()
        concern = self._concern(choice, units, given_at)
        if concern is not None and not override:
            raise RulesWouldRefuse(concern)
        witness: str | None = None
        if witness_pin:
            try:
                holder = self._pins.check(
                    EntryPoint.WITNESS,
                    witness_pin,
                    Permission.WITNESS_DOSE,
                    exclude_staff=session.staff_id,
                    actor=session.actor,
                    context=f"prescription:{choice.prescription_id}",
                )
            except WrongPin as exc:
                raise InvalidInput("witness_pin") from exc
            witness = holder.actor
        stock = dict(self.lanes_of(choice.medication_id)).get(lane) if lane else None
        found = rules.problems(
            units=units,
            given_at=given_at,
            now=now,
            source=source,
            lane_stock=stock if source is StockSource.MACHINE_LANE else None,
            witness_required=choice.witnessed,
            recorder=session.actor,
            witness=witness,
        )
        if given_at > now:  # here the clock is ours: a dose is recorded once given
            found.insert(0, rules.ManualDoseProblem.IN_THE_FUTURE)
        if found:
            raise InvalidInput(found[0].value)
        dose = ManualDose(
            uuid=str(uuid.uuid4()),
            prescription_id=choice.prescription_id,
            prescription_hub_id=choice.prescription_hub_id,
            participant_code=choice.participant_code,
            medication_id=choice.medication_id,
            units=units,
            given_at=given_at,
            source=source,
            lane=lane if source is StockSource.MACHINE_LANE else None,
            recorded_by=session.actor,
            witness=witness,
            origin=DoseOrigin.KIOSK,
        )
        medication = self._store.conn.execute(
            "SELECT name, strength, form FROM medications WHERE id = ?", (dose.medication_id,)
        ).fetchone()
        payload = rules.event_payload(
            dose, {"name": medication[0], "strength": medication[1], "form": medication[2]}
        )
        with transaction(self._store.conn) as conn:
            manual_doses_repo.put(conn, dose, now)
            if dose.lane is not None:
                manual_doses_repo.take_from_lane(conn, dose.lane, units)
            details = {k: v for k, v in payload.items() if k not in ("medication", "subject")}
            if concern is not None:
                # Staff recorded past the rules: what the rules said and why, in the chain.
                details["rules_override"] = {"refusal": concern.value, "reason": override}
            audit.append(
                conn,
                now,
                session.actor,
                RECORDED,
                f"prescription:{choice.prescription_id}",
                details,
            )
            outbox.add(conn, now, RECORDED, {"actor": session.actor, **payload})
        log.info(
            "manual dose recorded by staff %d for prescription %d (%s%s)",
            session.staff_id,
            choice.prescription_id,
            source.value,
            "" if concern is None else f", rules overridden: {concern.value}",
        )
        return dose
