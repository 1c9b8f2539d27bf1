"""The kiosk's own dosing rules and wording, run on what the hub knows.

The profile page shows THE SAME explanation the kiosk gives (``kiosk explain``): the kiosk's
pure ``decide`` and ``explain_json``, fed with the hub's copy of the prescriptions and the
dispense events the machine pushed. The hub only knows what was pushed, so the page says "as of
the last sync".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from fleet.models import DoseElsewhere, Event, Machine, ManualDose, Participant, Site
from fleet.models import Prescription as HubPrescription

from kiosk.domain import dosing
from kiosk.domain import manual_doses as manual_rules
from kiosk.domain.decision import DecisionView, PlannedDose, most_useful_refusal
from kiosk.domain.model import (
    Medication,
    PastDispense,
    Prescription,
    PrescriptionStatus,
    SiteClock,
    Window,
)
from kiosk.services.explain import explain_json

# The hub's "ended" is the kiosk's "cancelled" (kiosk/services/sync/apply.py): no more doses.
_STATUS = {
    "active": PrescriptionStatus.ACTIVE,
    "on_hold": PrescriptionStatus.ON_HOLD,
    "ended": PrescriptionStatus.CANCELLED,
    "cancelled": PrescriptionStatus.CANCELLED,
}
# The kiosk decides only on prescriptions that are not cancelled (Store.prescriptions).
DECIDED_STATUSES = ("active", "on_hold")


def site_clock(site: Site) -> SiteClock:
    return SiteClock(site.timezone, site.day_start_hour, site.missed_dose_days)


def to_kiosk(rx: HubPrescription) -> Prescription:
    """A hub prescription as the kiosk's rules see it (ids: the hub's, for both)."""
    return Prescription(
        id=rx.pk,
        participant_id=rx.participant_id,
        medication=Medication(
            rx.pk, rx.medication_name, rx.medication_strength, rx.medication_form
        ),
        units_per_dose=rx.units_per_dose,
        windows=tuple(Window(time.fromisoformat(a), time.fromisoformat(b)) for a, b in rx.windows),
        daily_max_units=rx.daily_max_units,
        start_date=rx.start_date,
        end_date=rx.end_date,
        status=_STATUS[rx.status],
        hold_reason=rx.hold_reason,
        interval_minutes=rx.interval_minutes,
        max_doses_per_day=rx.max_doses_per_day,
        accumulate=rx.accumulate,
        witnessed=rx.witnessed,
        missed_dose_limit=rx.missed_dose_limit,
    )


def past_dispenses(machine: Machine, rx_ids: list[int], since: datetime) -> list[PastDispense]:
    """The machine's pushed dispenses of these prescriptions since ``since``, counted as the
    kiosk counts them (Store.history): a settled vend's dropped units, and the units asked for
    a vend whose result has not arrived (it may have dropped them all). Two queries."""
    intents = list(
        Event.objects.filter(
            machine=machine,
            type="dispense.intent",
            created_at__gte=since,
            payload__prescription_hub_id__in=rx_ids,
        ).only("created_at", "payload", "vend_id")
    )
    dropped = {
        vend: payload.get("dropped")
        for vend, payload in Event.objects.filter(
            machine=machine,
            type="dispense.result",
            vend_id__in=[e.vend_id for e in intents if e.vend_id is not None],
        ).values_list("vend_id", "payload")
    }
    found = []
    for intent in intents:
        result = dropped.get(intent.vend_id)
        units = result if isinstance(result, int) else intent.payload.get("units")
        if isinstance(units, int) and units > 0:
            rx_id = int(intent.payload["prescription_hub_id"])
            found.append(PastDispense(rx_id, intent.created_at, units))
    return found


@dataclass(frozen=True)
class Explanation:
    """One machine's decision for one participant, in the kiosk's words (explain_json)."""

    participant: Participant
    as_of: datetime | None  # the machine's last sync: the hub knows nothing later
    body: dict[str, Any]

    @property
    def prescriptions(self) -> list[dict[str, Any]]:
        return list(self.body.get("prescriptions", []))


def explain(
    participant: Participant, prescriptions: list[HubPrescription], at: datetime
) -> Explanation:
    """What the participant's machine would decide at ``at`` from what it has pushed, as
    DecideService.decide(at=...) does for ``kiosk explain``: the rules alone, no lanes."""
    machine = participant.machine
    clock = site_clock(machine.site)
    rules = [to_kiosk(rx) for rx in prescriptions if rx.status in DECIDED_STATUSES]
    if not rules:
        refusal = dosing.Refused(None, dosing.RefusalReason.NO_PRESCRIPTION)
        view = DecisionView(at, refusal=refusal)
    else:
        since = at - timedelta(days=max(dosing.history_days(clock, rx) for rx in rules))
        history = past_dispenses(machine, [rx.id for rx in rules], since)
        decisions = tuple((rx, dosing.decide(rx, history, at, clock)) for rx in rules)
        allowed = tuple(
            PlannedDose(rx, d.units) for rx, d in decisions if isinstance(d, dosing.Allowed)
        )
        refusals = [d for _, d in decisions if isinstance(d, dosing.Refused)]
        refusal = None if allowed else most_useful_refusal(refusals)
        view = DecisionView(at, allowed, refusal=refusal, decisions=decisions)
    return Explanation(participant, machine.last_contact, explain_json(view, clock))


def counted_doses(rx: HubPrescription, since: datetime) -> list[PastDispense]:
    """What the prescription's machine counts for it, as the hub knows it: the dispenses it
    pushed, the doses given by hand for it (recorded there or here) and the doses it was told
    of from elsewhere (Store.history: by prescription, or by code and medication)."""
    machine = rx.participant.machine
    found = past_dispenses(machine, [rx.pk], since)
    medication = {
        "medication_name": rx.medication_name,
        "medication_strength": rx.medication_strength,
        "medication_form": rx.medication_form,
    }
    code = rx.participant.code
    for at, units in ManualDose.objects.filter(
        machine=machine, participant_code=code, given_at__gte=since, **medication
    ).values_list("given_at", "units"):
        found.append(PastDispense(rx.pk, at, units))
    for at, units in DoseElsewhere.objects.filter(
        machine=machine, participant_code=code, taken_at__gte=since, **medication
    ).values_list("taken_at", "units"):
        found.append(PastDispense(rx.pk, at, units))
    return found


def manual_dose_concern(
    rx: HubPrescription, units: int, given_at: datetime
) -> dosing.RefusalReason | None:
    """What the machine's own rules say of a dose given by hand (None: they would have
    allowed it), from what the hub knows: ``kiosk.domain.manual_doses.rules_concern``."""
    clock = site_clock(rx.participant.machine.site)
    rules = to_kiosk(rx)
    since = given_at - timedelta(days=dosing.history_days(clock, rules))
    return manual_rules.rules_concern(rules, counted_doses(rx, since), given_at, units, clock)
