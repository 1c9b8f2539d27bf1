"""The full-screen kiosk window (windowed for desktops and the demo)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow

from kiosk.domain.flow import FlowState, Screen
from kiosk.domain.model import SiteClock
from kiosk.services.clock import Clock
from kiosk.ui.flow_driver import FlowDriver
from kiosk.ui.screens import ParticipantView

CLOCK_REFRESH_MS = 30_000


class MainWindow(QMainWindow):
    def __init__(self, driver: FlowDriver, clock: Clock, site: SiteClock, title: str) -> None:
        super().__init__()
        self.driver = driver
        self.clock = clock
        self.site = site
        self.setWindowTitle(title)
        self.view = ParticipantView(driver.send)
        self.setCentralWidget(self.view)
        driver.state_changed.connect(self.show_state)
        # The idle screen shows the local time; refresh it now and then.
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(CLOCK_REFRESH_MS)
        self._clock_timer.timeout.connect(self._refresh_clock)
        self._clock_timer.start()
        self.show_state(driver.state)

    def show_state(self, state: FlowState) -> None:
        self.view.show_state(state, self.clock.now(), self.site)

    def _refresh_clock(self) -> None:
        if self.driver.state.screen is Screen.IDLE:
            self.show_state(self.driver.state)

    def shutdown(self) -> None:
        self._clock_timer.stop()
        self.driver.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
