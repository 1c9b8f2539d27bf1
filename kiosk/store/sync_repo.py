"""SQL for sync with the hub (``kiosk.services.sync``): the outbox push, the sync state, the
records the hub owns, conflicts and snapshots.

Plain functions over a connection. Writing functions run inside the caller's transaction
(``kiosk.store.db.transaction``) unless they say otherwise: a pulled page, its audit entries
and its cursor are one transaction.

Records applied from the hub get audit entries (actor ``hub``) written with
``kiosk.store.audit.append`` directly, *not* through ``Store.change``: they are never added to
the outbox, so a pulled change is never pushed back to the hub as if the kiosk had made it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.domain.told import AlertNotice, NoticeError, parse_notice
from kiosk.store import audit, outbox
from kiosk.store.db import Connection, transaction
from kiosk.store.timefmt import from_text, to_text

HUB_ACTOR = "hub"


@dataclass(frozen=True)
class SyncState:
    cursor: int
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str
    events_waiting: int
    snapshot_open: bool


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    event_id: str
    type: str
    payload: dict[str, Any]
    created_at: str

    def wire(self) -> dict[str, Any]:
        """The event as docs/SYNC.md puts it on the wire."""
        return {
            "seq": self.seq,
            "id": self.event_id,
            "type": self.type,
            "created_at": self.created_at,
            "payload": self.payload,
        }


@dataclass(frozen=True)
class LocalEdit:
    """An outbox event not yet acknowledged by the hub (a local edit the hub has not seen)."""

    seq: int
    type: str
    subject: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ConflictRow:
    id: int
    kind: str
    key: str
    op: str
    local_seqs: list[int]
    created_at: datetime


# ------------------------------------------------------------------ state


def read_state(conn: Connection) -> SyncState:
    row = conn.execute(
        "SELECT cursor, last_success_at, last_attempt_at, last_error, events_waiting,"
        " snapshot_open FROM sync_state WHERE id = 1"
    ).fetchone()
    return SyncState(
        cursor=int(row[0]),
        last_success_at=from_text(row[1]) if row[1] else None,
        last_attempt_at=from_text(row[2]) if row[2] else None,
        last_error=str(row[3]),
        events_waiting=int(row[4]),
        snapshot_open=bool(row[5]),
    )


def set_cursor(conn: Connection, cursor: int) -> None:
    conn.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", (cursor,))


def record_outcome(conn: Connection, at: datetime, error: str) -> None:
    """One attempt ended: success when ``error`` is empty. Its own transaction."""
    waiting = pending_count(conn)
    with transaction(conn):
        if error:
            conn.execute(
                "UPDATE sync_state SET last_attempt_at = ?, last_error = ?, events_waiting = ?"
                " WHERE id = 1",
                (to_text(at), error, waiting),
            )
        else:
            conn.execute(
                "UPDATE sync_state SET last_attempt_at = ?, last_success_at = ?,"
                " last_error = '', events_waiting = ? WHERE id = 1",
                (to_text(at), to_text(at), waiting),
            )


# ------------------------------------------------------------------ push


def pending_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])


def unsent(conn: Connection, limit: int) -> list[OutboxEvent]:
    """The oldest unsent outbox events, in device-sequence order."""
    rows = conn.execute(
        "SELECT seq, event_id, type, payload, created_at FROM outbox"
        " WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
        (limit,),
    ).fetchall()
    return [OutboxEvent(int(a), str(b), str(c), json.loads(d), str(e)) for a, b, c, d, e in rows]


def mark_sent_through(conn: Connection, through: int, at: datetime) -> int:
    """Mark every unsent event up to ``through`` sent, and the waiting count, in one
    transaction. Returns how many were marked."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE outbox SET sent_at = ? WHERE seq <= ? AND sent_at IS NULL",
            (to_text(at), through),
        )
        marked = int(cursor.rowcount)
        conn.execute(
            "UPDATE sync_state SET events_waiting = ? WHERE id = 1", (pending_count(conn),)
        )
    return marked


def unsent_edits(conn: Connection, type_prefix: str) -> list[LocalEdit]:
    """Unsent outbox events whose type starts with ``type_prefix`` (e.g. ``participant.``)."""
    rows = conn.execute(
        "SELECT seq, type, payload FROM outbox WHERE sent_at IS NULL AND type LIKE ? ORDER BY seq",
        (type_prefix.replace("%", "") + "%",),
    ).fetchall()
    edits = []
    for seq, type_, payload in rows:
        data = json.loads(payload)
        edits.append(LocalEdit(int(seq), str(type_), str(data.get("subject", "")), data))
    return edits


# ------------------------------------------------------------------ events the hub set aside


@dataclass(frozen=True)
class QuarantinedEvent:
    """An event the hub acknowledged without storing it (docs/SYNC.md): kept for staff."""

    seq: int
    type: str
    reason: str
    reported_at: datetime


def add_quarantined(conn: Connection, seq: int, type_: str, reason: str, at: datetime) -> bool:
    """Keep what the hub said of one event, once per seq (the hub repeats itself when the
    same batch goes again). False when it was already kept."""
    cursor = conn.execute(
        "INSERT INTO sync_quarantine (seq, type, reason, reported_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (seq) DO NOTHING",
        (seq, type_, reason, to_text(at)),
    )
    return int(cursor.rowcount) > 0


def _quarantined(rows: list[Any]) -> list[QuarantinedEvent]:
    return [QuarantinedEvent(int(a), str(b), str(c), from_text(d)) for a, b, c, d in rows]


def quarantined_events(conn: Connection, limit: int = 50) -> list[QuarantinedEvent]:
    """The newest events the hub set aside, newest first."""
    rows = conn.execute(
        "SELECT seq, type, reason, reported_at FROM sync_quarantine ORDER BY seq DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return _quarantined(rows)


def quarantined_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM sync_quarantine").fetchone()[0])


def unalerted_quarantined(conn: Connection) -> list[QuarantinedEvent]:
    rows = conn.execute(
        "SELECT seq, type, reason, reported_at FROM sync_quarantine WHERE alerted = 0 ORDER BY seq"
    ).fetchall()
    return _quarantined(rows)


def mark_quarantine_alerted(conn: Connection, seq: int) -> None:
    conn.execute("UPDATE sync_quarantine SET alerted = 1 WHERE seq = ?", (seq,))


# ------------------------------------------------------------------ audit without outbox


def audit_from_hub(
    conn: Connection, at: datetime, action: str, subject: str, details: dict[str, Any]
) -> None:
    """The audit entry of an applied hub change. No outbox event (see the module doc)."""
    audit.append(conn, at, HUB_ACTOR, action, subject, details)


# ------------------------------------------------------------------ participants


@dataclass(frozen=True)
class LocalParticipant:
    id: int
    code: str
    display_name: str
    language: str | None
    status: str


def participant_by_code(conn: Connection, code: str) -> LocalParticipant | None:
    row = conn.execute(
        "SELECT id, code, display_name, language, status FROM participants WHERE code = ?",
        (code,),
    ).fetchone()
    if row is None:
        return None
    return LocalParticipant(
        int(row[0]), str(row[1]), str(row[2]), None if row[3] is None else str(row[3]), str(row[4])
    )


def upsert_participant(
    conn: Connection,
    code: str,
    display_name: str,
    language: str | None,
    status: str,
    at: datetime,
) -> int:
    conn.execute(
        "INSERT INTO participants (code, display_name, language, status, created_at, hub_synced)"
        " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (code) DO UPDATE SET"
        " display_name = excluded.display_name, language = excluded.language,"
        " status = excluded.status, hub_synced = 1",
        (code, display_name, language, status, to_text(at)),
    )
    row = conn.execute("SELECT id FROM participants WHERE code = ?", (code,)).fetchone()
    return int(row[0])


def set_participant_status(conn: Connection, participant_id: int, status: str) -> None:
    conn.execute("UPDATE participants SET status = ? WHERE id = ?", (status, participant_id))


def active_hub_participants(conn: Connection) -> list[str]:
    """Codes of participants the hub has sent and that are not removed."""
    rows = conn.execute(
        "SELECT code FROM participants WHERE status != 'removed' AND hub_synced = 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


# ------------------------------------------------------------------ prescriptions


@dataclass(frozen=True)
class LocalPrescription:
    id: int
    participant_id: int
    status: str
    hub_id: str | None


@dataclass(frozen=True)
class PrescriptionFields:
    participant_id: int
    medication_id: int
    units_per_dose: int
    windows: str  # JSON
    daily_max_units: int
    start_date: str
    end_date: str | None
    status: str
    hold_reason: str
    hold_kind: str
    interval_minutes: int | None
    max_doses_per_day: int | None
    accumulate: bool
    witnessed: bool
    missed_dose_limit: int | None
    released_at: str | None


def prescription_by_hub_id(conn: Connection, hub_id: str) -> LocalPrescription | None:
    row = conn.execute(
        "SELECT id, participant_id, status, hub_id FROM prescriptions WHERE hub_id = ?",
        (hub_id,),
    ).fetchone()
    return LocalPrescription(int(row[0]), int(row[1]), str(row[2]), str(row[3])) if row else None


def unlinked_prescription(conn: Connection, local_id: int) -> LocalPrescription | None:
    """A prescription made on this kiosk that the hub has not linked yet."""
    row = conn.execute(
        "SELECT id, participant_id, status FROM prescriptions WHERE id = ? AND hub_id IS NULL",
        (local_id,),
    ).fetchone()
    return LocalPrescription(int(row[0]), int(row[1]), str(row[2]), None) if row else None


def medication_id(conn: Connection, name: str, strength: str, form: str) -> int:
    """The medication's id, added when the kiosk does not know it yet."""
    conn.execute(
        "INSERT INTO medications (name, strength, form) VALUES (?, ?, ?)"
        " ON CONFLICT (name, strength, form) DO NOTHING",
        (name, strength, form),
    )
    row = conn.execute(
        "SELECT id FROM medications WHERE name = ? AND strength = ? AND form = ?",
        (name, strength, form),
    ).fetchone()
    return int(row[0])


_PRESCRIPTION_COLUMNS = (
    "participant_id",
    "medication_id",
    "units_per_dose",
    "windows",
    "daily_max_units",
    "start_date",
    "end_date",
    "status",
    "hold_reason",
    "hold_kind",
    "interval_minutes",
    "max_doses_per_day",
    "accumulate",
    "witnessed",
    "missed_dose_limit",
    "released_at",
)


def _prescription_values(fields: PrescriptionFields) -> tuple[Any, ...]:
    return (
        fields.participant_id,
        fields.medication_id,
        fields.units_per_dose,
        fields.windows,
        fields.daily_max_units,
        fields.start_date,
        fields.end_date,
        fields.status,
        fields.hold_reason,
        fields.hold_kind,
        fields.interval_minutes,
        fields.max_doses_per_day,
        int(fields.accumulate),
        int(fields.witnessed),
        fields.missed_dose_limit,
        fields.released_at,
    )


def insert_prescription(
    conn: Connection, hub_id: str, fields: PrescriptionFields, at: datetime
) -> int:
    columns = ", ".join((*_PRESCRIPTION_COLUMNS, "hub_id", "created_at"))
    marks = ", ".join("?" * (len(_PRESCRIPTION_COLUMNS) + 2))
    cursor = conn.execute(
        f"INSERT INTO prescriptions ({columns}) VALUES ({marks})",
        (*_prescription_values(fields), hub_id, to_text(at)),
    )
    return int(cursor.lastrowid)


def update_prescription(
    conn: Connection, local_id: int, hub_id: str, fields: PrescriptionFields
) -> None:
    """Same local id (today's dispenses still count against the new terms)."""
    assignments = ", ".join(f"{name} = ?" for name in (*_PRESCRIPTION_COLUMNS, "hub_id"))
    conn.execute(
        f"UPDATE prescriptions SET {assignments} WHERE id = ?",
        (*_prescription_values(fields), hub_id, local_id),
    )


def cancel_prescription(conn: Connection, local_id: int) -> None:
    conn.execute("UPDATE prescriptions SET status = 'cancelled' WHERE id = ?", (local_id,))


def open_hub_prescriptions(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT hub_id FROM prescriptions WHERE hub_id IS NOT NULL AND status != 'cancelled'"
    ).fetchall()
    return [str(row[0]) for row in rows]


# ------------------------------------------------------------------ staff


@dataclass(frozen=True)
class LocalStaff:
    id: int
    name: str
    role: str
    active: bool
    hub_id: str | None


def staff_by_hub_id(conn: Connection, hub_id: str) -> LocalStaff | None:
    row = conn.execute(
        "SELECT id, name, role, active, hub_id FROM staff WHERE hub_id = ?", (hub_id,)
    ).fetchone()
    return (
        LocalStaff(int(row[0]), str(row[1]), str(row[2]), bool(row[3]), str(row[4]))
        if row
        else None
    )


def unlinked_staff_with_hash(conn: Connection, pin_hash: str) -> LocalStaff | None:
    """A local account the hub sends back: the salted hash names one account exactly."""
    row = conn.execute(
        "SELECT id, name, role, active FROM staff WHERE hub_id IS NULL AND pin_hash = ?",
        (pin_hash,),
    ).fetchone()
    return LocalStaff(int(row[0]), str(row[1]), str(row[2]), bool(row[3]), None) if row else None


def insert_staff(
    conn: Connection, hub_id: str, name: str, role: str, pin_hash: str, active: bool, at: datetime
) -> int:
    cursor = conn.execute(
        "INSERT INTO staff (name, role, pin_hash, active, created_at, hub_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (name, role, pin_hash, int(active), to_text(at), hub_id),
    )
    return int(cursor.lastrowid)


def update_staff(
    conn: Connection, local_id: int, hub_id: str, name: str, role: str, pin_hash: str, active: bool
) -> None:
    conn.execute(
        "UPDATE staff SET name = ?, role = ?, pin_hash = ?, active = ?, hub_id = ? WHERE id = ?",
        (name, role, pin_hash, int(active), hub_id, local_id),
    )


def deactivate_staff(conn: Connection, local_id: int) -> None:
    conn.execute("UPDATE staff SET active = 0 WHERE id = ?", (local_id,))


def active_hub_staff(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT hub_id FROM staff WHERE hub_id IS NOT NULL AND active = 1"
    ).fetchall()
    return [str(row[0]) for row in rows]


# ------------------------------------------------------------------ site settings


def setting(conn: Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM site_settings WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def settings(conn: Connection) -> dict[str, Any]:
    rows = conn.execute("SELECT key, value FROM site_settings ORDER BY key").fetchall()
    return {str(key): json.loads(value) for key, value in rows}


def set_setting(conn: Connection, key: str, value: Any, at: datetime) -> None:
    conn.execute(
        "INSERT INTO site_settings (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value, sort_keys=True), to_text(at)),
    )


def delete_setting(conn: Connection, key: str) -> bool:
    cursor = conn.execute("DELETE FROM site_settings WHERE key = ?", (key,))
    return int(cursor.rowcount) > 0


# ------------------------------------------------------------------ conflicts


def add_conflict(
    conn: Connection,
    kind: str,
    key: str,
    op: str,
    hub_change: dict[str, Any],
    local_seqs: list[int],
    cursor: int,
    at: datetime,
) -> int:
    row = conn.execute(
        "INSERT INTO sync_conflicts (kind, key, op, hub_data, local_seqs, cursor, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            key,
            op,
            json.dumps(hub_change, sort_keys=True),
            json.dumps(local_seqs),
            cursor,
            to_text(at),
        ),
    )
    return int(row.lastrowid)


def open_conflicts(conn: Connection) -> list[ConflictRow]:
    rows = conn.execute(
        "SELECT id, kind, key, op, local_seqs, created_at FROM sync_conflicts"
        " WHERE resolved_at IS NULL ORDER BY id"
    ).fetchall()
    return [
        ConflictRow(int(a), str(b), str(c), str(d), [int(s) for s in json.loads(e)], from_text(f))
        for a, b, c, d, e, f in rows
    ]


def open_conflict_count(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL").fetchone()
    return int(row[0])


def unalerted_conflicts(conn: Connection) -> list[ConflictRow]:
    rows = conn.execute(
        "SELECT id, kind, key, op, local_seqs, created_at FROM sync_conflicts"
        " WHERE alerted = 0 AND resolved_at IS NULL ORDER BY id"
    ).fetchall()
    return [
        ConflictRow(int(a), str(b), str(c), str(d), [int(s) for s in json.loads(e)], from_text(f))
        for a, b, c, d, e, f in rows
    ]


def mark_alerted(conn: Connection, conflict_id: int) -> None:
    conn.execute("UPDATE sync_conflicts SET alerted = 1 WHERE id = ?", (conflict_id,))


def resolve_conflict(conn: Connection, conflict_id: int, staff_id: int, at: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE sync_conflicts SET resolved_at = ?, resolved_by = ?"
        " WHERE id = ? AND resolved_at IS NULL",
        (to_text(at), staff_id, conflict_id),
    )
    return int(cursor.rowcount) > 0


# ------------------------------------------------------------------ snapshots


def begin_snapshot(conn: Connection) -> None:
    conn.execute("DELETE FROM sync_snapshot_seen")
    conn.execute("UPDATE sync_state SET snapshot_open = 1 WHERE id = 1")


def seen_in_snapshot(conn: Connection, kind: str, key: str) -> None:
    conn.execute(
        "INSERT INTO sync_snapshot_seen (kind, key) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (kind, key),
    )


def snapshot_keys(conn: Connection, kind: str) -> set[str]:
    rows = conn.execute("SELECT key FROM sync_snapshot_seen WHERE kind = ?", (kind,)).fetchall()
    return {str(row[0]) for row in rows}


def end_snapshot(conn: Connection) -> None:
    conn.execute("DELETE FROM sync_snapshot_seen")
    conn.execute("UPDATE sync_state SET snapshot_open = 0 WHERE id = 1")


# ------------------------------------------------------------------ doses elsewhere, guest days

# The event that tells the hub this (home) machine now refuses a guest day's doses.
GUEST_BLOCKED_EVENT = "guest.blocked"


def put_dose_elsewhere(
    conn: Connection,
    key: str,
    participant_code: str,
    prescription_hub_id: str | None,
    medication_id: int,
    units: int,
    taken_at: datetime,
    from_machine: str,
    at: datetime,
    manual_uuid: str | None = None,
) -> bool:
    """Keep a dose given at another machine; False when it was kept already (a re-sent page).
    ``manual_uuid``: the dose was given by hand (Store.history never counts it twice)."""
    cursor = conn.execute(
        "INSERT INTO doses_elsewhere (hub_key, participant_code, prescription_hub_id,"
        " medication_id, units, taken_at, from_machine, received_at, manual_uuid)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hub_key) DO NOTHING",
        (
            key,
            participant_code,
            prescription_hub_id,
            medication_id,
            units,
            to_text(taken_at),
            from_machine,
            to_text(at),
            manual_uuid,
        ),
    )
    return bool(cursor.rowcount > 0)


def drop_dose_elsewhere(conn: Connection, key: str) -> bool:
    return bool(conn.execute("DELETE FROM doses_elsewhere WHERE hub_key = ?", (key,)).rowcount)


def put_guest_block(
    conn: Connection,
    key: str,
    participant_code: str,
    day: str,
    prescription_hub_ids: list[str],
    at: datetime,
) -> bool:
    """Refuse a participant's doses of ``day`` here, and in the same transaction queue the
    ``guest.blocked`` event: the hub gives the guest machine the pass only once it arrives, so
    the acknowledgement can never run ahead of the block. False when held already."""
    cursor = conn.execute(
        "INSERT INTO guest_blocks (hub_key, participant_code, day, prescription_hub_ids,"
        " received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hub_key) DO NOTHING",
        (key, participant_code, day, json.dumps(sorted(prescription_hub_ids)), to_text(at)),
    )
    if cursor.rowcount == 0:
        return False
    outbox.add(
        conn,
        at,
        GUEST_BLOCKED_EVENT,
        {"guest_pass": key, "subject": participant_code, "day": day},
    )
    return True


def drop_guest_block(conn: Connection, key: str) -> bool:
    return bool(conn.execute("DELETE FROM guest_blocks WHERE hub_key = ?", (key,)).rowcount)


def guest_block_keys(conn: Connection) -> list[str]:
    return [str(row[0]) for row in conn.execute("SELECT hub_key FROM guest_blocks").fetchall()]


# ------------------------------------------------------------------ who has been told


def _told_json(notice: AlertNotice) -> str:
    return json.dumps(
        [
            {
                "role": p.role.value,
                "label": p.label,
                "channel": p.channel.value,
                "at": to_text(p.at),
            }
            for p in notice.told
        ]
    )


def _ack_json(notice: AlertNotice) -> str | None:
    ack = notice.acknowledged
    if ack is None:
        return None
    return json.dumps({"role": ack.role.value, "label": ack.label, "at": to_text(ack.at)})


def put_alert_notice(conn: Connection, notice: AlertNotice, at: datetime) -> bool:
    """Keep the hub's notice of an alert (replacing the one kept); False when unchanged."""
    row = conn.execute(
        "SELECT kiosk_alert_id, kind, machine_alert, told, acknowledged FROM alert_notices"
        " WHERE hub_key = ?",
        (notice.hub_key,),
    ).fetchone()
    values = (
        notice.kiosk_alert_id,
        notice.kind,
        int(notice.machine_alert),
        _told_json(notice),
        _ack_json(notice),
    )
    if row is not None and tuple(row) == values:
        return False
    conn.execute(
        "INSERT INTO alert_notices (hub_key, kiosk_alert_id, kind, machine_alert, told,"
        " acknowledged, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (hub_key) DO UPDATE SET kiosk_alert_id = excluded.kiosk_alert_id,"
        " kind = excluded.kind, machine_alert = excluded.machine_alert, told = excluded.told,"
        " acknowledged = excluded.acknowledged, received_at = excluded.received_at",
        (notice.hub_key, *values, to_text(at)),
    )
    return True


def drop_alert_notice(conn: Connection, key: str) -> bool:
    return bool(conn.execute("DELETE FROM alert_notices WHERE hub_key = ?", (key,)).rowcount)


def alert_notice_keys(conn: Connection) -> list[str]:
    return [str(row[0]) for row in conn.execute("SELECT hub_key FROM alert_notices").fetchall()]


def alert_notices(conn: Connection) -> list[AlertNotice]:
    """Every notice kept, oldest hub key first. Rows were checked when applied; one that no
    longer reads (a later version's role) is read as well as it can be."""
    rows = conn.execute(
        "SELECT hub_key, kiosk_alert_id, kind, machine_alert, told, acknowledged"
        " FROM alert_notices ORDER BY received_at, hub_key"
    ).fetchall()
    notices = []
    for key, alert_id, kind, machine_alert, told, acknowledged in rows:
        data = {
            "kiosk_alert_id": alert_id,
            "kind": kind,
            "machine_alert": bool(machine_alert),
            "told": json.loads(told),
            "acknowledged": None if acknowledged is None else json.loads(acknowledged),
        }
        try:
            notices.append(parse_notice(str(key), data))
        except NoticeError:
            continue
    return notices
