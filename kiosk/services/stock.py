"""Lanes and their stock: assignment (shared or personal locker lanes), restock with a blind
count and a second sign-off, counts, returns, waste and discrepancies.

Every change is one ``Store.change`` (record, audit entry, outbox event) with the staff
member as the actor. A count that disagrees with the record opens a discrepancy: the lane's
stock becomes what staff found (the physical truth), the difference is kept, the lane stops
dispensing and a pharmacist must resolve it with a reason. Logs carry ids only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.domain.alerts import AlertKind
from kiosk.domain.model import LaneStatus
from kiosk.domain.permissions import Permission
from kiosk.domain.text import clean_text
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import stock_repo
from kiosk.store.repository import Store
from kiosk.store.stock_repo import DISCREPANCY, DiscrepancyRow, LaneRow

log = logging.getLogger("kiosk.stock")

# Lane states that are hardware faults: they need the jam wizard's LANE_RESET, so a
# discrepancy does not overwrite them (the reset sets 'discrepancy' while one is open).
HARDWARE_STATES = (LaneStatus.JAMMED, LaneStatus.FAULT)


@dataclass(frozen=True)
class LaneView:
    lane: int
    medication_id: int | None
    medication: str | None  # "hydromorphone 8 mg tablet"; None: the lane holds nothing
    participant_id: int | None
    participant_code: str | None  # set: a personal locker lane for this participant
    stock: int  # NOT for the blind-count screens
    state: LaneStatus
    discrepancy_id: int | None  # the oldest open discrepancy of the lane

    @property
    def personal(self) -> bool:
        return self.participant_id is not None

    @property
    def dispensable(self) -> bool:
        return (
            self.medication_id is not None
            and self.state is LaneStatus.READY
            and self.discrepancy_id is None
            and self.stock > 0
        )

    @classmethod
    def of(cls, row: LaneRow) -> LaneView:
        return cls(
            row.lane,
            row.medication_id,
            row.medication,
            row.participant_id,
            row.participant_code,
            row.stock,
            row.state,
            row.discrepancy_id,
        )


@dataclass(frozen=True)
class CountResult:
    """What a blind count found (shown only after it was entered)."""

    movement_id: int
    lane: int
    expected: int  # what the record said before the count
    counted: int  # what staff found
    stock: int  # the lane's stock now
    discrepancy_id: int | None  # opened when counted != expected

    @property
    def difference(self) -> int:
        return self.counted - self.expected

    @property
    def matches(self) -> bool:
        return self.discrepancy_id is None


@dataclass(frozen=True, kw_only=True)
class RestockResult(CountResult):
    added: int
    second_staff_id: int


@dataclass(frozen=True)
class MovementResult:
    movement_id: int
    lane: int
    kind: str  # return | waste
    units: int  # units taken out
    stock: int
    second_staff_id: int | None


@dataclass(frozen=True)
class ResolveResult:
    discrepancy_id: int
    lane: int
    lane_state: LaneStatus  # the lane's state after the resolution
    still_open: int  # other open discrepancies of the lane


DiscrepancyView = DiscrepancyRow


def discrepancy_message(lane: int) -> str:
    return f"Lane {lane}: a count differs from the record. A pharmacist must resolve it."


def record_count(
    store: Store,
    at: datetime,
    session: StaffSession,
    lane: LaneRow,
    counted: int,
    *,
    action: str,
    kind: str = "count",
    added: int = 0,
    second_staff_id: int | None = None,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> CountResult:
    """One blind count (a 'count', or the first half of a 'restock') in one change: the
    movement, the new stock (counted + added) and, when the count disagrees, a
    discrepancy, the lane blocked and an alert. Permissions are the caller's to check."""
    expected = lane.stock
    stock = counted + added
    subject = f"lane:{lane.lane}"
    details: dict[str, Any] = {
        "lane": lane.lane,
        "medication_id": lane.medication_id,
        "kind": kind,
        "expected": expected,
        "counted": counted,
        "added": added,
        "stock": stock,
        "second_staff_id": second_staff_id,
        **(extra or {}),
    }
    if reason:
        details["reason"] = reason
    discrepancy_id: int | None = None
    with store.change(at, session.actor, action, subject, details) as conn:
        movement_id = stock_repo.add_movement(
            conn,
            lane=lane.lane,
            medication_id=lane.medication_id,
            kind=kind,
            units=added,
            expected=expected,
            counted=counted,
            staff_id=session.staff_id,
            second_staff_id=second_staff_id,
            reason=reason,
            at=at,
        )
        stock_repo.set_stock(conn, lane.lane, stock)
        new_state = lane.state
        if counted != expected:
            discrepancy_id = stock_repo.open_discrepancy(
                conn, lane.lane, expected, counted, at, session.staff_id
            )
            if lane.state not in HARDWARE_STATES:
                new_state = DISCREPANCY
            stock_repo.raise_alert_in(
                conn, AlertKind.DISCREPANCY, subject, discrepancy_message(lane.lane), at
            )
        elif lane.state is LaneStatus.EMPTY and stock > 0:
            new_state = (
                LaneStatus.READY
            )  # refilled; the controller's empty switch has the last word
        if new_state != lane.state:
            stock_repo.set_state(conn, lane.lane, new_state)
        # Store.change writes the audit entry after this block: the ids go in with it.
        details.update(
            movement_id=movement_id,
            discrepancy_id=discrepancy_id,
            difference=counted - expected,
            state=new_state,
        )
    if discrepancy_id is not None:
        log.warning(
            "lane %d: count by staff %d differs from the record (discrepancy %d)",
            lane.lane,
            session.staff_id,
            discrepancy_id,
        )
    return CountResult(movement_id, lane.lane, expected, counted, stock, discrepancy_id)


class StockService:
    def __init__(self, store: Store, clock: Clock, staff: StaffService) -> None:
        self._store = store
        self._clock = clock
        self._staff = staff

    # ------------------------------------------------------------ reading

    def lanes(self, session: StaffSession) -> list[LaneView]:
        self._staff.require(session, Permission.VIEW_LOGS)
        return [LaneView.of(row) for row in stock_repo.lane_rows(self._store)]

    def discrepancies(
        self, session: StaffSession, *, open_only: bool = True
    ) -> list[DiscrepancyView]:
        self._staff.require(session, Permission.VIEW_LOGS)
        return stock_repo.discrepancies(self._store, open_only=open_only)

    # ------------------------------------------------------------ assignment

    def assign(
        self,
        session: StaffSession,
        lane: int,
        medication_id: int | None,
        participant_id: int | None,
        reason: str,
    ) -> LaneView:
        """Set what a lane holds: a medication for everyone (``participant_id`` None) or a
        personal locker lane for one participant and that medication. A lane that still
        holds units cannot change medication (return them first)."""
        self._staff.require(session, Permission.ASSIGN_LANE)
        reason = _reason(reason)
        if not 1 <= lane <= 247:  # the protocol's STATUS reply holds at most 247 lanes
            raise InvalidInput("lane")
        if (
            medication_id is not None
            and stock_repo.medication_text(self._store, medication_id) is None
        ):
            raise InvalidInput("medication")
        if participant_id is not None:
            if medication_id is None:
                raise InvalidInput("medication")
            person = self._store.participant(participant_id)
            if person is None or person.status != "active":
                raise InvalidInput("participant")
        before = stock_repo.lane_row(self._store, lane)
        if before is not None and before.medication_id != medication_id and before.stock > 0:
            raise InvalidInput("lane_not_empty")
        details = {
            "lane": lane,
            "medication_id": medication_id,
            "participant_id": participant_id,
            "previous_medication_id": before.medication_id if before else None,
            "previous_participant_id": before.participant_id if before else None,
            "reason": reason,
        }
        with self._store.change(
            self._clock.now(), session.actor, "lane.assigned", f"lane:{lane}", details
        ) as conn:
            stock_repo.assign_lane(conn, lane, medication_id, participant_id)
        log.info(
            "lane %d assigned to medication %s%s by staff %d",
            lane,
            medication_id,
            f" (locker of participant {participant_id})" if participant_id else "",
            session.staff_id,
        )
        row = stock_repo.lane_row(self._store, lane)
        assert row is not None
        return LaneView.of(row)

    # ------------------------------------------------------------ counts

    def restock(
        self,
        session: StaffSession,
        lane: int,
        counted_before: int,
        added: int,
        second_pin: str,
    ) -> RestockResult:
        """Blind count of what is in the lane, then the units added; a second, different
        staff member signs with their PIN. The stock becomes ``counted_before + added``."""
        self._staff.require(session, Permission.RESTOCK)
        row = self._stocked_lane(lane)
        if counted_before < 0:
            raise InvalidInput("counted")
        if added < 1:
            raise InvalidInput("added")
        second = self._staff.second_signature(second_pin, session)
        result = record_count(
            self._store,
            self._clock.now(),
            session,
            row,
            counted_before,
            action="stock.restocked",
            kind="restock",
            added=added,
            second_staff_id=second,
        )
        log.info(
            "lane %d restocked with %d units by staff %d and %d",
            lane,
            added,
            session.staff_id,
            second,
        )
        return RestockResult(
            result.movement_id,
            result.lane,
            result.expected,
            result.counted,
            result.stock,
            result.discrepancy_id,
            added=added,
            second_staff_id=second,
        )

    def count(
        self, session: StaffSession, lane: int, counted: int, reason: str = ""
    ) -> CountResult:
        """A blind count of a lane (end of day, spot check); no units move."""
        self._staff.require(session, Permission.RESTOCK)
        row = self._stocked_lane(lane)
        if counted < 0:
            raise InvalidInput("counted")
        return record_count(
            self._store,
            self._clock.now(),
            session,
            row,
            counted,
            action="stock.counted",
            reason=clean_text(reason),
        )

    def resolve_discrepancy(
        self, session: StaffSession, discrepancy_id: int, reason: str
    ) -> ResolveResult:
        """A pharmacist closes a discrepancy with a reason; the lane dispenses again when
        nothing else blocks it (another open discrepancy, a jam, a fault)."""
        self._staff.require(session, Permission.RESOLVE_DISCREPANCY)
        reason = _reason(reason)
        found = stock_repo.discrepancy(self._store, discrepancy_id)
        if found is None:
            raise InvalidInput("discrepancy")
        if not found.is_open:
            raise InvalidInput("resolved")
        now = self._clock.now()
        subject = f"lane:{found.lane}"
        details: dict[str, Any] = {
            "discrepancy_id": discrepancy_id,
            "lane": found.lane,
            "expected": found.expected,
            "counted": found.counted,
            "reason": reason,
        }
        with self._store.change(
            now, session.actor, "discrepancy.resolved", subject, details
        ) as conn:
            if not stock_repo.close_discrepancy(
                conn, discrepancy_id, now, session.staff_id, reason
            ):
                raise InvalidInput("resolved")
            still_open = stock_repo.open_discrepancy_count(conn, found.lane)
            state_row = conn.execute(
                "SELECT state FROM lanes WHERE lane = ?", (found.lane,)
            ).fetchone()
            state = LaneStatus(state_row[0])
            if still_open == 0:
                stock_repo.acknowledge_alerts_in(
                    conn, AlertKind.DISCREPANCY, subject, now, session.staff_id, "resolved"
                )
                if state is DISCREPANCY:
                    state = LaneStatus.READY
                    stock_repo.set_state(conn, found.lane, state)
            details.update(lane_state=state, still_open=still_open)
        log.info(
            "discrepancy %d on lane %d resolved by staff %d",
            discrepancy_id,
            found.lane,
            session.staff_id,
        )
        return ResolveResult(discrepancy_id, found.lane, state, still_open)

    # ------------------------------------------------------------ units out

    def record_return(
        self, session: StaffSession, lane: int, units: int, reason: str
    ) -> MovementResult:
        """Units taken out of the lane and returned to the pharmacy's stock."""
        self._staff.require(session, Permission.RESTOCK)
        return self._take_out(session, lane, units, reason, "return", None)

    def record_waste(
        self, session: StaffSession, lane: int, units: int, reason: str, second_pin: str
    ) -> MovementResult:
        """Units taken out and destroyed (dropped, damaged); a witness signs with a PIN."""
        self._staff.require(session, Permission.RESTOCK)
        reason = _reason(reason)
        row = self._stocked_lane(lane)
        _check_units(units, row)
        witness = self._staff.second_signature(second_pin, session)
        return self._take_out(session, lane, units, reason, "waste", witness)

    def _take_out(
        self,
        session: StaffSession,
        lane: int,
        units: int,
        reason: str,
        kind: str,
        second_staff_id: int | None,
    ) -> MovementResult:
        reason = _reason(reason)
        row = self._stocked_lane(lane)
        _check_units(units, row)
        return take_out(
            self._store, self._clock.now(), session, row, units, reason, kind, second_staff_id
        )

    def _stocked_lane(self, lane: int) -> LaneRow:
        row = stock_repo.lane_row(self._store, lane)
        if row is None or row.medication_id is None:
            raise InvalidInput("lane")
        return row


def take_out(
    store: Store,
    at: datetime,
    session: StaffSession,
    row: LaneRow,
    units: int,
    reason: str,
    kind: str,
    second_staff_id: int | None,
    *,
    action: str = "",
) -> MovementResult:
    """Units out of a lane in one change: returned to the pharmacy ('return') or destroyed
    ('waste'). Permissions, the reason and the units are the caller's to check."""
    stock = row.stock - units
    details: dict[str, Any] = {
        "lane": row.lane,
        "medication_id": row.medication_id,
        "units": units,
        "stock": stock,
        "second_staff_id": second_staff_id,
        "reason": reason,
    }
    action = action or ("stock.returned" if kind == "return" else "stock.wasted")
    with store.change(at, session.actor, action, f"lane:{row.lane}", details) as conn:
        movement_id = stock_repo.add_movement(
            conn,
            lane=row.lane,
            medication_id=row.medication_id,
            kind=kind,
            units=-units,
            expected=row.stock,
            counted=None,
            staff_id=session.staff_id,
            second_staff_id=second_staff_id,
            reason=reason,
            at=at,
        )
        stock_repo.set_stock(conn, row.lane, stock)
        details["movement_id"] = movement_id
    log.info("lane %d: %d units %s by staff %d", row.lane, units, action, session.staff_id)
    return MovementResult(movement_id, row.lane, kind, units, stock, second_staff_id)


def _reason(reason: str) -> str:
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput("reason")
    return reason


def _check_units(units: int, row: LaneRow) -> None:
    if units < 1 or units > row.stock:
        raise InvalidInput("units")
