"""Repositories over the encrypted store. Every change of state is one transaction that
writes the record, a hash-chained audit entry and an outbox event together (invariant 4).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from kiosk.domain.alerts import AlertKind
from kiosk.domain.model import (
    LaneStatus,
    Medication,
    PastDispense,
    Prescription,
    PrescriptionStatus,
    Window,
)
from kiosk.domain.told import AlertRecord, Told
from kiosk.store import audit, outbox, sync_repo
from kiosk.store.anchor import chain_head, write_anchor
from kiosk.store.db import Connection, StoreError, transaction
from kiosk.store.timefmt import from_text, to_text


@dataclass(frozen=True)
class ParticipantRecord:
    id: int
    code: str
    display_name: str
    language: str | None
    status: str


@dataclass(frozen=True)
class LaneRecord:
    lane: int
    medication_id: int | None
    stock: int
    state: LaneStatus

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> LaneRecord:
        lane, medication_id, stock, state = row
        return cls(int(lane), medication_id, int(stock), LaneStatus(state))


@dataclass(frozen=True)
class RemoteWitnessRef:
    """A dose witnessed from afar: the clinician (hub user id) and the used request."""

    hub_user_id: int
    request_id: str


@dataclass(frozen=True)
class Intent:
    vend_id: int
    participant_id: int
    prescription_id: int
    lane: int
    units: int
    created_at: datetime
    witness_staff_id: int | None = None
    remote_witness: RemoteWitnessRef | None = None  # witnessed from afar instead
    identified_by: int | None = None  # the staff member who identified them (None: a finger)


@dataclass(frozen=True)
class DispenseRow:
    vend_id: int
    participant_code: str
    medication: str
    lane: int
    units: int
    dropped: int | None  # None: no result recorded yet
    outcome: str | None
    created_at: datetime


def identified_by(staff_id: int | None) -> str:
    """How a dispense's participant was identified, as its record says: ``finger`` or
    ``staff:<id>`` (staff-assisted identification)."""
    return "finger" if staff_id is None else f"staff:{staff_id}"


def _windows_to_json(windows: tuple[Window, ...]) -> str:
    return json.dumps([[w.start.strftime("%H:%M"), w.end.strftime("%H:%M")] for w in windows])


def _windows_from_json(text: str) -> tuple[Window, ...]:
    return tuple(Window(time.fromisoformat(a), time.fromisoformat(b)) for a, b in json.loads(text))


# An alert staff still have to see: neither acknowledged by staff nor resolved by the kiosk.
OPEN_ALERT = "acknowledged_at IS NULL AND resolved_at IS NULL"


def _open_alert_ids(conn: Connection, kind: AlertKind, subject: str | None) -> list[int]:
    rows = conn.execute(
        f"SELECT id FROM alerts WHERE kind = ? AND (? IS NULL OR subject = ?) AND {OPEN_ALERT}"
        " ORDER BY id",
        (kind, subject, subject),
    ).fetchall()
    return [int(row[0]) for row in rows]


def resolve_alerts_in(
    conn: Connection, kind: AlertKind, subject: str | None, at: datetime, actor: str, note: str
) -> list[int]:
    """Inside the caller's transaction: resolve the open alerts of a kind (and subject, or
    every subject), each with its audit entry and outbox event. Returns their ids."""
    ids = _open_alert_ids(conn, kind, subject)
    for alert_id in ids:
        conn.execute("UPDATE alerts SET resolved_at = ? WHERE id = ?", (to_text(at), alert_id))
        details = {"kind": str(kind), "note": note}
        audit.append(conn, at, actor, "alert.resolved", f"alert:{alert_id}", details)
        outbox.add(
            conn, at, "alert.resolved", {"actor": actor, "subject": f"alert:{alert_id}", **details}
        )
    return ids


class _NothingToDo(Exception):
    """Raised inside a change to roll it back quietly (no audit entry for a no-op)."""


class Store:
    """The kiosk's data, over one connection owned by one thread at a time."""

    def __init__(self, conn: Connection, *, anchor: Path | None = None) -> None:
        self.conn = conn
        # Where the audit chain's head is written after each commit that records a
        # dispense (kiosk/store/anchor.py); None for tools that only read.
        self.anchor = anchor

    def write_anchor(self) -> None:
        """Anchor the books outside the database. Raises StoreError when it cannot."""
        if self.anchor is None:
            return
        head = chain_head(self.conn)
        if head is None:
            return
        try:
            write_anchor(self.anchor, head)
        except OSError as exc:
            raise StoreError(f"cannot write the anchor file: {exc.strerror}") from exc

    @contextmanager
    def change(
        self,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        details: dict[str, Any] | None = None,
    ) -> Iterator[Connection]:
        """A transaction that also writes the audit entry and the outbox event for it."""
        with transaction(self.conn) as conn:
            yield conn
            audit.append(conn, at, actor, action, subject, details)
            outbox.add(conn, at, action, {"actor": actor, "subject": subject, **(details or {})})

    def note(
        self,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """An audited event that changes no record (a PIN attempt, a self-test)."""
        with self.change(at, actor, action, subject, details):
            pass

    # ------------------------------------------------------------ participants

    def add_participant(
        self, code: str, display_name: str, language: str | None, at: datetime, actor: str
    ) -> int:
        with self.change(at, actor, "participant.enrolled", code) as conn:
            cursor = conn.execute(
                "INSERT INTO participants (code, display_name, language, created_at)"
                " VALUES (?, ?, ?, ?)",
                (code, display_name, language, to_text(at)),
            )
        return int(cursor.lastrowid)

    def participant(self, participant_id: int) -> ParticipantRecord | None:
        row = self.conn.execute(
            "SELECT id, code, display_name, language, status FROM participants WHERE id = ?",
            (participant_id,),
        ).fetchone()
        return ParticipantRecord(*row) if row else None

    def participant_by_code(self, code: str) -> ParticipantRecord | None:
        row = self.conn.execute(
            "SELECT id, code, display_name, language, status FROM participants WHERE code = ?",
            (code,),
        ).fetchone()
        return ParticipantRecord(*row) if row else None

    def participants(self) -> list[ParticipantRecord]:
        rows = self.conn.execute(
            "SELECT id, code, display_name, language, status FROM participants ORDER BY code"
        ).fetchall()
        return [ParticipantRecord(*row) for row in rows]

    def add_template(
        self,
        participant_id: int,
        finger: str,
        position: int,
        characteristics: bytes,
        at: datetime,
        actor: str,
    ) -> None:
        details = {"participant_id": participant_id, "finger": finger, "position": position}
        with self.change(at, actor, "fingerprint.stored", f"participant:{participant_id}", details):
            self.conn.execute(
                "INSERT INTO fingerprint_templates"
                " (participant_id, finger, sensor_position, characteristics, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (participant_id, finger, position, characteristics, to_text(at)),
            )

    def participant_at_position(self, position: int) -> ParticipantRecord | None:
        row = self.conn.execute(
            "SELECT p.id, p.code, p.display_name, p.language, p.status"
            " FROM fingerprint_templates t JOIN participants p ON p.id = t.participant_id"
            " WHERE t.sensor_position = ?",
            (position,),
        ).fetchone()
        return ParticipantRecord(*row) if row else None

    def templates(self) -> list[tuple[int, int, bytes]]:
        """(participant id, sensor position, characteristics) for reloading a sensor."""
        rows = self.conn.execute(
            "SELECT participant_id, sensor_position, characteristics FROM fingerprint_templates"
            " ORDER BY sensor_position"
        ).fetchall()
        return [(int(a), int(b), bytes(c)) for a, b, c in rows]

    # ------------------------------------------------------------ prescriptions

    def add_medication(self, name: str, strength: str, form: str, at: datetime) -> int:
        with self.change(at, "system", "medication.added", f"{name} {strength} {form}") as conn:
            cursor = conn.execute(
                "INSERT INTO medications (name, strength, form) VALUES (?, ?, ?)",
                (name, strength, form),
            )
        return int(cursor.lastrowid)

    def medication(self, medication_id: int) -> Medication:
        row = self.conn.execute(
            "SELECT id, name, strength, form FROM medications WHERE id = ?", (medication_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"no medication {medication_id}")
        return Medication(*row)

    def add_prescription(
        self,
        participant_id: int,
        medication_id: int,
        units_per_dose: int,
        windows: tuple[Window, ...],
        daily_max_units: int,
        start_date: date,
        end_date: date | None,
        at: datetime,
        actor: str,
        *,
        interval_minutes: int | None = None,
        max_doses_per_day: int | None = None,
        accumulate: bool = False,
        witnessed: bool = False,
        missed_dose_limit: int | None = None,
        reason: str = "",
    ) -> int:
        details = {
            "reason": reason,
            "participant_id": participant_id,
            "medication_id": medication_id,
            "units_per_dose": units_per_dose,
            "windows": json.loads(_windows_to_json(windows)),
            "daily_max_units": daily_max_units,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat() if end_date else None,
            "interval_minutes": interval_minutes,
            "max_doses_per_day": max_doses_per_day,
            "accumulate": accumulate,
            "witnessed": witnessed,
            "missed_dose_limit": missed_dose_limit,
        }
        subject = f"participant:{participant_id}"
        with self.change(at, actor, "prescription.added", subject, details) as conn:
            cursor = conn.execute(
                "INSERT INTO prescriptions (participant_id, medication_id, units_per_dose,"
                " windows, daily_max_units, start_date, end_date, created_at,"
                " interval_minutes, max_doses_per_day, accumulate, witnessed, missed_dose_limit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    participant_id,
                    medication_id,
                    units_per_dose,
                    _windows_to_json(windows),
                    daily_max_units,
                    start_date.isoformat(),
                    end_date.isoformat() if end_date else None,
                    to_text(at),
                    interval_minutes,
                    max_doses_per_day,
                    int(accumulate),
                    int(witnessed),
                    missed_dose_limit,
                ),
            )
        return int(cursor.lastrowid)

    def prescriptions(self, participant_id: int) -> list[Prescription]:
        """Every prescription that is not cancelled, oldest first."""
        rows = self.conn.execute(
            "SELECT r.id, r.participant_id, m.id, m.name, m.strength, m.form, r.units_per_dose,"
            " r.windows, r.daily_max_units, r.start_date, r.end_date, r.status, r.hold_reason,"
            " r.interval_minutes, r.max_doses_per_day, r.accumulate, r.witnessed,"
            " r.missed_dose_limit, r.released_at, r.hub_id"
            " FROM prescriptions r JOIN medications m ON m.id = r.medication_id"
            " WHERE r.participant_id = ? AND r.status != 'cancelled' ORDER BY r.id",
            (participant_id,),
        ).fetchall()
        away = self.away_days(participant_id)
        every = away.get(None, frozenset())
        return [
            Prescription(
                id=row[0],
                participant_id=row[1],
                medication=Medication(row[2], row[3], row[4], row[5]),
                units_per_dose=row[6],
                windows=_windows_from_json(row[7]),
                daily_max_units=row[8],
                start_date=date.fromisoformat(row[9]),
                end_date=date.fromisoformat(row[10]) if row[10] else None,
                status=PrescriptionStatus(row[11]),
                hold_reason=row[12],
                interval_minutes=row[13],
                max_doses_per_day=row[14],
                accumulate=bool(row[15]),
                witnessed=bool(row[16]),
                missed_dose_limit=row[17],
                released_at=from_text(row[18]) if row[18] else None,
                away_days=every | away.get(row[19], frozenset()),
                hub_id=None if row[19] is None else str(row[19]),
            )
            for row in rows
        ]

    def hold_prescription_of(
        self, participant_id: int, reason: str, at: datetime, actor: str
    ) -> None:
        """Put every active prescription of a participant on hold (staff review)."""
        details = {"participant_id": participant_id, "reason": reason}
        subject = f"participant:{participant_id}"
        with self.change(at, actor, "prescription.held", subject, details) as conn:
            conn.execute(
                "UPDATE prescriptions SET status = 'on_hold', hold_reason = ?"
                " WHERE participant_id = ? AND status = 'active'",
                (reason, participant_id),
            )

    def update_prescription(
        self, prescription_id: int, spec: dict[str, Any], reason: str, at: datetime, actor: str
    ) -> None:
        """Change a prescription's terms in place (same id), audited with before and after."""
        before = self.conn.execute(
            "SELECT medication_id, units_per_dose, windows, daily_max_units, start_date,"
            " end_date, interval_minutes, max_doses_per_day, accumulate, witnessed,"
            " missed_dose_limit FROM prescriptions WHERE id = ?",
            (prescription_id,),
        ).fetchone()
        if before is None:
            raise LookupError(f"no prescription {prescription_id}")
        details = {
            "prescription_id": prescription_id,
            "prescription_hub_id": self._prescription_hub_id(prescription_id),
            "reason": reason,
            "after": spec,
            "before": list(before),
        }
        subject = f"prescription:{prescription_id}"
        with self.change(at, actor, "prescription.changed", subject, details) as conn:
            conn.execute(
                "UPDATE prescriptions SET medication_id = ?, units_per_dose = ?, windows = ?,"
                " daily_max_units = ?, start_date = ?, end_date = ?, interval_minutes = ?,"
                " max_doses_per_day = ?, accumulate = ?, witnessed = ?, missed_dose_limit = ?"
                " WHERE id = ?",
                (
                    spec["medication_id"],
                    spec["units_per_dose"],
                    json.dumps(spec["windows"]),
                    spec["daily_max_units"],
                    spec["start_date"],
                    spec["end_date"],
                    spec["interval_minutes"],
                    spec["max_doses_per_day"],
                    int(spec["accumulate"]),
                    int(spec["witnessed"]),
                    spec["missed_dose_limit"],
                    prescription_id,
                ),
            )

    def end_prescription(
        self, prescription_id: int, last_day: date | None, reason: str, at: datetime, actor: str
    ) -> None:
        details = {
            "prescription_id": prescription_id,
            "prescription_hub_id": self._prescription_hub_id(prescription_id),
            "reason": reason,
            "last_day": last_day.isoformat() if last_day else None,
        }
        subject = f"prescription:{prescription_id}"
        with self.change(at, actor, "prescription.ended", subject, details) as conn:
            if last_day is None:
                conn.execute(
                    "UPDATE prescriptions SET status = 'cancelled' WHERE id = ?", (prescription_id,)
                )
            else:
                conn.execute(
                    "UPDATE prescriptions SET end_date = ? WHERE id = ?",
                    (last_day.isoformat(), prescription_id),
                )

    def prescription_status(self, prescription_id: int) -> PrescriptionStatus | None:
        row = self.conn.execute(
            "SELECT status FROM prescriptions WHERE id = ?", (prescription_id,)
        ).fetchone()
        return PrescriptionStatus(row[0]) if row else None

    def medications(self) -> list[Medication]:
        rows = self.conn.execute(
            "SELECT id, name, strength, form FROM medications ORDER BY name, strength"
        ).fetchall()
        return [Medication(int(a), str(b), str(c), str(d)) for a, b, c, d in rows]

    def hold_prescription(
        self, prescription_id: int, reason: str, kind: str, at: datetime, actor: str
    ) -> bool:
        """Put one active prescription on hold. False when it was not active."""
        details = {
            "prescription_id": prescription_id,
            "reason": reason,
            "kind": kind,
            # The hub respects a hold the kiosk decided (docs/SYNC.md): it needs its own key.
            "prescription_hub_id": self._prescription_hub_id(prescription_id),
        }
        subject = f"prescription:{prescription_id}"
        try:
            with self.change(at, actor, "prescription.held", subject, details) as conn:
                cursor = conn.execute(
                    "UPDATE prescriptions SET status = 'on_hold', hold_reason = ?, hold_kind = ?"
                    " WHERE id = ? AND status = 'active'",
                    (reason, kind, prescription_id),
                )
                if cursor.rowcount == 0:
                    raise _NothingToDo
        except _NothingToDo:
            return False
        return True

    def release_prescription(
        self, prescription_id: int, reason: str, at: datetime, actor: str
    ) -> None:
        """Release a hold with a reason (audited); the missed-dose count restarts now."""
        if not reason.strip():
            raise ValueError("a release needs a reason")
        details = {
            "prescription_id": prescription_id,
            "reason": reason,
            "prescription_hub_id": self._prescription_hub_id(prescription_id),
        }
        subject = f"prescription:{prescription_id}"
        with self.change(at, actor, "prescription.released", subject, details) as conn:
            cursor = conn.execute(
                "UPDATE prescriptions SET status = 'active', hold_reason = '', hold_kind = '',"
                " released_at = ? WHERE id = ? AND status = 'on_hold'",
                (to_text(at), prescription_id),
            )
            if cursor.rowcount == 0:
                raise LookupError(f"prescription {prescription_id} is not on hold")

    def history(self, prescription_id: int, since: datetime) -> list[PastDispense]:
        """Dispenses of a prescription since an instant, as the rules must count them:
        confirmed units for a settled vend, and the units asked for a vend whose outcome is
        not recorded yet (DESIGN invariant 6: it may have dropped them all); and the doses
        the hub says the participant took at another machine (docs/SYNC.md, "Doses
        elsewhere"): the one the hub names for this prescription, or, when it names none here,
        the same medication for the same participant code; and the doses given by hand
        (docs/SYNC.md, "Manual doses"), by prescription, or by code and medication when the
        prescription is not on this kiosk. A dose given by hand held both as this kiosk's own
        and as a dose elsewhere (its ``manual_uuid``) counts once, as its own."""
        rows = self.conn.execute(
            "SELECT i.created_at, coalesce(r.dropped, i.units) FROM dispense_intents i"
            " LEFT JOIN dispense_results r ON r.vend_id = i.vend_id"
            " WHERE i.prescription_id = ? AND i.created_at >= ?"
            " AND coalesce(r.dropped, i.units) > 0"
            " UNION ALL"
            " SELECT d.taken_at, d.units FROM doses_elsewhere d"
            " JOIN prescriptions p ON p.id = ?"
            " JOIN participants pa ON pa.id = p.participant_id AND pa.code = d.participant_code"
            " WHERE d.taken_at >= ? AND (d.manual_uuid IS NULL OR d.manual_uuid NOT IN"
            " (SELECT uuid FROM manual_doses)) AND (d.prescription_hub_id = p.hub_id OR"
            " ((d.prescription_hub_id IS NULL OR d.prescription_hub_id NOT IN"
            " (SELECT hub_id FROM prescriptions WHERE hub_id IS NOT NULL))"
            " AND d.medication_id = p.medication_id))"
            " UNION ALL"
            " SELECT m.given_at, m.units FROM manual_doses m"
            " JOIN prescriptions p ON p.id = ?"
            " JOIN participants pa ON pa.id = p.participant_id"
            " WHERE m.given_at >= ? AND (m.prescription_id = p.id OR (m.prescription_id IS NULL"
            " AND m.participant_code = pa.code AND m.medication_id = p.medication_id))",
            3 * (prescription_id, to_text(since)),
        ).fetchall()
        return [PastDispense(prescription_id, from_text(at), int(n)) for at, n in rows]

    def away_days(self, participant_id: int) -> dict[str | None, frozenset[date]]:
        """The guest days elsewhere of a participant, by the hub id of the prescription they
        block (None: every prescription)."""
        rows = self.conn.execute(
            "SELECT g.day, g.prescription_hub_ids FROM guest_blocks g"
            " JOIN participants pa ON pa.code = g.participant_code WHERE pa.id = ?",
            (participant_id,),
        ).fetchall()
        days: dict[str | None, set[date]] = {}
        for day, ids in rows:
            for hub_id in json.loads(ids) or [None]:
                days.setdefault(None if hub_id is None else str(hub_id), set()).add(
                    date.fromisoformat(day)
                )
        return {key: frozenset(value) for key, value in days.items()}

    # ------------------------------------------------------------ lanes

    def set_lane(
        self, lane: int, medication_id: int | None, stock: int, at: datetime, actor: str
    ) -> None:
        details = {"lane": lane, "medication_id": medication_id, "stock": stock}
        with self.change(at, actor, "lane.configured", f"lane:{lane}", details) as conn:
            conn.execute(
                "INSERT INTO lanes (lane, medication_id, stock, state) VALUES (?, ?, ?, 'ready')"
                " ON CONFLICT (lane) DO UPDATE SET medication_id = excluded.medication_id,"
                " stock = excluded.stock",
                (lane, medication_id, stock),
            )

    def lanes(self) -> list[LaneRecord]:
        rows = self.conn.execute(
            "SELECT lane, medication_id, stock, state FROM lanes ORDER BY lane"
        ).fetchall()
        return [LaneRecord.of(row) for row in rows]

    def lane_for(self, medication_id: int, units: int) -> LaneRecord | None:
        """A ready lane holding this medication with enough stock, fullest first."""
        row = self.conn.execute(
            "SELECT lane, medication_id, stock, state FROM lanes"
            " WHERE medication_id = ? AND state = 'ready' AND stock >= ?"
            " ORDER BY stock DESC, lane LIMIT 1",
            (medication_id, units),
        ).fetchone()
        return LaneRecord.of(row) if row else None

    # ------------------------------------------------------------ dispenses

    def new_vend_id(self) -> int:
        """Next vend id. A fresh database starts at a random point of the u32 space so a
        replaced database never reuses ids the controller still remembers."""
        row = self.conn.execute("SELECT max(vend_id) FROM dispense_intents").fetchone()
        if row[0] is None:
            return secrets.randbelow(2**31) + 1
        next_id = int(row[0]) + 1
        return next_id if next_id < 2**32 else 1

    def record_intent(self, intent: Intent) -> None:
        details: dict[str, int | str | None] = {
            "vend_id": intent.vend_id,
            "participant_id": intent.participant_id,
            "prescription_id": intent.prescription_id,
            "lane": intent.lane,
            "units": intent.units,
            "witness_staff_id": intent.witness_staff_id,
            "identified_by": identified_by(intent.identified_by),
            # The hub's own key, so it can hold the dispense against its prescription.
            "prescription_hub_id": self._prescription_hub_id(intent.prescription_id),
        }
        remote = intent.remote_witness
        if remote is not None:
            details["witness"] = f"hub_user:{remote.hub_user_id}"
            details["witness_request_id"] = remote.request_id
        actor = f"participant:{intent.participant_id}"
        with self.change(
            intent.created_at, actor, "dispense.intent", f"vend:{intent.vend_id}", details
        ) as conn:
            conn.execute(
                "INSERT INTO dispense_intents (vend_id, participant_id, prescription_id, lane,"
                " units, created_at, witness_staff_id, witness_hub_user_id, witness_request_id,"
                " identified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    intent.vend_id,
                    intent.participant_id,
                    intent.prescription_id,
                    intent.lane,
                    intent.units,
                    to_text(intent.created_at),
                    intent.witness_staff_id,
                    remote.hub_user_id if remote else None,
                    remote.request_id if remote else None,
                    intent.identified_by,
                ),
            )
        self.write_anchor()

    def _prescription_hub_id(self, prescription_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT hub_id FROM prescriptions WHERE id = ?", (prescription_id,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def record_result(
        self,
        vend_id: int,
        dropped: int,
        outcome: str,
        lane_state: LaneStatus | None,
        at: datetime,
    ) -> None:
        """The truth about a vend: units, stock and lane state in one transaction."""
        row = self.conn.execute(
            "SELECT lane, units FROM dispense_intents WHERE vend_id = ?", (vend_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"no intent for vend {vend_id}")
        lane, units = int(row[0]), int(row[1])
        details = {
            "vend_id": vend_id,
            "lane": lane,
            "units": units,
            "dropped": dropped,
            "outcome": outcome,
        }
        with self.change(at, "system", "dispense.result", f"vend:{vend_id}", details) as conn:
            conn.execute(
                "INSERT INTO dispense_results (vend_id, dropped, outcome, finished_at)"
                " VALUES (?, ?, ?, ?)",
                (vend_id, dropped, outcome, to_text(at)),
            )
            conn.execute(
                "UPDATE lanes SET stock = max(stock - ?, 0) WHERE lane = ?", (dropped, lane)
            )
            if lane_state is not None:
                conn.execute("UPDATE lanes SET state = ? WHERE lane = ?", (lane_state, lane))
        self.write_anchor()

    def unfinished_intents(self) -> list[Intent]:
        rows = self.conn.execute(
            "SELECT i.vend_id, i.participant_id, i.prescription_id, i.lane, i.units, i.created_at"
            " FROM dispense_intents i LEFT JOIN dispense_results r ON r.vend_id = i.vend_id"
            " WHERE r.vend_id IS NULL ORDER BY i.vend_id"
        ).fetchall()
        return [
            Intent(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), from_text(r[5]))
            for r in rows
        ]

    def dispenses(self, limit: int = 100) -> list[DispenseRow]:
        rows = self.conn.execute(
            "SELECT i.vend_id, p.code, m.name || ' ' || m.strength, i.lane, i.units,"
            " r.dropped, r.outcome, i.created_at"
            " FROM dispense_intents i"
            " JOIN participants p ON p.id = i.participant_id"
            " JOIN prescriptions x ON x.id = i.prescription_id"
            " JOIN medications m ON m.id = x.medication_id"
            " LEFT JOIN dispense_results r ON r.vend_id = i.vend_id"
            " ORDER BY i.created_at DESC, i.vend_id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            DispenseRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], from_text(r[7])) for r in rows
        ]

    # ------------------------------------------------------------ staff and time

    def add_staff(self, name: str, role: str, pin_hash: str, at: datetime, actor: str) -> int:
        with self.change(at, actor, "staff.added", role) as conn:
            cursor = conn.execute(
                "INSERT INTO staff (name, role, pin_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role, pin_hash, to_text(at)),
            )
        return int(cursor.lastrowid)

    def staff_member(self, staff_id: int) -> tuple[str, str] | None:
        """(name, role) of a staff member, active or not."""
        row = self.conn.execute("SELECT name, role FROM staff WHERE id = ?", (staff_id,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def staff_role(self, staff_id: int) -> str | None:
        row = self.conn.execute(
            "SELECT role FROM staff WHERE id = ? AND active = 1", (staff_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def staff_with_roles(self, roles: tuple[str, ...]) -> list[tuple[int, str, str]]:
        """(id, role, pin hash) of active staff holding one of ``roles``."""
        marks = ",".join("?" * len(roles))
        rows = self.conn.execute(
            f"SELECT id, role, pin_hash FROM staff WHERE active = 1 AND role IN ({marks})",
            roles,
        ).fetchall()
        return [(int(a), str(b), str(c)) for a, b, c in rows]

    def raise_alert(self, kind: AlertKind, subject: str, message: str, at: datetime) -> bool:
        """Open an alert for staff unless the same one is already open."""
        row = self.conn.execute(
            f"SELECT 1 FROM alerts WHERE kind = ? AND subject = ? AND {OPEN_ALERT}",
            (kind, subject),
        ).fetchone()
        if row:
            return False
        details: dict[str, Any] = {"kind": kind, "message": message}
        with self.change(at, "system", "alert.raised", subject, details) as conn:
            cursor = conn.execute(
                "INSERT INTO alerts (kind, subject, message, created_at) VALUES (?, ?, ?, ?)",
                (kind, subject, message, to_text(at)),
            )
            # The hub maps this alert's later alert.resolved / alert.acknowledged by it.
            details["alert_id"] = int(cursor.lastrowid or 0)
        return True

    def open_alerts(self) -> list[tuple[int, str, str, str]]:
        """(id, kind, subject, message) of the alerts neither acknowledged nor resolved."""
        rows = self.conn.execute(
            f"SELECT id, kind, subject, message FROM alerts WHERE {OPEN_ALERT} ORDER BY id"
        ).fetchall()
        return [(int(a), str(b), str(c), str(d)) for a, b, c, d in rows]

    def told_about(self, wanted: list[tuple[tuple[AlertKind, ...], str | None]]) -> Told:
        """What may honestly be said about staff being told of these problems (each: the
        alert kinds that would tell of it, and a subject or None for any): recorded only when
        each has an open alert in the store; then the first person the hub says it told, by
        role and time (never a name)."""
        if not wanted:
            return Told(AlertRecord.NONE)
        ids: list[int] = []
        for kinds, subject in wanted:
            found = [i for kind in kinds for i in _open_alert_ids(self.conn, kind, subject)]
            if not found:
                return Told(AlertRecord.NONE)
            ids += found
        notices = [n for n in sync_repo.alert_notices(self.conn) if n.kiosk_alert_id in ids]
        told = sorted((p for n in notices for p in n.told), key=lambda p: p.at)
        if not told:
            return Told(AlertRecord.RECORDED)
        return Told(AlertRecord.RECORDED, told[0].role, told[0].at)

    def resolve_alerts(
        self, kind: AlertKind, subject: str | None, at: datetime, note: str
    ) -> list[int]:
        """Resolve the open alerts of a kind (and subject): their cause has cleared. Each is
        kept, audited (``alert.resolved`` by the system) and sent to the hub. Cheap when
        there is none to resolve (one read, no transaction)."""
        if not _open_alert_ids(self.conn, kind, subject):
            return []
        with transaction(self.conn) as conn:
            return resolve_alerts_in(conn, kind, subject, at, "system", note)

    def raise_flag(self, name: str, detail: str, at: datetime) -> bool:
        """Latch a machine flag (audited). False when it was already raised."""
        if self.conn.execute("SELECT 1 FROM machine_flags WHERE name = ?", (name,)).fetchone():
            return False
        with self.change(at, "system", "machine.flag_raised", name, {"detail": detail}) as conn:
            conn.execute(
                "INSERT INTO machine_flags (name, detail, raised_at) VALUES (?, ?, ?)",
                (name, detail, to_text(at)),
            )
        return True

    def clear_flags(
        self, names: list[str], at: datetime, actor: str, alerts: tuple[AlertKind, ...] = ()
    ) -> None:
        """Clear machine flags; the open ``alerts`` of those kinds are resolved with them."""
        if not names:
            return
        with self.change(at, actor, "machine.flags_cleared", "machine", {"flags": names}) as conn:
            conn.executemany("DELETE FROM machine_flags WHERE name = ?", [(n,) for n in names])
            for kind in alerts:
                resolve_alerts_in(conn, kind, None, at, actor, "flag cleared")

    def flags(self) -> dict[str, str]:
        rows = self.conn.execute("SELECT name, detail FROM machine_flags ORDER BY name")
        return {str(name): str(detail) for name, detail in rows}

    def set_lane_state(self, lane: int, state: LaneStatus, at: datetime, actor: str) -> bool:
        """Record a lane state the controller reported. False when nothing changed."""
        row = self.conn.execute("SELECT state FROM lanes WHERE lane = ?", (lane,)).fetchone()
        if row is None or row[0] == state:
            return False
        details = {"lane": lane, "from": row[0], "to": state}
        with self.change(at, actor, "lane.state", f"lane:{lane}", details) as conn:
            conn.execute("UPDATE lanes SET state = ? WHERE lane = ?", (state, lane))
        return True

    def latest_recorded_time(self) -> datetime | None:
        """The newest time the machine wrote down: a wall clock behind it is not trusted."""
        row = self.conn.execute("SELECT max(at) FROM audit_log").fetchone()
        return from_text(row[0]) if row and row[0] else None
