""" "I need help" at the machine: a HELP alert for on-site staff (the Alerts page) and, with
the next push, for the hub's escalation chain (``help_requested``); then what the screen may
honestly say of it.

One open help alert per machine: a stuck or repeatedly pressed button finds the open one and
raises nothing new. The alert carries ids only (``participant:<id>`` when the kiosk knows
who asked, else ``machine``). What the screen says (``HelpNews``):

- staff have been told only when it is true: the alert reached the hub (its event was sent),
  or the hub says whom it told; on a kiosk without a hub, the Alerts page (and the sound
  cue) are the only notice, so the record itself is what staff see;
- someone is coming once staff acknowledged it, on the kiosk's Alerts page or on the hub
  (its ``alert_notice`` comes back with an acknowledgement).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.domain.alerts import AlertKind
from kiosk.domain.told import AlertRecord, Told
from kiosk.services.clock import Clock
from kiosk.store import sync_repo
from kiosk.store.repository import OPEN_ALERT, Store

log = logging.getLogger("kiosk.help")


@dataclass(frozen=True)
class HelpNews:
    alert_id: int
    told: Told
    coming: bool  # staff acknowledged the request


class HelpService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        wake: Callable[[], None] | None = None,
        hub: bool = False,
    ) -> None:
        self._store = store
        self._clock = clock
        self.wake = wake  # the sync thread's "sync now", so the alert goes out at once
        self.hub = hub  # this kiosk pushes to a hub

    def ask(self, participant_id: int | None) -> HelpNews:
        """Raise the help alert (or find the open one) and wake the sync thread."""
        alert_id = self._open_alert()
        if alert_id is None:
            subject = "machine" if participant_id is None else f"participant:{participant_id}"
            who = "" if participant_id is None else f" (participant {participant_id})"
            self._store.raise_alert(
                AlertKind.HELP,
                subject,
                f'Someone at the machine{who} pressed "I need help".',
                self._clock.now(),
            )
            alert_id = self._open_alert()
            log.warning("help requested at the machine")
        else:
            log.info("help requested again: the open request stands")
        if self.wake is not None:
            self.wake()
        assert alert_id is not None  # raised just now, or open already
        return self.news(alert_id)

    def news(self, alert_id: int) -> HelpNews:
        """What is known now of the request: told, and acknowledged."""
        row = self._store.conn.execute(
            "SELECT acknowledged_at FROM alerts WHERE id = ?", (alert_id,)
        ).fetchone()
        if row is None:
            return HelpNews(alert_id, Told(AlertRecord.NONE), False)
        notices = [
            n for n in sync_repo.alert_notices(self._store.conn) if n.kiosk_alert_id == alert_id
        ]
        coming = row[0] is not None or any(n.acknowledged is not None for n in notices)
        told_people = sorted((p for n in notices for p in n.told), key=lambda p: p.at)
        if told_people:
            first = told_people[0]
            return HelpNews(alert_id, Told(AlertRecord.RECORDED, first.role, first.at), coming)
        if coming or not self.hub or self._pushed(alert_id):
            return HelpNews(alert_id, Told(AlertRecord.RECORDED), coming)
        return HelpNews(alert_id, Told(AlertRecord.NONE), coming)

    def _open_alert(self) -> int | None:
        row = self._store.conn.execute(
            f"SELECT id FROM alerts WHERE kind = ? AND {OPEN_ALERT} ORDER BY id DESC LIMIT 1",
            (AlertKind.HELP,),
        ).fetchone()
        return int(row[0]) if row else None

    def _pushed(self, alert_id: int) -> bool:
        """The alert's event reached the hub (the outbox marks it sent once the hub took it)."""
        row = self._store.conn.execute(
            "SELECT 1 FROM outbox WHERE type = 'alert.raised' AND sent_at IS NOT NULL"
            " AND json_extract(payload, '$.alert_id') = ?",
            (alert_id,),
        ).fetchone()
        return row is not None
