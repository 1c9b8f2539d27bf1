"""Alerts staff must see and acknowledge: jams, discrepancies, tamper, holds, sync."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout

from kiosk.domain.permissions import Permission
from kiosk.i18n import _, format_local_day, format_local_time
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import fill, table

JAM_ALERT = "lane_jammed"  # the alert kind the jam recovery answers


class AlertsPage(AdminPage):
    key = "alerts"
    order = 10
    permission = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.table = table(
            [_("When"), _("Kind"), _("About"), _("Message")], stretch=3, optional=(1, 2)
        )
        self.ack = QPushButton(_("Acknowledge selected"))
        self.ack.clicked.connect(lambda _checked=False: self.acknowledge())
        # A jam alert leads straight to the jam recovery, its lane chosen.
        self.clear_jam = QPushButton(_("Clear this jam"))
        self.clear_jam.clicked.connect(lambda _checked=False: self.open_jam())
        self.clear_jam.setEnabled(False)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_jam)
        buttons.addWidget(self.ack)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._ids: list[int] = []
        self._jams: list[str | None] = []  # per row: the jam alert's subject ("lane:2")

    @property
    def title(self) -> str:
        return _("Alerts")

    def activated(self) -> None:
        self.ctx.run(lambda: self.ctx.services.logs.alerts(self.ctx.session), self._show)

    def _show(self, alerts: list) -> None:  # type: ignore[type-arg]
        tz = self.ctx.site.timezone
        self._ids = [a.id for a in alerts]
        self._jams = [a.subject if a.kind == JAM_ALERT else None for a in alerts]
        self._selection_changed()
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

    def _selected_jam(self) -> str | None:
        row = self.table.currentRow()
        selected = self.table.selectionModel().hasSelection()
        return self._jams[row] if selected and 0 <= row < len(self._jams) else None

    def _selection_changed(self) -> None:
        can = self.ctx.session.can(Permission.RESET_LANE) and self.ctx.open_page is not None
        self.clear_jam.setEnabled(can and self._selected_jam() is not None)

    def open_jam(self) -> None:
        subject = self._selected_jam()
        if subject is not None and self.ctx.open_page is not None:
            self.ctx.open_page("jam", subject)

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
