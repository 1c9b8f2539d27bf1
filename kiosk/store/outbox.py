"""Outbox of events for the hub, written in the same transaction as the change it reports."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from kiosk.store.db import Connection
from kiosk.store.timefmt import to_text


def add(conn: Connection, at: datetime, type_: str, payload: dict[str, Any]) -> int:
    cursor = conn.execute(
        "INSERT INTO outbox (event_id, type, payload, created_at) VALUES (?, ?, ?, ?)",
        (str(uuid.uuid4()), type_, json.dumps(payload, sort_keys=True), to_text(at)),
    )
    return int(cursor.lastrowid)


def pending_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])
