"""The participant interaction as the flow's effects need it: scan, decide, dispense."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from kiosk.domain.alerts import AlertKind
from kiosk.domain.dosing import remainder_allowed
from kiosk.domain.model import SiteClock
from kiosk.services.clock import Clock
from kiosk.services.decide import DecideService, DecisionView, PlannedDose
from kiosk.services.dispense import DispenseService, NoLane, VendResult
from kiosk.services.errors import Refusal
from kiosk.services.identify import IdentifyService, ScanOutcome
from kiosk.services.witness import WitnessService
from kiosk.store import stock_repo
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.interaction")


class WitnessRequired(Refusal):
    """Refused: the plan needs a witness and none confirmed it."""


UnitCallback = Callable[[int, int], None]  # (line index, units confirmed so far)


class InteractionService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        site: SiteClock,
        identify: IdentifyService,
        dispense: DispenseService,
        *,
        retry_remainder: bool = False,
    ) -> None:
        self.store = store
        self.clock = clock
        self.identify = identify
        self.dispenser = dispense
        self.site = site
        self.retry_remainder = retry_remainder  # site setting: finish a cut-short dose elsewhere
        self.decider = DecideService(store, clock, site)
        self.witness = WitnessService(store, clock)

    def scan(self, on_finger: Callable[[], None] | None = None) -> ScanOutcome | None:
        return self.identify.scan(on_finger)

    def decide(self, participant_id: int) -> DecisionView:
        return self.decider.decide(participant_id)

    def _may_finish_elsewhere(self, dose: PlannedDose, result: VendResult) -> bool:
        """The rest of a cut-short dose, from another lane, only if the site allows it, a
        lane with that medication is ready, and the rules agree (daily maximum)."""
        rest = dose.units - result.dropped
        if not self.retry_remainder or rest <= 0 or result.outcome == "complete":
            return False
        medication_id = dose.prescription.medication.id
        participant_id = dose.prescription.participant_id
        if stock_repo.lane_for_participant(self.store, medication_id, participant_id, rest) is None:
            return False
        now = self.clock.now()
        history = self.store.history(dose.prescription.id, now - timedelta(days=2))
        allowed = remainder_allowed(dose.prescription, history, now, self.site, rest)
        log.info(
            "vend %d cut short at %d of %d: remainder %s",
            result.vend_id,
            result.dropped,
            dose.units,
            "retried on another lane" if allowed else "not allowed",
        )
        return allowed

    def verify_witness(self, participant_id: int, pin: str) -> int | None:
        """The witness's staff id, or None; raises ``PinLocked`` while the pad is locked."""
        return self.witness.verify(participant_id, pin)

    def dispense(
        self,
        participant_id: int,
        witness_staff_id: int | None = None,
        on_unit: UnitCallback | None = None,
    ) -> list[VendResult]:
        """Decide again (the plan may be stale) and vend every allowed dose in turn."""
        view = self.decider.decide(participant_id)
        if view.needs_witness and witness_staff_id is None:
            raise WitnessRequired("a witnessed dose cannot be given without a witness")
        results: list[VendResult] = []
        for index, dose in enumerate(view.doses):
            # Units already given by an earlier vend of this dose (when its rest is retried).
            offset = [0]

            def progress(dropped: int, line: int = index, offset: list[int] = offset) -> None:
                if on_unit is not None:
                    on_unit(line, offset[0] + dropped)

            try:
                result = self.dispenser.vend(
                    participant_id, dose.prescription, dose.units, progress, witness_staff_id
                )
            except NoLane:
                # Nothing moved for this medication; the others are still given. Staff are
                # told; the participant sees what they received and "staff will help".
                self.store.raise_alert(
                    AlertKind.NO_LANE,
                    f"medication:{dose.prescription.medication.id}",
                    "No ready lane holds this medication: restock or clear a lane.",
                    self.clock.now(),
                )
                log.error("no ready lane for prescription %d", dose.prescription.id)
                results.append(VendResult(0, 0, dose.units, 0, "no_lane"))
                continue
            given = result.dropped
            if self._may_finish_elsewhere(dose, result):
                offset[0] = given
                rest = self.dispenser.vend(
                    participant_id,
                    dose.prescription,
                    dose.units - given,
                    progress,
                    witness_staff_id,
                )
                result = replace(result, dropped=given + rest.dropped, outcome=rest.outcome)
            results.append(result)
        return results
