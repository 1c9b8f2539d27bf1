"""Sync with the hub: last success, events waiting, last error, cursor, open conflicts, and
"Sync now" (which only wakes the sync thread: the network is never used from here)."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout

from kiosk.domain.permissions import Permission
from kiosk.i18n import _, format_local_day, format_local_time
from kiosk.services.sync.facade import SyncStatus
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage


class SyncPage(AdminPage):
    key = "sync"
    order = 65
    permission = Permission.VIEW_LOGS

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.last_success = QLabel("")
        self.waiting = QLabel("")
        self.last_error = QLabel("")
        self.last_error.setWordWrap(True)
        self.hub_cursor = QLabel("")
        self.conflicts = QLabel("")
        form = QFormLayout()
        form.addRow(_("Last successful sync"), self.last_success)
        form.addRow(_("Events waiting"), self.waiting)
        form.addRow(_("Last error"), self.last_error)
        form.addRow(_("Hub cursor"), self.hub_cursor)
        form.addRow(_("Open conflicts"), self.conflicts)
        self.sync_button = QPushButton(_("Sync now"))
        self.sync_button.clicked.connect(lambda _checked=False: self.sync_now())
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addLayout(form)
        layout.addWidget(self.sync_button)
        layout.addStretch(1)

    @property
    def title(self) -> str:
        return _("Sync")

    def activated(self) -> None:
        self.ctx.run(self.ctx.services.sync.status, self._show)

    def _show(self, status: SyncStatus) -> None:
        self.sync_button.setEnabled(status.configured)
        self.state.setText(
            _("Sync with the hub runs in the background.")
            if status.configured
            else _("Sync with the hub is not configured on this kiosk.")
        )
        tz = self.ctx.site.timezone
        at = status.last_success_at
        self.last_success.setText(
            _("never")
            if at is None
            else f"{format_local_day(at, tz, 'medium')} {format_local_time(at, tz)}"
        )
        self.waiting.setText(str(status.events_waiting))
        self.last_error.setText(status.last_error or _("none"))
        self.hub_cursor.setText(str(status.cursor))
        self.conflicts.setText(str(status.open_conflicts))

    def sync_now(self) -> None:
        facade = self.ctx.services.sync

        def done(started: bool) -> None:
            self.ctx.show_message(
                _("Sync started.") if started else _("Sync is not configured."), not started
            )
            self.activated()

        self.ctx.run(facade.sync_now, done)
