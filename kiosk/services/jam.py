"""The jam recovery wizard: open the machine, clear the lane by hand, count what is left,
reset the lane, close up. Every step is audited and allowed for every role (RESET_LANE):
the study's site had a stuck dose and nobody with a key.

The steps staff see, their order, the countdown and what each failure leads to are the pure
state machine's (``kiosk.domain.jam_recovery``); ``perform`` carries out one of its effects
and answers with its result event. The order checks here stay as a second line.

While the wizard runs, ``HealthService.staff_session`` is set, so opening the service door
does not latch the door lockout; ``finish`` or ``stop`` (door closed per STATUS) or ``abort``
ends it. The UI must call ``abort`` when the staff session ends (logout, idle timeout)
mid-wizard.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from hardware.ports import ControllerError, ControllerRefused, DispenserController
from kiosk.domain import jam_recovery as jr
from kiosk.domain.alerts import AlertKind
from kiosk.domain.jam_recovery import JamFailure, LaneChoice, LaneCondition
from kiosk.domain.model import LaneStatus
from kiosk.domain.permissions import Permission
from kiosk.services.clock import Clock
from kiosk.services.dispense import DispenseError
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.health import HealthService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.stock import CountResult, record_count, take_out
from kiosk.store import stock_repo
from kiosk.store.repository import Store
from kiosk.store.stock_repo import DISCREPANCY

log = logging.getLogger("kiosk.jam")

NAK_STILL_BLOCKED = 4  # LANE_RESET refused: the lane is still blocked
MAX_UNLOCK_SECONDS = 60  # protocol: DOOR_UNLOCK seconds 1..60


class JamStep(enum.Enum):
    """Where the wizard is: the last step done (IDLE: no wizard running)."""

    IDLE = "idle"
    BEGUN = "begun"
    DOOR_UNLOCKED = "door_unlocked"
    CLEARED = "cleared"
    COUNTED = "counted"
    RESET = "reset"


class JamOutcome(enum.Enum):
    OK = "ok"
    STILL_BLOCKED = "still_blocked"  # reset refused: check the lane again
    REFUSED = "refused"  # reset refused for another reason (another NAK)
    DOOR_OPEN = "door_open"  # finish, stop: close the door first; abort: the lockout latches
    CONTROLLER_UNAVAILABLE = "controller_unavailable"  # no answer


# The steps each call may follow (the allowed order).
_AFTER: dict[str, frozenset[JamStep]] = {
    "begin": frozenset({JamStep.IDLE}),
    # Again later too: the solenoid only releases for a while, and a refused reset means
    # looking into the lane again.
    "unlock_door": frozenset(
        {JamStep.BEGUN, JamStep.DOOR_UNLOCKED, JamStep.CLEARED, JamStep.COUNTED}
    ),
    # From BEGUN too: someone with a key opened the door by hand. From COUNTED: the reset
    # was refused, staff cleared the lane again (and count again).
    "lane_cleared": frozenset({JamStep.BEGUN, JamStep.DOOR_UNLOCKED, JamStep.COUNTED}),
    "count": frozenset({JamStep.CLEARED}),
    "reset_lane": frozenset({JamStep.COUNTED}),
    "finish": frozenset({JamStep.RESET}),
    "check_door": frozenset(JamStep) - {JamStep.IDLE},
    "stop": frozenset(JamStep) - {JamStep.IDLE},
    "abort": frozenset(JamStep) - {JamStep.IDLE},
}
TAKEN_OUT_REASON = "taken out while clearing a jam"


@dataclass(frozen=True)
class JamProgress:
    step: JamStep  # where the wizard is now
    outcome: JamOutcome = JamOutcome.OK
    lane: int | None = None
    count: CountResult | None = None  # the count step's result (discrepancy_id when opened)


class JamRecovery:
    def __init__(
        self,
        store: Store,
        controller: DispenserController,
        clock: Clock,
        staff: StaffService,
        health: HealthService,
    ) -> None:
        self._store = store
        self._controller = controller
        self._clock = clock
        self._staff = staff
        self._health = health
        self._step = JamStep.IDLE
        self._lane: int | None = None
        self._count: CountResult | None = None
        self._flag_before = False

    @property
    def step(self) -> JamStep:
        return self._step

    @property
    def lane(self) -> int | None:
        return self._lane

    @property
    def active(self) -> bool:
        return self._step is not JamStep.IDLE

    # ------------------------------------------------------------ steps

    def begin(self, session: StaffSession, lane: int) -> JamProgress:
        self._check(session, "begin")
        if stock_repo.lane_row(self._store, lane) is None:
            raise InvalidInput("lane")
        self._note(session, "jam.begun", lane, {})
        self._flag_before = self._health.staff_session
        self._health.staff_session = True  # the door may open now: no lockout
        self._lane, self._count = lane, None
        log.info("jam recovery on lane %d begun by staff %d", lane, session.staff_id)
        return self._to(JamStep.BEGUN)

    def unlock_door(self, session: StaffSession, seconds: int = 30) -> JamProgress:
        lane = self._check(session, "unlock_door")
        if not 1 <= seconds <= MAX_UNLOCK_SECONDS:
            raise InvalidInput("seconds")
        try:
            self._controller.door_unlock(seconds)
        except ControllerError as exc:
            self._note(session, "jam.door_unlock_failed", lane, {"error": type(exc).__name__})
            log.warning("jam recovery on lane %d: door unlock failed (%s)", lane, exc.message)
            return self._progress(JamOutcome.CONTROLLER_UNAVAILABLE)
        self._note(session, "jam.door_unlocked", lane, {"seconds": seconds})
        return self._to(JamStep.DOOR_UNLOCKED if self._step is JamStep.BEGUN else self._step)

    def lane_cleared(self, session: StaffSession) -> JamProgress:
        """Staff confirm they cleared the lane by hand."""
        lane = self._check(session, "lane_cleared")
        self._note(session, "jam.lane_cleared", lane, {})
        self._count = None
        return self._to(JamStep.CLEARED)

    def count(self, session: StaffSession, remaining: int, taken_out: int = 0) -> JamProgress:
        """What is left in the lane and what staff took out while clearing it (blind): their
        sum is the count, and a difference from the record opens a discrepancy, as in a
        restock. The units taken out then leave the lane as a return to the pharmacy."""
        lane = self._check(session, "count")
        if remaining < 0 or taken_out < 0:
            raise InvalidInput("counted")
        row = stock_repo.lane_row(self._store, lane)
        if row is None:
            raise InvalidInput("lane")
        now = self._clock.now()
        extra = {"in_lane": remaining, "taken_out": taken_out}
        self._count = record_count(
            self._store, now, session, row, remaining + taken_out, action="jam.counted", extra=extra
        )
        if taken_out:
            counted = stock_repo.lane_row(self._store, lane)
            assert counted is not None  # read just above, in this thread
            take_out(
                self._store,
                now,
                session,
                counted,
                taken_out,
                TAKEN_OUT_REASON,
                "return",
                None,
                action="jam.taken_out",
            )
        return self._to(JamStep.COUNTED)

    def reset_lane(self, session: StaffSession) -> JamProgress:
        """LANE_RESET. Refused with NAK 4: still blocked (check the lane again). Done: the
        lane is 'ready' (or 'discrepancy' while one is open) and its jam alert is
        acknowledged."""
        lane = self._check(session, "reset_lane")
        try:
            self._controller.lane_reset(lane)
        except ControllerRefused as exc:
            still_blocked = exc.code == NAK_STILL_BLOCKED
            self._note(session, "jam.reset_refused", lane, {"nak": exc.code})
            log.warning("jam recovery: LANE_RESET %d refused (NAK %d)", lane, exc.code)
            return self._progress(JamOutcome.STILL_BLOCKED if still_blocked else JamOutcome.REFUSED)
        except ControllerError as exc:
            self._note(session, "jam.reset_failed", lane, {"error": type(exc).__name__})
            log.warning("jam recovery: LANE_RESET %d failed (%s)", lane, exc.message)
            return self._progress(JamOutcome.CONTROLLER_UNAVAILABLE)
        now = self._clock.now()
        subject = f"lane:{lane}"
        details: dict[str, Any] = {"lane": lane}
        with self._store.change(now, session.actor, "jam.lane_reset", subject, details) as conn:
            state = (
                DISCREPANCY if stock_repo.open_discrepancy_count(conn, lane) else LaneStatus.READY
            )
            stock_repo.set_state(conn, lane, state)
            acknowledged = stock_repo.acknowledge_alerts_in(
                conn, AlertKind.LANE_JAMMED, subject, now, session.staff_id, "lane reset"
            )
            details.update(state=state, acknowledged=acknowledged)
        log.info("lane %d reset by staff %d, now %s", lane, session.staff_id, state)
        return self._to(JamStep.RESET)

    def finish(self, session: StaffSession) -> JamProgress:
        """Only with the service door closed (per STATUS); ends the staff-session flag."""
        lane = self._check(session, "finish")
        if (refused := self._unless_closed(session, lane, "finish")) is not None:
            return refused
        self._settle_health()
        self._note(session, "jam.finished", lane, {})
        log.info("jam recovery on lane %d finished by staff %d", lane, session.staff_id)
        return self._end(lane, JamOutcome.OK)

    def check_door(self, session: StaffSession) -> bool:
        """Whether the service door is open now (STATUS). Raises ``ControllerError``."""
        self._check(session, "check_door")
        return self._controller.status().door_open

    def stop(self, session: StaffSession) -> JamProgress:
        """Cancel at any step, only with the service door closed (per STATUS): the lane is
        left as it is (jammed lanes stay out of use) and the staff-session flag ends. With
        the door open nothing ends: DOOR_OPEN says to close it first."""
        lane = self._check(session, "stop")
        if (refused := self._unless_closed(session, lane, "stop")) is not None:
            return refused
        self._settle_health()
        self._note(session, "jam.cancelled", lane, {"at_step": self._step.value})
        log.info("jam recovery on lane %d cancelled by staff %d", lane, session.staff_id)
        return self._end(lane, JamOutcome.OK)

    def abort(self, session: StaffSession) -> JamProgress:
        """Stop the wizard at any step (logout, idle timeout, staff gave up). With the door
        still open the outcome is DOOR_OPEN: the door lockout latches, as it should when
        nobody is watching the open machine."""
        lane = self._check(session, "abort")
        door_open: bool | None
        try:
            door_open = self._controller.status().door_open
        except ControllerError:
            door_open = None
        self._settle_health()
        self._note(
            session, "jam.aborted", lane, {"at_step": self._step.value, "door_open": door_open}
        )
        log.warning("jam recovery on lane %d aborted by staff %d", lane, session.staff_id)
        if door_open is None:
            outcome = JamOutcome.CONTROLLER_UNAVAILABLE
        else:
            outcome = JamOutcome.DOOR_OPEN if door_open else JamOutcome.OK
        return self._end(lane, outcome)

    # ------------------------------------------------------------ the state machine's effects

    def lanes(self, session: StaffSession) -> jr.LanesLoaded:
        """The lanes to choose from (what each holds, its state) and the lanes of the open
        jam alerts, newest first (one of them is preselected)."""
        self._staff.require(session, Permission.RESET_LANE)
        choices = tuple(
            LaneChoice(row.lane, row.medication, _condition(row.state, row.discrepancy_id))
            for row in stock_repo.lane_rows(self._store)
        )
        alerts = tuple(
            subject
            for _id, kind, subject, _message in reversed(self._store.open_alerts())
            if kind == AlertKind.LANE_JAMMED
        )
        return jr.LanesLoaded(choices, alerts)

    def perform(self, session: StaffSession, effect: jr.Effect) -> jr.Result:
        """Carry out one effect of ``kiosk.domain.jam_recovery`` and answer with its
        result; a refusal (role, order, input) is ``Failed(NOT_ACCEPTED)``."""
        try:
            return self._perform(session, effect)
        except (InvalidInput, NotPermitted) as exc:
            log.info("jam recovery step refused: %s", exc)
            return jr.Failed(JamFailure.NOT_ACCEPTED)
        except ControllerError as exc:
            log.warning("jam recovery: the controller did not answer (%s)", exc.message)
            return jr.Failed(JamFailure.CONTROLLER_SILENT)

    def _perform(self, session: StaffSession, effect: jr.Effect) -> jr.Result:
        match effect:
            case jr.LoadLanes():
                return self.lanes(session)
            case jr.BeginRecovery(lane=lane):
                self.begin(session, lane)
                return jr.Begun()
            case jr.UnlockDoor(seconds=seconds):
                unlocked = self.unlock_door(session, seconds)
                return _answer(unlocked.outcome, jr.Unlocked(seconds))
            case jr.CheckDoor():
                return jr.DoorChecked(self.check_door(session))
            case jr.ConfirmCleared():
                self.lane_cleared(session)
                return jr.JamNoted()
            case jr.RecordCount(in_lane=in_lane, taken_out=taken):
                counted = self.count(session, in_lane, taken)
                return jr.Counted(counted.count is None or counted.count.matches)
            case jr.ResetLane():
                reset = self.reset_lane(session)
                current = self.lane
                row = stock_repo.lane_row(self._store, current) if current is not None else None
                waiting = row is not None and row.state == DISCREPANCY
                return _answer(reset.outcome, jr.LaneWasReset(discrepancy=waiting))
            case jr.FinishRecovery():
                return _answer(self.finish(session).outcome, jr.Finished())
            case jr.StopRecovery():
                return _answer(self.stop(session).outcome, jr.Stopped())

    # ------------------------------------------------------------ helpers

    def _unless_closed(self, session: StaffSession, lane: int, call: str) -> JamProgress | None:
        """None when STATUS shows the door closed; else why not (audited as
        ``jam.<call>_failed`` or ``jam.<call>_refused``)."""
        try:
            door_open = self._controller.status().door_open
        except ControllerError as exc:
            self._note(session, f"jam.{call}_failed", lane, {"error": type(exc).__name__})
            return self._progress(JamOutcome.CONTROLLER_UNAVAILABLE)
        if door_open:
            self._note(session, f"jam.{call}_refused", lane, {"door_open": True})
            return self._progress(JamOutcome.DOOR_OPEN)
        return None

    def _check(self, session: StaffSession, call: str) -> int:
        """Permission, then order. Returns the wizard's lane (0 before ``begin``)."""
        self._staff.require(session, Permission.RESET_LANE)
        if self._step not in _AFTER[call]:
            raise InvalidInput("step", f"{call} after {self._step.value}")
        return self._lane or 0

    def _note(self, session: StaffSession, action: str, lane: int, details: dict[str, Any]) -> None:
        self._store.note(
            self._clock.now(), session.actor, action, f"lane:{lane}", {"lane": lane, **details}
        )

    def _settle_health(self) -> None:
        """Let health take the door events of the wizard while the staff flag still holds:
        a DOOR open event queued during the wizard must not latch a lockout after it."""
        try:
            self._health.check()
        except DispenseError as exc:  # an open vend could not be settled: health retries
            log.warning("health check at the end of jam recovery: %s", exc)

    def _to(self, step: JamStep) -> JamProgress:
        self._step = step
        return self._progress(JamOutcome.OK)

    def _progress(self, outcome: JamOutcome) -> JamProgress:
        return JamProgress(self._step, outcome, self._lane, self._count)

    def _end(self, lane: int, outcome: JamOutcome) -> JamProgress:
        self._health.staff_session = self._flag_before
        self._step, self._lane, self._count = JamStep.IDLE, None, None
        return JamProgress(JamStep.IDLE, outcome, lane, None)


_FAILURES = {
    JamOutcome.STILL_BLOCKED: JamFailure.STILL_BLOCKED,
    JamOutcome.REFUSED: JamFailure.RESET_REFUSED,
    JamOutcome.DOOR_OPEN: JamFailure.DOOR_STILL_OPEN,
    JamOutcome.CONTROLLER_UNAVAILABLE: JamFailure.CONTROLLER_SILENT,
}


def _answer(outcome: JamOutcome, success: jr.Result) -> jr.Result:
    return success if outcome is JamOutcome.OK else jr.Failed(_FAILURES[outcome])


def _condition(state: str, discrepancy_id: int | None) -> LaneCondition:
    if discrepancy_id is not None and state == "ready":
        return LaneCondition.DISCREPANCY
    try:
        return LaneCondition(state)
    except ValueError:
        return LaneCondition.UNKNOWN
