"""The books' anchor outside the database (DESIGN invariant 7).

After each commit that records a dispense, the audit chain's head (entry count and hash)
is written atomically to ``<database>.anchor`` beside the database. The chain alone cannot
tell that its newest entries were deleted, or that the whole file was rolled back (a lost
``-wal``, an old copy put back): the anchor, the hub's copy of it and the controller's own
vend log can. See ``docs/ANCHORS.md`` for the threat model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kiosk.store.db import Connection
from kiosk.store.files import write_private

HEX64 = re.compile("[0-9a-f]{64}")


@dataclass(frozen=True)
class Anchor:
    entries: int  # the sequence number of the newest audit entry
    head: str  # its hash

    def as_json(self) -> dict[str, object]:
        return {"entries": self.entries, "head": self.head}


class AnchorError(Exception):
    """The anchor file exists but cannot be read or is malformed."""


def anchor_path(database: Path) -> Path:
    return database.with_name(database.name + ".anchor")


def chain_head(conn: Connection) -> Anchor | None:
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return Anchor(int(row[0]), str(row[1])) if row else None


def hash_at(conn: Connection, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    return str(row[0]) if row else None


def read_anchor(path: Path) -> Anchor | None:
    """The anchor written last, or None when none was ever written."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorError(f"cannot read the anchor file {path.name}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
        entries, head = data["entries"], data["head"]
    except (ValueError, KeyError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
        raise AnchorError(f"the anchor file {path.name} is malformed") from exc
    if not isinstance(entries, int) or isinstance(entries, bool) or entries < 0:
        raise AnchorError(f"the anchor file {path.name} is malformed")
    if not isinstance(head, str) or not HEX64.fullmatch(head):
        raise AnchorError(f"the anchor file {path.name} is malformed")
    return Anchor(entries, head)


def write_anchor(path: Path, anchor: Anchor) -> None:
    """Atomic and durable (kiosk/store/files.py)."""
    write_private(path, json.dumps(anchor.as_json(), separators=(",", ":")).encode())


def compare(conn: Connection, anchor: Anchor | None) -> str:
    """'' when the database holds everything the anchor saw, else what is wrong."""
    if anchor is None:
        return ""
    head = chain_head(conn)
    if head is None or head.entries < anchor.entries:
        have = head.entries if head else 0
        return (
            f"records missing: the audit chain ends at entry {have}, "
            f"the anchor says {anchor.entries}"
        )
    if hash_at(conn, anchor.entries) != anchor.head:
        return f"records changed: audit entry {anchor.entries} differs from the anchor"
    return ""
