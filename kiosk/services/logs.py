"""What staff read: alerts (open, and the history of closed ones; acknowledging them), the
dispense log, the audit log. Rows carry typed values and the names their ids stand for
(staff, participant codes, medications): the panel words them, never an id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from kiosk.domain.alerts import AlertKind, parse_alert_kind
from kiosk.domain.model import SiteClock
from kiosk.domain.permissions import Permission
from kiosk.domain.schedule import dosing_day_bounds
from kiosk.domain.text import clean_text
from kiosk.domain.told import AlertNotice, HubLink
from kiosk.services.clock import Clock
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import audit, sync_repo
from kiosk.store.db import Connection
from kiosk.store.repository import OPEN_ALERT, Store
from kiosk.store.timefmt import from_text, to_text

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class StaffName:
    name: str
    role: str


@dataclass(frozen=True)
class Alert:
    id: int
    kind: AlertKind | None  # None: a kind this version does not know (its message tells)
    subject: str  # as stored: "lane:2", "medication:5", "machine", ...
    message: str  # the stored English sentence (the hub and the logs read it)
    created_at: datetime
    subject_name: str = ""  # what the subject's id stands for (a medication, a participant)
    acknowledged_at: datetime | None = None
    acknowledged_by: StaffName | None = None
    resolved_at: datetime | None = None  # the kiosk saw its cause clear
    notice: AlertNotice | None = None  # whom the hub told about it, and who acknowledged

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None and self.resolved_at is None


@dataclass(frozen=True)
class DispenseLogRow:
    at: datetime
    vend_id: int
    participant_code: str
    medication: str
    lane: int
    units: int
    dropped: int | None
    outcome: str | None  # complete, jam, lane_empty, refused_<reason>...; None: not settled
    witness_staff_id: int | None


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str  # "staff:3", "system", "hub", ...
    action: str  # "jam.lane_reset", ...
    subject: str
    actor_staff: StaffName | None = None  # who "staff:<id>" is
    subject_name: str = ""  # what the subject's id stands for


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    entries: int
    first_bad_seq: int | None


class _Names:
    """The names behind the ids in subjects and actors, read once per listing."""

    def __init__(self, conn: Connection) -> None:
        self.staff = {
            int(i): StaffName(str(n), str(r))
            for i, n, r in conn.execute("SELECT id, name, role FROM staff")
        }
        self.participants = {
            int(i): str(c) for i, c in conn.execute("SELECT id, code FROM participants")
        }
        self.medications = {
            int(i): f"{n} {s}"
            for i, n, s in conn.execute("SELECT id, name, strength FROM medications")
        }
        self.prescriptions = {
            int(i): f"{c} · {n} {s}"
            for i, c, n, s in conn.execute(
                "SELECT x.id, p.code, m.name, m.strength FROM prescriptions x"
                " JOIN participants p ON p.id = x.participant_id"
                " JOIN medications m ON m.id = x.medication_id"
            )
        }

    def actor(self, actor: str) -> StaffName | None:
        head, _, tail = actor.partition(":")
        return self.staff.get(int(tail)) if head == "staff" and tail.isdigit() else None

    def subject(self, subject: str) -> str:
        head, _, tail = subject.partition(":")
        if not tail.isdigit():
            return ""
        key = int(tail)
        if head == "staff":
            found = self.staff.get(key)
            return found.name if found else ""
        table = {
            "participant": self.participants,
            "medication": self.medications,
            "prescription": self.prescriptions,
        }.get(head, {})
        return table.get(key, "")


class LogService:
    def __init__(self, store: Store, clock: Clock, staff: StaffService) -> None:
        self._store = store
        self._clock = clock
        self._staff = staff

    def alerts(self, session: StaffSession) -> list[Alert]:
        """The open alerts (neither acknowledged nor resolved), newest first."""
        return self._alerts(session, f"WHERE {OPEN_ALERT}", HISTORY_LIMIT)

    def history(self, session: StaffSession, limit: int = HISTORY_LIMIT) -> list[Alert]:
        """Closed alerts, newest first: acknowledged by staff or resolved by the kiosk."""
        return self._alerts(session, f"WHERE NOT ({OPEN_ALERT})", limit)

    def _alerts(self, session: StaffSession, where: str, limit: int) -> list[Alert]:
        self._staff.require(session, Permission.VIEW_LOGS)
        conn = self._store.conn
        rows = conn.execute(
            "SELECT id, kind, subject, message, created_at, acknowledged_at, acknowledged_by,"
            f" resolved_at FROM alerts {where} ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        names = _Names(conn)
        notices = {n.kiosk_alert_id: n for n in sync_repo.alert_notices(conn)}
        return [
            Alert(
                int(r[0]),
                parse_alert_kind(str(r[1])),
                str(r[2]),
                str(r[3]),
                from_text(r[4]),
                names.subject(str(r[2])),
                None if r[5] is None else from_text(r[5]),
                None if r[6] is None else names.staff.get(int(r[6])),
                None if r[7] is None else from_text(r[7]),
                notices.get(int(r[0])),
            )
            for r in rows
        ]

    def hub_notices(self, session: StaffSession) -> list[AlertNotice]:
        """The hub's own alerts about this machine (seen offline...): no kiosk alert."""
        self._staff.require(session, Permission.VIEW_LOGS)
        return [n for n in sync_repo.alert_notices(self._store.conn) if n.kiosk_alert_id is None]

    def hub_link(self) -> HubLink:
        """Whether this machine reaches the hub, from the last sync round."""
        state = sync_repo.read_state(self._store.conn)
        if state.last_attempt_at is None and state.last_success_at is None:
            return HubLink.NO_HUB
        if state.last_error or state.last_success_at is None:
            return HubLink.UNREACHABLE
        return HubLink.REACHED

    def acknowledge(self, session: StaffSession, alert_id: int, note: str = "") -> None:
        self._staff.require(session, Permission.ACK_ALERT)
        now = self._clock.now()
        with self._store.change(
            now,
            session.actor,
            "alert.acknowledged",
            f"alert:{alert_id}",
            {"note": clean_text(note)},
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

    def audit(self, session: StaffSession, limit: int = 200) -> tuple[list[AuditRow], ChainStatus]:
        """The newest entries and the whole chain's status."""
        self._staff.require(session, Permission.VIEW_LOGS)
        conn = self._store.conn
        rows = conn.execute(
            "SELECT seq, at, actor, action, subject FROM audit_log ORDER BY seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        report = audit.verify_chain(conn)
        names = _Names(conn)
        return [
            AuditRow(
                int(a),
                from_text(b),
                str(c),
                str(d),
                str(e),
                names.actor(str(c)),
                names.subject(str(e)),
            )
            for a, b, c, d, e in rows
        ], ChainStatus(report.ok, report.entries, report.first_bad_seq)
