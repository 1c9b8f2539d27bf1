"""A lane's stock and state as the machine's events describe it, kept up to date from the new
events of each push only (docs/SYNC.md, "Lane stock").

The rule (the full recompute, ``recompute``): over the lane's events in seq order,

- the newest event whose payload has a ``stock`` key (``lane.configured``, ``stock.counted``,
  a refill...) is the *statement*: it gives the stock (an int, else unknown) and the
  ``medication_id``;
- every ``dispense.result`` after that statement takes its ``dropped`` units (an int > 0) off,
  and so does every dose given by hand from the lane (``taken_of``: a ``manual_dose.recorded``
  from ``machine_lane``, or the kiosk's ``manual_dose.applied`` of a hub-recorded one, each its
  ``units``): stock = max(statement - taken since, 0);
- the newest ``lane.state`` gives the state (its ``to``).

``LaneStock`` stores, besides what the fleet page shows, what the rule needs to go on without
reading the history again: the statement's seq and value (``stock_seq``, ``base_stock``), the
units dropped since (``dropped``), the seq of the state (``state_seq``) and the highest seq of
the lane applied (``as_of_seq``). ``apply`` folds a push's new events onto that: in seq order
it touches nothing stored. Events can arrive out of order (a batch whose reply was lost, a gap
filled later), so ``apply`` never assumes they come after ``as_of_seq``: a statement or state
older than the one held is superseded, a result older than the statement does not count, and
only a statement that lands *behind* results already applied (a filled gap) needs the units
dropped after it, which the caller reads from the lane's stored results after that seq (an
index range, ``event_machine_lane``: as long as the gap, never the history). The result is the
same as the full recompute whatever the arrival order (tests/hub/test_lane_stock.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

MAX_LANE = 32767  # LaneStock.lane is a PositiveSmallIntegerField
_BIG = 2**63
_INT = 2**31  # stock and medication_id are IntegerFields: a value outside is unknown (None)
_DROPPED_CAP = 2**62  # units dropped since the statement (a BigIntegerField): saturates


def lane_of(payload: dict[str, Any]) -> int | None:
    """The lane an event is about (an int 1..32767 under ``lane``), or None."""
    lane = payload.get("lane")
    return lane if type(lane) is int and 0 < lane <= MAX_LANE else None


def vend_of(payload: dict[str, Any]) -> int | None:
    """The vend an event is about (an integer ``vend_id``), or None."""
    vend = payload.get("vend_id")
    return vend if type(vend) is int and -_BIG <= vend < _BIG else None


def is_statement(payload: dict[str, Any]) -> bool:
    return "stock" in payload


def dropped_of(type_: str, payload: dict[str, Any]) -> int:
    """The units a ``dispense.result`` that is not itself a statement takes off the stock."""
    if type_ != "dispense.result" or is_statement(payload):
        return 0
    dropped = payload.get("dropped")
    return dropped if type(dropped) is int and dropped > 0 else 0


MANUAL_RECORDED = "manual_dose.recorded"  # a dose given by hand, recorded at the kiosk
MANUAL_APPLIED = "manual_dose.applied"  # a hub-recorded one from a lane, applied at the kiosk
TAKING_TYPES = ("dispense.result", MANUAL_RECORDED, MANUAL_APPLIED)
NOT_COUNTED = "manual_dose.not_counted"  # another event of a dose already taken off


def taken_of(type_: str, payload: dict[str, Any]) -> int:
    """The units an event takes off its lane: a result's drop, or a dose given by hand from
    the lane (docs/SYNC.md, "Manual doses"). Which of a dose's events counts (one per uuid)
    is the caller's to choose (``fleet.ingest``)."""
    if type_ == "dispense.result":
        return dropped_of(type_, payload)
    if type_ not in (MANUAL_RECORDED, MANUAL_APPLIED) or is_statement(payload):
        return 0
    if type_ == MANUAL_RECORDED and payload.get("source") != "machine_lane":
        return 0
    units = payload.get("units")
    return units if type(units) is int and 0 < units < _INT else 0


def _int_or_none(value: Any) -> int | None:
    return value if type(value) is int and -_INT <= value < _INT else None


@dataclass(frozen=True)
class LaneFacts:
    medication_id: int | None = None
    base_stock: int | None = None
    stock_seq: int = 0
    dropped: int = 0
    state: str = ""
    state_seq: int = 0
    as_of_seq: int = 0

    @property
    def stock(self) -> int | None:
        return None if self.base_stock is None else max(self.base_stock - self.dropped, 0)


# The LaneStock columns LaneFacts fills (its fields and the stock they give).
FIELDS = (
    "medication_id",
    "stock",
    "state",
    "as_of_seq",
    "stock_seq",
    "base_stock",
    "dropped",
    "state_seq",
)

LaneEvent = tuple[int, str, dict[str, Any]]  # (seq, type, payload) of one lane's event


def recompute(events: Iterable[LaneEvent]) -> LaneFacts:
    """The rule over all of a lane's events (any order; one event per seq)."""
    return apply(LaneFacts(), list(events), lambda seq: 0)


def apply(facts: LaneFacts, new: list[LaneEvent], dropped_after: Callable[[int], int]) -> LaneFacts:
    """``facts`` with the lane's ``new`` events (never applied before) folded in.

    ``dropped_after(seq)``: the units dropped by the lane's stored results after ``seq``, new
    ones included; asked only when a statement arrives behind results already applied."""
    if not new:
        return facts
    statements = [e for e in new if is_statement(e[2]) and e[0] > facts.stock_seq]
    if statements:
        seq, _, payload = max(statements, key=lambda e: e[0])
        if seq > facts.as_of_seq:  # everything after it is in this push
            dropped = sum(taken_of(t, p) for s, t, p in new if s > seq)
        else:
            dropped = dropped_after(seq)
        dropped = min(dropped, _DROPPED_CAP)
        facts = replace(
            facts,
            medication_id=_int_or_none(payload.get("medication_id")),
            base_stock=_int_or_none(payload.get("stock")),
            stock_seq=seq,
            dropped=dropped,
        )
    else:
        facts = replace(
            facts,
            dropped=min(
                facts.dropped + sum(taken_of(t, p) for s, t, p in new if s > facts.stock_seq),
                _DROPPED_CAP,
            ),
        )
    states = [e for e in new if e[1] == "lane.state" and e[0] > facts.state_seq]
    if states:
        seq, _, payload = max(states, key=lambda e: e[0])
        facts = replace(facts, state=str(payload.get("to") or "")[:16], state_seq=seq)
    return replace(facts, as_of_seq=max(facts.as_of_seq, *(e[0] for e in new)))
