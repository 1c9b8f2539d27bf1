"""Alerts staff must see and acknowledge: jams, discrepancies, tamper, holds, sync. The
history shows the closed ones: acknowledged by staff, or resolved by the kiosk once their
cause cleared."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QVBoxLayout

from kiosk.domain.alerts import AlertKind
from kiosk.domain.permissions import Permission
from kiosk.domain.told import AlertNotice, HubLink
from kiosk.i18n import _
from kiosk.services.logs import Alert
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.pages.widgets import FlowLayout, fill, table
from kiosk.ui.admin.wording import (
    alert_kind_text,
    alert_state_text,
    alert_text,
    hub_alert_text,
    moment,
    subject_text,
    told_text,
)

JAM_ALERT = AlertKind.LANE_JAMMED  # the alert kind the jam recovery answers


class AlertsPage(AdminPage):
    key = "alerts"
    order = 10
    permission = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.table = table(
            [_("When"), _("Kind"), _("About"), _("Message"), _("State"), _("Who was told")],
            stretch=5,
            optional=(1, 2, 3),
        )
        # The hub's own alerts about this machine (seen offline): whom it told.
        self.hub_told = QLabel()
        self.hub_told.setWordWrap(True)
        self.hub_told.setVisible(False)
        self.ack = QPushButton(_("Acknowledge selected"))
        self.ack.clicked.connect(lambda _checked=False: self.acknowledge())
        # A jam alert leads straight to the jam recovery, its lane chosen.
        self.clear_jam = QPushButton(_("Clear this jam"))
        self.clear_jam.clicked.connect(lambda _checked=False: self.open_jam())
        self.clear_jam.setEnabled(False)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.history = QCheckBox(_("Show closed alerts too"))
        self.history.toggled.connect(lambda _checked: self.activated())
        buttons = FlowLayout()  # wraps in portrait (French words are longer)
        buttons.addWidget(self.clear_jam)
        buttons.addWidget(self.ack)
        buttons.addWidget(self.history)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hub_told)
        layout.addLayout(buttons)
        self._alerts: list[Alert] = []
        self._link = HubLink.NO_HUB

    @property
    def title(self) -> str:
        return _("Alerts")

    def activated(self) -> None:
        logs, session, history = self.ctx.services.logs, self.ctx.session, self.history.isChecked()

        def read() -> tuple[list[Alert], list[AlertNotice], HubLink]:
            alerts = logs.alerts(session) + (logs.history(session) if history else [])
            return alerts, logs.hub_notices(session), logs.hub_link()

        self.ctx.run(read, self._show)

    def _told(self, alert: Alert) -> str:
        if not alert.open and alert.notice is None:
            return ""  # closed before the hub told anyone: nothing to chase
        on_call = self.ctx.services.health.lockout.on_call
        return told_text(alert.notice, self._link, on_call, self.ctx.site.timezone)

    def _show(self, read: tuple[list[Alert], list[AlertNotice], HubLink]) -> None:
        alerts, hub_notices, self._link = read
        tz = self.ctx.site.timezone
        on_call = self.ctx.services.health.lockout.on_call
        lines = [
            _("The hub: {kind}. {told}").format(
                kind=hub_alert_text(notice.kind), told=told_text(notice, self._link, on_call, tz)
            )
            for notice in hub_notices
        ]
        self.hub_told.setText("\n".join(lines))
        self.hub_told.setVisible(bool(lines))
        self._alerts = alerts
        self._selection_changed()
        fill(
            self.table,
            [
                (
                    moment(a.created_at, tz),
                    alert_kind_text(a.kind),
                    subject_text(a.subject, a.subject_name),
                    alert_text(a),
                    alert_state_text(a, tz),
                    self._told(a),
                )
                for a in alerts
            ],
        )
        if not any(a.open for a in alerts):
            self.ctx.show_message(_("No open alerts."), False)

    def _selected(self) -> Alert | None:
        row = self.table.currentRow()
        selected = self.table.selectionModel().hasSelection()
        return self._alerts[row] if selected and 0 <= row < len(self._alerts) else None

    def _selected_jam(self) -> str | None:
        alert = self._selected()
        jam = alert is not None and alert.open and alert.kind is JAM_ALERT
        return alert.subject if jam and alert is not None else None

    def _selection_changed(self) -> None:
        can = self.ctx.session.can(Permission.RESET_LANE) and self.ctx.open_page is not None
        self.clear_jam.setEnabled(can and self._selected_jam() is not None)

    def open_jam(self) -> None:
        subject = self._selected_jam()
        if subject is not None and self.ctx.open_page is not None:
            self.ctx.open_page("jam", subject)

    def acknowledge(self) -> None:
        alert = self._selected()
        if alert is None or not alert.open:
            self.ctx.show_message(_("Select an open alert first."), True)
            return
        alert_id = alert.id

        def done(_result: None) -> None:
            self.ctx.show_message(_("Alert acknowledged."), False)
            self.activated()

        self.ctx.run(lambda: self.ctx.services.logs.acknowledge(self.ctx.session, alert_id), done)
