"""Remote approval of a privileged action: the codes and the kiosk's "request approval" step.

A night worker asks for an action their role cannot do alone (clear a door or tamper lockout,
unlock the service door for a jam, release a missed-dose hold, witness a dose where the site
allows it). Online, the hub shows the request to the on-call clinician, whose decision comes
back by sync. Offline, the kiosk shows an 8-digit challenge; the clinician, on the phone,
types it into the hub page (machine, action, challenge) and reads back an 8-digit response the
kiosk verifies without a network.

The response (``response_code``) is RFC 4226's dynamic truncation of
HMAC-SHA256(seed, "kiosk-approval-v1|machine|action|challenge|time step") to 8 digits. Why not
pyotp's ``HOTP``: it MACs only an integer counter, and the code must be bound to the machine,
the action and the challenge, not just to a time; the truncation is the RFC's 6 lines, written
out here so the hub computes with this very function (kiosk.domain is pure and the hub imports
it). The seed is the clinician's base32 secret, delivered to the kiosks of their sites.

Verification (``verify_response``): a code is accepted only
- from an approver whose role the site's policy allows for that action,
- for this machine, this action and this challenge (the message binds all three),
- within ``VALIDITY`` (10 minutes) of the challenge's issue on the kiosk's clock: the time
  steps tried run from the step of the issue (less ``SKEW`` for the hub's clock) to the step
  of now (plus ``SKEW``), and never once 10 minutes have passed, whatever the code,
- once: a challenge that was used is refused (the service records it).
Wrong codes count in the kiosk's PIN lockout policy (``EntryPoint.APPROVAL_CODE``).

Instead of the response, staff may type the 6-digit code of the clinician's authenticator app
(``UseApp``; kiosk.domain.app_codes): bound to the pending request rather than the challenge,
single use per clinician and 30-s step, where the site's policy allows app codes.

The step's state machine (``ApprovalState``, ``step``) is pure: no Qt, no I/O; the time is an
argument, the randomness a parameter of ``new_challenge``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from kiosk.domain.dosing import MISSED_DOSES_HOLD_REASON
from kiosk.domain.model import Prescription, PrescriptionStatus
from kiosk.domain.permissions import Permission, allowed

CODE_DIGITS = 8
APP_CODE_DIGITS = 6  # an authenticator app's code (kiosk.domain.app_codes)
CHALLENGE_DIGITS = 8
VALIDITY = timedelta(minutes=10)
TIME_STEP_SECONDS = 300  # 5-minute steps: a code read at minute 9 was computed in step 1 or 2
SKEW = timedelta(minutes=2)  # how far the hub's clock may be from the kiosk's
ONLINE_WAIT = timedelta(minutes=3)  # no decision by then: offer the phone
MESSAGE_VERSION = b"kiosk-approval-v1"


class ApprovalAction(enum.Enum):
    """What may be approved from afar (the wire's ``action``)."""

    CLEAR_DOOR_LOCKOUT = "clear_door_lockout"
    CLEAR_TAMPER_LOCKOUT = "clear_tamper_lockout"
    UNLOCK_SERVICE_DOOR = "unlock_service_door"
    RELEASE_HOLD = "release_hold"
    WITNESS_DOSE = "witness_dose"


# The hub's care roles that may approve each action when the site says nothing else.
# Witnessing from afar is off unless the site turns it on.
DEFAULT_POLICY: dict[ApprovalAction, tuple[str, ...]] = {
    ApprovalAction.CLEAR_DOOR_LOCKOUT: ("nurse", "pharmacist"),
    ApprovalAction.CLEAR_TAMPER_LOCKOUT: ("nurse", "pharmacist"),
    ApprovalAction.UNLOCK_SERVICE_DOOR: ("nurse", "pharmacist"),
    ApprovalAction.RELEASE_HOLD: ("pharmacist", "prescriber"),
    ApprovalAction.WITNESS_DOSE: (),
}
APPROVER_ROLES = ("prescriber", "pharmacist", "nurse")  # the hub's clinical roles
APP_CODES_KEY = "app_codes"  # in the setting ``remote_approval``: may app codes approve here

# What each action needs of the signed-in role to do it alone at the kiosk.
NEEDS: dict[ApprovalAction, Permission] = {
    ApprovalAction.CLEAR_DOOR_LOCKOUT: Permission.CONFIRM_SECURE,
    ApprovalAction.CLEAR_TAMPER_LOCKOUT: Permission.CONFIRM_SECURE,
    ApprovalAction.UNLOCK_SERVICE_DOOR: Permission.RESET_LANE,
    ApprovalAction.RELEASE_HOLD: Permission.RELEASE_HOLD,
    ApprovalAction.WITNESS_DOSE: Permission.WITNESS_DOSE,
}


def ask_instead(role: str, action: ApprovalAction) -> bool:
    """``role`` may not do ``action`` alone: the screen offers to ask the on-call clinician."""
    return not allowed(role, NEEDS[action])


def hold_subject(hub_id: str | None) -> str | None:
    """The approval subject for releasing a hold on a prescription: only one the hub knows
    (the clinician approves it by its hub id); None for one entered at this kiosk only."""
    return f"prescription:{hub_id}" if hub_id else None


def release_askable(rx: Prescription) -> bool:
    """The on-call clinician is asked to release only a hold the rules put on for missed
    doses (a staff member's own hold is theirs to lift, an active prescription has none)."""
    return rx.status is PrescriptionStatus.ON_HOLD and rx.hold_reason == MISSED_DOSES_HOLD_REASON


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which actions may be approved remotely at this site, and by which hub roles."""

    roles: Mapping[ApprovalAction, tuple[str, ...]]
    # Codes read from a clinician's authenticator app (kiosk.domain.app_codes) are accepted.
    # Allowed unless the site turns them off: enrolling an app is each clinician's own
    # opt-in, and an app code is held to the same roles, request and single use.
    app_codes: bool = True

    def allows(self, action: ApprovalAction) -> bool:
        return bool(self.roles.get(action))

    def allows_role(self, action: ApprovalAction, role: str) -> bool:
        return role in self.roles.get(action, ())

    def as_wire(self) -> dict[str, list[str] | bool]:
        wire: dict[str, list[str] | bool] = {
            action.value: sorted(self.roles.get(action, ())) for action in ApprovalAction
        }
        wire[APP_CODES_KEY] = self.app_codes
        return wire


def default_policy() -> ApprovalPolicy:
    return ApprovalPolicy(dict(DEFAULT_POLICY))


def policy_from_wire(value: object) -> ApprovalPolicy:
    """The pulled setting ``remote_approval`` ({action: [roles]}); anything unreadable, or an
    action it does not name, is not allowed (a site's policy never widens by accident)."""
    if not isinstance(value, Mapping):
        return default_policy()
    roles: dict[ApprovalAction, tuple[str, ...]] = {}
    for action in ApprovalAction:
        listed = value.get(action.value)
        if isinstance(listed, list | tuple):
            roles[action] = tuple(r for r in listed if isinstance(r, str) and r in APPROVER_ROLES)
        else:
            roles[action] = ()
    # Absent (a hub before app codes): the default; anything but a boolean: not allowed.
    app_codes = value.get(APP_CODES_KEY, True)
    return ApprovalPolicy(roles, app_codes=app_codes is True)


@dataclass(frozen=True)
class ApproverSeed:
    """One clinician's key as the kiosk holds it (pulled ``approver_seed``)."""

    user_id: int
    role: str
    label: str  # first name and initial, e.g. "Maria L."
    seed: str  # base32
    actions: frozenset[ApprovalAction]
    totp: str | None = None  # base32: their confirmed authenticator app's seed, if any


# ---------------------------------------------------------------- codes


def new_challenge(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """8 random digits (leading zeros kept)."""
    return f"{randbelow(10**CHALLENGE_DIGITS):0{CHALLENGE_DIGITS}d}"


def new_seed(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A clinician's seed: 160 random bits in base32 (what pyotp.random_base32 gives)."""
    return base64.b32encode(token_bytes(20)).decode()


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // TIME_STEP_SECONDS


def seed_bytes(seed: str) -> bytes:
    """The base32 seed as bytes (padding and case forgiven); ValueError when not base32."""
    text = seed.strip().replace(" ", "").upper()
    text += "=" * (-len(text) % 8)
    try:
        key = base64.b32decode(text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a base32 seed") from exc
    if len(key) < 10:
        raise ValueError("seed shorter than 80 bits")
    return key


def _message(machine_device_id: str, action: ApprovalAction, challenge: str, step: int) -> bytes:
    parts = (MESSAGE_VERSION, machine_device_id.encode(), action.value.encode())
    return b"|".join((*parts, challenge.encode(), str(step).encode()))


def response_code(
    seed: str, machine_device_id: str, action: ApprovalAction, challenge: str, step: int
) -> str:
    """The 8-digit response: RFC 4226 dynamic truncation of HMAC-SHA256 over the binding."""
    digest = hmac.new(
        seed_bytes(seed), _message(machine_device_id, action, challenge, step), hashlib.sha256
    ).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def valid_steps(issued_at: datetime, now: datetime) -> range:
    """The time steps a response to a challenge issued at ``issued_at`` may carry, now
    (empty once ``VALIDITY`` is over, or for a challenge from the future)."""
    if not issued_at - SKEW <= now <= issued_at + VALIDITY:
        return range(0)
    return range(time_step(issued_at - SKEW), time_step(now + SKEW) + 1)


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"  # no allowed approver's code: counts as a failure
    EXPIRED = "expired"  # 10 minutes are over: ask again (not counted)
    USED = "used"  # this challenge was used already (not counted; audited)
    NOT_ALLOWED = "not_allowed"  # the site does not allow this action remotely
    # App codes only (kiosk.domain.app_codes):
    REPLAYED = "replayed"  # that clinician's code for that time step was used: a failure
    CLOCK_UNTRUSTED = "clock_untrusted"  # no decision on a clock that cannot be trusted


@dataclass(frozen=True)
class Verification:
    verdict: Verdict
    approver: ApproverSeed | None = None
    step: int | None = None  # an app code: the time step that matched (remembered as used)


def verify_response(
    code: str,
    *,
    seeds: Iterable[ApproverSeed],
    policy: ApprovalPolicy,
    machine_device_id: str,
    action: ApprovalAction,
    challenge: str,
    issued_at: datetime,
    now: datetime,
    used: bool,
) -> Verification:
    """Whether ``code`` answers this challenge, and from whom (see the module's rules)."""
    if not policy.allows(action):
        return Verification(Verdict.NOT_ALLOWED)
    if used:
        return Verification(Verdict.USED)
    steps = valid_steps(issued_at, now)
    if not steps:
        return Verification(Verdict.EXPIRED)
    code = code.strip()
    if len(code) != CODE_DIGITS or not code.isdigit():
        return Verification(Verdict.WRONG)
    for seed in seeds:
        if not policy.allows_role(action, seed.role) or action not in seed.actions:
            continue
        try:
            expected = [
                response_code(seed.seed, machine_device_id, action, challenge, s) for s in steps
            ]
        except ValueError:
            continue  # a damaged seed approves nothing
        if any(hmac.compare_digest(code, e) for e in expected):
            return Verification(Verdict.ACCEPTED, seed)
    return Verification(Verdict.WRONG)


def decision_current(expires_at: datetime, now: datetime) -> bool:
    """An online decision is acted on only before it expires."""
    return now < expires_at


# ---------------------------------------------------------------- the step


class ApprovalStep(enum.Enum):
    CHOOSE_ACTION = "choose_action"
    SENDING = "sending"  # the service records the request (and its challenge)
    WAITING = "waiting"  # online: the hub has it, the clinician decides
    APPROVED = "approved"  # the action was carried out
    REFUSED = "refused"  # the clinician said no (their reason shown)
    TIMED_OUT = "timed_out"  # no decision in ONLINE_WAIT: call and use the challenge
    CHALLENGE = "challenge"  # offline: read the challenge out, type the response
    CHECKING = "checking"  # the response is being verified
    LOCKED = "locked"  # too many wrong responses: the pad takes none for a while
    EXPIRED = "expired"  # 10 minutes are over: ask again
    NOT_ALLOWED = "not_allowed"  # the site does not allow this action from afar


class ApprovalProblem(enum.Enum):
    WRONG = "wrong"  # that response is not right (attempts left shown)
    USED = "used"  # that challenge was used already
    ACTION_FAILED = "action_failed"  # approved, but the machine could not do it (why shown)
    ERROR = "error"
    REPLAYED = "replayed"  # that app code was used already: wait for the next one
    CLOCK = "clock"  # the machine's clock cannot be trusted: app codes are not checked


# Events from staff
@dataclass(frozen=True)
class Choose:
    action: ApprovalAction
    subject: str  # "lane:2", "prescription:<hub id>", "machine"


@dataclass(frozen=True)
class UsePhone:
    """Staff call the on-call clinician instead of waiting (or after waiting in vain)."""


@dataclass(frozen=True)
class UseApp:
    """Staff type a code from the clinician's authenticator app (``by_app``), or go back
    to the challenge and response (``by_app=False``)."""

    by_app: bool = True


@dataclass(frozen=True)
class CodeEntered:
    code: str


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Tick:
    """The screen's timer (the time is ``step``'s argument)."""


# Events from the service
@dataclass(frozen=True)
class Requested:
    request_id: str
    challenge: str
    issued_at: datetime


@dataclass(frozen=True)
class Denied:
    """The site does not allow the action remotely (nothing was sent)."""


@dataclass(frozen=True)
class Decided:
    approved: bool
    approver_label: str
    reason: str = ""  # a refusal's reason


@dataclass(frozen=True)
class CodeChecked:
    verdict: Verdict
    approver_label: str = ""
    attempts_left: int = 0
    locked_seconds: int = 0


@dataclass(frozen=True)
class Performed:
    ok: bool
    detail: str = ""


ApprovalEvent = (
    Choose
    | UsePhone
    | UseApp
    | CodeEntered
    | Cancel
    | Tick
    | Requested
    | Denied
    | Decided
    | CodeChecked
    | Performed
)


# Effects for the service
@dataclass(frozen=True)
class SendRequest:
    action: ApprovalAction
    subject: str


@dataclass(frozen=True)
class CheckCode:
    request_id: str
    code: str


@dataclass(frozen=True)
class CheckAppCode:
    """Check a code from the clinician's app against this request (kiosk.domain.app_codes)."""

    request_id: str
    code: str


@dataclass(frozen=True)
class ActOnline:
    """Carry out the approved request (the service answers ``Performed``)."""

    request_id: str


@dataclass(frozen=True)
class Withdraw:
    request_id: str


ApprovalEffect = SendRequest | CheckCode | CheckAppCode | ActOnline | Withdraw


@dataclass(frozen=True)
class ApprovalState:
    step: ApprovalStep
    offered: tuple[ApprovalAction, ...]  # what the policy allows here (the buttons)
    action: ApprovalAction | None = None
    subject: str = ""
    request_id: str = ""
    challenge: str = ""
    issued_at: datetime | None = None
    approver_label: str = ""
    reason: str = ""
    problem: ApprovalProblem | None = None
    attempts_left: int = 0
    locked_until: datetime | None = None
    app_codes: bool = False  # "Code from the clinician's app" is offered (policy, seeds)
    by_app: bool = False  # the keypad takes an app's 6-digit code, not the 8-digit response
    effects: tuple[ApprovalEffect, ...] = field(default=(), compare=False)

    @property
    def polling(self) -> bool:
        """The screen asks the service for the hub's decision (online, still open)."""
        return self.step in (ApprovalStep.WAITING, ApprovalStep.TIMED_OUT)

    @property
    def keypad(self) -> bool:
        """The response keypad takes digits."""
        return self.step is ApprovalStep.CHALLENGE

    @property
    def code_digits(self) -> int:
        """How many digits the keypad takes: an app's code or the challenge's response."""
        return APP_CODE_DIGITS if self.by_app else CODE_DIGITS

    @property
    def can_use_app(self) -> bool:
        """The screen offers "Code from the clinician's app" now."""
        return self.app_codes and not self.by_app and (self.polling or self.keypad)

    def seconds_left(self, now: datetime) -> int:
        """Until the challenge expires (0 without one)."""
        if self.issued_at is None:
            return 0
        return max(0, int((self.issued_at + VALIDITY - now).total_seconds()))


def start(
    policy: ApprovalPolicy, wanted: Iterable[ApprovalAction] = (), *, app_seeds: bool = False
) -> ApprovalState:
    """The step, offering the actions asked for (all when none) that the policy allows;
    app codes too when the site allows them and some clinician's app seed is here."""
    asked = tuple(wanted) or tuple(ApprovalAction)
    offered = tuple(a for a in asked if policy.allows(a))
    return ApprovalState(
        ApprovalStep.CHOOSE_ACTION if offered else ApprovalStep.NOT_ALLOWED,
        offered,
        app_codes=policy.app_codes and app_seeds,
    )


_WAITING_FOR_CODE = (ApprovalStep.CHALLENGE, ApprovalStep.CHECKING)


def step(state: ApprovalState, event: ApprovalEvent, now: datetime) -> ApprovalState:
    """The next state. Events that do not fit the step are ignored."""
    s = replace(state, effects=())
    match state.step, event:
        case ApprovalStep.CHOOSE_ACTION, Choose(action=action, subject=subject) if (
            action in state.offered
        ):
            return replace(
                s,
                step=ApprovalStep.SENDING,
                action=action,
                subject=subject,
                effects=(SendRequest(action, subject),),
            )
        case ApprovalStep.SENDING, Requested(request_id=rid, challenge=challenge, issued_at=at):
            return replace(
                s, step=ApprovalStep.WAITING, request_id=rid, challenge=challenge, issued_at=at
            )
        case ApprovalStep.SENDING, Denied():
            return replace(s, step=ApprovalStep.NOT_ALLOWED)
        case (
            (ApprovalStep.WAITING | ApprovalStep.TIMED_OUT),
            Decided(approved=approved, approver_label=label, reason=reason),
        ):
            if approved:
                return replace(
                    s,
                    step=ApprovalStep.CHECKING,
                    approver_label=label,
                    effects=(ActOnline(state.request_id),),
                )
            return replace(s, step=ApprovalStep.REFUSED, approver_label=label, reason=reason)
        case ((ApprovalStep.WAITING | ApprovalStep.TIMED_OUT), UsePhone()):
            return replace(s, step=ApprovalStep.CHALLENGE, problem=None, by_app=False)
        case (
            (ApprovalStep.WAITING | ApprovalStep.TIMED_OUT | ApprovalStep.CHALLENGE),
            UseApp(by_app=by_app),
        ) if state.app_codes or not by_app:
            return replace(s, step=ApprovalStep.CHALLENGE, problem=None, by_app=by_app)
        case (ApprovalStep.CHALLENGE, CodeEntered(code=code)) if code:
            check: ApprovalEffect = (
                CheckAppCode(state.request_id, code)
                if state.by_app
                else CheckCode(state.request_id, code)
            )
            return replace(s, step=ApprovalStep.CHECKING, problem=None, effects=(check,))
        case ApprovalStep.CHECKING, CodeChecked(verdict=verdict) as checked:
            return _checked(s, checked, verdict, now)
        case ApprovalStep.CHECKING, Performed(ok=ok, detail=detail):
            if ok:
                return replace(s, step=ApprovalStep.APPROVED, problem=None)
            return replace(
                s, step=ApprovalStep.REFUSED, problem=ApprovalProblem.ACTION_FAILED, reason=detail
            )
        case _, Cancel() if state.step not in (ApprovalStep.CHECKING, ApprovalStep.SENDING):
            undo = (
                (Withdraw(state.request_id),)
                if state.request_id
                and state.step
                in (
                    ApprovalStep.WAITING,
                    ApprovalStep.TIMED_OUT,
                    *_WAITING_FOR_CODE,
                    ApprovalStep.LOCKED,
                )
                else ()
            )
            return replace(start_over(state), effects=undo)
        case _, Tick():
            return _timed(s, now)
    return s


def _checked(
    s: ApprovalState, checked: CodeChecked, verdict: Verdict, now: datetime
) -> ApprovalState:
    match verdict:
        case Verdict.ACCEPTED:
            return replace(s, approver_label=checked.approver_label)  # stays: Performed next
        case Verdict.WRONG | Verdict.REPLAYED if checked.locked_seconds > 0:
            until = now + timedelta(seconds=checked.locked_seconds)
            return replace(s, step=ApprovalStep.LOCKED, locked_until=until)
        case Verdict.WRONG | Verdict.REPLAYED:
            wrong = ApprovalProblem.WRONG if verdict is Verdict.WRONG else ApprovalProblem.REPLAYED
            return replace(
                s,
                step=ApprovalStep.CHALLENGE,
                problem=wrong,
                attempts_left=checked.attempts_left,
            )
        case Verdict.CLOCK_UNTRUSTED:
            return replace(s, step=ApprovalStep.CHALLENGE, problem=ApprovalProblem.CLOCK)
        case Verdict.EXPIRED:
            return replace(s, step=ApprovalStep.EXPIRED)
        case Verdict.USED:
            return replace(s, step=ApprovalStep.EXPIRED, problem=ApprovalProblem.USED)
        case Verdict.NOT_ALLOWED:
            return replace(s, step=ApprovalStep.NOT_ALLOWED)
    return replace(s, step=ApprovalStep.CHALLENGE, problem=ApprovalProblem.ERROR)


def _timed(s: ApprovalState, now: datetime) -> ApprovalState:
    if s.issued_at is None:
        return s
    open_steps = (
        ApprovalStep.WAITING,
        ApprovalStep.TIMED_OUT,
        ApprovalStep.CHALLENGE,
        ApprovalStep.LOCKED,
    )
    if s.step in open_steps and now > s.issued_at + VALIDITY:
        return replace(s, step=ApprovalStep.EXPIRED, locked_until=None)
    if s.step is ApprovalStep.WAITING and now >= s.issued_at + ONLINE_WAIT:
        return replace(s, step=ApprovalStep.TIMED_OUT)
    if s.step is ApprovalStep.LOCKED and s.locked_until is not None and now >= s.locked_until:
        return replace(s, step=ApprovalStep.CHALLENGE, locked_until=None, problem=None)
    return s


def start_over(state: ApprovalState) -> ApprovalState:
    return ApprovalState(
        ApprovalStep.CHOOSE_ACTION if state.offered else ApprovalStep.NOT_ALLOWED,
        state.offered,
        app_codes=state.app_codes,
    )
