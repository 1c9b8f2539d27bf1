"""Sync with the hub: last success, events waiting, last error, cursor, open conflicts, and
"Sync now" (which only wakes the sync thread: the network is never used from here)."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout

from kiosk.domain.permissions import Permission
from kiosk.i18n import _, format_local_day, format_local_time
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

    def _facade(self) -> object | None:
        return self.ctx.services.extra.get("sync")

    def activated(self) -> None:
        facade = self._facade()
        if facade is None:
            self._show(None)
            return
        self.ctx.run(facade.status, self._show)  # type: ignore[attr-defined]

    def _show(self, status: object) -> None:
        if status is None:
            self.state.setText(_("Sync with the hub is not configured on this kiosk."))
            self.sync_button.setEnabled(False)
            return
        s = status  # a kiosk.services.sync.SyncStatus
        configured = bool(s.configured)  # type: ignore[attr-defined]
        self.sync_button.setEnabled(configured)
        self.state.setText(
            _("Sync with the hub runs in the background.")
            if configured
            else _("Sync with the hub is not configured on this kiosk.")
        )
        tz = self.ctx.site.timezone
        at = s.last_success_at  # type: ignore[attr-defined]
        self.last_success.setText(
            _("never")
            if at is None
            else f"{format_local_day(at, tz, 'medium')} {format_local_time(at, tz)}"
        )
        self.waiting.setText(str(s.events_waiting))  # type: ignore[attr-defined]
        self.last_error.setText(s.last_error or _("none"))  # type: ignore[attr-defined]
        self.hub_cursor.setText(str(s.cursor))  # type: ignore[attr-defined]
        self.conflicts.setText(str(s.open_conflicts))  # type: ignore[attr-defined]

    def sync_now(self) -> None:
        facade = self._facade()
        if facade is None:
            return

        def done(started: object) -> None:
            self.ctx.show_message(
                _("Sync started.") if started else _("Sync is not configured."), not started
            )
            self.activated()

        self.ctx.run(facade.sync_now, done)  # type: ignore[attr-defined]
