"""The full-screen kiosk window (windowed for desktops and the demo)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget

from kiosk.domain.flow import FlowState, Screen
from kiosk.domain.model import SiteClock, SiteContact
from kiosk.services.clock import Clock
from kiosk.services.staff import StaffSession
from kiosk.ui import theme
from kiosk.ui.admin.context import AdminContext, AdminServices
from kiosk.ui.admin.login import LoginScreen
from kiosk.ui.admin.panel import AdminPanel
from kiosk.ui.flow_driver import FlowDriver
from kiosk.ui.screen_fit import ScreenFit
from kiosk.ui.screens import ParticipantView

CLOCK_REFRESH_MS = 30_000
STAFF_ENTRY = (Screen.IDLE, Screen.OUT_OF_SERVICE)  # the screens staff may log in from


class MainWindow(QMainWindow):
    def __init__(
        self,
        driver: FlowDriver,
        clock: Clock,
        site: SiteClock,
        title: str,
        admin: AdminServices | None = None,
        contact: SiteContact | None = None,
    ) -> None:
        super().__init__()
        self.driver = driver
        self.clock = clock
        self.site = site
        self.admin_services = admin
        self.setWindowTitle(title)
        self.view = ParticipantView(
            driver.send,
            self.open_staff_login if admin else None,
            contact,
            self.ask_on_call if admin else None,
            driver.start_assist,
        )
        self._ask_about: str | None = None  # after sign-in, the approval page about this
        self.login: LoginScreen | None = None
        self.panel: AdminPanel | None = None
        self.fit: ScreenFit | None = None
        self.pages = QStackedWidget()
        self.pages.addWidget(self.view)
        self.setCentralWidget(self.pages)
        driver.state_changed.connect(self.show_state)
        # The idle screen shows the local time; refresh it now and then.
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(CLOCK_REFRESH_MS)
        self._clock_timer.timeout.connect(self._refresh_clock)
        self._clock_timer.start()
        self.show_state(driver.state)

    def show_on_screen(self, *, fullscreen: bool) -> None:
        """Fill the primary screen (and follow it), or a window no larger than it."""
        self.fit = ScreenFit(self, fullscreen=fullscreen)
        self.fit.show()

    # ------------------------------------------------------------ staff

    def open_staff_login(self) -> None:
        """From idle (the hidden corner) or out of service (the Staff button): staff need
        the panel most when the kiosk cannot serve."""
        if self.admin_services is None or self.driver.state.screen not in STAFF_ENTRY:
            return
        self.driver.pause()
        staff = self.admin_services.staff
        self.login = LoginScreen(
            self.driver.backend,
            staff.login,
            self._logged_in,
            self._back_to_participants,
        )
        self.login.setStyleSheet(theme.STYLESHEET)
        self.login.setObjectName("participantRoot")
        self.login.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.pages.addWidget(self.login)
        self.pages.setCurrentWidget(self.login)

    def ask_on_call(self, subject: str) -> None:
        """A lockout's "Ask the on-call clinician": staff sign in (whoever asks is on record),
        then the panel opens on the approval page about ``subject`` ("door", "tamper")."""
        self.open_staff_login()
        if self.login is not None:
            self._ask_about = subject

    def _logged_in(self, session: StaffSession) -> None:
        assert self.admin_services is not None
        services = self.admin_services
        services.health.staff_session = True  # the service door may open now

        def context(show: Callable[[str, bool], None]) -> AdminContext:
            return AdminContext(services, self.driver.backend, self.site, self.clock, session, show)

        self.panel = AdminPanel(context, lambda reason: self._logged_out(session, reason))
        self.pages.addWidget(self.panel)
        self.pages.setCurrentWidget(self.panel)
        self._drop_login()
        subject, self._ask_about = self._ask_about, None
        if subject is not None:
            self.panel.open_page_about("approval", subject)

    def _logged_out(self, session: StaffSession, reason: str) -> None:
        assert self.admin_services is not None
        staff = self.admin_services.staff
        self.driver.backend.submit(lambda: staff.logout(session, reason))
        self.admin_services.health.staff_session = False
        if self.panel is not None:
            self.panel.shutdown()
            self.pages.removeWidget(self.panel)
            self.panel.deleteLater()
            self.panel = None
        self._back_to_participants()

    def _drop_login(self) -> None:
        if self.login is not None:
            self.pages.removeWidget(self.login)
            self.login.deleteLater()
            self.login = None

    def _back_to_participants(self) -> None:
        self._ask_about = None
        self._drop_login()
        self.pages.setCurrentWidget(self.view)
        self.driver.resume()
        self.driver.check_health()

    def show_state(self, state: FlowState) -> None:
        self.view.show_state(state, self.clock.now(), self.site)

    def _refresh_clock(self) -> None:
        if self.driver.state.screen is Screen.IDLE:
            self.show_state(self.driver.state)

    def shutdown(self) -> None:
        self._clock_timer.stop()
        if self.panel is not None:
            self.panel.shutdown()
        self.driver.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
