"""Decide what a participant may receive now: every due prescription, with a stocked lane.

A dose the rules allow but no ready lane holds is never planned: it is set apart
(``unavailable``), staff get the ``no_lane`` alert, and it needs no witness."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kiosk.domain.alerts import AlertKind
from kiosk.domain.decision import DecisionView, PlannedDose, most_useful_refusal
from kiosk.domain.dosing import (
    MISSED_DOSES_HOLD_REASON,
    Allowed,
    Decision,
    RefusalReason,
    Refused,
    clock_is_trusted,
    decide,
    history_days,
)
from kiosk.domain.model import Prescription, SiteClock
from kiosk.domain.told import NOT_RECORDED, Told
from kiosk.services.clock import Clock
from kiosk.services.storage import STORE_FAILURES
from kiosk.store import stock_repo
from kiosk.store.repository import Store

# The view moved to kiosk.domain.decision (pure, for the hub too); its users import it here.
__all__ = ["DecideService", "DecisionView", "PlannedDose", "raise_no_lane_alert"]

log = logging.getLogger("kiosk.decide")


class DecideService:
    def __init__(self, store: Store, clock: Clock, site: SiteClock) -> None:
        self._store = store
        self._clock = clock
        self._site = site

    def decide(self, participant_id: int, *, at: datetime | None = None) -> DecisionView:
        """Decide now (or at ``at`` for ``kiosk explain``; then nothing is written and
        lanes are not looked at: the rules alone)."""
        explaining = at is not None
        now = at or self._clock.now()
        latest = self._store.latest_recorded_time()
        if not explaining and not clock_is_trusted(now, latest):
            log.error("the clock is behind the latest recorded event: not deciding")
            self._store.raise_alert(
                AlertKind.CLOCK,
                "machine",
                "The clock is behind the last recorded event; dispensing is stopped.",
                latest or now,
            )
            return DecisionView(now, refusal=Refused(None, RefusalReason.CLOCK_UNTRUSTED))
        prescriptions = self._store.prescriptions(participant_id)
        if not prescriptions:
            return DecisionView(now, refusal=Refused(None, RefusalReason.NO_PRESCRIPTION))
        decisions: list[tuple[Prescription, Decision]] = []
        for rx in prescriptions:
            since = now - timedelta(days=history_days(self._site, rx))
            verdict = decide(rx, self._store.history(rx.id, since), now, self._site)
            if (
                not explaining
                and isinstance(verdict, Refused)
                and verdict.reason is RefusalReason.MISSED_DOSES
            ):
                self._hold_for_review(rx, now)
            decisions.append((rx, verdict))
        allowed = [
            PlannedDose(rx, verdict.units)
            for rx, verdict in decisions
            if isinstance(verdict, Allowed)
        ]
        doses: list[PlannedDose] = []
        unavailable: list[PlannedDose] = []
        for dose in allowed:
            if explaining or self._has_lane(dose):
                doses.append(dose)
            else:
                unavailable.append(dose)
                self._no_lane(dose, now)
        if allowed:
            return DecisionView(
                now,
                tuple(doses),
                decisions=tuple(decisions),
                unavailable=tuple(unavailable),
                told=self._told(unavailable) if unavailable else None,
            )
        refusals = [v for _, v in decisions if isinstance(v, Refused)]
        return DecisionView(now, refusal=most_useful_refusal(refusals), decisions=tuple(decisions))

    def _has_lane(self, dose: PlannedDose) -> bool:
        """A ready lane this participant may be served from holds the whole dose."""
        rx = dose.prescription
        lane = stock_repo.lane_for_participant(
            self._store, rx.medication.id, rx.participant_id, dose.units
        )
        return lane is not None

    def _no_lane(self, dose: PlannedDose, now: datetime) -> None:
        rx = dose.prescription
        log.warning("no ready lane for prescription %d: not offered", rx.id)
        try:
            raise_no_lane_alert(self._store, rx.medication.id, now)
        except STORE_FAILURES:
            # The participant still learns the dose is not here; the screen does not claim
            # staff were told (``_told`` finds no alert) and sends them to staff instead.
            log.exception("the no_lane alert could not be recorded")

    def _told(self, unavailable: list[PlannedDose]) -> Told:
        """Whether staff's no_lane alert for each unavailable dose is in the store."""
        try:
            return self._store.told_about(
                [
                    ((AlertKind.NO_LANE,), f"medication:{dose.prescription.medication.id}")
                    for dose in unavailable
                ]
            )
        except STORE_FAILURES:
            log.exception("could not read whether staff were told")
            return NOT_RECORDED

    def _hold_for_review(self, rx: Prescription, now: datetime) -> None:
        # Computed from history, persisted once so staff, the hub and the prescriber see it.
        if self._store.hold_prescription(
            rx.id, MISSED_DOSES_HOLD_REASON, "missed_doses", now, "system:rules"
        ):
            log.warning("prescription %d held for review after missed doses", rx.id)
            self._store.raise_alert(
                AlertKind.MISSED_DOSES,
                f"prescription:{rx.id}",
                "Prescription on hold after missed doses: needs prescriber review.",
                now,
            )


def raise_no_lane_alert(store: Store, medication_id: int, now: datetime) -> None:
    """Staff are told once (until acknowledged, or resolved when a ready lane holds it
    again) that a medication has no ready lane."""
    store.raise_alert(
        AlertKind.NO_LANE,
        f"medication:{medication_id}",
        "No ready lane holds this medication: restock or clear a lane.",
        now,
    )
