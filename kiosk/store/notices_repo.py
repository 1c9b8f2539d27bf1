"""SQL for notices (kiosk.domain.notices; migration 0019). Writing functions run inside the
caller's transaction. Notice text never goes into an audit entry or a log line."""

from __future__ import annotations

import json
from datetime import date, datetime

from kiosk.domain.notices import Notice, NoticeOrigin, NoticeScope
from kiosk.store.db import Connection
from kiosk.store.timefmt import to_text

_COLUMNS = "uuid, scope, participant_code, starts_on, ends_on, texts, one_language, origin"


def _notice(row: tuple[object, ...]) -> Notice:
    return Notice(
        uuid=str(row[0]),
        scope=NoticeScope(str(row[1])),
        participant_code=None if row[2] is None else str(row[2]),
        starts_on=date.fromisoformat(str(row[3])),
        ends_on=date.fromisoformat(str(row[4])),
        texts=json.loads(str(row[5])),
        one_language=None if row[6] is None else str(row[6]),
        origin=NoticeOrigin(str(row[7])),
    )


def put(conn: Connection, notice: Notice, created_by: str, at: datetime) -> bool:
    """Insert or update a notice by uuid; False when the row already said the same."""
    before = get(conn, notice.uuid)
    if before == notice:
        return False
    conn.execute(
        f"INSERT INTO notices ({_COLUMNS}, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET"
        " scope = excluded.scope, participant_code = excluded.participant_code,"
        " starts_on = excluded.starts_on, ends_on = excluded.ends_on, texts = excluded.texts,"
        " one_language = excluded.one_language, origin = excluded.origin,"
        " withdrawn_at = NULL",
        (
            notice.uuid,
            notice.scope.value,
            notice.participant_code,
            notice.starts_on.isoformat(),
            notice.ends_on.isoformat(),
            json.dumps(dict(notice.texts), sort_keys=True, ensure_ascii=False),
            notice.one_language,
            notice.origin.value,
            created_by,
            to_text(at),
        ),
    )
    return True


def get(conn: Connection, uuid: str) -> Notice | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM notices WHERE uuid = ? AND withdrawn_at IS NULL", (uuid,)
    ).fetchone()
    return None if row is None else _notice(row)


def withdraw(conn: Connection, uuid: str, at: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE notices SET withdrawn_at = ? WHERE uuid = ? AND withdrawn_at IS NULL",
        (to_text(at), uuid),
    )
    return bool(cursor.rowcount)


def live(conn: Connection, day: date) -> list[Notice]:
    """Every notice not withdrawn whose last day is ``day`` or later (current or to come)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM notices WHERE withdrawn_at IS NULL AND ends_on >= ?"
        " ORDER BY ends_on, uuid",
        (day.isoformat(),),
    ).fetchall()
    return [_notice(r) for r in rows]


def for_participant(conn: Connection, code: str, day: date) -> list[Notice]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM notices WHERE withdrawn_at IS NULL AND participant_code = ?"
        " AND starts_on <= ? AND ends_on >= ? ORDER BY ends_on, uuid",
        (code, day.isoformat(), day.isoformat()),
    ).fetchall()
    return [_notice(r) for r in rows]


def acknowledged(conn: Connection, uuids: list[str]) -> set[str]:
    if not uuids:
        return set()
    marks = ",".join("?" * len(uuids))
    rows = conn.execute(
        f"SELECT notice_uuid FROM notice_acknowledgements WHERE notice_uuid IN ({marks})", uuids
    ).fetchall()
    return {str(r[0]) for r in rows}


def acknowledge(conn: Connection, uuid: str, at: datetime) -> bool:
    cursor = conn.execute(
        "INSERT INTO notice_acknowledgements (notice_uuid, at) VALUES (?, ?)"
        " ON CONFLICT (notice_uuid) DO NOTHING",
        (uuid, to_text(at)),
    )
    return bool(cursor.rowcount)


def hub_keys(conn: Connection) -> list[str]:
    """The notices a snapshot must list to keep (those not withdrawn)."""
    rows = conn.execute("SELECT uuid FROM notices WHERE withdrawn_at IS NULL").fetchall()
    return [str(r[0]) for r in rows]
