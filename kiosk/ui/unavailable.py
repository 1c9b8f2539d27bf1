"""Start-up without a usable store: out of service on screen, retrying in the background.

The kiosk never exits on a fault it can wait out (DESIGN invariant 8). When the database
cannot be opened (a missing or wrong key, an unreadable file) this window says so, tries
again every few seconds, and reports ``recovered`` once the store opens: the caller then
starts the kiosk afresh, so nothing half-built is ever used.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

from kiosk.domain.flow import FlowState, Screen
from kiosk.domain.model import SiteContact
from kiosk.domain.told import NOT_RECORDED
from kiosk.i18n import _
from kiosk.ui import theme
from kiosk.ui.screens import OutOfServiceScreen
from kiosk.ui.texts import Icon, ScreenText, told_text

RETRY_MS = 5000


class StoreUnavailableWindow(QMainWindow):
    def __init__(
        self,
        reason: str,
        retry: Callable[[], str],
        retry_ms: int = RETRY_MS,
        contact: SiteContact | None = None,
    ) -> None:
        """``retry`` opens the store again and returns '' on success, else the reason."""
        super().__init__()
        self._contact = contact or SiteContact()
        self.recovered = False
        self._retry = retry
        self.page = OutOfServiceScreen(lambda _event: None)
        self.page.setObjectName("participantRoot")
        self.page.setStyleSheet(theme.STYLESHEET)
        self.setCentralWidget(self.page)
        self._show(reason)
        self._timer = QTimer(self)
        self._timer.setInterval(retry_ms)
        self._timer.timeout.connect(self._try_again)
        self._timer.start()

    def _show(self, reason: str) -> None:
        # Nothing can be recorded without the store, so nobody has been told by this machine:
        # the screen sends people to staff instead (kiosk.domain.told).
        told = told_text(NOT_RECORDED, self._contact, "UTC")
        text = ScreenText(Icon.STOP, _("Temporarily out of service"), told, "attention")
        state = FlowState(Screen.OUT_OF_SERVICE, "en", "en", faults=("database",))
        self.page.show_state(text, state)
        # The staff line names the cause (no personal data: a path or a key problem).
        self.page.reasons.setText(self.page.reasons.text() + "\n" + reason)

    def _try_again(self) -> None:
        reason = self._retry()
        if reason:
            self._show(reason)
            return
        self.recovered = True
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.quit()
