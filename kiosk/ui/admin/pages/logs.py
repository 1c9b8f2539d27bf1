"""The dispense log (by day and participant) and the audit log with its chain status."""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.domain.permissions import Permission
from kiosk.domain.schedule import dosing_day
from kiosk.i18n import _, format_local_time
from kiosk.services.logs import AuditRow, ChainStatus, DispenseLogRow
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import fill, picked_day, table
from kiosk.ui.admin.wording import (
    actor_text,
    audit_action_text,
    audit_subject_text,
    chain_text,
    outcome_text,
)


class LogsPage(AdminPage):
    key = "logs"
    order = 60
    permission = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        today = dosing_day(ctx.clock.now(), ctx.site)
        self.day = QDateEdit(QDate(today.year, today.month, today.day))
        self.day.setCalendarPopup(True)
        self.participant = QLineEdit()
        self.participant.setPlaceholderText(_("Participant id, e.g. P-0001"))
        show = QPushButton(_("Show"))
        show.clicked.connect(lambda _checked=False: self.load_dispenses())
        filters = QHBoxLayout()
        filters.addWidget(self.day)
        filters.addWidget(self.participant, 1)
        filters.addWidget(show)
        self.dispenses = table(
            [
                _("Time"),
                _("Vend"),
                _("Participant"),
                _("Medication"),
                _("Lane"),
                _("Units"),
                _("Dropped"),
                _("Outcome"),
            ],
            stretch=3,
            optional=(2, 6, 4, 5, 1),
        )
        dispense_tab = QWidget()
        dl = QVBoxLayout(dispense_tab)
        dl.addLayout(filters)
        dl.addWidget(self.dispenses, 1)
        self.chain = QLabel("")
        self.audit = table(
            [_("#"), _("Time"), _("Who"), _("What"), _("About")], stretch=3, optional=(4, 0)
        )
        audit_tab = QWidget()
        al = QVBoxLayout(audit_tab)
        al.addWidget(self.chain)
        al.addWidget(self.audit, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(dispense_tab, _("Dispense log"))
        self.tabs.addTab(audit_tab, _("Audit log"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)

    @property
    def title(self) -> str:
        return _("Logs")

    def activated(self) -> None:
        self.load_dispenses()
        self.ctx.run(lambda: self.ctx.services.logs.audit(self.ctx.session), self._show_audit)

    def load_dispenses(self) -> None:
        day = picked_day(self.day)
        code = self.participant.text().strip()
        self.ctx.run(
            lambda: self.ctx.services.logs.dispenses(self.ctx.session, day, self.ctx.site, code),
            self._show_dispenses,
        )

    def _show_dispenses(self, rows: list[DispenseLogRow]) -> None:
        tz = self.ctx.site.timezone
        fill(
            self.dispenses,
            [
                (
                    format_local_time(r.at, tz),
                    r.vend_id,
                    r.participant_code,
                    r.medication,
                    r.lane,
                    r.units,
                    r.dropped,
                    outcome_text(r.outcome),
                )
                for r in rows
            ],
        )

    def _show_audit(self, result: tuple[list[AuditRow], ChainStatus]) -> None:
        rows, status = result
        tz = self.ctx.site.timezone
        self.chain.setText(chain_text(status))
        fill(
            self.audit,
            [
                (
                    r.seq,
                    format_local_time(r.at, tz),
                    actor_text(r),
                    audit_action_text(r.action),
                    audit_subject_text(r),
                )
                for r in rows
            ],
        )
