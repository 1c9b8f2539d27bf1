"""Remote approval of privileged actions: the kiosk's side (kiosk/domain/remote_approval.py).

``request`` records a request with its challenge and queues ``approval.requested`` for the
hub (and wakes the sync thread, which then asks the hub every few seconds while a request is
pending). Online, the hub's ``approval_decision`` arrives by sync (sync/apply.py) and
``act_online`` carries the action out, once, before the decision expires. Offline,
``check_code`` verifies the clinician's response with the seeds pulled earlier, under the PIN
lockout policy (``EntryPoint.APPROVAL_CODE``), and carries the action out; ``check_app_code``
does the same with a code from the clinician's authenticator app (kiosk/domain/app_codes.py),
on a trusted clock only, remembering each clinician's used time steps. Either way
``approval.used`` tells the hub (request id, how, the approver's hub id) and the kiosk's audit
names both people: the staff member here (``staff:<id>``) and the approver (hub user id, role
and label). The site's policy (pulled setting ``remote_approval``) decides which actions may be
asked for and by which roles they may be approved.

The actions themselves are the services' own (``Performer``s, wired in kiosk/app.py):
clearing a lockout still needs STATUS to show the door closed and the switch reset.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from hardware.ports import ControllerError, DispenserController
from kiosk.domain import app_codes
from kiosk.domain import remote_approval as ra
from kiosk.domain.door_recovery import RemoteAsk
from kiosk.domain.dosing import clock_is_trusted
from kiosk.domain.remote_approval import ApprovalAction, ApprovalPolicy, Verdict
from kiosk.domain.remote_witness import subject_participant
from kiosk.services.clock import Clock
from kiosk.services.errors import Refusal
from kiosk.services.health import HealthService
from kiosk.services.holds import HoldService
from kiosk.services.pin_gate import LOCK_AFTER_FAILURES, EntryPoint, PinGate, PinLocked
from kiosk.store import approvals_repo, audit, outbox, sync_repo
from kiosk.store.approvals_repo import ApprovalRequest
from kiosk.store.db import transaction
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.approvals")

POLICY_SETTING = "remote_approval"
# A sync this recent means the hub can take a request now (without a clinician's key here,
# that is the only way an approval can come).
HUB_REACHED_WITHIN = timedelta(minutes=10)
ENTRY = EntryPoint.APPROVAL_CODE

# Carries out an approved action: (the request, the actor naming both people). Raises a
# ``Refusal`` (its text shown to staff) when the machine cannot do it.
Performer = Callable[[ApprovalRequest, str], None]


class ApprovalRefused(Refusal):
    """The request cannot go on (not allowed here, unknown, used, expired)."""


class ApprovalsService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        device_id: str | None,
        *,
        performers: Mapping[ApprovalAction, Performer] | None = None,
        pins: PinGate | None = None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._device_id = device_id
        self._performers = dict(performers or {})
        self._pins = pins or PinGate(store, clock)
        self._wake = wake

    # ------------------------------------------------------------ policy

    def policy(self) -> ApprovalPolicy:
        value = sync_repo.setting(self._store.conn, POLICY_SETTING)
        return ra.default_policy() if value is None else ra.policy_from_wire(value)

    def reach(self, action: ApprovalAction) -> RemoteAsk:
        """Whether asking for ``action`` from afar can work now: the site allows it and this
        kiosk can act on it, and either a clinician's key that may approve it is here (the
        phone works offline) or the hub answered lately (it works online)."""
        if not self.offered().allows(action):
            return RemoteAsk.NONE
        policy = self.policy()
        for seed in approvals_repo.seeds(self._store.conn):
            if action in seed.actions and policy.allows_role(action, seed.role):
                return RemoteAsk.READY
        reached = sync_repo.read_state(self._store.conn).last_success_at
        if reached is not None and self._clock.now() - reached <= HUB_REACHED_WITHIN:
            return RemoteAsk.READY
        return RemoteAsk.NOT_READY

    def lockout_reach(self, tamper: bool) -> RemoteAsk:
        """``reach`` for clearing the lockout that holds (the health check asks)."""
        action = (
            ApprovalAction.CLEAR_TAMPER_LOCKOUT if tamper else ApprovalAction.CLEAR_DOOR_LOCKOUT
        )
        return self.reach(action)

    def offered(self) -> ApprovalPolicy:
        """The policy as far as this kiosk can act on it: actions it can carry out only."""
        policy = self.policy()
        return ApprovalPolicy(
            {a: roles for a, roles in policy.roles.items() if a in self._performers},
            app_codes=policy.app_codes,
        )

    # ------------------------------------------------------------ requesting

    def request(self, action: ApprovalAction, subject: str, staff_id: int) -> ra.ApprovalEvent:
        """Record a request and queue it for the hub: ``Requested`` (its challenge), or
        ``Denied`` when the site does not allow ``action`` from afar (audited, nothing sent)."""
        now = self._clock.now()
        actor = f"staff:{staff_id}"
        if not self.offered().allows(action):
            self._store.note(now, actor, "approval.not_allowed", subject, {"action": action.value})
            return ra.Denied()
        request_id = str(uuid.uuid4())
        challenge = ra.new_challenge()
        details = {
            "request_id": request_id,
            "action": action.value,
            "requested_by": actor,
            "challenge": challenge,
        }
        with self._store.change(now, actor, "approval.requested", subject, details) as conn:
            approvals_repo.add_request(conn, request_id, action, subject, actor, challenge, now)
        log.info("remote approval %s requested for %s", request_id, action.value)
        if self._wake is not None:
            self._wake()
        return ra.Requested(request_id, challenge, now)

    def withdraw(self, request_id: str, staff_id: int) -> None:
        now = self._clock.now()
        with transaction(self._store.conn) as conn:
            if approvals_repo.withdraw(conn, request_id, now):
                details = {"request_id": request_id}
                audit.append(
                    conn,
                    now,
                    f"staff:{staff_id}",
                    "approval.withdrawn",
                    f"approval:{request_id}",
                    details,
                )
                outbox.add(conn, now, "approval.withdrawn", details)

    def pending(self) -> bool:
        """A request waits for the hub's decision (the sync thread polls fast meanwhile)."""
        since = self._clock.now() - ra.VALIDITY
        return approvals_repo.pending_count(self._store.conn, since) > 0

    # ------------------------------------------------------------ online

    def decision(self, request_id: str) -> ra.Decided | None:
        """The hub's decision, once it has arrived (None while it has not)."""
        found = approvals_repo.request(self._store.conn, request_id)
        if found is None or found.decision is None:
            return None
        return ra.Decided(
            found.decision == "approved", found.approver_label or "", found.reason or ""
        )

    def act_online(self, request_id: str) -> ra.Performed:
        """Carry out an approved request, once, before its decision expires."""
        found = self._request(request_id)
        now = self._clock.now()
        if found.decision != "approved":
            raise ApprovalRefused("this request was not approved")
        if found.expires_at is None or not ra.decision_current(found.expires_at, now):
            self._store.note(
                now,
                found.requested_by,
                "approval.expired",
                found.subject,
                {"request_id": request_id, "how": "online"},
            )
            return ra.Performed(False, "expired")
        if not self.policy().allows_role(found.action, found.approver_role or ""):
            self._store.note(
                now,
                found.requested_by,
                "approval.role_refused",
                found.subject,
                {"request_id": request_id, "approver_role": found.approver_role},
            )
            return ra.Performed(False, "role")
        approver = (found.approver_id or 0, found.approver_role or "", found.approver_label or "")
        return self._perform(found, "online", approver)

    # ------------------------------------------------------------ offline

    def check_code(self, request_id: str, code: str) -> tuple[ra.CodeChecked, ra.Performed | None]:
        """Verify a response read over the phone; on success carry the action out. Wrong
        codes count in the lockout policy (``PinLocked`` is answered as a locked verdict)."""
        found = self._request(request_id)
        locked = self._locked(found)
        if locked is not None:
            return locked, None
        if self._device_id is None:
            return ra.CodeChecked(Verdict.NOT_ALLOWED), None
        now = self._clock.now()
        verification = ra.verify_response(
            code,
            seeds=approvals_repo.seeds(self._store.conn),
            policy=self.policy(),
            machine_device_id=self._device_id,
            action=found.action,
            challenge=found.challenge,
            issued_at=found.issued_at,
            now=now,
            used=found.used_at is not None or found.withdrawn,
        )
        return self._judged(found, verification, "offline")

    def check_app_code(
        self, request_id: str, code: str
    ) -> tuple[ra.CodeChecked, ra.Performed | None]:
        """Verify a code from the clinician's authenticator app against this pending request
        (kiosk.domain.app_codes): on a trusted clock only, a clinician's code for a time step
        once, wrong and replayed codes counted by the lockout policy; on success carry the
        action out."""
        found = self._request(request_id)
        locked = self._locked(found)
        if locked is not None:
            return locked, None
        now = self._clock.now()
        conn = self._store.conn
        verification = app_codes.verify_app_code(
            code,
            seeds=approvals_repo.seeds(conn),
            policy=self.policy(),
            action=found.action,
            issued_at=found.issued_at,
            now=now,
            request_open=found.used_at is None and not found.withdrawn,
            clock_trusted=clock_is_trusted(now, self._store.latest_recorded_time()),
            step_used=partial(approvals_repo.app_step_used, conn),
        )
        if verification.verdict is Verdict.CLOCK_UNTRUSTED:
            log.error("the clock is behind the latest recorded event: app code not checked")
        if verification.verdict is Verdict.ACCEPTED:
            assert verification.approver is not None and verification.step is not None
            # Spent before the action runs: a code approves once even if the action fails.
            with transaction(conn) as tx:
                fresh = approvals_repo.use_app_step(
                    tx, verification.approver.user_id, verification.step, request_id, now
                )
            if not fresh:
                verification = ra.Verification(Verdict.REPLAYED)
        return self._judged(found, verification, "app")

    def _judged(
        self, found: ApprovalRequest, verification: ra.Verification, how: str
    ) -> tuple[ra.CodeChecked, ra.Performed | None]:
        """Count a wrong (or replayed) code, audit a refusal, or carry an approved action
        out. ``how``: "offline" (challenge and response) or "app"."""
        actor = found.requested_by
        context = f"approval:{found.request_id}"
        verdict = verification.verdict
        if verdict in (Verdict.WRONG, Verdict.REPLAYED):
            if verdict is Verdict.REPLAYED:
                self._note_refused(found, how, verdict)
            try:
                failures = self._pins.count_failure(ENTRY, actor=actor, context=context)
            except PinLocked as locked:
                return ra.CodeChecked(verdict, locked_seconds=locked.seconds_left), None
            left = max(1, LOCK_AFTER_FAILURES - failures)
            return ra.CodeChecked(verdict, attempts_left=left), None
        if verdict is not Verdict.ACCEPTED or verification.approver is None:
            self._note_refused(found, how, verdict)
            return ra.CodeChecked(verdict), None
        self._pins.count_success(ENTRY, actor=actor, context=context)
        seed = verification.approver
        performed = self._perform(found, how, (seed.user_id, seed.role, seed.label))
        return ra.CodeChecked(Verdict.ACCEPTED, seed.label), performed

    def _locked(self, found: ApprovalRequest) -> ra.CodeChecked | None:
        """The code pad's lockout, answered as a locked verdict (None: not locked)."""
        context = f"approval:{found.request_id}"
        try:
            self._pins.refuse_if_locked(ENTRY, actor=found.requested_by, context=context)
        except PinLocked as locked:
            return ra.CodeChecked(Verdict.WRONG, locked_seconds=locked.seconds_left)
        return None

    def _note_refused(self, found: ApprovalRequest, how: str, verdict: Verdict) -> None:
        details = {"request_id": found.request_id, "how": how, "verdict": verdict.value}
        self._store.note(
            self._clock.now(), found.requested_by, "approval.code_refused", found.subject, details
        )

    def app_codes_offered(self) -> bool:
        """ "Code from the clinician's app" is worth offering: the site allows app codes and
        some clinician's app seed is on this machine."""
        return self.policy().app_codes and approvals_repo.has_app_seeds(self._store.conn)

    # ------------------------------------------------------------ acting

    def _perform(
        self, found: ApprovalRequest, how: str, approver: tuple[int, str, str]
    ) -> ra.Performed:
        """Carry the action out, then mark the request used (a request whose action failed,
        e.g. the door still open, stays usable until it expires; one that worked never
        works again)."""
        now = self._clock.now()
        if found.used_at is not None or found.withdrawn:
            return ra.Performed(False, "used")
        approver_ref = f"hub_user:{approver[0]}"
        actor = f"{found.requested_by}+{approver_ref}"
        performer = self._performers.get(found.action)
        if performer is None:
            return ra.Performed(False, "unsupported")
        try:
            performer(found, actor)
        except Refusal as refusal:
            log.info("approved %s could not be carried out: %s", found.action.value, refusal)
            details = {"request_id": found.request_id, "error": type(refusal).__name__}
            self._store.note(now, actor, "approval.action_failed", found.subject, details)
            return ra.Performed(False, str(refusal))
        with transaction(self._store.conn) as conn:
            if not approvals_repo.mark_used(conn, found.request_id, how, approver, now):
                return ra.Performed(False, "used")
            # The kiosk's audit names both people (the approver's label only here, on the
            # staff's own machine); the hub is told ids.
            local: dict[str, Any] = {
                "request_id": found.request_id,
                "action": found.action.value,
                "how": how,
                "requested_by": found.requested_by,
                "approver": approver_ref,
                "approver_role": approver[1],
                "approver_label": approver[2],
            }
            audit.append(conn, now, found.requested_by, "approval.used", found.subject, local)
            wire = {k: v for k, v in local.items() if k != "approver_label"}
            outbox.add(conn, now, "approval.used", {"subject": found.subject, **wire})
        log.info("remote approval %s used (%s)", found.request_id, how)
        return ra.Performed(True)

    def _request(self, request_id: str) -> ApprovalRequest:
        found = approvals_repo.request(self._store.conn, request_id)
        if found is None:
            raise ApprovalRefused("no such request")
        return found


# ------------------------------------------------------------------ the kiosk's actions

UNLOCK_SECONDS = 30


def standard_performers(
    store: Store,
    clock: Clock,
    health: HealthService,
    controller: DispenserController,
    holds: HoldService,
) -> dict[ApprovalAction, Performer]:
    """What this kiosk can carry out once approved. Witnessing from afar is asked for on
    the participant's witness screen (kiosk.domain.remote_witness): its "action" is only the
    record of the approval (marked used by the service); the dispense that follows names the
    request, and the interaction service checks it in the store."""

    def clear(request: ApprovalRequest, actor: str) -> None:
        health.clear_lockout(actor)  # still needs STATUS: door closed, switch reset

    def unlock(request: ApprovalRequest, actor: str) -> None:
        try:
            controller.door_unlock(UNLOCK_SECONDS)
        except ControllerError as exc:
            raise Refusal("the controller did not unlock the door") from exc
        details = {"seconds": UNLOCK_SECONDS, "request_id": request.request_id}
        store.note(clock.now(), actor, "approval.door_unlocked", request.subject, details)

    def release(request: ApprovalRequest, actor: str) -> None:
        kind, _sep, hub_id = request.subject.partition(":")
        local = (
            sync_repo.prescription_by_hub_id(store.conn, hub_id) if kind == "prescription" else None
        )
        if local is None:
            raise Refusal("that prescription is not on this machine")
        try:
            holds.release_approved(local.id, actor, "released with a remote approval")
        except LookupError as exc:
            raise Refusal("that prescription is not on hold") from exc

    def witness(request: ApprovalRequest, actor: str) -> None:
        if subject_participant(request.subject) is None:
            raise Refusal("a witness from afar is for a participant's dose")

    return {
        ApprovalAction.WITNESS_DOSE: witness,
        ApprovalAction.CLEAR_DOOR_LOCKOUT: clear,
        ApprovalAction.CLEAR_TAMPER_LOCKOUT: clear,
        ApprovalAction.UNLOCK_SERVICE_DOOR: unlock,
        ApprovalAction.RELEASE_HOLD: release,
    }
