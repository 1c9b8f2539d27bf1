"""SQL for the participant admin use cases (``kiosk.services.participants``).

Plain functions over a connection. The writing ones are meant to run inside a
``Store.change(...)`` block (they take the connection it yields), so the record, its audit
entry and its outbox event stay one transaction (invariant 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.store.db import Connection
from kiosk.store.timefmt import from_text, to_text

CODE_PREFIX = "P-"
_CODE_NUMBER = re.compile(r"P-(\d+)")


@dataclass(frozen=True)
class SummaryRow:
    id: int
    code: str
    display_name: str
    language: str | None
    status: str
    fingers: int
    on_hold: bool


@dataclass(frozen=True)
class TemplateRow:
    id: int
    participant_id: int
    finger: str
    position: int
    created_at: datetime


# ------------------------------------------------------------------ participants


def summaries(conn: Connection) -> list[SummaryRow]:
    """Every participant not removed, with enrolled fingers and whether a hold is on."""
    rows = conn.execute(
        "SELECT p.id, p.code, p.display_name, p.language, p.status,"
        " (SELECT count(*) FROM fingerprint_templates t WHERE t.participant_id = p.id),"
        " EXISTS (SELECT 1 FROM prescriptions r"
        "         WHERE r.participant_id = p.id AND r.status = 'on_hold')"
        " FROM participants p WHERE p.status != 'removed' ORDER BY p.code"
    ).fetchall()
    return [
        SummaryRow(int(a), str(b), str(c), None if d is None else str(d), str(e), int(f), bool(g))
        for a, b, c, d, e, f, g in rows
    ]


def code_taken(conn: Connection, code: str) -> bool:
    row = conn.execute("SELECT 1 FROM participants WHERE code = ?", (code,)).fetchone()
    return row is not None


def next_code(conn: Connection) -> str:
    """One past the highest P-#### code in use (removed participants keep theirs)."""
    rows = conn.execute(
        "SELECT code FROM participants WHERE code LIKE ?", (CODE_PREFIX + "%",)
    ).fetchall()
    numbers = [int(m.group(1)) for (code,) in rows if (m := _CODE_NUMBER.fullmatch(str(code)))]
    return f"{CODE_PREFIX}{max(numbers, default=0) + 1:04d}"


def codes_and_names(conn: Connection) -> list[tuple[str, str]]:
    """(code, display name) of every participant, removed ones too (their data stays)."""
    rows = conn.execute("SELECT code, display_name FROM participants").fetchall()
    return [(str(code), str(name)) for code, name in rows]


def insert_participant(
    conn: Connection, code: str, display_name: str, language: str | None, at: datetime
) -> int:
    cursor = conn.execute(
        "INSERT INTO participants (code, display_name, language, created_at) VALUES (?, ?, ?, ?)",
        (code, display_name, language, to_text(at)),
    )
    return int(cursor.lastrowid)


def set_language(conn: Connection, participant_id: int, language: str | None) -> None:
    conn.execute("UPDATE participants SET language = ? WHERE id = ?", (language, participant_id))


def set_status(conn: Connection, participant_id: int, status: str) -> None:
    conn.execute("UPDATE participants SET status = ? WHERE id = ?", (status, participant_id))


# ------------------------------------------------------------------ templates


def template_of(conn: Connection, participant_id: int, finger: str) -> TemplateRow | None:
    row = conn.execute(
        "SELECT id, participant_id, finger, sensor_position, created_at"
        " FROM fingerprint_templates WHERE participant_id = ? AND finger = ?",
        (participant_id, finger),
    ).fetchone()
    return _template(row) if row else None


def templates_of(conn: Connection, participant_id: int) -> list[TemplateRow]:
    rows = conn.execute(
        "SELECT id, participant_id, finger, sensor_position, created_at"
        " FROM fingerprint_templates WHERE participant_id = ? ORDER BY finger",
        (participant_id,),
    ).fetchall()
    return [_template(row) for row in rows]


def template_at(conn: Connection, position: int) -> TemplateRow | None:
    row = conn.execute(
        "SELECT id, participant_id, finger, sensor_position, created_at"
        " FROM fingerprint_templates WHERE sensor_position = ?",
        (position,),
    ).fetchone()
    return _template(row) if row else None


def characteristics(conn: Connection, template_id: int) -> bytes:
    row = conn.execute(
        "SELECT characteristics FROM fingerprint_templates WHERE id = ?", (template_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no template {template_id}")
    return bytes(row[0])


def used_positions(conn: Connection) -> set[int]:
    rows = conn.execute("SELECT sensor_position FROM fingerprint_templates").fetchall()
    return {int(row[0]) for row in rows}


def insert_template(
    conn: Connection,
    participant_id: int,
    finger: str,
    position: int,
    data: bytes,
    at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO fingerprint_templates"
        " (participant_id, finger, sensor_position, characteristics, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (participant_id, finger, position, data, to_text(at)),
    )


def delete_template(conn: Connection, template_id: int) -> None:
    conn.execute("DELETE FROM fingerprint_templates WHERE id = ?", (template_id,))


def delete_templates_of(conn: Connection, participant_id: int) -> int:
    cursor = conn.execute(
        "DELETE FROM fingerprint_templates WHERE participant_id = ?", (participant_id,)
    )
    return int(cursor.rowcount)


def _template(row: Any) -> TemplateRow:
    return TemplateRow(int(row[0]), int(row[1]), str(row[2]), int(row[3]), from_text(row[4]))


# ------------------------------------------------------------------ prescriptions


def prescription_ids(conn: Connection, participant_id: int, status: str) -> list[int]:
    rows = conn.execute(
        "SELECT id FROM prescriptions WHERE participant_id = ? AND status = ? ORDER BY id",
        (participant_id, status),
    ).fetchall()
    return [int(row[0]) for row in rows]


def open_prescription_ids(conn: Connection, participant_id: int) -> list[int]:
    """Prescriptions not yet cancelled (active or on hold)."""
    rows = conn.execute(
        "SELECT id FROM prescriptions WHERE participant_id = ? AND status != 'cancelled'"
        " ORDER BY id",
        (participant_id,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def hold_prescriptions(conn: Connection, ids: list[int], reason: str, kind: str) -> int:
    """Put the listed prescriptions on hold where they are still active."""
    held = 0
    for prescription_id in ids:
        cursor = conn.execute(
            "UPDATE prescriptions SET status = 'on_hold', hold_reason = ?, hold_kind = ?"
            " WHERE id = ? AND status = 'active'",
            (reason, kind, prescription_id),
        )
        held += int(cursor.rowcount)
    return held


def cancel_prescriptions(conn: Connection, participant_id: int) -> int:
    cursor = conn.execute(
        "UPDATE prescriptions SET status = 'cancelled'"
        " WHERE participant_id = ? AND status != 'cancelled'",
        (participant_id,),
    )
    return int(cursor.rowcount)
