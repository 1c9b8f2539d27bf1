"""SQL for stock: lanes and personal locker lanes, stock movements, discrepancies, and the
ledger the daily reconciliation reads.

Reads take a ``Store``; writes take the connection of a running ``Store.change`` so that the
record, its audit entry and its outbox event stay one transaction (invariant 4). Alerts
raised or acknowledged here also write their own audit entry and outbox event, inside the
caller's transaction, exactly as ``Store.raise_alert`` and the log service do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.domain.alerts import AlertKind
from kiosk.domain.model import LaneStatus
from kiosk.store import audit, outbox
from kiosk.store.db import Connection
from kiosk.store.repository import OPEN_ALERT, LaneRecord, Store
from kiosk.store.timefmt import from_text, to_text

# The lane state the controller never reports: a count disagreed with the record.
DISCREPANCY = LaneStatus.DISCREPANCY
MOVEMENT_KINDS = ("restock", "return", "waste", "count")
COUNT_KINDS = ("restock", "count")  # movements that carry a blind count


@dataclass(frozen=True)
class LaneRow:
    lane: int
    medication_id: int | None
    medication: str | None  # "hydromorphone 8 mg tablet"
    participant_id: int | None  # set: a personal locker lane
    participant_code: str | None
    stock: int
    state: LaneStatus
    discrepancy_id: int | None  # the oldest open discrepancy of the lane


@dataclass(frozen=True)
class Movement:
    id: int
    lane: int
    medication_id: int | None
    kind: str  # restock | return | waste | count
    units: int  # added (+) or removed (-); 0 for a count
    expected: int | None
    counted: int | None
    staff_id: int
    second_staff_id: int | None
    reason: str
    at: datetime

    @property
    def is_count(self) -> bool:
        return self.kind in COUNT_KINDS and self.counted is not None

    @property
    def counted_stock(self) -> int | None:
        """The physical stock right after this movement, when it carried a count."""
        if not self.is_count or self.counted is None:
            return None
        return self.counted + (self.units if self.kind == "restock" else 0)

    @property
    def correction(self) -> int:
        """What the count changed in the record (counted minus expected)."""
        if self.is_count and self.counted is not None and self.expected is not None:
            return self.counted - self.expected
        return 0

    @property
    def delta(self) -> int:
        """The change of the recorded stock this movement made."""
        return self.units + self.correction

    @property
    def agrees(self) -> bool:
        return self.correction == 0


@dataclass(frozen=True)
class DiscrepancyRow:
    id: int
    lane: int
    expected: int
    counted: int
    opened_at: datetime
    opened_by: int
    resolved_at: datetime | None
    resolved_by: int | None
    reason: str | None

    @property
    def difference(self) -> int:
        return self.counted - self.expected

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class DispenseLogEntry:
    at: datetime  # UTC, when the intent was created
    vend_id: int
    participant_code: str
    medication_id: int
    medication: str
    lane: int
    units: int
    dropped: int | None  # None: no result recorded yet
    outcome: str | None
    witness_staff_id: int | None


_MEDICATION_TEXT = "m.name || ' ' || m.strength || ' ' || m.form"


# ---------------------------------------------------------------- lanes


# A lane that can dispense: ready, with stock, no open discrepancy (lane_for_participant
# and any_lane_can_dispense must agree, or the kiosk would invite a finger it cannot serve).
_LANE_CAN_DISPENSE = (
    "l.state = 'ready' AND l.stock >= ?"
    " AND NOT EXISTS (SELECT 1 FROM discrepancies d"
    "                 WHERE d.lane = l.lane AND d.resolved_at IS NULL)"
)


def lane_for_participant(
    store: Store, medication_id: int, participant_id: int, units: int
) -> LaneRecord | None:
    """The lane to dispense from for this participant: their own locker lane for this
    medication first, else a shared lane (no participant), never another person's locker.
    Only lanes in state 'ready', with enough stock and no open discrepancy; fullest first."""
    row = store.conn.execute(
        "SELECT l.lane, l.medication_id, l.stock, l.state FROM lanes l"
        f" WHERE l.medication_id = ? AND {_LANE_CAN_DISPENSE}"
        " AND (l.participant_id IS NULL OR l.participant_id = ?)"
        " ORDER BY (l.participant_id IS NULL), l.stock DESC, l.lane LIMIT 1",
        (medication_id, units, participant_id),
    ).fetchone()
    if row is None:
        return None
    return LaneRecord.of(row)


def any_lane_can_dispense(store: Store) -> bool:
    """Some lane with a medication can dispense a unit to someone (else nobody can be served:
    every lane is jammed, empty, faulty, blocked by a discrepancy or unassigned)."""
    row = store.conn.execute(
        f"SELECT 1 FROM lanes l WHERE l.medication_id IS NOT NULL AND {_LANE_CAN_DISPENSE} LIMIT 1",
        (1,),
    ).fetchone()
    return row is not None


def _lane_rows(store: Store, lane: int | None) -> list[LaneRow]:
    rows = store.conn.execute(
        f"SELECT l.lane, l.medication_id, {_MEDICATION_TEXT}, l.participant_id, p.code,"
        " l.stock, l.state,"
        " (SELECT min(d.id) FROM discrepancies d"
        "  WHERE d.lane = l.lane AND d.resolved_at IS NULL)"
        " FROM lanes l"
        " LEFT JOIN medications m ON m.id = l.medication_id"
        " LEFT JOIN participants p ON p.id = l.participant_id"
        " WHERE (? IS NULL OR l.lane = ?) ORDER BY l.lane",
        (lane, lane),
    ).fetchall()
    return [
        LaneRow(
            int(r[0]),
            None if r[1] is None else int(r[1]),
            None if r[2] is None else str(r[2]),
            None if r[3] is None else int(r[3]),
            None if r[4] is None else str(r[4]),
            int(r[5]),
            LaneStatus(r[6]),
            None if r[7] is None else int(r[7]),
        )
        for r in rows
    ]


def lane_rows(store: Store) -> list[LaneRow]:
    return _lane_rows(store, None)


def lane_row(store: Store, lane: int) -> LaneRow | None:
    found = _lane_rows(store, lane)
    return found[0] if found else None


def medication_text(store: Store, medication_id: int) -> str | None:
    row = store.conn.execute(
        f"SELECT {_MEDICATION_TEXT} FROM medications m WHERE m.id = ?", (medication_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def medication_texts(store: Store) -> dict[int, str]:
    rows = store.conn.execute(f"SELECT m.id, {_MEDICATION_TEXT} FROM medications m").fetchall()
    return {int(a): str(b) for a, b in rows}


def assign_lane(
    conn: Connection, lane: int, medication_id: int | None, participant_id: int | None
) -> None:
    """What a lane holds and for whom (inside a change). A new lane starts empty."""
    conn.execute(
        "INSERT INTO lanes (lane, medication_id, stock, state, participant_id)"
        " VALUES (?, ?, 0, 'ready', ?)"
        " ON CONFLICT (lane) DO UPDATE SET medication_id = excluded.medication_id,"
        " participant_id = excluded.participant_id",
        (lane, medication_id, participant_id),
    )


def set_stock(conn: Connection, lane: int, stock: int) -> None:
    conn.execute("UPDATE lanes SET stock = ? WHERE lane = ?", (stock, lane))


def set_state(conn: Connection, lane: int, state: LaneStatus) -> None:
    conn.execute("UPDATE lanes SET state = ? WHERE lane = ?", (state, lane))


# ---------------------------------------------------------------- movements


def add_movement(
    conn: Connection,
    *,
    lane: int,
    medication_id: int | None,
    kind: str,
    units: int,
    expected: int | None,
    counted: int | None,
    staff_id: int,
    second_staff_id: int | None,
    reason: str,
    at: datetime,
) -> int:
    if kind not in MOVEMENT_KINDS:
        raise ValueError(f"unknown movement kind {kind!r}")
    cursor = conn.execute(
        "INSERT INTO stock_movements (lane, medication_id, kind, units, expected, counted,"
        " staff_id, second_staff_id, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            lane,
            medication_id,
            kind,
            units,
            expected,
            counted,
            staff_id,
            second_staff_id,
            reason,
            to_text(at),
        ),
    )
    return int(cursor.lastrowid)


_MOVEMENT_COLUMNS = (
    "id, lane, medication_id, kind, units, expected, counted, staff_id, second_staff_id, reason, at"
)


def _opt(value: Any) -> int | None:
    return None if value is None else int(value)


def _movement(r: Any) -> Movement:
    return Movement(
        int(r[0]),
        int(r[1]),
        _opt(r[2]),
        str(r[3]),
        int(r[4]),
        _opt(r[5]),
        _opt(r[6]),
        int(r[7]),
        _opt(r[8]),
        str(r[9]),
        from_text(str(r[10])),
    )


def movements(
    store: Store,
    *,
    lane: int | None = None,
    medication_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    after_id: int = 0,
) -> list[Movement]:
    """Movements in [start, end) (either bound open), oldest first."""
    rows = store.conn.execute(
        f"SELECT {_MOVEMENT_COLUMNS} FROM stock_movements"
        " WHERE (? IS NULL OR lane = ?) AND (? IS NULL OR medication_id = ?)"
        " AND (? IS NULL OR at >= ?) AND (? IS NULL OR at < ?) AND id > ?"
        " ORDER BY at, id",
        (
            lane,
            lane,
            medication_id,
            medication_id,
            *(2 * [None if start is None else to_text(start)]),
            *(2 * [None if end is None else to_text(end)]),
            after_id,
        ),
    ).fetchall()
    return [_movement(r) for r in rows]


def last_count_before(
    store: Store, lane: int, medication_id: int, before: datetime
) -> Movement | None:
    """The newest restock or count of this lane and medication strictly before an instant."""
    row = store.conn.execute(
        f"SELECT {_MOVEMENT_COLUMNS} FROM stock_movements"
        " WHERE lane = ? AND medication_id = ? AND kind IN ('restock', 'count')"
        " AND counted IS NOT NULL AND at < ? ORDER BY at DESC, id DESC LIMIT 1",
        (lane, medication_id, to_text(before)),
    ).fetchone()
    return None if row is None else _movement(row)


def dispensed_units(
    store: Store,
    lane: int,
    medication_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Confirmed units of this medication dropped from a lane, for intents created in
    [start, end) (either bound open)."""
    row = store.conn.execute(
        "SELECT coalesce(sum(r.dropped), 0) FROM dispense_intents i"
        " JOIN prescriptions x ON x.id = i.prescription_id"
        " JOIN dispense_results r ON r.vend_id = i.vend_id"
        " WHERE i.lane = ? AND x.medication_id = ?"
        " AND (? IS NULL OR i.created_at >= ?) AND (? IS NULL OR i.created_at < ?)",
        (
            lane,
            medication_id,
            *(2 * [None if start is None else to_text(start)]),
            *(2 * [None if end is None else to_text(end)]),
        ),
    ).fetchone()
    return int(row[0])


def ledger_lanes(store: Store, until: datetime) -> list[tuple[int, int]]:
    """(lane, medication id) pairs that held stock at some time before ``until``: lanes
    holding a medication now, and every lane a movement or dispense names."""
    rows = store.conn.execute(
        "SELECT lane, medication_id FROM lanes WHERE medication_id IS NOT NULL"
        " UNION SELECT lane, medication_id FROM stock_movements"
        "       WHERE medication_id IS NOT NULL AND at < ?"
        " UNION SELECT i.lane, x.medication_id FROM dispense_intents i"
        "       JOIN prescriptions x ON x.id = i.prescription_id WHERE i.created_at < ?"
        " ORDER BY 2, 1",
        (to_text(until), to_text(until)),
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def dispense_log(store: Store, start: datetime, end: datetime) -> list[DispenseLogEntry]:
    """Every vend whose intent was created in [start, end), oldest first (codes, no names)."""
    rows = store.conn.execute(
        f"SELECT i.created_at, i.vend_id, p.code, m.id, {_MEDICATION_TEXT}, i.lane, i.units,"
        " r.dropped, r.outcome, i.witness_staff_id FROM dispense_intents i"
        " JOIN participants p ON p.id = i.participant_id"
        " JOIN prescriptions x ON x.id = i.prescription_id"
        " JOIN medications m ON m.id = x.medication_id"
        " LEFT JOIN dispense_results r ON r.vend_id = i.vend_id"
        " WHERE i.created_at >= ? AND i.created_at < ? ORDER BY i.created_at, i.vend_id",
        (to_text(start), to_text(end)),
    ).fetchall()
    return [
        DispenseLogEntry(
            from_text(str(r[0])),
            int(r[1]),
            str(r[2]),
            int(r[3]),
            str(r[4]),
            int(r[5]),
            int(r[6]),
            None if r[7] is None else int(r[7]),
            None if r[8] is None else str(r[8]),
            None if r[9] is None else int(r[9]),
        )
        for r in rows
    ]


# ---------------------------------------------------------------- discrepancies


_DISCREPANCY_COLUMNS = (
    "id, lane, expected, counted, opened_at, opened_by, resolved_at, resolved_by, reason"
)


def _discrepancy(r: Any) -> DiscrepancyRow:
    return DiscrepancyRow(
        int(r[0]),
        int(r[1]),
        int(r[2]),
        int(r[3]),
        from_text(str(r[4])),
        int(r[5]),
        None if r[6] is None else from_text(str(r[6])),
        None if r[7] is None else int(r[7]),
        None if r[8] is None else str(r[8]),
    )


def open_discrepancy(
    conn: Connection, lane: int, expected: int, counted: int, at: datetime, staff_id: int
) -> int:
    cursor = conn.execute(
        "INSERT INTO discrepancies (lane, expected, counted, opened_at, opened_by)"
        " VALUES (?, ?, ?, ?, ?)",
        (lane, expected, counted, to_text(at), staff_id),
    )
    return int(cursor.lastrowid)


def close_discrepancy(
    conn: Connection, discrepancy_id: int, at: datetime, staff_id: int, reason: str
) -> bool:
    """Close an open discrepancy. False when it was not open."""
    cursor = conn.execute(
        "UPDATE discrepancies SET resolved_at = ?, resolved_by = ?, reason = ?"
        " WHERE id = ? AND resolved_at IS NULL",
        (to_text(at), staff_id, reason, discrepancy_id),
    )
    return int(cursor.rowcount) == 1


def discrepancy(store: Store, discrepancy_id: int) -> DiscrepancyRow | None:
    row = store.conn.execute(
        f"SELECT {_DISCREPANCY_COLUMNS} FROM discrepancies WHERE id = ?", (discrepancy_id,)
    ).fetchone()
    return None if row is None else _discrepancy(row)


def discrepancies(
    store: Store, *, lane: int | None = None, open_only: bool = True
) -> list[DiscrepancyRow]:
    rows = store.conn.execute(
        f"SELECT {_DISCREPANCY_COLUMNS} FROM discrepancies"
        " WHERE (? IS NULL OR lane = ?) AND (? = 0 OR resolved_at IS NULL) ORDER BY id",
        (lane, lane, int(open_only)),
    ).fetchall()
    return [_discrepancy(r) for r in rows]


def open_discrepancy_count(conn: Connection, lane: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM discrepancies WHERE lane = ? AND resolved_at IS NULL", (lane,)
    ).fetchone()
    return int(row[0])


# ---------------------------------------------------------------- alerts (inside a change)


def raise_alert_in(
    conn: Connection, kind: AlertKind, subject: str, message: str, at: datetime
) -> int | None:
    """``Store.raise_alert`` inside the caller's transaction: the alert, its own audit
    entry and outbox event. None when the same alert is already open."""
    row = conn.execute(
        f"SELECT 1 FROM alerts WHERE kind = ? AND subject = ? AND {OPEN_ALERT}",
        (kind, subject),
    ).fetchone()
    if row:
        return None
    cursor = conn.execute(
        "INSERT INTO alerts (kind, subject, message, created_at) VALUES (?, ?, ?, ?)",
        (kind, subject, message, to_text(at)),
    )
    details: dict[str, Any] = {"kind": kind, "message": message, "alert_id": cursor.lastrowid}
    audit.append(conn, at, "system", "alert.raised", subject, details)
    outbox.add(conn, at, "alert.raised", {"actor": "system", "subject": subject, **details})
    return int(cursor.lastrowid)


def acknowledge_alerts_in(
    conn: Connection, kind: AlertKind, subject: str, at: datetime, staff_id: int, note: str
) -> list[int]:
    """Acknowledge the open alerts of a kind and subject inside the caller's transaction,
    each with its audit entry and outbox event (as the log service does)."""
    ids = [
        int(r[0])
        for r in conn.execute(
            f"SELECT id FROM alerts WHERE kind = ? AND subject = ? AND {OPEN_ALERT} ORDER BY id",
            (kind, subject),
        ).fetchall()
    ]
    actor = f"staff:{staff_id}"
    for alert_id in ids:
        conn.execute(
            "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
            (to_text(at), staff_id, alert_id),
        )
        details = {"note": note}
        audit.append(conn, at, actor, "alert.acknowledged", f"alert:{alert_id}", details)
        outbox.add(
            conn,
            at,
            "alert.acknowledged",
            {"actor": actor, "subject": f"alert:{alert_id}", **details},
        )
    return ids
