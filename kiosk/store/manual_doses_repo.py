"""SQL for doses given by hand (kiosk.domain.manual_doses; migration 0020). Writing functions
run inside the caller's transaction; one row per uuid, so applying a dose twice (a re-sent
page, a snapshot, the hub's copy of a dose made here) keeps one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.manual_doses import DoseOrigin, ManualDose, StockSource
from kiosk.store.db import Connection
from kiosk.store.timefmt import from_text, to_text

_COLUMNS = (
    "uuid, prescription_id, prescription_hub_id, participant_code, medication_id, units,"
    " given_at, source, lane, recorded_by, witness, origin"
)


def _dose(row: tuple[object, ...]) -> ManualDose:
    return ManualDose(
        uuid=str(row[0]),
        prescription_id=None if row[1] is None else int(str(row[1])),
        prescription_hub_id=None if row[2] is None else str(row[2]),
        participant_code=str(row[3]),
        medication_id=int(str(row[4])),
        units=int(str(row[5])),
        given_at=from_text(str(row[6])),
        source=StockSource(str(row[7])),
        lane=None if row[8] is None else int(str(row[8])),
        recorded_by=str(row[9]),
        witness=None if row[10] is None else str(row[10]),
        origin=DoseOrigin(str(row[11])),
    )


def put(conn: Connection, dose: ManualDose, at: datetime) -> bool:
    """Keep a manual dose once: False when its uuid is held already (nothing changes)."""
    cursor = conn.execute(
        f"INSERT INTO manual_doses ({_COLUMNS}, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING",
        (
            dose.uuid,
            dose.prescription_id,
            dose.prescription_hub_id,
            dose.participant_code,
            dose.medication_id,
            dose.units,
            to_text(dose.given_at),
            dose.source.value,
            dose.lane,
            dose.recorded_by,
            dose.witness,
            dose.origin.value,
            to_text(at),
        ),
    )
    return bool(cursor.rowcount > 0)


def take_from_lane(conn: Connection, lane: int, units: int) -> None:
    """A dose taken from a lane by hand leaves the lane's recorded stock (never below 0: the
    next count shows any difference)."""
    conn.execute("UPDATE lanes SET stock = max(stock - ?, 0) WHERE lane = ?", (units, lane))


def recent(conn: Connection, since: datetime) -> list[ManualDose]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM manual_doses WHERE given_at >= ? ORDER BY given_at DESC",
        (to_text(since),),
    ).fetchall()
    return [_dose(r) for r in rows]


def count(conn: Connection, uuid: str) -> int:
    return int(
        conn.execute("SELECT count(*) FROM manual_doses WHERE uuid = ?", (uuid,)).fetchone()[0]
    )


def lane_units(
    conn: Connection,
    lane: int,
    medication_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Units given by hand from a lane in [start, end) (either bound open)."""
    row = conn.execute(
        "SELECT coalesce(sum(units), 0) FROM manual_doses WHERE source = 'machine_lane'"
        " AND lane = ? AND medication_id = ?"
        " AND (? IS NULL OR given_at >= ?) AND (? IS NULL OR given_at < ?)",
        (
            lane,
            medication_id,
            *(2 * [None if start is None else to_text(start)]),
            *(2 * [None if end is None else to_text(end)]),
        ),
    ).fetchone()
    return int(row[0])


def pharmacy_units(conn: Connection, medication_id: int, start: datetime, end: datetime) -> int:
    """Units given by hand from the pharmacy's stock in [start, end): shown, never taken off."""
    row = conn.execute(
        "SELECT coalesce(sum(units), 0) FROM manual_doses WHERE source = 'pharmacy_stock'"
        " AND medication_id = ? AND given_at >= ? AND given_at < ?",
        (medication_id, to_text(start), to_text(end)),
    ).fetchone()
    return int(row[0])


@dataclass(frozen=True)
class DoseChoice:
    """An open prescription a dose may be recorded against, as staff pick it."""

    prescription_id: int
    prescription_hub_id: str | None
    participant_id: int
    participant_code: str
    medication_id: int
    medication: str  # "hydromorphone 8 mg tablet"
    units_per_dose: int
    witnessed: bool


def choices(conn: Connection) -> list[DoseChoice]:
    rows = conn.execute(
        "SELECT p.id, p.hub_id, pa.id, pa.code, m.id, m.name || ' ' || m.strength || ' ' || m.form,"
        " p.units_per_dose, p.witnessed FROM prescriptions p"
        " JOIN participants pa ON pa.id = p.participant_id"
        " JOIN medications m ON m.id = p.medication_id"
        " WHERE p.status IN ('active', 'on_hold') AND pa.status = 'active'"
        " ORDER BY pa.code, m.name, p.id"
    ).fetchall()
    return [
        DoseChoice(
            int(r[0]),
            None if r[1] is None else str(r[1]),
            int(r[2]),
            str(r[3]),
            int(r[4]),
            str(r[5]),
            int(r[6]),
            bool(r[7]),
        )
        for r in rows
    ]


def prescription_for(
    conn: Connection, hub_id: str | None, code: str, medication_id: int
) -> int | None:
    """This kiosk's prescription a pulled dose counts against: the one the hub names, else
    the participant's open one of the same medication (None: the rules then match by code
    and medication, Store.history)."""
    if hub_id is not None:
        row = conn.execute("SELECT id FROM prescriptions WHERE hub_id = ?", (hub_id,)).fetchone()
        if row is not None:
            return int(row[0])
    row = conn.execute(
        "SELECT p.id FROM prescriptions p JOIN participants pa ON pa.id = p.participant_id"
        " WHERE pa.code = ? AND p.medication_id = ? AND p.status IN ('active', 'on_hold')"
        " ORDER BY p.id DESC LIMIT 1",
        (code, medication_id),
    ).fetchone()
    return None if row is None else int(row[0])
