"""Sync with the hub: last success, events waiting, last error, cursor, open conflicts, the
events the hub set aside (when there are any), and "Sync now" (which only wakes the sync
thread: the network is never used from here)."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.domain.permissions import Permission
from kiosk.i18n import _, format_local_day, format_local_time
from kiosk.services.sync.facade import SetAsideEvent, SyncStatus
from kiosk.services.updates.facade import SoftwareStatus
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.wording import audit_action_text, software_text


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
        self.software = QLabel("")
        self.software.setWordWrap(True)
        form = QFormLayout()
        form.addRow(_("Last successful sync"), self.last_success)
        form.addRow(_("Events waiting"), self.waiting)
        form.addRow(_("Last error"), self.last_error)
        form.addRow(_("Hub cursor"), self.hub_cursor)
        form.addRow(_("Open conflicts"), self.conflicts)
        form.addRow(_("Software"), self.software)
        self.sync_button = QPushButton(_("Sync now"))
        self.sync_button.clicked.connect(lambda _checked=False: self.sync_now())
        # Events the hub set aside: a heading and one line each; hidden when there is none.
        self.set_aside = QWidget()
        self.set_aside_heading = QLabel(_("Events the hub set aside"))
        self.set_aside_heading.setStyleSheet("font-weight: 600;")
        self.set_aside_lines = QVBoxLayout()
        set_aside_layout = QVBoxLayout(self.set_aside)
        set_aside_layout.setContentsMargins(0, 0, 0, 0)
        set_aside_layout.addWidget(self.set_aside_heading)
        set_aside_layout.addLayout(self.set_aside_lines)
        self.set_aside.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addLayout(form)
        layout.addWidget(self.sync_button)
        layout.addWidget(self.set_aside)
        layout.addStretch(1)

    @property
    def title(self) -> str:
        return _("Sync")

    def activated(self) -> None:
        self.ctx.run(self.ctx.services.sync.status, self._show)
        software = self.ctx.services.software
        if software is not None:
            self.ctx.run(software.status, self._show_software)

    def _show_software(self, status: SoftwareStatus) -> None:
        self.software.setText(software_text(status, self.ctx.site.timezone))

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
        self._show_set_aside(status)

    def _show_set_aside(self, status: SyncStatus) -> None:
        while self.set_aside_lines.count():
            item = self.set_aside_lines.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        lines = [set_aside_text(event) for event in status.set_aside]
        hidden = status.set_aside_total - len(lines)
        if hidden > 0:
            lines.append(_("And {count} earlier ones.").format(count=hidden))
        for text in lines:
            label = QLabel(text)
            label.setWordWrap(True)
            self.set_aside_lines.addWidget(label)
        self.set_aside.setVisible(bool(lines))

    def sync_now(self) -> None:
        facade = self.ctx.services.sync

        def done(started: bool) -> None:
            self.ctx.show_message(
                _("Sync started.") if started else _("Sync is not configured."), not started
            )
            self.activated()

        self.ctx.run(facade.sync_now, done)


def set_aside_text(event: SetAsideEvent) -> str:
    return _(
        "Event #{seq} ({what}) was set aside by the hub: {reason}. The hub's staff will review it."
    ).format(seq=event.seq, what=audit_action_text(event.type), reason=event.reason.rstrip(". "))
