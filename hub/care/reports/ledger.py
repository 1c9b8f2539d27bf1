"""A lane's stock movements and balance from the kiosk's events, as pure functions (no
database): the daily reconciliation and the controlled-substance register both read it.

The kiosk's events for stock (kiosk/services/stock.py, kiosk/services/jam.py,
kiosk/store/repository.py), each with the lane and, except a result, the ``stock`` after it:

  lane.configured   setup: the stock is set                      (stock, medication_id)
  lane.assigned     the lane changes medication (empty lane)     (medication_id)
  stock.restocked   a blind count, then units added              (expected, counted, added)
  stock.counted     a blind count                                (expected, counted)
  jam.counted       a count after clearing a jam                 (expected, counted)
  stock.returned    units back to the pharmacy                   (units)
  jam.taken_out     units taken out while clearing a jam: a return (units)
  stock.wasted      units destroyed, with a witness              (units, second_staff_id)
  dispense.result   units dropped for a vend (no ``stock`` key)  (dropped, outcome, vend_id)

The balance follows the hub's lane rule (fleet/lanes.py): an event with ``stock`` states it, a
result takes its ``dropped`` units off. A result counts on the dosing day of its *intent*, as
the kiosk's own reconciliation does (kiosk/services/reconciliation.py): the caller gives each
event the instant it counts at. The kiosk records no lot numbers, so neither can this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RECEIVED, COUNTED, RETURNED, WASTED, DISPENSED, CONFIGURED, ASSIGNED = (
    "received",
    "counted",
    "returned",
    "wasted",
    "dispensed",
    "configured",
    "assigned",
)
KIND_OF_TYPE = {
    "lane.configured": CONFIGURED,
    "lane.assigned": ASSIGNED,
    "stock.restocked": RECEIVED,
    "stock.counted": COUNTED,
    "jam.counted": COUNTED,
    "stock.returned": RETURNED,
    "jam.taken_out": RETURNED,
    "stock.wasted": WASTED,
    "dispense.result": DISPENSED,
}
MOVEMENT_TYPES = tuple(KIND_OF_TYPE)
COMPLETE = "complete"  # the kiosk's outcome of a vend that gave every unit


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


@dataclass(frozen=True)
class LaneEvent:
    """One of a lane's events as the ledger needs it. ``at``: the instant it counts at."""

    at: datetime
    seq: int
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Movement:
    """One line of the register: what moved and the balance after it."""

    at: datetime
    seq: int
    kind: str
    medication_id: int | None
    units_in: int
    units_out: int
    expected: int | None
    counted: int | None
    balance: int | None
    payload: dict[str, Any]

    @property
    def is_count(self) -> bool:
        return self.counted is not None

    @property
    def difference(self) -> int | None:
        if self.counted is None or self.expected is None:
            return None
        return self.counted - self.expected


def movements(events: Iterable[LaneEvent]) -> list[Movement]:
    """The lane's movements in the order they count, each with the balance after it."""
    balance: int | None = None
    medication: int | None = None
    out = []
    for event in sorted(events, key=lambda e: (e.at, e.seq)):
        kind = KIND_OF_TYPE.get(event.type)
        if kind is None:
            continue
        p = event.payload
        if "medication_id" in p:
            medication = _int(p.get("medication_id"))
        units_in = units_out = 0
        expected = counted = None
        if kind == DISPENSED:
            units_out = max(_int(p.get("dropped")) or 0, 0)
        elif kind in (RECEIVED, COUNTED):
            expected, counted = _int(p.get("expected")), _int(p.get("counted"))
            units_in = max(_int(p.get("added")) or 0, 0)
        elif kind in (RETURNED, WASTED):
            units_out = max(_int(p.get("units")) or 0, 0)
        if "stock" in p:
            balance = _int(p.get("stock"))
        elif kind == DISPENSED and balance is not None:
            balance = max(balance - units_out, 0)
        out.append(
            Movement(
                event.at,
                event.seq,
                kind,
                medication,
                units_in,
                units_out,
                expected,
                counted,
                balance,
                p,
            )
        )
    return out


def balance_before(moves: list[Movement], instant: datetime) -> int | None:
    """The stock just before ``instant`` (None: never stated)."""
    before = [m for m in moves if m.at < instant]
    return before[-1].balance if before else None


@dataclass
class LaneDay:
    """One lane's dosing day, in the kiosk reconciliation's terms."""

    opening: int | None = None
    received: int = 0
    dispensed: int = 0
    returned: int = 0
    wasted: int = 0
    counts: int = 0
    discrepancies: int = 0
    closing: int | None = None  # the balance at the end of the day
    medication_ids: set[int] = field(default_factory=set)
    vends_started: int = 0
    vends_failed: int = 0
    vends_unsettled: int = 0

    @property
    def expected_closing(self) -> int | None:
        if self.opening is None:
            return None
        return self.opening + self.received - self.dispensed - self.returned - self.wasted

    @property
    def counted_closing(self) -> int | None:
        """The closing the day's counts establish; None when nothing was counted that day."""
        return self.closing if self.counts else None

    @property
    def difference(self) -> int | None:
        if self.counted_closing is None or self.expected_closing is None:
            return None
        return self.counted_closing - self.expected_closing

    def add(self, other: LaneDay) -> None:
        """Sum ``other`` into this one (a machine's or a site's total)."""
        for name in ("opening", "closing"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, None if mine is None or theirs is None else mine + theirs)
        for name in (
            "received",
            "dispensed",
            "returned",
            "wasted",
            "counts",
            "discrepancies",
            "vends_started",
            "vends_failed",
            "vends_unsettled",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.medication_ids |= other.medication_ids


def lane_day(moves: list[Movement], start: datetime, end: datetime) -> LaneDay:
    """The reconciliation of one lane for [start, end) from all its movements up to ``end``."""
    day = LaneDay(opening=balance_before(moves, start), closing=balance_before(moves, end))
    for move in moves:
        if not start <= move.at < end:
            continue
        if move.medication_id is not None:
            day.medication_ids.add(move.medication_id)
        day.received += move.units_in
        if move.kind == DISPENSED:
            day.dispensed += move.units_out
        elif move.kind == RETURNED:
            day.returned += move.units_out
        elif move.kind == WASTED:
            day.wasted += move.units_out
        if move.is_count:
            day.counts += 1
            day.discrepancies += move.difference not in (0, None)
    if day.opening is not None and not day.medication_ids:
        last = [m.medication_id for m in moves if m.at < start and m.medication_id is not None]
        day.medication_ids.update(last[-1:])
    return day
