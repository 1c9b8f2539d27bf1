"""A decision for one participant as the kiosk's flow and staff see it: the doses to give now,
or the refusal to tell, and every prescription's verdict with its checks.

Pure, so the wording of ``kiosk.services.explain`` works on a view built anywhere: by the
kiosk's ``DecideService`` from its store, or by the hub's care app from what was synced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.dosing import Decision, Refused
from kiosk.domain.model import Prescription
from kiosk.domain.told import Told


@dataclass(frozen=True)
class PlannedDose:
    prescription: Prescription
    units: int

    @property
    def witnessed(self) -> bool:
        return self.prescription.witnessed


@dataclass(frozen=True)
class DecisionView:
    """What the flow needs (doses now, or the refusal to tell) and what staff need (all)."""

    at: datetime
    doses: tuple[PlannedDose, ...] = ()  # allowed, each with a ready lane: to dispense now
    refusal: Refused | None = None
    decisions: tuple[tuple[Prescription, Decision], ...] = ()
    unavailable: tuple[PlannedDose, ...] = ()  # allowed, but no ready lane holds it here
    told: Told | None = None  # whether staff's no_lane alerts for ``unavailable`` are stored

    @property
    def needs_witness(self) -> bool:
        """Only a dose that can be dispensed needs a witness: nobody is sent to a nurse
        for a dose the machine cannot give."""
        return any(dose.witnessed for dose in self.doses)


def most_useful_refusal(refusals: list[Refused]) -> Refused:
    """The refusal to tell the participant: the soonest next dose, else the first one."""
    timed = [(r.next_eligible, i, r) for i, r in enumerate(refusals) if r.next_eligible]
    if timed:
        return min(timed)[2]
    return refusals[0]
