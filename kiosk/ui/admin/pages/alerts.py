"""Alerts staff must see and acknowledge: jams, discrepancies, tamper, holds, sync. The
history shows the closed ones: acknowledged by staff, or resolved by the kiosk once their
cause cleared."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QVBoxLayout

from kiosk.domain.permissions import Permission
from kiosk.i18n import _
from kiosk.services.logs import Alert
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import fill, table
from kiosk.ui.admin.wording import (
    alert_kind_text,
    alert_state_text,
    alert_text,
    moment,
    subject_text,
)


class AlertsPage(AdminPage):
    key = "alerts"
    order = 10
    permission = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.table = table([_("When"), _("Kind"), _("About"), _("Message"), _("State")])
        self.ack = QPushButton(_("Acknowledge selected"))
        self.ack.clicked.connect(lambda _checked=False: self.acknowledge())
        self.history = QCheckBox(_("Show closed alerts too"))
        self.history.toggled.connect(lambda _checked: self.activated())
        row = QHBoxLayout()
        row.addWidget(self.ack)
        row.addWidget(self.history)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._alerts: list[Alert] = []

    @property
    def title(self) -> str:
        return _("Alerts")

    def activated(self) -> None:
        logs, session, history = self.ctx.services.logs, self.ctx.session, self.history.isChecked()

        def read() -> list[Alert]:
            return logs.alerts(session) + (logs.history(session) if history else [])

        self.ctx.run(read, self._show)

    def _show(self, alerts: list[Alert]) -> None:
        tz = self.ctx.site.timezone
        self._alerts = alerts
        fill(
            self.table,
            [
                (
                    moment(a.created_at, tz),
                    alert_kind_text(a.kind),
                    subject_text(a.subject, a.subject_name),
                    alert_text(a),
                    alert_state_text(a, tz),
                )
                for a in alerts
            ],
        )
        if not any(a.open for a in alerts):
            self.ctx.show_message(_("No open alerts."), False)

    def acknowledge(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self._alerts) or not self._alerts[row].open:
            self.ctx.show_message(_("Select an open alert first."), True)
            return
        alert_id = self._alerts[row].id

        def done(_result: None) -> None:
            self.ctx.show_message(_("Alert acknowledged."), False)
            self.activated()

        self.ctx.run(lambda: self.ctx.services.logs.acknowledge(self.ctx.session, alert_id), done)
