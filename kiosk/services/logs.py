"""What staff read: alerts (and acknowledging them), the dispense log, the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from kiosk.domain.model import SiteClock
from kiosk.domain.permissions import Permission
from kiosk.domain.schedule import dosing_day_bounds
from kiosk.services.clock import Clock
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import audit
from kiosk.store.repository import Store
from kiosk.store.timefmt import from_text, to_text


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    subject: str
    message: str
    created_at: datetime


@dataclass(frozen=True)
class DispenseLogRow:
    at: datetime
    vend_id: int
    participant_code: str
    medication: str
    lane: int
    units: int
    dropped: int | None
    outcome: str | None
    witness_staff_id: int | None


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str


class LogService:
    def __init__(self, store: Store, clock: Clock, staff: StaffService) -> None:
        self._store = store
        self._clock = clock
        self._staff = staff

    def alerts(self, session: StaffSession) -> list[Alert]:
        self._staff.require(session, Permission.VIEW_LOGS)
        rows = self._store.conn.execute(
            "SELECT id, kind, subject, message, created_at FROM alerts"
            " WHERE acknowledged_at IS NULL ORDER BY id DESC"
        ).fetchall()
        return [Alert(int(a), str(b), str(c), str(d), from_text(e)) for a, b, c, d, e in rows]

    def acknowledge(self, session: StaffSession, alert_id: int, note: str = "") -> None:
        self._staff.require(session, Permission.ACK_ALERT)
        now = self._clock.now()
        with self._store.change(
            now, session.actor, "alert.acknowledged", f"alert:{alert_id}", {"note": note}
        ) as conn:
            conn.execute(
                "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
                (to_text(now), session.staff_id, alert_id),
            )

    def dispenses(
        self, session: StaffSession, day: date, site: SiteClock, participant_code: str = ""
    ) -> list[DispenseLogRow]:
        self._staff.require(session, Permission.VIEW_LOGS)
        bounds = dosing_day_bounds(day, site)
        rows = self._store.conn.execute(
            "SELECT i.created_at, i.vend_id, p.code, m.name || ' ' || m.strength, i.lane, i.units,"
            " r.dropped, r.outcome, i.witness_staff_id FROM dispense_intents i"
            " JOIN participants p ON p.id = i.participant_id"
            " JOIN prescriptions x ON x.id = i.prescription_id"
            " JOIN medications m ON m.id = x.medication_id"
            " LEFT JOIN dispense_results r ON r.vend_id = i.vend_id"
            " WHERE i.created_at >= ? AND i.created_at < ? AND (? = '' OR p.code = ?)"
            " ORDER BY i.created_at",
            (to_text(bounds.start), to_text(bounds.end), participant_code, participant_code),
        ).fetchall()
        return [DispenseLogRow(from_text(r[0]), *r[1:]) for r in rows]

    def audit(self, session: StaffSession, limit: int = 200) -> tuple[list[AuditRow], str]:
        """The newest entries and the chain's status in words ("verified: N entries")."""
        self._staff.require(session, Permission.VIEW_LOGS)
        rows = self._store.conn.execute(
            "SELECT seq, at, actor, action, subject FROM audit_log ORDER BY seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        report = audit.verify_chain(self._store.conn)
        status = (
            f"verified: {report.entries} entries"
            if report.ok
            else f"BROKEN at entry {report.first_bad_seq}: {report.problem}"
        )
        return [
            AuditRow(int(a), from_text(b), str(c), str(d), str(e)) for a, b, c, d, e in rows
        ], status
