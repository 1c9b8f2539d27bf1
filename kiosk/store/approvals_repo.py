"""Remote approvals in the store: the clinicians' seeds and the requests made here.

The seeds live only in this (SQLCipher) database; nothing here logs or audits them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.remote_approval import ApprovalAction, ApproverSeed
from kiosk.store.db import Connection
from kiosk.store.timefmt import from_text, to_text


def put_seed(
    conn: Connection,
    user_id: int,
    role: str,
    label: str,
    seed: str,
    actions: list[str],
    at: datetime,
    totp: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO approver_seeds (user_id, role, label, seed, actions, updated_at, totp_seed)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET role = excluded.role,"
        " label = excluded.label, seed = excluded.seed, actions = excluded.actions,"
        " updated_at = excluded.updated_at, totp_seed = excluded.totp_seed",
        (user_id, role, label, seed, json.dumps(sorted(actions)), to_text(at), totp),
    )


def drop_seed(conn: Connection, user_id: int) -> bool:
    cursor = conn.execute("DELETE FROM approver_seeds WHERE user_id = ?", (user_id,))
    return int(cursor.rowcount) > 0


def seed_keys(conn: Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT user_id FROM approver_seeds ORDER BY 1")]


def seeds(conn: Connection) -> list[ApproverSeed]:
    known = {a.value: a for a in ApprovalAction}
    found = []
    for user_id, role, label, seed, actions, totp in conn.execute(
        "SELECT user_id, role, label, seed, actions, totp_seed FROM approver_seeds ORDER BY user_id"
    ):
        listed = frozenset(known[a] for a in json.loads(actions) if a in known)
        found.append(
            ApproverSeed(int(user_id), str(role), str(label), str(seed), listed, totp or None)
        )
    return found


def witness_request_dispensed(conn: Connection, request_id: str) -> bool:
    """A dispense was already witnessed by this witness_dose request."""
    row = conn.execute(
        "SELECT 1 FROM dispense_intents WHERE witness_request_id = ?", (request_id,)
    ).fetchone()
    return row is not None


def prescription_hub_ids(conn: Connection, prescription_ids: list[int]) -> tuple[int, ...]:
    """The hub's ids of these prescriptions (those entered here only have none)."""
    found = []
    for prescription_id in prescription_ids:
        row = conn.execute(
            "SELECT hub_id FROM prescriptions WHERE id = ?", (prescription_id,)
        ).fetchone()
        if row is not None and row[0] is not None:
            found.append(int(row[0]))
    return tuple(found)


def has_app_seeds(conn: Connection) -> bool:
    """Some clinician's authenticator app can approve here."""
    row = conn.execute("SELECT 1 FROM approver_seeds WHERE totp_seed IS NOT NULL").fetchone()
    return row is not None


def app_step_used(conn: Connection, user_id: int, step: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM app_code_steps WHERE user_id = ? AND step = ?", (user_id, step)
    ).fetchone()
    return row is not None


def use_app_step(conn: Connection, user_id: int, step: int, request_id: str, at: datetime) -> bool:
    """Remember a clinician's app code for ``step`` as used: False when it was already."""
    cursor = conn.execute(
        "INSERT INTO app_code_steps (user_id, step, request_id, used_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id, step) DO NOTHING",
        (user_id, step, request_id, to_text(at)),
    )
    return int(cursor.rowcount) > 0


@dataclass(frozen=True)
class ApprovalRequest:
    request_id: str
    action: ApprovalAction
    subject: str
    requested_by: str
    challenge: str
    issued_at: datetime
    decision: str | None
    approver_id: int | None
    approver_role: str | None
    approver_label: str | None
    reason: str | None
    expires_at: datetime | None
    used_at: datetime | None
    withdrawn: bool


_COLUMNS = (
    "request_id, action, subject, requested_by, challenge, issued_at, decision, approver_id,"
    " approver_role, approver_label, reason, expires_at, used_at, withdrawn_at"
)


def add_request(
    conn: Connection,
    request_id: str,
    action: ApprovalAction,
    subject: str,
    requested_by: str,
    challenge: str,
    at: datetime,
) -> None:
    conn.execute(
        "INSERT INTO approval_requests (request_id, action, subject, requested_by, challenge,"
        " issued_at) VALUES (?, ?, ?, ?, ?, ?)",
        (request_id, action.value, subject, requested_by, challenge, to_text(at)),
    )


def request(conn: Connection, request_id: str) -> ApprovalRequest | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM approval_requests WHERE request_id = ?", (request_id,)
    ).fetchone()
    if row is None:
        return None
    return ApprovalRequest(
        request_id=str(row[0]),
        action=ApprovalAction(row[1]),
        subject=str(row[2]),
        requested_by=str(row[3]),
        challenge=str(row[4]),
        issued_at=from_text(row[5]),
        decision=row[6],
        approver_id=None if row[7] is None else int(row[7]),
        approver_role=row[8],
        approver_label=row[9],
        reason=row[10],
        expires_at=from_text(row[11]) if row[11] else None,
        used_at=from_text(row[12]) if row[12] else None,
        withdrawn=row[13] is not None,
    )


def set_decision(
    conn: Connection,
    request_id: str,
    decision: str,
    approver: tuple[int, str, str],
    reason: str,
    decided_at: datetime,
    expires_at: datetime,
) -> bool:
    """Record the hub's decision on a request made here (the first one counts)."""
    cursor = conn.execute(
        "UPDATE approval_requests SET decision = ?, approver_id = ?, approver_role = ?,"
        " approver_label = ?, reason = ?, decided_at = ?, expires_at = ?"
        " WHERE request_id = ? AND decision IS NULL",
        (decision, *approver, reason, to_text(decided_at), to_text(expires_at), request_id),
    )
    return int(cursor.rowcount) > 0


def mark_used(
    conn: Connection,
    request_id: str,
    how: str,
    approver: tuple[int, str, str],
    at: datetime,
) -> bool:
    """Use a request once: False when it was used (or withdrawn) already."""
    cursor = conn.execute(
        "UPDATE approval_requests SET used_at = ?, used_how = ?, approver_id = ?,"
        " approver_role = ?, approver_label = ?"
        " WHERE request_id = ? AND used_at IS NULL AND withdrawn_at IS NULL",
        (to_text(at), how, *approver, request_id),
    )
    return int(cursor.rowcount) > 0


def withdraw(conn: Connection, request_id: str, at: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE approval_requests SET withdrawn_at = ? WHERE request_id = ?"
        " AND used_at IS NULL AND withdrawn_at IS NULL",
        (to_text(at), request_id),
    )
    return int(cursor.rowcount) > 0


def pending_count(conn: Connection, since: datetime) -> int:
    """Requests issued after ``since`` and neither decided, used nor withdrawn (while there
    is one the sync thread asks the hub every few seconds)."""
    row = conn.execute(
        "SELECT count(*) FROM approval_requests WHERE decision IS NULL AND used_at IS NULL"
        " AND withdrawn_at IS NULL AND issued_at > ?",
        (to_text(since),),
    ).fetchone()
    return int(row[0])
