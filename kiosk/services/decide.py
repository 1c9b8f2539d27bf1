"""Decide what a participant may receive now: every due prescription, with a stocked lane."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from kiosk.domain.dosing import Allowed, RefusalReason, Refused, clock_is_trusted, decide
from kiosk.domain.model import Prescription, SiteClock
from kiosk.services.clock import Clock
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.decide")

# History older than this never changes today's decision (daily maximum, windows).
_HISTORY_DAYS = 3


@dataclass(frozen=True)
class PlannedDose:
    prescription: Prescription
    units: int


@dataclass(frozen=True)
class DecisionView:
    """What the flow needs: doses to give now, or the refusal that applies."""

    doses: tuple[PlannedDose, ...] = ()
    refusal: Refused | None = None
    notes: tuple[str, ...] = field(default=())


class DecideService:
    def __init__(self, store: Store, clock: Clock, site: SiteClock) -> None:
        self._store = store
        self._clock = clock
        self._site = site

    def decide(self, participant_id: int) -> DecisionView:
        now = self._clock.now()
        if not clock_is_trusted(now, self._store.latest_recorded_time()):
            log.error("clock behind the latest recorded event: refusing to decide")
            return DecisionView(refusal=Refused(None, RefusalReason.CLOCK_UNTRUSTED))
        prescriptions = self._store.prescriptions(participant_id)
        if not prescriptions:
            return DecisionView(refusal=Refused(None, RefusalReason.NO_PRESCRIPTION))
        doses: list[PlannedDose] = []
        refusals: list[Refused] = []
        since = now - timedelta(days=_HISTORY_DAYS)
        for rx in prescriptions:
            verdict = decide(rx, self._store.history(rx.id, since), now, self._site)
            if isinstance(verdict, Allowed):
                doses.append(PlannedDose(rx, verdict.units))
            else:
                refusals.append(verdict)
        if doses:
            return DecisionView(doses=tuple(doses))
        return DecisionView(refusal=_most_useful(refusals))


def _most_useful(refusals: list[Refused]) -> Refused:
    """The refusal to tell the participant: the soonest next dose, else the first one."""
    timed = [(r.next_eligible, i, r) for i, r in enumerate(refusals) if r.next_eligible]
    if timed:
        return min(timed)[2]
    return refusals[0]
