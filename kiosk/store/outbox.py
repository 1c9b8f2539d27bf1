"""Outbox of events for the hub, written in the same transaction as the change it reports."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from kiosk.domain.text import clean_values, holds_unwanted
from kiosk.store.db import Connection
from kiosk.store.timefmt import to_text

log = logging.getLogger("kiosk.store")


def add(conn: Connection, at: datetime, type_: str, payload: dict[str, Any]) -> int:
    if holds_unwanted(payload):
        # The services clean what staff type (kiosk.domain.text); this is the last guard,
        # so that no NUL or lone surrogate ever reaches the hub (it would set the event aside).
        log.warning("an outbox event (%s) carried control characters; they were dropped", type_)
        payload = clean_values(payload)
    cursor = conn.execute(
        "INSERT INTO outbox (event_id, type, payload, created_at) VALUES (?, ?, ?, ?)",
        (str(uuid.uuid4()), type_, json.dumps(payload, sort_keys=True), to_text(at)),
    )
    return int(cursor.lastrowid)


def pending_count(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])
