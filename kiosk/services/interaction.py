"""The participant interaction as the flow's effects need it: scan, decide, dispense."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kiosk.domain.alerts import AlertKind
from kiosk.domain.dosing import TIMED_REASONS, Refused, remainder_allowed
from kiosk.domain.model import SiteClock
from kiosk.domain.notices import Notice
from kiosk.domain.remote_approval import VALIDITY, ApprovalAction
from kiosk.domain.remote_witness import RemoteOffer, subject_participant, witness_subject
from kiosk.domain.told import NOT_RECORDED, Told
from kiosk.services.assisted import AssistedIdService
from kiosk.services.clock import Clock
from kiosk.services.decide import DecideService, DecisionView, PlannedDose, raise_no_lane_alert
from kiosk.services.dispense import DispenseService, NoLane, VendResult
from kiosk.services.errors import Refusal
from kiosk.services.help import HelpService
from kiosk.services.identify import IdentifyService, Recognised, ScanOutcome
from kiosk.services.notices import NoticeService
from kiosk.services.staff import StaffService
from kiosk.services.storage import STORE_FAILURES
from kiosk.services.witness import WitnessService
from kiosk.store import approvals_repo, stock_repo
from kiosk.store.repository import RemoteWitnessRef, Store

if TYPE_CHECKING:
    from kiosk.services.approvals import ApprovalsService

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
        assisted_id: bool = True,
        reenrol_after: int = 3,
    ) -> None:
        self.store = store
        self.clock = clock
        self.identify = identify
        self.dispenser = dispense
        self.site = site
        self.retry_remainder = retry_remainder  # site setting: finish a cut-short dose elsewhere
        self.decider = DecideService(store, clock, site)
        self.witness = WitnessService(store, clock)
        # Remote approvals, when this machine has a hub (kiosk/app.py sets it): a witness
        # from afar is offered only then.
        self.approvals: ApprovalsService | None = None
        self.assisted = AssistedIdService(
            store, clock, allowed=assisted_id, reenrol_after=reenrol_after
        )
        self.help = HelpService(store, clock)  # app.py wires the sync thread's wake
        self.notices = NoticeService(store, clock, site, StaffService(store, clock))

    def scan(self, on_finger: Callable[[], None] | None = None) -> ScanOutcome | None:
        outcome = self.identify.scan(on_finger)
        if isinstance(outcome, Recognised):
            return replace(outcome, notices=self.participant_notices(outcome.participant_id))
        return outcome

    def participant_notices(self, participant_id: int) -> tuple[Notice, ...]:
        """Staff's notices to show after this scan. A store that cannot be read here never
        stops the dose: the notices wait for the next scan."""
        try:
            return self.notices.for_participant(participant_id)
        except STORE_FAILURES as exc:
            log.error("notices not read: %s", type(exc).__name__)
            return ()

    def acknowledge_notice(self, participant_id: int, notice_uuid: str) -> None:
        self.notices.acknowledge(participant_id, notice_uuid)

    def site_notices(self) -> tuple[Notice, ...]:
        """The site's notices of the day for the idle screen; none when the store cannot be
        read (the health check then has the kiosk out of service and staff told: a notice
        is not worth a second report, nor a traceback)."""
        try:
            return self.notices.at_idle()
        except STORE_FAILURES as exc:
            log.warning("site notices not read: %s", type(exc).__name__)
            return ()

    def assisted_allowed(self) -> bool:
        """Whether the discreet staff-identification button shows; not when the store cannot
        be read (nothing could be identified then anyway)."""
        try:
            return self.assisted.allowed()
        except STORE_FAILURES as exc:
            log.warning("assisted identification setting not read: %s", type(exc).__name__)
            return False

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

    def verify_requester(self, participant_id: int, pin: str) -> int | None:
        """The staff id of who asks for a witness from afar, or None (``PinLocked``)."""
        return self.witness.verify_requester(participant_id, pin)

    def remote_witness_offer(self, participant_id: int, view: DecisionView) -> RemoteOffer | None:
        """ "Witness from afar" for this decision: only for a dose that needs a witness, on
        a machine with a hub, where the site's policy lets someone witness from afar."""
        approvals = self.approvals
        if approvals is None or not view.needs_witness:
            return None
        if not approvals.offered().allows(ApprovalAction.WITNESS_DOSE):
            return None
        witnessed = [dose.prescription.id for dose in view.doses if dose.witnessed]
        hub_ids = approvals_repo.prescription_hub_ids(self.store.conn, witnessed)
        return RemoteOffer(witness_subject(participant_id, hub_ids), approvals.app_codes_offered())

    def _remote_witness(self, participant_id: int, request_id: str) -> RemoteWitnessRef:
        """The clinician who witnessed from afar, from the store (never from the screen):
        a witness_dose request for this participant, used (approved and recorded) within
        the last ``VALIDITY``, that witnessed no dispense yet."""
        conn = self.store.conn
        found = approvals_repo.request(conn, request_id)
        now = self.clock.now()
        if (
            found is None
            or found.action is not ApprovalAction.WITNESS_DOSE
            or found.used_at is None
            or found.approver_id is None
            or subject_participant(found.subject) != participant_id
            or not found.used_at <= now <= found.used_at + VALIDITY
            or approvals_repo.witness_request_dispensed(conn, request_id)
        ):
            log.warning("remote witness %s refused for participant %d", request_id, participant_id)
            raise WitnessRequired("that remote witness does not witness this dose")
        return RemoteWitnessRef(found.approver_id, request_id)

    def dispense(
        self,
        participant_id: int,
        witness_staff_id: int | None = None,
        on_unit: UnitCallback | None = None,
        plan: Sequence[int] = (),
        remote_witness: str | None = None,
        identified_by: int | None = None,
    ) -> list[VendResult]:
        """Decide again (the plan may be stale) and vend, in turn, the doses of ``plan`` (the
        prescriptions the participant was shown, in that order; empty: every dose allowed).
        One result per planned dose, in order: a dose the new decision no longer offers is
        not vended (0 units), and a dose that was not shown is never vended. ``identified_by``:
        the staff member who identified the participant (each vend's record says so)."""
        view = self.decider.decide(participant_id)
        offered = {dose.prescription.id: dose for dose in view.doses}
        planned = list(plan) or list(offered)
        doses = [offered.get(rx_id) for rx_id in planned]
        remote = (
            None if remote_witness is None else self._remote_witness(participant_id, remote_witness)
        )
        witnessed = witness_staff_id is not None or remote is not None
        if not witnessed and any(d is not None and d.witnessed for d in doses):
            raise WitnessRequired("a witnessed dose cannot be given without a witness")
        results: list[VendResult] = []
        for index, (rx_id, dose) in enumerate(zip(planned, doses, strict=True)):
            if dose is None:
                results.append(self._not_offered(view, rx_id))
                continue
            results.append(
                self._give(
                    participant_id, dose, index, (witness_staff_id, remote), on_unit, identified_by
                )
            )
        return results

    def _not_offered(self, view: DecisionView, rx_id: int) -> VendResult:
        """A planned dose the decision at vend time does not offer: its lane went (the
        decision told staff) or the rules changed in between (staff are told here)."""
        if any(dose.prescription.id == rx_id for dose in view.unavailable):
            return VendResult(0, 0, 0, 0, "no_lane")
        log.warning("prescription %d no longer allowed at vend time: not given", rx_id)
        self.store.raise_alert(
            AlertKind.DOSE_NOT_GIVEN,
            f"prescription:{rx_id}",
            "A dose shown to the participant was not given: the rules refused it when the "
            "machine was about to dispense. The participant was asked to see staff.",
            self.clock.now(),
        )
        return VendResult(0, 0, 0, 0, "not_allowed")

    def _give(
        self,
        participant_id: int,
        dose: PlannedDose,
        index: int,
        witness: tuple[int | None, RemoteWitnessRef | None],
        on_unit: UnitCallback | None,
        identified_by: int | None = None,
    ) -> VendResult:
        witness_staff_id, remote = witness
        # Units already given by an earlier vend of this dose (when its rest is retried).
        offset = [0]

        def progress(dropped: int) -> None:
            if on_unit is not None:
                on_unit(index, offset[0] + dropped)

        try:
            result = self.dispenser.vend(
                participant_id,
                dose.prescription,
                dose.units,
                progress,
                witness_staff_id,
                remote,
                identified_by,
            )
        except NoLane:
            # Its lane went between the decision and the vend: nothing moved for this
            # medication; the others are still given. Staff are told; the participant sees
            # what they received and "please see staff".
            raise_no_lane_alert(self.store, dose.prescription.medication.id, self.clock.now())
            log.error("no ready lane for prescription %d", dose.prescription.id)
            return VendResult(0, 0, dose.units, 0, "no_lane")
        given = result.dropped
        if self._may_finish_elsewhere(dose, result):
            offset[0] = given
            rest = self.dispenser.vend(
                participant_id,
                dose.prescription,
                dose.units - given,
                progress,
                witness_staff_id,
                remote,
                identified_by,
            )
            result = replace(result, dropped=given + rest.dropped, outcome=rest.outcome)
        return result

    def told_after(self, results: Sequence[VendResult]) -> Told | None:
        """After a dispense that gave less than planned: whether staff's alert about each
        short line is in the store (a partial vend, a lane gone, a dose no longer allowed),
        so the done screen says "staff have been told" only when it is true."""
        wanted: list[tuple[tuple[AlertKind, ...], str | None]] = []
        for result in results:
            if result.dropped >= result.units and result.outcome != "not_allowed":
                continue
            if result.outcome == "no_lane":
                wanted.append(((AlertKind.NO_LANE,), None))
            elif result.outcome == "not_allowed":
                wanted.append(((AlertKind.DOSE_NOT_GIVEN,), None))
            else:
                wanted.append(((AlertKind.PARTIAL_DISPENSE,), f"vend:{result.vend_id}"))
        if not wanted:
            return None
        try:
            return self.store.told_about(wanted)
        except STORE_FAILURES:
            log.exception("could not read whether staff were told")
            return NOT_RECORDED

    def next_dose(self, participant_id: int, plan: Sequence[int] = ()) -> datetime | None:
        """After a dispense: the soonest time one of the planned prescriptions (empty: any)
        is allowed again, from the same rules (nothing written). None when unknown."""
        try:
            view = self.decider.decide(participant_id, at=self.clock.now())
        except Exception:  # a nicety on the done screen must never hide a given dose
            log.exception("next dose time not found")
            return None
        times = [
            verdict.next_eligible
            for rx, verdict in view.decisions
            if isinstance(verdict, Refused)
            and verdict.reason in TIMED_REASONS
            and verdict.next_eligible is not None
            and (not plan or rx.id in plan)
        ]
        return min(times, default=None)
