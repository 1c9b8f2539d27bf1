"""Staff-assisted identification, as a pure state machine: for a finger that will not read
(worn or burnt fingertips, a bandage, a cast).

Steps: a staff member enters their PIN (the ``ASSISTED_ID`` PIN entry, under the one lockout
policy) → types the participant's code → the participant's confirmation picture (a simple
picture they chose, or their initials) is shown big: "Is this you?" → yes: the participant
is identified by that staff member and the normal decision and dispense path follows
(``kiosk.domain.flow``). No: back to the code. Every refusal says why and stays on the step
that fixes it. A site may forbid the whole path (``AssistRefusal.FORBIDDEN``).

The participant flow holds one ``AssistState`` on its ``ASSISTED`` screen and hands it the
staff events; screens only render it. No Qt, no I/O, no clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from kiosk.domain.notices import Notice


class Picture(enum.StrEnum):
    """The confirmation pictures a participant may choose (drawn by ``kiosk.ui.pictures``);
    INITIALS shows the first letters of their name instead. The value is what the store
    keeps."""

    INITIALS = "initials"
    SUN = "sun"
    MOON = "moon"
    STAR = "star"
    HEART = "heart"
    TREE = "tree"
    HOUSE = "house"
    FISH = "fish"
    FLOWER = "flower"


def parse_picture(text: str | None) -> Picture:
    """The stored picture; INITIALS for none or one this version does not know."""
    try:
        return Picture(text or Picture.INITIALS)
    except ValueError:
        return Picture.INITIALS


def initials(name: str) -> str:
    """Up to two capital initials of a display name ("maria lopez" → "ML")."""
    letters = [word[0] for word in name.split() if word and word[0].isalnum()]
    return "".join(letters[:2]).upper()


def normalise_code(typed: str) -> str:
    """A participant code as staff type it: digits mean the kiosk's own numbering ("12" is
    P-0012, "12345" is P-12345: ``participants_repo.next_code``); anything else (a code
    with letters, typed on the on-screen keyboard) is the code itself, upper case."""
    text = typed.strip().upper()
    if text.isascii() and text.isdigit():
        return f"P-{int(text):04d}"
    return text


def code_candidates(typed: str) -> tuple[str, ...]:
    """The codes a typed entry may stand for, in the order they are looked up: the kiosk's
    numbering first, then the digits themselves (a staff-chosen code may be digits only:
    the store takes any ``[A-Za-z0-9-]`` code). The confirmation picture guards the rest."""
    text = typed.strip().upper()
    first = normalise_code(text)
    return (first,) if first == text else (first, text)


class AssistStep(enum.Enum):
    STAFF_PIN = "staff_pin"  # a staff member enters their PIN
    CODE = "code"  # they type the participant's code
    CONFIRM = "confirm"  # the participant confirms their picture: "Is this you?"
    CHECKING = "checking"  # a PIN or code is being checked (buttons wait)


class AssistRefusal(enum.Enum):
    """Why the last step did not go on."""

    PIN_NOT_ACCEPTED = "pin"
    LOCKED = "locked"  # too many wrong PINs: the entry takes none for a while
    UNKNOWN_CODE = "unknown_code"  # no active participant has this code
    FORBIDDEN = "forbidden"  # the site does not allow staff-assisted identification
    NOT_CONFIRMED = "not_confirmed"  # the participant said the picture is not theirs


@dataclass(frozen=True)
class Match:
    """The participant a code names, as the confirmation step shows them."""

    participant_id: int
    picture: Picture
    initials: str
    language: str | None = None
    # Staff's notices for them not yet acknowledged: shown once they say "this is me", as
    # after a finger scan (kiosk.domain.flow).
    notices: tuple[Notice, ...] = ()


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class StaffPin:
    pin: str


@dataclass(frozen=True)
class StaffAccepted:
    staff_id: int


@dataclass(frozen=True)
class StaffRefused:
    refusal: AssistRefusal
    seconds: int = 0  # LOCKED: how long


@dataclass(frozen=True)
class CodeTyped:
    code: str


@dataclass(frozen=True)
class CodeFound:
    match: Match


@dataclass(frozen=True)
class CodeUnknown:
    pass


@dataclass(frozen=True)
class ThisIsMe:
    pass


@dataclass(frozen=True)
class NotMe:
    pass


AssistEvent = (
    StaffPin | StaffAccepted | StaffRefused | CodeTyped | CodeFound | CodeUnknown | ThisIsMe | NotMe
)

# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class CheckStaffPin:
    pin: str


@dataclass(frozen=True)
class LookUpCode:
    code: str  # as typed (upper case): the service tries ``code_candidates``
    staff_id: int


AssistEffect = CheckStaffPin | LookUpCode


@dataclass(frozen=True)
class AssistState:
    step: AssistStep = AssistStep.STAFF_PIN
    staff_id: int | None = None
    match: Match | None = None
    refusal: AssistRefusal | None = None
    locked_seconds: int = 0
    # The step a check returns to (STAFF_PIN or CODE) while ``step`` is CHECKING.
    checking: AssistStep | None = None
    effects: tuple[AssistEffect, ...] = field(default=(), compare=False)

    @property
    def confirmed_by(self) -> int | None:
        """The staff member who identified the participant, once they said "this is me"."""
        return self.staff_id if self.match is not None and self.step is AssistStep.CONFIRM else None


def start(allowed: bool = True) -> AssistState:
    """The first step; a site that forbids the path sees only why."""
    if not allowed:
        return AssistState(refusal=AssistRefusal.FORBIDDEN)
    return AssistState()


def step(state: AssistState, event: AssistEvent) -> AssistState:
    """The next state. Events that do not fit the step are ignored; a forbidden path takes
    none (nothing is checked, nobody is looked up)."""
    s = replace(state, effects=())
    if state.refusal is AssistRefusal.FORBIDDEN:
        return s
    match state.step, event:
        case AssistStep.STAFF_PIN, StaffPin(pin=pin) if pin:
            return replace(
                s,
                step=AssistStep.CHECKING,
                checking=AssistStep.STAFF_PIN,
                effects=(CheckStaffPin(pin),),
            )
        case AssistStep.CHECKING, StaffAccepted(staff_id=staff) if (
            state.checking is AssistStep.STAFF_PIN
        ):
            return replace(
                s,
                step=AssistStep.CODE,
                staff_id=staff,
                refusal=None,
                locked_seconds=0,
                checking=None,
            )
        case AssistStep.CHECKING, StaffRefused(refusal=refusal, seconds=seconds) if (
            state.checking is AssistStep.STAFF_PIN
        ):
            return replace(
                s, step=AssistStep.STAFF_PIN, refusal=refusal, locked_seconds=seconds, checking=None
            )
        case AssistStep.CODE, CodeTyped(code=code) if code.strip() and state.staff_id is not None:
            return replace(
                s,
                step=AssistStep.CHECKING,
                checking=AssistStep.CODE,
                effects=(LookUpCode(code.strip().upper(), state.staff_id),),
            )
        case AssistStep.CHECKING, CodeFound(match=found) if state.checking is AssistStep.CODE:
            return replace(s, step=AssistStep.CONFIRM, match=found, refusal=None, checking=None)
        case AssistStep.CHECKING, CodeUnknown() if state.checking is AssistStep.CODE:
            return replace(
                s, step=AssistStep.CODE, refusal=AssistRefusal.UNKNOWN_CODE, checking=None
            )
        case AssistStep.CHECKING, StaffRefused(refusal=AssistRefusal.FORBIDDEN):
            # The site forbade the path while it was under way: nothing more is checked.
            return replace(s, refusal=AssistRefusal.FORBIDDEN, checking=None)
        case AssistStep.CONFIRM, NotMe():
            return replace(s, step=AssistStep.CODE, match=None, refusal=AssistRefusal.NOT_CONFIRMED)
    return s
