"""Dispensing with the intent journal (DESIGN invariants 1 and 2).

The intent (vend id, lane, units) is committed before VEND is sent. Units count only when
the drop sensor confirmed them. When anything is uncertain the controller is asked
(VEND_QUERY) and its answer recorded; a vend is never re-sent on our own.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from hardware.ports import (
    ControllerBooted,
    ControllerError,
    ControllerEvent,
    DispenserController,
    UnitDropped,
    VendAckResult,
    VendDone,
    VendOutcome,
    VendQueryState,
    VendState,
)
from kiosk.domain.alerts import AlertKind
from kiosk.domain.model import LaneStatus, Prescription
from kiosk.services.clock import Clock
from kiosk.services.events import ControllerEvents
from kiosk.services.storage import STORE_FAILURES, CannotRecord, StorageGuard
from kiosk.store import stock_repo
from kiosk.store.repository import Intent, RemoteWitnessRef, Store

log = logging.getLogger("kiosk.dispense")

# A unit takes ~1 s and a jam is declared after 3 s without a drop: 6 s of silence means
# we must ask the controller rather than wait.
UNIT_SILENCE_BUDGET = 6.0
LANE_STATE_AFTER = {
    VendOutcome.JAM: LaneStatus.JAMMED,
    VendOutcome.LANE_EMPTY: LaneStatus.EMPTY,
    VendOutcome.MOTOR_FAULT: LaneStatus.FAULT,
}
LANE_ALERTS = {
    LaneStatus.JAMMED: AlertKind.LANE_JAMMED,
    LaneStatus.EMPTY: AlertKind.LANE_EMPTY,
    LaneStatus.FAULT: AlertKind.LANE_FAULT,
}


class DispenseError(Exception):
    """The dose could not be given (no lane, controller refused, fault)."""


class NoLane(DispenseError):
    pass


class OutcomeUnknown(DispenseError):
    """The controller could not be asked; the intent stays open for recovery."""


@dataclass(frozen=True)
class VendResult:
    vend_id: int
    lane: int
    units: int
    dropped: int
    outcome: str


class DispenseService:
    def __init__(
        self,
        store: Store,
        controller: DispenserController,
        clock: Clock,
        *,
        silence_budget: float = UNIT_SILENCE_BUDGET,
        events: ControllerEvents | None = None,
        guard: StorageGuard | None = None,
    ) -> None:
        self._store = store
        self.guard = guard
        self._controller = controller
        self._clock = clock
        self._silence_budget = silence_budget
        self._waiters: dict[int, queue.Queue[ControllerEvent]] = {}
        # Set when a vend's outcome could not be learned; health asks again when it can.
        self.open_intents = True  # unknown until the first recover()
        # Set when a vend of this process (or the last) could not be settled or recorded:
        # then no vend starts until recover() has recorded the truth of every open intent.
        self.unsettled = False
        self._lock = threading.Lock()
        (events or ControllerEvents(controller)).subscribe(self._on_event)

    # Called on the controller driver's reader thread.
    def _on_event(self, event: ControllerEvent) -> None:
        with self._lock:
            if isinstance(event, (UnitDropped, VendDone)):
                target = self._waiters.get(event.vend_id)
                if target is not None:
                    target.put(event)
            elif isinstance(event, ControllerBooted):
                for waiter in self._waiters.values():
                    waiter.put(event)

    def vend(
        self,
        participant_id: int,
        prescription: Prescription,
        units: int,
        on_unit: Callable[[int], None] | None = None,
        witness_staff_id: int | None = None,
        remote_witness: RemoteWitnessRef | None = None,
        identified_by: int | None = None,
    ) -> VendResult:
        if self.unsettled:
            # A vend whose outcome is not recorded: settle it first (health does).
            raise CannotRecord("an earlier vend is not settled yet")
        if self.guard is not None:
            self.guard.require_writable()
        # The participant's own locker lane first, else a shared lane; never another's locker.
        lane = stock_repo.lane_for_participant(
            self._store, prescription.medication.id, participant_id, units
        )
        if lane is None:
            raise NoLane(
                f"no ready lane with {units} units of medication {prescription.medication.id}"
            )
        vend_id = self._store.new_vend_id()
        intent = Intent(
            vend_id,
            participant_id,
            prescription.id,
            lane.lane,
            units,
            self._clock.now(),
            witness_staff_id,
            remote_witness,
            identified_by,
        )
        try:
            self._store.record_intent(intent)  # committed before anything moves
        except STORE_FAILURES as exc:
            self._cannot_record("intent", exc)
        events: queue.Queue[ControllerEvent] = queue.Queue()
        with self._lock:
            self._waiters[vend_id] = events
        try:
            return self._run(intent, events, on_unit)
        except OutcomeUnknown:
            self.open_intents = self.unsettled = True
            raise
        except STORE_FAILURES as exc:
            self._cannot_record("result", exc)
        finally:
            with self._lock:
                self._waiters.pop(vend_id, None)

    def _run(
        self,
        intent: Intent,
        events: queue.Queue[ControllerEvent],
        on_unit: Callable[[int], None] | None,
    ) -> VendResult:
        try:
            ack = self._controller.vend(intent.vend_id, intent.lane, intent.units)
        except ControllerError as exc:
            log.error("vend %d: no answer to VEND (%s); asking the controller", intent.vend_id, exc)
            return self._settle_by_query(intent, events, on_unit)
        if ack is VendAckResult.DUPLICATE:
            return self._settle_by_query(intent, events, on_unit)
        if ack is not VendAckResult.ACCEPTED:
            log.warning("vend %d refused by the controller: %s", intent.vend_id, ack.name)
            lane_state = LaneStatus.JAMMED if ack is VendAckResult.LANE_NOT_READY else None
            return self._record(intent, 0, f"refused_{ack.name.lower()}", lane_state)
        return self._follow(intent, events, on_unit, confirmed=0)

    def _follow(
        self,
        intent: Intent,
        events: queue.Queue[ControllerEvent],
        on_unit: Callable[[int], None] | None,
        confirmed: int,
    ) -> VendResult:
        """Follow a running vend through its events until the controller says it is done."""
        deadline = time.monotonic() + self._silence_budget * (intent.units + 2)
        while time.monotonic() < deadline:
            try:
                event = events.get(timeout=self._silence_budget)
            except queue.Empty:
                event = None
            if isinstance(event, UnitDropped):
                if event.index > confirmed:
                    confirmed = event.index
                    if on_unit is not None:
                        on_unit(confirmed)
                continue
            if isinstance(event, VendDone):
                return self._finish(intent, event.dropped, event.outcome, on_unit, confirmed)
            # Silence or a controller reboot: the controller knows the truth.
            state = self._query(intent)
            if state is None:
                raise OutcomeUnknown(f"vend {intent.vend_id}: controller unreachable")
            if state.state is VendQueryState.FINISHED:
                return self._finish(intent, state.dropped, state.outcome, on_unit, confirmed)
            if state.state is VendQueryState.UNKNOWN:
                return self._record(intent, 0, "not_started", None)
        raise OutcomeUnknown(f"vend {intent.vend_id}: still running after its budget")

    def _settle_by_query(
        self,
        intent: Intent,
        events: queue.Queue[ControllerEvent],
        on_unit: Callable[[int], None] | None,
    ) -> VendResult:
        state = self._query(intent)
        if state is None:
            raise OutcomeUnknown(f"vend {intent.vend_id}: controller unreachable")
        if state.state is VendQueryState.UNKNOWN:
            return self._record(intent, 0, "not_started", None)
        if state.state is VendQueryState.RUNNING:
            return self._follow(intent, events, on_unit, confirmed=state.dropped)
        return self._finish(intent, state.dropped, state.outcome, on_unit, 0)

    def _cannot_record(self, during: str, exc: Exception) -> NoReturn:
        """A write failed during or after a vend: the intent (if committed) stays open and
        counts as fully given; no vend starts until health has settled it."""
        self.open_intents = self.unsettled = True
        if self.guard is not None:
            self.guard.failed(during, exc)
        raise CannotRecord(f"cannot record the {during}: {exc}") from exc

    def _query(self, intent: Intent) -> VendState | None:
        try:
            return self._controller.vend_query(intent.vend_id)
        except ControllerError as exc:
            log.error("vend %d: VEND_QUERY failed (%s)", intent.vend_id, exc)
            return None

    def _finish(
        self,
        intent: Intent,
        dropped: int,
        outcome: VendOutcome,
        on_unit: Callable[[int], None] | None,
        confirmed: int,
    ) -> VendResult:
        if on_unit is not None and dropped > confirmed:
            on_unit(dropped)  # drops whose events were lost
        return self._record(intent, dropped, outcome.name.lower(), LANE_STATE_AFTER.get(outcome))

    def _record(
        self, intent: Intent, dropped: int, outcome: str, lane_state: LaneStatus | None
    ) -> VendResult:
        now = self._clock.now()
        self._store.record_result(intent.vend_id, dropped, outcome, lane_state, now)
        if lane_state is not None:
            self._store.raise_alert(
                LANE_ALERTS[lane_state],
                f"lane:{intent.lane}",
                f"Lane {intent.lane} is {lane_state}: staff must clear and reset it.",
                now,
            )
        if dropped < intent.units:
            self._store.raise_alert(
                AlertKind.PARTIAL_DISPENSE,
                f"vend:{intent.vend_id}",
                f"Vend {intent.vend_id} gave {dropped} of {intent.units} units ({outcome}).",
                now,
            )
        log.info(
            "vend %d on lane %d: %d of %d units, %s",
            intent.vend_id,
            intent.lane,
            dropped,
            intent.units,
            outcome,
        )
        return VendResult(intent.vend_id, intent.lane, intent.units, dropped, outcome)

    def recover(self) -> list[VendResult]:
        """After a restart or a controller BOOT: record the truth of every open intent."""
        settled = []
        self.open_intents = True  # until every open intent is settled
        unfinished = self._store.unfinished_intents()
        if unfinished:
            self.unsettled = True  # no new vend while one of these may still be running
        for intent in unfinished:
            events: queue.Queue[ControllerEvent] = queue.Queue()
            with self._lock:
                self._waiters[intent.vend_id] = events
            try:
                settled.append(self._settle_by_query(intent, events, None))
            finally:
                with self._lock:
                    self._waiters.pop(intent.vend_id, None)
        self.open_intents = self.unsettled = False
        return settled
