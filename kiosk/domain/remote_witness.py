"""Witnessing a dose from afar: the participant flow's remote-witness step, pure.

Where a site's rules require a witness for a dose and no nurse or pharmacist is on site,
staff at the machine can ask the on-call clinician to witness it from afar (the action
``witness_dose``, which a site enables in its remote-approval policy; nobody by default). The
witness screen then offers "Witness from afar" (``RemoteOffer``: only when the policy allows
it and this machine has a hub). Two stages:

1. ``WHO``: the staff member at the machine types their own PIN (any role): the request
   names them, and the audit has both names.
2. ``ASKING``: the request-approval step of kiosk.domain.remote_approval runs unchanged
   (online decision, or the challenge and response, or a code from the clinician's app),
   for the one action ``witness_dose`` about ``subject`` (``participant:<id>`` and the
   witnessed prescriptions' hub ids: ids only).

It ends ``WITNESSED`` once the service recorded the approval as used (the flow then dispenses
exactly as with an on-site witness, naming the request, whose approver the dispense record
names as ``hub_user:<id>``), ``NOT_WITNESSED`` when the clinician refused, the request expired
or too many wrong PINs were typed (the flow's "no witness" outcome), or ``CANCELLED`` (back to
the witness screen, the request withdrawn).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction, ApprovalEffect, ApprovalState, ApprovalStep

MAX_PIN_ATTEMPTS = 3


def witness_subject(participant_id: int, prescription_hub_ids: tuple[int, ...] = ()) -> str:
    """What the request is about, ids only: ``participant:7/prescription:41,42``."""
    subject = f"participant:{participant_id}"
    if prescription_hub_ids:
        subject += "/prescription:" + ",".join(str(i) for i in prescription_hub_ids)
    return subject


def subject_participant(subject: str) -> int | None:
    """The participant id of a witness request's subject (None for another subject)."""
    head = subject.split("/", 1)[0]
    kind, _sep, number = head.partition(":")
    if kind != "participant" or not number.isascii() or not number.isdigit():
        return None
    return int(number)


@dataclass(frozen=True)
class RemoteOffer:
    """The witness screen may offer "Witness from afar" for this dose."""

    subject: str
    app_codes: bool = False  # "Code from the clinician's app" may be offered too


class Stage(enum.Enum):
    WHO = "who"  # staff at the machine type their PIN
    ASKING = "asking"  # the approval step runs
    WITNESSED = "witnessed"
    NOT_WITNESSED = "not_witnessed"
    CANCELLED = "cancelled"


# Events
@dataclass(frozen=True)
class RequesterPin:
    pin: str


@dataclass(frozen=True)
class RequesterAccepted:
    staff_id: int
    at: datetime


@dataclass(frozen=True)
class RequesterRejected:
    pass


@dataclass(frozen=True)
class RequesterLocked:
    seconds: int


@dataclass(frozen=True)
class Approval:
    """An event of the approval step (kiosk.domain.remote_approval), at ``at``. A screen
    leaves ``at`` out; the flow driver stamps it with the kiosk's clock (``stamped``)."""

    event: ra.ApprovalEvent
    at: datetime | None = None

    def stamped(self, now: datetime) -> Approval:
        return self if self.at is not None else Approval(self.event, now)


@dataclass(frozen=True)
class GiveUp:
    """Staff cancel; or the screen timed out (``timed_out``)."""

    timed_out: bool = False


RemoteEvent = RequesterPin | RequesterAccepted | RequesterRejected | RequesterLocked | Approval


# Effects (besides the approval step's own)
@dataclass(frozen=True)
class VerifyRequester:
    pin: str


RemoteEffect = VerifyRequester | ApprovalEffect

_FAILED = (ApprovalStep.REFUSED, ApprovalStep.EXPIRED, ApprovalStep.NOT_ALLOWED)


@dataclass(frozen=True)
class RemoteWitness:
    stage: Stage
    offer: RemoteOffer
    staff_id: int | None = None
    pin_attempts: int = 0
    pin_locked_seconds: int = 0
    approval: ApprovalState | None = None
    effects: tuple[RemoteEffect, ...] = field(default=(), compare=False)

    @property
    def request_id(self) -> str:
        return self.approval.request_id if self.approval is not None else ""

    @property
    def ended(self) -> bool:
        return self.stage in (Stage.WITNESSED, Stage.NOT_WITNESSED, Stage.CANCELLED)


def start(offer: RemoteOffer) -> RemoteWitness:
    return RemoteWitness(Stage.WHO, offer)


def step(state: RemoteWitness, event: RemoteEvent | GiveUp) -> RemoteWitness:
    """The next state. Events that do not fit the stage are ignored."""
    s = replace(state, effects=())
    match state.stage, event:
        case Stage.WHO, RequesterPin(pin=pin) if pin:
            return replace(s, effects=(VerifyRequester(pin),))
        case Stage.WHO, RequesterAccepted(staff_id=staff_id, at=at):
            asking = ApprovalState(
                ApprovalStep.CHOOSE_ACTION,
                (ApprovalAction.WITNESS_DOSE,),
                app_codes=state.offer.app_codes,
            )
            choose = ra.Choose(ApprovalAction.WITNESS_DOSE, state.offer.subject)
            asking = ra.step(asking, choose, at)
            return _with_approval(
                replace(s, stage=Stage.ASKING, staff_id=staff_id, pin_locked_seconds=0), asking
            )
        case Stage.WHO, RequesterRejected():
            attempts = state.pin_attempts + 1
            if attempts >= MAX_PIN_ATTEMPTS:
                return replace(s, stage=Stage.NOT_WITNESSED, pin_attempts=attempts)
            return replace(s, pin_attempts=attempts, pin_locked_seconds=0)
        case Stage.WHO, RequesterLocked(seconds=seconds):
            return replace(s, pin_locked_seconds=seconds)
        case Stage.ASKING, Approval(event=inner, at=datetime() as at) if state.approval is not None:
            return _with_approval(s, ra.step(state.approval, inner, at))
        case Stage.WHO, GiveUp(timed_out=timed_out):
            return replace(s, stage=Stage.NOT_WITNESSED if timed_out else Stage.CANCELLED)
        case Stage.ASKING, GiveUp(timed_out=timed_out) if state.approval is not None:
            busy = state.approval.step in (ApprovalStep.SENDING, ApprovalStep.CHECKING)
            if busy and not timed_out:
                return s  # a request being recorded or a code being checked finishes first
            withdraw = (ra.Withdraw(state.request_id),) if state.request_id else ()
            ended = Stage.NOT_WITNESSED if timed_out else Stage.CANCELLED
            return replace(s, stage=ended, effects=withdraw)
    return s


def _with_approval(s: RemoteWitness, approval: ApprovalState) -> RemoteWitness:
    effects: tuple[RemoteEffect, ...] = approval.effects
    stage = s.stage
    if approval.step is ApprovalStep.APPROVED:
        stage = Stage.WITNESSED
    elif approval.step in _FAILED:
        stage = Stage.NOT_WITNESSED
    return replace(s, stage=stage, approval=replace(approval, effects=()), effects=effects)
