"""Notices: staff's messages for one participant or the site (docs/SYNC.md, "Notices").

Staff at this kiosk write them on the admin panel (pushed as ``notice.created`` and
``notice.withdrawn`` events, then hub records); the hub's are pulled (``kind: notice``) and
read-only here. The participant flow asks for a participant's notices after a scan and
records the "OK" (``notice.acknowledged``); the idle screen asks for the site's of the day.
Notice text never goes into a log line or an audit entry: the uuid names it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from kiosk.domain import notices as rules
from kiosk.domain.model import SiteClock
from kiosk.domain.notices import Notice, NoticeOrigin, NoticeScope
from kiosk.domain.permissions import Permission
from kiosk.domain.text import clean_text
from kiosk.services.clock import Clock
from kiosk.services.errors import InvalidInput
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import audit, notices_repo, outbox
from kiosk.store.db import transaction
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.notices")

CREATED = "notice.created"
WITHDRAWN = "notice.withdrawn"
ACKNOWLEDGED = "notice.acknowledged"


@dataclass(frozen=True)
class NoticeDraft:
    scope: NoticeScope
    participant_code: str | None
    starts_on: date
    ends_on: date
    texts: dict[str, str]
    one_language: str | None = None


class NoticeService:
    def __init__(self, store: Store, clock: Clock, site: SiteClock, staff: StaffService) -> None:
        self._store = store
        self._clock = clock
        self._site = site
        self._staff = staff

    def today(self) -> date:
        """The calendar day at the site: a notice "until Friday" shows all Friday."""
        return self._clock.now().astimezone(ZoneInfo(self._site.timezone)).date()

    # ------------------------------------------------------------ the participant screens

    def for_participant(self, participant_id: int) -> tuple[Notice, ...]:
        code = self._code(participant_id)
        if code is None:
            return ()
        day = self.today()
        found = notices_repo.for_participant(self._store.conn, code, day)
        seen = notices_repo.acknowledged(self._store.conn, [n.uuid for n in found])
        return tuple(rules.to_show_after_scan(found, code, seen, day))

    def at_idle(self) -> tuple[Notice, ...]:
        day = self.today()
        return tuple(rules.to_show_at_idle(notices_repo.live(self._store.conn, day), day))

    def acknowledge(self, participant_id: int, notice_uuid: str) -> None:
        """The participant's "OK": audited and pushed (ids only), once."""
        now = self._clock.now()
        code = self._code(participant_id)
        with transaction(self._store.conn) as conn:
            if not notices_repo.acknowledge(conn, notice_uuid, now):
                return
            details = {"notice": notice_uuid}
            subject = f"participant:{participant_id}"
            audit.append(conn, now, subject, ACKNOWLEDGED, subject, details)
            outbox.add(conn, now, ACKNOWLEDGED, {"subject": code, **details})
        log.info("notice acknowledged by participant %d", participant_id)

    # ------------------------------------------------------------ the admin panel

    def live(self, session: StaffSession) -> list[Notice]:
        self._staff.require(session, Permission.MANAGE_NOTICES)
        return notices_repo.live(self._store.conn, self.today())

    def create(self, session: StaffSession, draft: NoticeDraft) -> Notice:
        """Save a notice written here. InvalidInput names the first problem."""
        self._staff.require(session, Permission.MANAGE_NOTICES)
        texts = {k: clean_text(v).strip() for k, v in draft.texts.items() if v.strip()}
        code = draft.participant_code if draft.scope is NoticeScope.PARTICIPANT else None
        found = rules.problems(
            draft.scope, code, draft.starts_on, draft.ends_on, texts, draft.one_language
        )
        if (
            code is not None
            and self._store.conn.execute(
                "SELECT 1 FROM participants WHERE code = ? AND status = 'active'", (code,)
            ).fetchone()
            is None
        ):
            found.append(rules.NoticeProblem.NO_PARTICIPANT)
        if draft.ends_on < self.today():
            found.append(rules.NoticeProblem.ENDS_BEFORE_START)
        if found:
            raise InvalidInput(found[0].value)
        notice = Notice(
            uuid=str(uuid.uuid4()),
            scope=draft.scope,
            participant_code=code,
            starts_on=draft.starts_on,
            ends_on=draft.ends_on,
            texts=texts,
            one_language=draft.one_language,
            origin=NoticeOrigin.KIOSK,
        )
        now = self._clock.now()
        with transaction(self._store.conn) as conn:
            notices_repo.put(conn, notice, session.actor, now)
            # The audit names the notice and its dates; the text goes to the hub only.
            details = {
                "notice": notice.uuid,
                "scope": notice.scope.value,
                "starts_on": notice.starts_on.isoformat(),
                "ends_on": notice.ends_on.isoformat(),
                "languages": sorted(texts),
            }
            audit.append(conn, now, session.actor, CREATED, _subject(notice), details)
            payload = {"actor": session.actor, "subject": code, **rules.to_data(notice)}
            outbox.add(conn, now, CREATED, payload)
        log.info("notice made by staff %d (%s)", session.staff_id, notice.scope.value)
        return notice

    def withdraw(self, session: StaffSession, notice_uuid: str) -> None:
        """End a notice made at this kiosk now. A hub notice is the hub's to end."""
        self._staff.require(session, Permission.MANAGE_NOTICES)
        notice = notices_repo.get(self._store.conn, notice_uuid)
        if notice is None:
            raise InvalidInput("notice")
        if notice.origin is NoticeOrigin.HUB:
            raise InvalidInput("hub_notice")
        now = self._clock.now()
        with transaction(self._store.conn) as conn:
            notices_repo.withdraw(conn, notice_uuid, now)
            details = {"notice": notice_uuid}
            audit.append(conn, now, session.actor, WITHDRAWN, _subject(notice), details)
            outbox.add(conn, now, WITHDRAWN, {"actor": session.actor, **details})
        log.info("notice withdrawn by staff %d", session.staff_id)

    def participant_codes(self) -> list[str]:
        rows = self._store.conn.execute(
            "SELECT code FROM participants WHERE status = 'active' ORDER BY code"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _code(self, participant_id: int) -> str | None:
        row = self._store.conn.execute(
            "SELECT code FROM participants WHERE id = ?", (participant_id,)
        ).fetchone()
        return None if row is None else str(row[0])


def _subject(notice: Notice) -> str:
    return notice.participant_code if notice.participant_code else "site"
