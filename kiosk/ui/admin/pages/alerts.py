"""Alerts staff must see and acknowledge: jams, discrepancies, tamper, holds, sync."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QVBoxLayout

from kiosk.domain.permissions import Permission
from kiosk.i18n import _, format_local_day, format_local_time
from kiosk.services.logs import Alert
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import fill, table


class AlertsPage(AdminPage):
    key = "alerts"
    order = 10
    permission = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.table = table([_("When"), _("Kind"), _("About"), _("Message")])
        self.ack = QPushButton(_("Acknowledge selected"))
        self.ack.clicked.connect(lambda _checked=False: self.acknowledge())
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.ack)
        self._ids: list[int] = []

    @property
    def title(self) -> str:
        return _("Alerts")

    def activated(self) -> None:
        self.ctx.run(lambda: self.ctx.services.logs.alerts(self.ctx.session), self._show)

    def _show(self, alerts: list[Alert]) -> None:
        tz = self.ctx.site.timezone
        self._ids = [a.id for a in alerts]
        fill(
            self.table,
            [
                (
                    f"{format_local_day(a.created_at, tz, 'short')} "
                    f"{format_local_time(a.created_at, tz)}",
                    a.kind,
                    a.subject,
                    a.message,
                )
                for a in alerts
            ],
        )
        if not alerts:
            self.ctx.show_message(_("No open alerts."), False)

    def acknowledge(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self._ids):
            self.ctx.show_message(_("Select an alert first."), True)
            return
        alert_id = self._ids[row]

        def done(_result: object) -> None:
            self.ctx.show_message(_("Alert acknowledged."), False)
            self.activated()

        self.ctx.run(lambda: self.ctx.services.logs.acknowledge(self.ctx.session, alert_id), done)
