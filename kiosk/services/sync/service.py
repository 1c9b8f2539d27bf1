"""One sync round: push the outbox, then pull and apply the hub's changes (docs/SYNC.md).

The network is only ever used outside database transactions, and only by the sync thread:
dispensing never waits on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.domain.alerts import AlertKind
from kiosk.services.clock import Clock
from kiosk.services.sync.anchor import AnchorSender
from kiosk.services.sync.apply import ApplyError, apply_page
from kiosk.services.sync.client import ChangesPage, ClockSkew, HubError, HubRefused, Pushed
from kiosk.store import sync_repo as repo
from kiosk.store.anchor import Anchor
from kiosk.store.db import Connection, transaction
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.sync")

PUSH_BATCH = 500
MAX_PAGES_PER_ROUND = 200  # a long snapshot goes on at the next round


class Hub(Protocol):
    def push(
        self, events: list[dict[str, Any]], anchor: dict[str, Any] | None = None
    ) -> Pushed: ...

    def pull(self, cursor: int) -> ChangesPage: ...


@dataclass(frozen=True)
class SyncReport:
    pushed: int  # events the hub acknowledged in this round
    pulled: int  # changes applied
    conflicts: int  # changes kept as conflicts for staff
    cursor: int
    waiting: int  # events still not acknowledged
    more: bool  # the round stopped early (batch or page limit): run again soon


class SyncService:
    """Push then pull over one connection (the sync thread's own)."""

    def __init__(self, conn: Connection, hub: Hub, clock: Clock) -> None:
        self._conn = conn
        self._store = Store(conn)
        self._hub = hub
        self._clock = clock
        self._anchors = AnchorSender.for_connection(conn)

    def run_once(self) -> SyncReport:
        """One round. Records success or the error (staff wording) in ``sync_state`` and
        re-raises errors for the caller's backoff."""
        try:
            self._raise_conflict_alerts()  # any left over from a crash after a commit
            pushed, push_more = self._push()
            pulled, conflicts, cursor, pull_more = self._pull()
        except ClockSkew as exc:
            self._record_error(str(exc))
            self._store.raise_alert(AlertKind.SYNC_CLOCK_SKEW, "hub", str(exc), self._clock.now())
            raise
        except HubError as exc:
            self._record_error(str(exc))
            raise
        except ApplyError as exc:
            self._record_error(f"a change from the hub could not be applied: {exc}")
            raise
        except Exception as exc:
            self._record_error(f"sync failed ({type(exc).__name__})")
            raise
        now = self._clock.now()
        repo.record_outcome(self._conn, now, "")
        # The hub accepted this kiosk's time again: a clock-skew alert's cause is gone (and
        # the hub hears so in this round).
        if self._store.resolve_alerts(AlertKind.SYNC_CLOCK_SKEW, "hub", now, "sync succeeded"):
            more_pushed, more = self._push()
            pushed, push_more = pushed + more_pushed, push_more or more
        return SyncReport(
            pushed=pushed,
            pulled=pulled,
            conflicts=conflicts,
            cursor=cursor,
            waiting=repo.pending_count(self._conn),
            more=push_more or pull_more,
        )

    def _record_error(self, text: str) -> None:
        try:
            repo.record_outcome(self._conn, self._clock.now(), text)
        except Exception:
            log.exception("cannot record the sync error")

    def _push(self) -> tuple[int, bool]:
        """Send unsent events in batches of up to 500, in seq order, until none is left.

        Every batch carries the audit anchor as it is when the batch leaves, so the last one
        carries the newest; with no events waiting, an anchor not yet sent goes alone."""
        pushed = 0
        while True:
            batch = repo.unsent(self._conn, PUSH_BATCH)
            anchor = self._anchors.current()
            if not batch and not self._anchors.is_new(anchor):
                return pushed, False
            stored_through = self._send([event.wire() for event in batch], anchor)
            if not batch:
                return pushed, False
            marked = repo.mark_sent_through(self._conn, stored_through, self._clock.now())
            pushed += marked
            if marked == 0 or stored_through < batch[-1].seq:
                # The hub holds a gap before these events (it raises its own alert); they
                # stay unsent and go again next round.
                log.warning(
                    "the hub holds events through %d; %d sent from %d",
                    stored_through,
                    len(batch),
                    batch[0].seq,
                )
                return pushed, False

    def _send(self, events: list[dict[str, Any]], anchor: Anchor | None) -> int:
        """One push; returns ``stored_through``. The anchor never costs the events: a hub
        that refuses it (bad_anchor: it should not, the shapes agree) gets them without it."""
        if anchor is None:
            return self._hub.push(events).stored_through
        try:
            reply = self._hub.push(events, self._anchors.wire(anchor))
        except HubRefused as exc:
            if exc.code != "bad_anchor":
                raise
            self._anchors.refused(anchor)
            return self._hub.push(events).stored_through
        self._anchors.sent(anchor, reply.anchor)
        return reply.stored_through

    def _pull(self) -> tuple[int, int, int, bool]:
        applied = conflicts = 0
        cursor = repo.read_state(self._conn).cursor
        for _ in range(MAX_PAGES_PER_ROUND):
            page = self._hub.pull(cursor)
            result = apply_page(self._conn, page, self._clock.now())
            applied += result.applied
            conflicts += len(result.conflicts)
            if result.conflicts:
                self._raise_conflict_alerts()
            if not page.more:
                return applied, conflicts, page.cursor, False
            if page.cursor == cursor and not page.changes:
                return applied, conflicts, page.cursor, False  # no progress: stop looping
            cursor = page.cursor
        return applied, conflicts, cursor, True

    def _raise_conflict_alerts(self) -> None:
        for conflict in repo.unalerted_conflicts(self._conn):
            self._store.raise_alert(
                AlertKind.SYNC_CONFLICT,
                f"{conflict.kind}:{conflict.key}",
                f"A hub change to {conflict.kind} {conflict.key} met an edit made on this "
                "kiosk; it was not applied. Review it on the hub.",
                self._clock.now(),
            )
            with transaction(self._conn) as conn:
                repo.mark_alerted(conn, conflict.id)
