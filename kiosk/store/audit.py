"""The hash-chained audit log: each entry commits to the one before it.

``hash = sha256(prev_hash | seq | at | actor | action | subject | details)``; editing or
deleting any entry breaks every hash after it, which ``verify_chain`` finds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.store.db import Connection
from kiosk.store.timefmt import to_text

GENESIS = "0" * 64


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, details: str
) -> str:
    material = "\x1f".join([prev_hash, str(seq), at, actor, action, subject, details])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append(
    conn: Connection,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> int:
    """Add an entry inside the caller's transaction. Returns its sequence number."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(row[0]) + 1, str(row[1])) if row else (1, GENESIS)
    at_text = to_text(at)
    body = canonical(details or {})
    digest = entry_hash(prev, seq, at_text, actor, action, subject, body)
    conn.execute(
        "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at_text, actor, action, subject, body, prev, digest),
    )
    return seq


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_bad_seq: int | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


def verify_chain(conn: Connection, *, tail: int | None = None) -> ChainReport:
    """Walk the chain from the start, or only its last ``tail`` entries (a quick check)."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    start = 1
    if tail is not None:
        last = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0] or 0
        start = max(1, int(last) - tail + 1)
        if start > 1:
            row = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (start - 1,)).fetchone()
            prev = str(row[0]) if row else ""
            expected_seq = start
    cursor = conn.execute(
        "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log"
        " WHERE seq >= ? ORDER BY seq",
        (start,),
    )
    for seq, at, actor, action, subject, details, prev_hash, digest in cursor:
        count += 1
        if seq != expected_seq:
            return ChainReport(count, expected_seq, "an entry is missing")
        if prev_hash != prev:
            return ChainReport(count, seq, "the link to the previous entry is broken")
        if entry_hash(prev, seq, at, actor, action, subject, details) != digest:
            return ChainReport(count, seq, "the entry was changed after it was written")
        prev = digest
        expected_seq += 1
    return ChainReport(count, None)
