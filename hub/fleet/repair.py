"""Repairs of rows stored before fleet.schema checked them (issue 13, finding 3).

An event stored with a ``created_at`` far outside any real time (``9999-12-31T23:59:59-14:00``
is year 10000 in UTC) sits fine in PostgreSQL but cannot be read back into a Python datetime:
every admin page that loads it fails. These rows are moved with SQL only (nothing here reads
such a date into Python): events to the quarantined events, where the schema would put them
today; kiosk alerts are re-dated to when the repair ran, their message saying so.
"""

from __future__ import annotations

from typing import Any

# The bounds fleet.schema accepts for an instant (after conversion to UTC).
LOWEST = "2000-01-01T00:00:00Z"
BEYOND = "2101-01-01T00:00:00Z"

_OUT = "({column} < %(lowest)s OR {column} >= %(beyond)s)"

_DETACH_REVIEW_ITEMS = f"""
UPDATE fleet_syncexception x
   SET event_id = NULL,
       reason = x.reason || ' (Its event #' || e.seq || ' was moved to the quarantined events:'
                || ' its date is out of range.)'
  FROM fleet_event e
 WHERE x.event_id = e.id AND {_OUT.format(column="e.created_at")}
"""

_MOVE_EVENTS = f"""
WITH moved AS (
    DELETE FROM fleet_event e
     WHERE {_OUT.format(column="e.created_at")}
    RETURNING e.machine_id, e.seq, e.event_id, e.type, e.payload, e.created_at
)
INSERT INTO fleet_quarantinedevent (machine_id, seq, event_id, type, raw, reason, received_at)
SELECT machine_id, seq, event_id::text, type,
       json_build_object(
           'seq', seq, 'id', event_id::text, 'type', type,
           'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           'payload', payload)::text,
       'created_at: outside 2000-01-01..2100-12-31 UTC (moved from the stored events)',
       now()
  FROM moved
ON CONFLICT DO NOTHING
"""

_REDATE_ALERTS = f"""
UPDATE fleet_alert a
   SET message = a.message || ' (Its date was out of range; re-dated when the hub repaired it.)',
       created_at = now()
 WHERE {_OUT.format(column="a.created_at")}
"""


def move_out_of_range_dates(connection: Any) -> tuple[int, int]:
    """(events moved, alerts re-dated). PostgreSQL only: the embedded SQLite demo stores
    dates as text and has no such rows worth a repair."""
    if connection.vendor != "postgresql":
        return 0, 0
    bounds = {"lowest": LOWEST, "beyond": BEYOND}
    with connection.cursor() as cursor:
        cursor.execute(_DETACH_REVIEW_ITEMS, bounds)
        cursor.execute(_MOVE_EVENTS, bounds)
        moved = cursor.rowcount
        cursor.execute(_REDATE_ALERTS, bounds)
        redated = cursor.rowcount
    return moved, redated
