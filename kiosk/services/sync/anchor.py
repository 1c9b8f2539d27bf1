"""The audit chain's anchor on its way to the hub (docs/SYNC.md, "Anchor").

Each push carries the anchor file's content (``kiosk.store.anchor``) so that the hub, which
keeps the highest anchor it has seen, notices a kiosk whose records went back or were rewritten.
With it goes ``prior``: this kiosk's own hash of the entry the hub last acknowledged, which the
hub compares with the head it holds. The acknowledged anchor is kept in a file beside the
anchor, outside the database, so that a database put back from an old copy does not take it
back with it.

Nothing here may stop a push: an anchor that cannot be read is left out, with one warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kiosk.store.anchor import (
    HEX64,
    Anchor,
    AnchorError,
    anchor_path,
    hash_at,
    read_anchor,
    write_anchor,
)
from kiosk.store.db import Connection

log = logging.getLogger("kiosk.sync")


def hub_anchor_path(database: Path) -> Path:
    """Where the anchor the hub last acknowledged is kept: ``kiosk.db.anchor.hub``."""
    anchor = anchor_path(database)
    return anchor.with_name(anchor.name + ".hub")


def database_file(conn: Connection) -> Path | None:
    """The file of the connection's main database (None in memory). The sync thread is given
    a way to open the database, not its path: the connection knows it."""
    for _index, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def valid(anchor: Anchor) -> bool:
    """The shape the hub accepts (it refuses the whole push otherwise): a count and a sha256
    in lowercase hex, as the anchor file holds (read_anchor checks the same)."""
    return anchor.entries >= 0 and bool(HEX64.fullmatch(anchor.head))


class AnchorSender:
    """Reads the anchor for each push and remembers what the hub acknowledged. One per sync
    service (the sync thread's); it warns once per kind of problem until the problem goes."""

    def __init__(self, conn: Connection, database: Path | None) -> None:
        self._conn = conn
        self._anchor_file = anchor_path(database) if database is not None else None
        self._hub_file = hub_anchor_path(database) if database is not None else None
        self._sent: Anchor | None = None  # the last anchor the hub took from this process
        self._acknowledged: Anchor | None = None
        self._acknowledged_read = False
        self._warned: set[str] = set()

    @classmethod
    def for_connection(cls, conn: Connection) -> AnchorSender:
        return cls(conn, database_file(conn))

    def current(self) -> Anchor | None:
        """The anchor file's content, or None (none written yet, or unusable)."""
        if self._anchor_file is None:
            return None
        try:
            anchor = read_anchor(self._anchor_file)  # checks the shape the hub accepts
        except AnchorError as exc:
            self._warn("anchor", "the audit anchor is not sent to the hub: %s", _why(exc))
            return None
        self._warned.discard("anchor")
        return anchor

    def is_new(self, anchor: Anchor | None) -> bool:
        """Not yet sent by this process: worth a push even with no events waiting."""
        return anchor is not None and anchor != self._sent

    def wire(self, anchor: Anchor) -> dict[str, Any]:
        """The push body's ``anchor``: the current anchor and, when this kiosk holds the entry
        the hub acknowledged, its own hash of that entry (``prior``)."""
        body = anchor.as_json()
        acknowledged = self._hub_anchor()
        if acknowledged is not None and acknowledged.entries > 0:
            head = hash_at(self._conn, acknowledged.entries)
            if head is not None and HEX64.fullmatch(head):
                body["prior"] = {"entries": acknowledged.entries, "head": head}
        return body

    def sent(self, anchor: Anchor, acknowledged: Anchor | None) -> None:
        """The hub took ``anchor`` and answered with the anchor it holds."""
        self._sent = anchor
        if acknowledged is None or acknowledged == self._hub_anchor() or self._hub_file is None:
            return
        try:
            write_anchor(self._hub_file, acknowledged)
        except OSError as exc:
            self._warn("hub", "cannot keep the hub's audit anchor: %s", exc.strerror)
            return
        self._warned.discard("hub")
        self._acknowledged = acknowledged

    def refused(self, anchor: Anchor) -> None:
        """The hub refused the anchor (its rules and ours disagree): do not send it alone."""
        self._sent = anchor
        self._warn("refused", "the hub refused the audit anchor: %s", "events go without it")

    def _hub_anchor(self) -> Anchor | None:
        if not self._acknowledged_read and self._hub_file is not None:
            self._acknowledged_read = True
            try:
                self._acknowledged = read_anchor(self._hub_file)
            except Exception as exc:
                # Without it the hub only compares entry counts; the next answer rewrites it.
                self._warn("hub", "cannot read the hub's audit anchor: %s", _why(exc))
        return self._acknowledged

    def _warn(self, kind: str, message: str, detail: object) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning(message, detail)


def _why(exc: Exception) -> str:
    # AnchorError's text names only the file; others say only their type (no content).
    return str(exc) if isinstance(exc, AnchorError) else f"unreadable ({type(exc).__name__})"
