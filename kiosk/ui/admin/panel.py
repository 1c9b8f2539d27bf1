"""The admin panel: header, page navigation, message bar, automatic logout."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QChildEvent, QEvent, QObject, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import _
from kiosk.services.staff import IDLE_LOGOUT_SECONDS
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages import build_pages
from kiosk.ui.admin.wording import role_text
from kiosk.version import version_line

ADMIN_STYLE = """
QWidget#adminRoot { background: #101418; }
QWidget#adminRoot QLabel { color: #FFFFFF; font-size: 18pt; }
QLabel#adminTitle { font-size: 24pt; font-weight: 600; }
QLabel#messageBar { padding: 8px; border-radius: 8px; }
QListWidget { background: #1B2129; color: #FFFFFF; font-size: 18pt; border: none; }
QListWidget::item { min-height: 64px; padding-left: 12px; }
QListWidget::item:selected { background: #FFD84D; color: #000000; }
QPushButton { background: #1F2833; color: #FFFFFF; border: 2px solid #FFFFFF;
    border-radius: 10px; font-size: 18pt; padding: 8px 18px; min-height: 64px; }
QPushButton:disabled { color: #8A8F98; border-color: #8A8F98; }
QLineEdit, QSpinBox, QComboBox, QDateEdit, QTimeEdit, QTextEdit, QPlainTextEdit {
    background: #FFFFFF; color: #000000; font-size: 18pt; min-height: 48px; }
QTableWidget { background: #FFFFFF; color: #000000; font-size: 14pt; }
QCheckBox, QRadioButton { color: #FFFFFF; font-size: 18pt; }
QTabBar::tab { font-size: 16pt; min-height: 48px; padding: 4px 16px; }
QHeaderView::section { font-size: 14pt; padding: 4px; }
QGroupBox { color: #FFFFFF; font-size: 16pt; }
"""


class _ActivityWatcher(QObject):
    """Any touch, click or key restarts the logout countdown, also on widgets a page adds
    later (the jam page's lane buttons)."""

    def __init__(self, on_activity: Callable[[], None]) -> None:
        super().__init__()
        self._on_activity = on_activity

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QChildEvent) and event.type() is QEvent.Type.ChildAdded:
            child = event.child()
            if isinstance(child, QWidget):
                child.installEventFilter(self)
        if event.type() in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.KeyPress,
            QEvent.Type.TouchBegin,
        ):
            self._on_activity()
        return False


class AdminPanel(QWidget):
    def __init__(
        self,
        ctx_factory: Callable[[Callable[[str, bool], None]], AdminContext],
        on_logout: Callable[[str], None],
    ) -> None:
        super().__init__()
        self.setObjectName("adminRoot")
        self.setStyleSheet(ADMIN_STYLE)
        self._on_logout = on_logout
        self.ctx = ctx_factory(self.show_message)
        self.ctx.open_page = self.open_page_about
        session = self.ctx.session
        self.title = QLabel(
            _("Staff: {name} ({role})").format(name=session.name, role=role_text(session.role))
        )
        self.title.setObjectName("adminTitle")
        self.version = QLabel(version_line())  # support asks for it first
        self.logout_button = QPushButton(_("Log out"))
        self.logout_button.clicked.connect(lambda _checked=False: self.logout("logout"))
        self.message = QLabel("")
        self.message.setObjectName("messageBar")
        self.message.setWordWrap(True)
        self.nav = QListWidget()
        self.nav.setFixedWidth(320)
        self.stack = QStackedWidget()
        self.pages = build_pages(self.ctx)
        for page in self.pages:
            self.nav.addItem(page.title)
            self.stack.addWidget(page)
        self.nav.currentRowChanged.connect(self._open)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.version)
        header.addWidget(self.logout_button)
        body = QHBoxLayout()
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.message)
        layout.addLayout(body, 1)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_LOGOUT_SECONDS * 1000)
        self._idle.timeout.connect(lambda: self.logout("auto_logout"))
        self._watcher = _ActivityWatcher(self._idle.start)
        self.installEventFilter(self._watcher)
        for child in self.findChildren(QWidget):
            child.installEventFilter(self._watcher)
        self._idle.start()
        if self.pages:
            self.nav.setCurrentRow(0)

    def page(self, key: str) -> QWidget:
        return next(p for p in self.pages if p.key == key)

    def open_page(self, key: str) -> None:
        self.nav.setCurrentRow([p.key for p in self.pages].index(key))

    def open_page_about(self, key: str, subject: str) -> None:
        """Another page, about ``subject`` (from an alert: the jam page for "lane:2")."""
        if key in [p.key for p in self.pages]:
            self.open_page(key)
            self.pages[self.nav.currentRow()].show_subject(subject)

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.pages):
            self.stack.setCurrentIndex(row)
            self.show_message("", False)
            self.pages[row].activated()

    def show_message(self, text: str, is_error: bool) -> None:
        colour = "#FFD84D" if is_error else "#7CFFB2"
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {colour};" if text else "")

    def logout(self, reason: str) -> None:
        self._idle.stop()
        for page in self.pages:
            page.closing()
        self._on_logout(reason)

    def shutdown(self) -> None:
        self._idle.stop()
        for page in self.pages:
            page.closing()
