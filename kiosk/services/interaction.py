"""The participant interaction as the flow's effects need it: scan, decide, dispense."""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk.domain.model import SiteClock
from kiosk.services.clock import Clock
from kiosk.services.decide import DecideService, DecisionView
from kiosk.services.dispense import DispenseService, VendResult
from kiosk.services.identify import IdentifyService, ScanOutcome
from kiosk.services.witness import WitnessService
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.interaction")


class WitnessRequired(Exception):
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
    ) -> None:
        self.store = store
        self.clock = clock
        self.identify = identify
        self.dispenser = dispense
        self.decider = DecideService(store, clock, site)
        self.witness = WitnessService(store, clock)

    def scan(self, on_finger: Callable[[], None] | None = None) -> ScanOutcome | None:
        return self.identify.scan(on_finger)

    def decide(self, participant_id: int) -> DecisionView:
        return self.decider.decide(participant_id)

    def verify_witness(self, participant_id: int, pin: str) -> int | None:
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
        results = []
        for index, dose in enumerate(view.doses):

            def progress(dropped: int, line: int = index) -> None:
                if on_unit is not None:
                    on_unit(line, dropped)

            results.append(
                self.dispenser.vend(
                    participant_id, dose.prescription, dose.units, progress, witness_staff_id
                )
            )
        return results
