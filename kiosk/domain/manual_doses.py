"""Doses given by hand while the machine cannot dispense (issue 17 item 4, "downtime mode").

A nurse or pharmacist records which prescription, how many units, when, where the stock came
from and, when the prescription is witnessed, a witness. The rules count a manual dose like a
dispense (Store.history), reconciliation takes it off the machine's stock only when it came
from a lane. Each dose has a uuid made where it was recorded: the kiosk pushes its own as
events, the hub sends its own down, and either side keeps one row per uuid (docs/SYNC.md,
"Manual doses"). Pure rules: no Qt, no store.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk.domain import dosing
from kiosk.domain.dosing import RefusalReason
from kiosk.domain.model import PastDispense, Prescription, SiteClock

# How far back a dose may be recorded: the rules look back a few days, and a dose recorded
# later than this belongs to a pharmacy incident report, not the machine's counts.
MAX_AGE = timedelta(hours=24)
# A clock a little ahead on another device must not refuse a dose "in the future".
FUTURE_SLACK = timedelta(minutes=5)
MAX_UNITS = 20
# The kiosk's event for a hub-recorded dose from one of its lanes, applied here: the hub's
# figure of the lane takes the units off at this point of the machine's events.
APPLIED = "manual_dose.applied"


class StockSource(enum.Enum):
    MACHINE_LANE = "machine_lane"  # taken from a lane through the service door
    PHARMACY = "pharmacy_stock"  # the pharmacy's own stock: the machine's books do not move


class DoseOrigin(enum.Enum):
    KIOSK = "kiosk"
    HUB = "hub"


class ManualDoseProblem(enum.Enum):
    UNITS = "units"
    IN_THE_FUTURE = "in_the_future"
    TOO_OLD = "too_old"
    NO_LANE = "no_lane"
    NOT_ENOUGH_IN_LANE = "not_enough_in_lane"
    WITNESS_NEEDED = "witness_needed"
    WITNESS_IS_RECORDER = "witness_is_recorder"


@dataclass(frozen=True)
class ManualDose:
    uuid: str
    prescription_id: int | None  # this kiosk's prescription, when it has it
    prescription_hub_id: str | None
    participant_code: str
    medication_id: int
    units: int
    given_at: datetime  # UTC
    source: StockSource
    lane: int | None  # the lane it came from (MACHINE_LANE)
    recorded_by: str  # "staff:3" here, "hub_user:7" from the hub
    witness: str | None
    origin: DoseOrigin


def problems(
    *,
    units: int,
    given_at: datetime,
    now: datetime,
    source: StockSource,
    lane_stock: int | None,
    witness_required: bool,
    recorder: str,
    witness: str | None,
) -> list[ManualDoseProblem]:
    """What stops a manual dose from being recorded (empty: it may be). ``lane_stock`` is the
    recorded stock of the chosen lane (None: no lane chosen)."""
    found: list[ManualDoseProblem] = []
    if not 1 <= units <= MAX_UNITS:
        found.append(ManualDoseProblem.UNITS)
    if given_at > now + FUTURE_SLACK:
        found.append(ManualDoseProblem.IN_THE_FUTURE)
    elif given_at < now - MAX_AGE:
        found.append(ManualDoseProblem.TOO_OLD)
    if source is StockSource.MACHINE_LANE:
        if lane_stock is None:
            found.append(ManualDoseProblem.NO_LANE)
        elif lane_stock < units:
            found.append(ManualDoseProblem.NOT_ENOUGH_IN_LANE)
    if witness_required and not witness:
        found.append(ManualDoseProblem.WITNESS_NEEDED)
    if witness is not None and witness == recorder:
        found.append(ManualDoseProblem.WITNESS_IS_RECORDER)
    return found


def rules_concern(
    rx: Prescription,
    history: list[PastDispense],
    given_at: datetime,
    units: int,
    site: SiteClock,
) -> RefusalReason | None:
    """What the dosing rules say of this dose given by hand (None: they would have allowed
    it). The machine's own rules (``dosing.decide``) at the time it was given, over the
    prescription's whole history (doses recorded after ``given_at`` count too: a dose
    reported late must not hide one given since). More units than the rules would give then
    is the daily maximum. Recording past a concern needs an explicit, audited override."""
    decision = dosing.decide(rx, history, given_at, site)
    if isinstance(decision, dosing.Refused):
        return decision.reason
    if units > decision.units:
        return RefusalReason.DAILY_MAXIMUM
    return None


class ManualDoseDataError(ValueError):
    """A pulled manual dose that is not the agreed shape (names fields, never values)."""


def parse_instant(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ManualDoseDataError("given_at: no zone")
    return moment


def event_payload(dose: ManualDose, medication: dict[str, str]) -> dict[str, Any]:
    """The ``manual_dose.recorded`` event (docs/SYNC.md, "Manual doses"): ids and counts."""
    return {
        "uuid": dose.uuid,
        "subject": dose.participant_code,
        "prescription_id": dose.prescription_id,
        "prescription_hub_id": dose.prescription_hub_id,
        "medication": medication,
        "units": dose.units,
        "given_at": dose.given_at.isoformat().replace("+00:00", "Z"),
        "source": dose.source.value,
        "lane": dose.lane,
        "recorded_by": dose.recorded_by,
        "witness": dose.witness,
    }
