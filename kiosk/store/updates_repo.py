"""The update offer the hub made and the last update attempt (migration 0017)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.update_plan import UpdateState
from kiosk.store.db import Connection
from kiosk.store.timefmt import from_text, to_text

OFFER_KEY = "current"


@dataclass(frozen=True)
class Offer:
    version: str
    campaign_id: int | None


@dataclass(frozen=True)
class UpdateStatus:
    running: str
    target: str | None
    state: UpdateState
    campaign_id: int | None
    detail: str | None
    bytes: int | None
    attempted_at: datetime


def offer(conn: Connection) -> Offer | None:
    row = conn.execute(
        "SELECT version, campaign_id FROM update_offer WHERE key = ?", (OFFER_KEY,)
    ).fetchone()
    return None if row is None else Offer(str(row[0]), None if row[1] is None else int(row[1]))


def offer_keys(conn: Connection) -> list[str]:
    return [str(row[0]) for row in conn.execute("SELECT key FROM update_offer")]


def set_offer(
    conn: Connection, key: str, version: str, campaign_id: int | None, at: datetime
) -> None:
    conn.execute(
        "INSERT INTO update_offer (key, version, campaign_id, received_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET version = excluded.version,"
        " campaign_id = excluded.campaign_id, received_at = excluded.received_at",
        (key, version, campaign_id, to_text(at)),
    )


def delete_offer(conn: Connection, key: str) -> bool:
    return int(conn.execute("DELETE FROM update_offer WHERE key = ?", (key,)).rowcount) > 0


def status(conn: Connection) -> UpdateStatus | None:
    row = conn.execute(
        "SELECT running, target, state, campaign_id, detail, bytes, attempted_at"
        " FROM update_status WHERE id = 1"
    ).fetchone()
    if row is None:
        return None
    return UpdateStatus(
        str(row[0]),
        row[1],
        UpdateState(row[2]),
        row[3],
        row[4],
        row[5],
        from_text(str(row[6])),
    )


def set_status(conn: Connection, value: UpdateStatus) -> None:
    conn.execute(
        "INSERT INTO update_status (id, running, target, state, campaign_id, detail, bytes,"
        " attempted_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " running = excluded.running, target = excluded.target, state = excluded.state,"
        " campaign_id = excluded.campaign_id, detail = excluded.detail, bytes = excluded.bytes,"
        " attempted_at = excluded.attempted_at",
        (
            value.running,
            value.target,
            value.state.value,
            value.campaign_id,
            value.detail,
            value.bytes,
            to_text(value.attempted_at),
        ),
    )
