"""Clearing a service-door or tamper lockout on the out-of-service screen, as a pure state
machine.

Steps: close the door and reset the tamper switch (staff say so) → enter the PIN of a role
the site allows to clear (``LockoutPolicy``) → the kiosk checks the PIN and the controller's
STATUS → cleared. Every refusal sends staff back to the step that fixes it, with its reason:
a PIN of another role (the screen names the roles that can and the site's on-call contact),
a locked PIN entry (how long), the door still open or the switch still tripped (close up
again), a silent controller (nothing could be checked: try again).

The participant flow (``kiosk.domain.flow``) holds one ``SecureState`` while the machine is
out of service for a lockout and hands it the staff events; screens only render it. No Qt,
no I/O, no clock.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from kiosk.domain.permissions import Permission, Role, roles_with


class RemoteAsk(enum.Enum):
    """Whether "Ask the on-call clinician" can work for a lockout here and now."""

    NONE = "none"  # no hub, or the site does not allow it from afar: never offered
    READY = "ready"  # a clinician's key is on the kiosk (works offline) or the hub answers
    NOT_READY = "not_ready"  # a hub, but neither: not offered, and staff are told why


class Latch(enum.Enum):
    """What latched the machine (the values are the health faults' names)."""

    DOOR = "door_opened"  # the service door opened outside a staff session
    TAMPER = "tamper"  # the tamper switch tripped


class SecureStep(enum.Enum):
    CLOSE_UP = "close_up"  # close the service door, reset the tamper switch; say so
    ENTER_PIN = "enter_pin"  # the PIN of a role that may clear
    CHECKING = "checking"  # the PIN, then STATUS, are being checked
    CLEARED = "cleared"  # the lockout is lifted (other faults may still hold the screen)


class SecureRefusal(enum.Enum):
    """Why the last PIN did not clear the lockout."""

    PIN_NOT_ACCEPTED = "pin"  # wrong PIN, or a role the site does not allow to clear
    LOCKED = "locked"  # too many wrong PINs: the pad takes none for a while
    DOOR_OPEN = "door_open"  # STATUS: the door is still open
    TAMPER = "tamper"  # STATUS: the tamper switch is still tripped
    CONTROLLER_SILENT = "controller"  # no STATUS: nothing could be checked
    ERROR = "error"  # anything else (logged)


@dataclass(frozen=True)
class LockoutPolicy:
    """The site's rule (kiosk.toml ``[site] door_clear_roles``, ``on_call``), and whether a
    clinician can approve clearing it from afar right now (``remote``, from the health check)."""

    roles: tuple[Role, ...]
    on_call: str | None = None
    remote: RemoteAsk = RemoteAsk.NONE


def default_policy() -> LockoutPolicy:
    """The roles the permission table grants, no on-call contact (a site without a say)."""
    return LockoutPolicy(tuple(Role(name) for name in roles_with(Permission.CONFIRM_SECURE)))


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class MachineClosed:
    """Staff say the door is closed and the tamper switch reset."""


@dataclass(frozen=True)
class PinEntered:
    pin: str


@dataclass(frozen=True)
class Confirmed:
    """The PIN was accepted and STATUS showed the machine closed: the lockout is cleared."""


@dataclass(frozen=True)
class Refused:
    reason: SecureRefusal
    seconds: int = 0  # LOCKED: how long the pad takes no PIN


@dataclass(frozen=True)
class Back:
    """Staff step back to the start (a PIN pad left half-typed, a wrong turn)."""


@dataclass(frozen=True)
class StatusSeen:
    """What the controller's STATUS says now (each health check while a refusal shows): a
    refusal it disproves ("close the door first" once the door is closed) is withdrawn."""

    door_open: bool
    tamper: bool


SecureEvent = MachineClosed | PinEntered | Confirmed | Refused | Back | StatusSeen

# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class ConfirmSecure:
    """Check ``pin`` (role, lockout policy) and then STATUS; answer Confirmed or Refused."""

    pin: str


# ---------------------------------------------------------------- state

# Where each refusal sends staff: what they must do next.
_BACK_TO: dict[SecureRefusal, SecureStep] = {
    SecureRefusal.PIN_NOT_ACCEPTED: SecureStep.ENTER_PIN,
    SecureRefusal.LOCKED: SecureStep.ENTER_PIN,
    SecureRefusal.DOOR_OPEN: SecureStep.CLOSE_UP,
    SecureRefusal.TAMPER: SecureStep.CLOSE_UP,
    SecureRefusal.CONTROLLER_SILENT: SecureStep.ENTER_PIN,
    SecureRefusal.ERROR: SecureStep.ENTER_PIN,
}


@dataclass(frozen=True)
class SecureState:
    step: SecureStep
    latches: frozenset[Latch]
    policy: LockoutPolicy
    refusal: SecureRefusal | None = None
    locked_seconds: int = 0
    effects: tuple[ConfirmSecure, ...] = field(default=(), compare=False)

    @property
    def pin_pad(self) -> bool:
        """The PIN pad takes digits (the other steps hide or disable it)."""
        return self.step is SecureStep.ENTER_PIN


def latches_in(faults: Iterable[str]) -> frozenset[Latch]:
    names = {latch.value: latch for latch in Latch}
    return frozenset(names[f] for f in faults if f in names)


def start(faults: Iterable[str], policy: LockoutPolicy) -> SecureState:
    return SecureState(SecureStep.CLOSE_UP, latches_in(faults), policy)


def step(state: SecureState, event: SecureEvent) -> SecureState:
    """The next state. Events that do not fit the step are ignored."""
    s = replace(state, effects=())
    match state.step, event:
        case SecureStep.CLOSE_UP, MachineClosed():
            return replace(s, step=SecureStep.ENTER_PIN)
        case SecureStep.ENTER_PIN, PinEntered(pin=pin) if pin:
            return replace(
                s,
                step=SecureStep.CHECKING,
                refusal=None,
                locked_seconds=0,
                effects=(ConfirmSecure(pin),),
            )
        case SecureStep.CHECKING, Confirmed():
            return replace(s, step=SecureStep.CLEARED, refusal=None, locked_seconds=0)
        case SecureStep.CHECKING, Refused(reason=reason, seconds=seconds):
            locked = seconds if reason is SecureRefusal.LOCKED else 0
            return replace(s, step=_BACK_TO[reason], refusal=reason, locked_seconds=locked)
        case ((SecureStep.ENTER_PIN | SecureStep.CLOSE_UP), Back()):
            return replace(s, step=SecureStep.CLOSE_UP, refusal=None, locked_seconds=0)
        case _, StatusSeen(door_open=door_open, tamper=tamper) if (
            state.refusal is SecureRefusal.DOOR_OPEN and not door_open
        ) or (state.refusal is SecureRefusal.TAMPER and not tamper):
            return replace(s, refusal=None)
    return s


def relatched(
    state: SecureState | None, faults: Iterable[str], policy: LockoutPolicy
) -> SecureState:
    """The health report changed while a lockout holds: keep staff where they are, with the
    latches now reported (a fresh start when there was none, or it had been cleared)."""
    if state is None or state.step is SecureStep.CLEARED:
        return start(faults, policy)
    return replace(state, latches=latches_in(faults), policy=policy, effects=())


# The refusals after which staff who may not clear it can ask the on-call clinician instead.
_ASK_AFTER = (SecureRefusal.PIN_NOT_ACCEPTED, SecureRefusal.LOCKED)


def approval_subject(state: SecureState) -> str | None:
    """What to ask the on-call clinician to approve ("tamper" or "door", the approval page's
    subjects) once the PIN pad refused a PIN (a role that may not clear it, or locked) and a
    clinician can approve it from afar now; None otherwise (a role that may clear it gets on
    with the steps; without a hub, or without a key and a link to it, nobody could answer)."""
    if not _refused_here(state) or state.policy.remote is not RemoteAsk.READY:
        return None
    return "tamper" if Latch.TAMPER in state.latches else "door"


def cannot_ask_yet(state: SecureState) -> bool:
    """A refused PIN where asking from afar would be offered, but cannot work yet (the
    kiosk holds no clinician's key and has not reached the hub lately): say so."""
    return _refused_here(state) and state.policy.remote is RemoteAsk.NOT_READY


def _refused_here(state: SecureState) -> bool:
    return state.step is SecureStep.ENTER_PIN and state.refusal in _ASK_AFTER
