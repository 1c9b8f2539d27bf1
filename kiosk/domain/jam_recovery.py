"""Clearing a jammed lane, as a pure state machine: the staff page only renders it.

Steps: choose the lane (preselected from the alert that brought staff here) → unlock the
service door (the solenoid holds it for ``UNLOCK_SECONDS``; a countdown) → open the door and
clear the jam by hand → count what is left in the lane and what was taken out → reset the
lane (LANE_RESET; NAK 4 "still blocked" sends staff back to clearing) → close the door →
done. One action is offered at a time (``next_action``), plus ``Cancel`` while the machine
is open; while the service carries out an action (``pending``) nothing else is offered, and
only the answer to that action is taken.

Failures: a silent controller (the step stays; try again), the door not opened before the
solenoid locked it again (back to unlocking), the lane still blocked (back to clearing), a
reset refused otherwise (try again), the door still open at the end (close it). Cancel stops
the recovery only with the door closed (the service reads STATUS): with the door open it
first asks staff to close it, so a cancelled recovery never leaves the machine open. A
logout mid-recovery is the service's ``abort`` (the door lockout latches if it is open).

No Qt, no I/O, no clock: ``step`` takes the time (monotonic seconds) as an argument.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace

UNLOCK_SECONDS = 30  # DOOR_UNLOCK: how long the solenoid releases the door today


class RecoveryStep(enum.Enum):
    CHOOSE_LANE = "choose_lane"
    UNLOCK_DOOR = "unlock_door"
    CLEAR_JAM = "clear_jam"  # open the door (countdown while unlocked) and clear the jam
    COUNT = "count"  # units left in the lane, units taken out
    RESET_LANE = "reset_lane"
    CLOSE_DOOR = "close_door"
    DONE = "done"


STEPS = tuple(RecoveryStep)


class JamAction(enum.Enum):
    """What staff can press (one at a time, plus Cancel)."""

    START = "start"
    UNLOCK = "unlock"
    CLEARED = "cleared"
    COUNT = "count"
    RESET = "reset"
    DOOR_CLOSED = "door_closed"
    CANCEL = "cancel"
    AGAIN = "again"  # after the end: clear another lane


class JamFailure(enum.Enum):
    CONTROLLER_SILENT = "controller_silent"  # no answer: the step stays, try again
    DOOR_NOT_OPENED = "door_not_opened"  # the solenoid locked the closed door again
    STILL_BLOCKED = "still_blocked"  # LANE_RESET NAK 4: clear the lane again
    RESET_REFUSED = "reset_refused"  # LANE_RESET refused for another reason
    DOOR_STILL_OPEN = "door_still_open"  # STATUS: the door is open; close it first
    NOT_ACCEPTED = "not_accepted"  # the service refused the step (role, order, input)
    ERROR = "error"  # anything else (logged)


class JamEnd(enum.Enum):
    BACK_IN_SERVICE = "back_in_service"  # reset, counted right: the lane dispenses again
    AWAITS_PHARMACIST = "awaits_pharmacist"  # reset, but the count differed: a discrepancy
    STOPPED = "stopped"  # cancelled with the machine closed; the lane stays out of use


class LaneCondition(enum.Enum):
    READY = "ready"
    JAMMED = "jammed"
    EMPTY = "empty"
    FAULT = "fault"
    DISCREPANCY = "discrepancy"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LaneChoice:
    lane: int
    medication: str | None  # "hydromorphone 8 mg tablet"; None: nothing assigned
    condition: LaneCondition


def lane_from_subject(subject: str) -> int | None:
    """The lane an alert is about ("lane:2" → 2), or None."""
    kind, _sep, number = subject.partition(":")
    if kind != "lane" or not number.isdigit():
        return None
    return int(number)


# ---------------------------------------------------------------- events from staff


@dataclass(frozen=True)
class FromAlert:
    """Staff came here from an alert about ``subject`` ("lane:2")."""

    subject: str


@dataclass(frozen=True)
class ChooseLane:
    lane: int


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Unlock:
    pass


@dataclass(frozen=True)
class JamCleared:
    pass


@dataclass(frozen=True)
class CountEntered:
    in_lane: int  # units left in the lane
    taken_out: int = 0  # units staff took out while clearing (set aside for the pharmacy)


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class DoorClosed:
    pass


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Again:
    pass


@dataclass(frozen=True)
class Tick:
    """The page's timer: the countdown moves (the time is ``step``'s argument)."""


# ---------------------------------------------------------------- events from the service


@dataclass(frozen=True)
class LanesLoaded:
    lanes: tuple[LaneChoice, ...]
    jam_alerts: tuple[str, ...] = ()  # subjects of open jam alerts, newest first


@dataclass(frozen=True)
class Begun:
    pass


@dataclass(frozen=True)
class Unlocked:
    seconds: int


@dataclass(frozen=True)
class DoorChecked:
    door_open: bool


@dataclass(frozen=True)
class JamNoted:
    """The service recorded that staff cleared the lane."""


@dataclass(frozen=True)
class Counted:
    matches: bool  # False: a discrepancy was opened


@dataclass(frozen=True)
class LaneWasReset:
    discrepancy: bool  # the lane waits for a pharmacist (an open discrepancy)


@dataclass(frozen=True)
class Finished:
    pass


@dataclass(frozen=True)
class Stopped:
    pass


@dataclass(frozen=True)
class Failed:
    failure: JamFailure


StaffEvent = (
    FromAlert
    | ChooseLane
    | Start
    | Unlock
    | JamCleared
    | CountEntered
    | Reset
    | DoorClosed
    | Cancel
    | Again
    | Tick
)
Result = (
    LanesLoaded
    | Begun
    | Unlocked
    | DoorChecked
    | JamNoted
    | Counted
    | LaneWasReset
    | Finished
    | Stopped
    | Failed
)
Event = StaffEvent | Result

# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class LoadLanes:
    pass


@dataclass(frozen=True)
class BeginRecovery:
    lane: int


@dataclass(frozen=True)
class UnlockDoor:
    seconds: int


@dataclass(frozen=True)
class CheckDoor:
    pass


@dataclass(frozen=True)
class ConfirmCleared:
    pass


@dataclass(frozen=True)
class RecordCount:
    in_lane: int
    taken_out: int


@dataclass(frozen=True)
class ResetLane:
    pass


@dataclass(frozen=True)
class FinishRecovery:
    """End with the door closed (per STATUS)."""


@dataclass(frozen=True)
class StopRecovery:
    """Cancel: end with the door closed (per STATUS), the lane left as it is."""


Effect = (
    LoadLanes
    | BeginRecovery
    | UnlockDoor
    | CheckDoor
    | ConfirmCleared
    | RecordCount
    | ResetLane
    | FinishRecovery
    | StopRecovery
)

# The answer each effect waits for (besides Failed, which answers any).
_ANSWERS: dict[type[Effect], type[Result]] = {
    LoadLanes: LanesLoaded,
    BeginRecovery: Begun,
    UnlockDoor: Unlocked,
    CheckDoor: DoorChecked,
    ConfirmCleared: JamNoted,
    RecordCount: Counted,
    ResetLane: LaneWasReset,
    FinishRecovery: Finished,
    StopRecovery: Stopped,
}

# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class JamState:
    step: RecoveryStep = RecoveryStep.CHOOSE_LANE
    lanes: tuple[LaneChoice, ...] = ()
    lane: int | None = None
    pending: Effect | None = None  # the action the service is carrying out
    failure: JamFailure | None = None  # what went wrong last (the help line says what next)
    door_deadline: float | None = None  # when the solenoid locks the door again
    seconds_left: int = 0  # the countdown on screen (0: none)
    cancelling: bool = False  # Cancel with the door open: close it, then it stops
    count_matches: bool | None = None
    ended: JamEnd | None = None
    effects: tuple[Effect, ...] = field(default=(), compare=False)

    @property
    def busy(self) -> bool:
        return self.pending is not None

    @property
    def lane_choice(self) -> LaneChoice | None:
        return next((c for c in self.lanes if c.lane == self.lane), None)


# The action each step leads to.
STEP_ACTION: dict[RecoveryStep, JamAction] = {
    RecoveryStep.CHOOSE_LANE: JamAction.START,
    RecoveryStep.UNLOCK_DOOR: JamAction.UNLOCK,
    RecoveryStep.CLEAR_JAM: JamAction.CLEARED,
    RecoveryStep.COUNT: JamAction.COUNT,
    RecoveryStep.RESET_LANE: JamAction.RESET,
    RecoveryStep.CLOSE_DOOR: JamAction.DOOR_CLOSED,
    RecoveryStep.DONE: JamAction.AGAIN,
}
# Cancel is offered while a recovery runs and the door may be open; at CLOSE_DOOR the next
# action (Door closed) is the way out.
CANCELLABLE = (
    RecoveryStep.UNLOCK_DOOR,
    RecoveryStep.CLEAR_JAM,
    RecoveryStep.COUNT,
    RecoveryStep.RESET_LANE,
)


def next_action(state: JamState) -> JamAction | None:
    """The one action staff can take now (None while the service works or no lane is
    chosen yet)."""
    if state.busy:
        return None
    if state.step is RecoveryStep.CHOOSE_LANE and state.lane_choice is None:
        # The lanes could not be read: read them again.
        return JamAction.AGAIN if state.failure is not None and not state.lanes else None
    return STEP_ACTION[state.step]


def actions(state: JamState) -> frozenset[JamAction]:
    """Every action enabled now: the next one, and Cancel where it applies."""
    offered = {action} if (action := next_action(state)) else set()
    if not state.busy and state.step in CANCELLABLE:
        offered.add(JamAction.CANCEL)
    return frozenset(offered)


def initial() -> JamState:
    """The page opens: load the lanes (and the open jam alerts) to choose from."""
    return JamState(pending=LoadLanes(), effects=(LoadLanes(),))


def _preselect(state: JamState, jam_alerts: tuple[str, ...]) -> int | None:
    lanes = {choice.lane for choice in state.lanes}
    if state.lane in lanes:
        return state.lane  # chosen, or named by the alert staff came from
    for subject in jam_alerts:
        if (lane := lane_from_subject(subject)) in lanes:
            return lane
    jammed = [c.lane for c in state.lanes if c.condition is LaneCondition.JAMMED]
    return jammed[0] if jammed else None


def _do(state: JamState, effect: Effect) -> JamState:
    return replace(state, pending=effect, failure=None, effects=(effect,))


def _staff(state: JamState, event: StaffEvent, now: float) -> JamState:
    match event:
        case Tick():
            return _tick(state, now)
        case FromAlert(subject=subject) if state.step in (
            RecoveryStep.CHOOSE_LANE,
            RecoveryStep.DONE,
        ) and (not state.busy or isinstance(state.pending, LoadLanes)):
            return replace(initial(), lane=lane_from_subject(subject))
        case ChooseLane(lane=lane) if state.step is RecoveryStep.CHOOSE_LANE and not state.busy:
            if any(c.lane == lane for c in state.lanes):
                return replace(state, lane=lane, failure=None)
            return state
    allowed = actions(state)
    match event:
        case Start() if JamAction.START in allowed and state.lane is not None:
            return _do(state, BeginRecovery(state.lane))
        case Unlock() if JamAction.UNLOCK in allowed:
            return _do(state, UnlockDoor(UNLOCK_SECONDS))
        case JamCleared() if JamAction.CLEARED in allowed:
            return _do(state, ConfirmCleared())
        case CountEntered(in_lane=in_lane, taken_out=taken_out) if (
            JamAction.COUNT in allowed and in_lane >= 0 and taken_out >= 0
        ):
            return _do(state, RecordCount(in_lane, taken_out))
        case Reset() if JamAction.RESET in allowed:
            return _do(state, ResetLane())
        case DoorClosed() if JamAction.DOOR_CLOSED in allowed:
            return _do(state, StopRecovery() if state.cancelling else FinishRecovery())
        case Cancel() if JamAction.CANCEL in allowed:
            closing = replace(state, cancelling=True, door_deadline=None, seconds_left=0)
            return _do(closing, StopRecovery())
        case Again() if JamAction.AGAIN in allowed:
            keep = state.lane if state.step is RecoveryStep.CHOOSE_LANE else None
            return replace(initial(), lane=keep)
    return state


def _tick(state: JamState, now: float) -> JamState:
    if state.door_deadline is None:
        return state
    left = max(0, math.ceil(state.door_deadline - now))
    if left > 0 or state.busy:
        return replace(state, seconds_left=left)
    # The solenoid has locked the door again: was it opened in time?
    return _do(replace(state, door_deadline=None, seconds_left=0), CheckDoor())


def _answer(state: JamState, result: Result, now: float) -> JamState:
    done = replace(state, pending=None, effects=())
    match result:
        case LanesLoaded(lanes=lanes, jam_alerts=alerts):
            loaded = replace(done, lanes=lanes)
            return replace(loaded, lane=_preselect(loaded, alerts))
        case Begun():
            return replace(done, step=RecoveryStep.UNLOCK_DOOR)
        case Unlocked(seconds=seconds):
            return replace(
                done,
                step=RecoveryStep.CLEAR_JAM,
                door_deadline=now + seconds,
                seconds_left=seconds,
            )
        case DoorChecked(door_open=True):
            return done  # opened in time: go on clearing
        case DoorChecked(door_open=False):
            return replace(done, step=RecoveryStep.UNLOCK_DOOR, failure=JamFailure.DOOR_NOT_OPENED)
        case JamNoted():
            return replace(done, step=RecoveryStep.COUNT, door_deadline=None, seconds_left=0)
        case Counted(matches=matches):
            return replace(done, step=RecoveryStep.RESET_LANE, count_matches=matches)
        case LaneWasReset(discrepancy=discrepancy):
            return replace(done, step=RecoveryStep.CLOSE_DOOR, count_matches=not discrepancy)
        case Finished():
            end = (
                JamEnd.AWAITS_PHARMACIST if state.count_matches is False else JamEnd.BACK_IN_SERVICE
            )
            return _ended(done, end)
        case Stopped():
            return _ended(done, JamEnd.STOPPED)
        case Failed(failure=failure):
            return _failed(done, state.pending, failure)
    return state


def _ended(state: JamState, end: JamEnd) -> JamState:
    return replace(
        state,
        step=RecoveryStep.DONE,
        ended=end,
        cancelling=False,
        door_deadline=None,
        seconds_left=0,
    )


def _failed(state: JamState, pending: Effect | None, failure: JamFailure) -> JamState:
    failed = replace(state, failure=failure)
    if isinstance(pending, ResetLane) and failure is JamFailure.STILL_BLOCKED:
        # Look into the lane again, clear it, count again, reset again.
        return replace(failed, step=RecoveryStep.CLEAR_JAM, count_matches=None)
    if isinstance(pending, StopRecovery):
        if failure is JamFailure.DOOR_STILL_OPEN:
            return replace(failed, step=RecoveryStep.CLOSE_DOOR, cancelling=True)
        return replace(
            failed, cancelling=state.step is RecoveryStep.CLOSE_DOOR and state.cancelling
        )
    return failed


def step(state: JamState, event: Event, now: float) -> JamState:
    """The next state for ``event`` at ``now`` (monotonic seconds). Events that do not fit
    are ignored: an action not offered, an answer to an action not asked."""
    s = replace(state, effects=())
    if isinstance(event, StaffEvent):
        return _staff(s, event, now)
    pending = state.pending
    if pending is None:
        return s
    if isinstance(event, (Failed, _ANSWERS[type(pending)])):
        return _answer(s, event, now)
    return s
