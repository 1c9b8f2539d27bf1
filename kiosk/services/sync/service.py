"""One sync round: push the outbox, then pull and apply the hub's changes (docs/SYNC.md).

A push that fails does not stop the pull (issue 13: one event the hub could not store kept a
kiosk from hearing of holds, staff and participants for good): the round pulls all the same,
records that the push failed, and raises the push's error for the backoff. It skips the pull
only when the hub would refuse it too (``pull_after_failed_push``).

The network is only ever used outside database transactions, and only by the sync thread:
dispensing never waits on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from kiosk.domain.alerts import AlertKind
from kiosk.services.clock import Clock
from kiosk.services.sync.anchor import AnchorSender
from kiosk.services.sync.apply import ApplyError, apply_page
from kiosk.services.sync.client import (
    ChangesPage,
    ClockSkew,
    HubBusy,
    HubError,
    HubRefused,
    Pushed,
    Quarantined,
)
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
        re-raises errors for the caller's backoff; after a failed push, the push's error,
        once the pull has run (see the module doc)."""
        pushed, push_more = 0, False
        push_error: Exception | None = None
        try:
            self._raise_alerts()  # any left over from a crash after a commit
            pushed, push_more = self._push()
        except Exception as exc:
            if not pull_after_failed_push(exc):
                self._fail(exc)
                raise
            push_error = exc
        pull_error: Exception | None = None
        try:
            pulled, conflicts, cursor, pull_more = self._pull()
        except Exception as exc:
            if push_error is None:
                self._fail(exc)
                raise
            pull_error = exc
        if push_error is not None:
            self._push_failed(push_error, pull_error)
            raise push_error
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

    def _fail(self, error: Exception) -> None:
        """Record a failed round in staff wording (and alert on a refused clock)."""
        text = error_text(error)
        self._record_error(text)
        if isinstance(error, ClockSkew):
            self._store.raise_alert(AlertKind.SYNC_CLOCK_SKEW, "hub", text, self._clock.now())

    def _push_failed(self, error: Exception, pull_error: Exception | None) -> None:
        """The push failed and the pull ran: the Sync page says both, never "all good"."""
        text, now = error_text(error), self._clock.now()
        if pull_error is None:
            self._record_error(
                f"sending events to the hub failed: {text}. Changes from the hub were received."
            )
            # The pull was signed and accepted: the hub takes this kiosk's time again.
            self._store.resolve_alerts(AlertKind.SYNC_CLOCK_SKEW, "hub", now, "pull succeeded")
            return
        pull_text = error_text(pull_error)
        if pull_text == text:  # "the hub cannot be reached" once is enough
            self._record_error(text)
        else:
            self._record_error(
                f"sending events to the hub failed: {text}; receiving changes failed: {pull_text}"
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
            reply = self._send([event.wire() for event in batch], anchor)
            stored_through = reply.stored_through
            if not batch:
                return pushed, False
            if reply.quarantined:
                self._set_aside(reply.quarantined, {event.seq: event.type for event in batch})
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

    def _send(self, events: list[dict[str, Any]], anchor: Anchor | None) -> Pushed:
        """One push; returns the hub's answer. The anchor never costs the events: a hub
        that refuses it (bad_anchor: it should not, the shapes agree) gets them without it."""
        if anchor is None:
            return self._hub.push(events)
        try:
            reply = self._hub.push(events, self._anchors.wire(anchor))
        except HubRefused as exc:
            if exc.code != "bad_anchor":
                raise
            self._anchors.refused(anchor)
            return self._hub.push(events)
        self._anchors.sent(anchor, reply.anchor)
        return reply

    def _set_aside(self, entries: tuple[Quarantined, ...], types: dict[int, str]) -> None:
        """Keep what the hub set aside of this batch (once per seq) and alert staff. The
        events are acknowledged like the rest: the hub's stored_through counts them held.
        The type kept is this kiosk's own (the hub may not have read it)."""
        now = self._clock.now()
        with transaction(self._conn) as conn:
            for entry in entries:
                type_ = types.get(entry.seq)
                if type_ is None:  # not an event of this batch: the hub is confused
                    log.warning(
                        "the hub set aside event %d, which this push did not carry", entry.seq
                    )
                    continue
                if repo.add_quarantined(conn, entry.seq, type_, entry.reason, now):
                    log.warning("the hub set aside event %d (%s)", entry.seq, type_)
        self._raise_alerts()

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

    def _raise_alerts(self) -> None:
        """The alerts for conflicts and set-aside events not alerted yet (each once)."""
        self._raise_conflict_alerts()
        for event in repo.unalerted_quarantined(self._conn):
            self._alert_once(
                AlertKind.SYNC_EVENT_QUARANTINED,
                f"event:{event.seq}",
                f"Event #{event.seq} ({event.type}) was set aside by the hub: {event.reason}. "
                "The hub's staff will review it.",
                partial(repo.mark_quarantine_alerted, seq=event.seq),
            )

    def _raise_conflict_alerts(self) -> None:
        for conflict in repo.unalerted_conflicts(self._conn):
            self._alert_once(
                AlertKind.SYNC_CONFLICT,
                f"{conflict.kind}:{conflict.key}",
                f"A hub change to {conflict.kind} {conflict.key} met an edit made on this "
                "kiosk; it was not applied. Review it on the hub.",
                partial(repo.mark_alerted, conflict_id=conflict.id),
            )

    def _alert_once(
        self, kind: AlertKind, subject: str, message: str, mark: Callable[[Connection], None]
    ) -> None:
        """Raise the alert, then mark its cause alerted (a crash between: raised again,
        which ``raise_alert`` drops while the first is open)."""
        self._store.raise_alert(kind, subject, message, self._clock.now())
        with transaction(self._conn) as conn:
            mark(conn)


def pull_after_failed_push(error: Exception) -> bool:
    """Whether a round still pulls after its push failed with ``error``.

    Yes after a network error, a hub that failed (5xx) or refused the push's content (400,
    404, 413...), a hub answer the kiosk cannot read, or a fault of the kiosk's own while
    pushing: the pull is a separate request and may well go through. No when the hub would
    refuse the pull too: every signed request is refused while the clocks differ
    (401 clock_skew) or the kiosk's credentials are not accepted (401 bad_signature /
    unknown_device, 403 revoked); and not after 429, where the hub asked this kiosk to wait.
    A 401 replay concerned one request (its nonce): the pull carries another."""
    if isinstance(error, HubRefused) and error.status in (401, 403):
        return error.code == "replay"
    return not (isinstance(error, HubBusy) and error.status == 429)


def error_text(error: Exception) -> str:
    """A failed round's error in staff wording (it is stored and shown, never logged)."""
    if isinstance(error, HubError):
        return str(error)
    if isinstance(error, ApplyError):
        return f"a change from the hub could not be applied: {error}"
    return f"sync failed ({type(error).__name__})"
