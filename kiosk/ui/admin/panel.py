"""The admin panel: header, page navigation, message bar, automatic logout.

It fits the screen in both orientations: in portrait the navigation is a grid of big buttons
above the page, in landscape a column beside it; every page sits in a scroll area that only
scrolls down (never sideways); the pages' ``AdaptiveBox`` sections stack in portrait, and
their forms wrap long rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QChildEvent, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import _
from kiosk.services.staff import IDLE_LOGOUT_SECONDS
from kiosk.ui import theme
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.howto import HowToPanel
from kiosk.ui.admin.pages import build_pages
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.admin.wording import role_text
from kiosk.version import version_line

T = theme.STAFF_TOUCH_PX
# Qt's own arrow pictures (compiled into QtWidgets): a styled spin box draws none by itself.
ARROWS = ":/qt-project.org/styles/commonstyle/images"
ADMIN_STYLE = f"""
QWidget#adminRoot {{ background: {theme.STAFF_BACKGROUND}; }}
QWidget#adminRoot QLabel {{ color: #FFFFFF; font-size: 18pt; }}
QLabel#adminTitle {{ font-size: 24pt; font-weight: 600; }}
QLabel#messageBar {{ padding: 8px; border-radius: 8px; }}
QScrollArea#adminPage, QScrollArea#adminPage > QWidget > QWidget {{ background: transparent; }}
QPushButton {{ background: {theme.STAFF_BUTTON_BG}; color: #FFFFFF; border: 2px solid #FFFFFF;
    border-radius: 10px; font-size: 18pt; padding: 8px 18px; min-height: {T - 20}px; }}
QPushButton:disabled {{ color: {theme.DISABLED_TEXT}; border-color: {theme.DISABLED_TEXT}; }}
QPushButton#navButton {{ text-align: left; background: {theme.STAFF_PANEL}; border: none; }}
QPushButton#navButton:checked {{ background: {theme.ACCENT}; color: #000000; }}
QLineEdit, QSpinBox, QComboBox, QDateEdit, QTimeEdit, QTextEdit, QPlainTextEdit {{
    background: #FFFFFF; color: #000000; font-size: 18pt; min-height: {T}px; }}
QLineEdit:disabled, QSpinBox:disabled, QComboBox:disabled {{
    background: #D9D9D9; color: #595959; }}
QAbstractSpinBox {{ padding-right: {2 * T}px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{
    subcontrol-origin: border; width: {T}px; border-left: 2px solid #101418;
    background: #D5DBE3; }}
QAbstractSpinBox::up-button {{ subcontrol-position: center right; height: {T}px; }}
QAbstractSpinBox::down-button {{ subcontrol-position: center right; right: {T}px;
    height: {T}px; }}
QAbstractSpinBox::up-arrow {{ image: url({ARROWS}/arrow-up-32.png); width: 28px; height: 28px; }}
QAbstractSpinBox::down-arrow {{ image: url({ARROWS}/arrow-down-32.png); width: 28px;
    height: 28px; }}
QDateEdit::drop-down {{ subcontrol-origin: border; subcontrol-position: center right;
    width: {T}px; border-left: 2px solid #101418; background: #D5DBE3; }}
QComboBox::drop-down {{ width: {T}px; }}
QComboBox QAbstractItemView {{ background: #FFFFFF; color: #000000; font-size: 18pt; }}
QComboBox QAbstractItemView::item {{ min-height: {T}px; }}
QTableWidget {{ background: #FFFFFF; color: #000000; font-size: 16pt;
    selection-background-color: {theme.ACCENT}; selection-color: #000000; }}
QCheckBox, QRadioButton {{ color: #FFFFFF; font-size: 18pt; min-height: {T}px; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 36px; height: 36px; }}
QTabBar::tab {{ font-size: 18pt; min-height: {T}px; min-width: {2 * T}px; padding: 4px 16px; }}
QHeaderView::section {{ font-size: 14pt; padding: 4px; }}
QGroupBox {{ color: #FFFFFF; font-size: 16pt; }}
QScrollBar:vertical {{ width: {T}px; background: {theme.STAFF_PANEL}; }}
QScrollBar:horizontal {{ height: {T}px; background: {theme.STAFF_PANEL}; }}
QScrollBar::handle {{ background: #8A95A3; border-radius: 10px; margin: 6px; }}
QScrollBar::handle:vertical {{ min-height: {2 * T}px; }}
QScrollBar::handle:horizontal {{ min-width: {2 * T}px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
"""
# Portrait: the navigation is this many buttons a row, above the page.
NAV_COLUMNS_PORTRAIT = 3


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


class Navigation(QWidget):
    """One big checkable button a page: a grid above the page in portrait, a column beside
    it in landscape."""

    def __init__(self, titles: Sequence[str], on_open: Callable[[int], None]) -> None:
        super().__init__()
        self._on_open = on_open
        self.buttons: list[QPushButton] = []
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        for row, title in enumerate(titles):
            button = QPushButton(title)
            button.setObjectName("navButton")
            button.setCheckable(True)
            button.setMinimumHeight(theme.STAFF_TOUCH_PX)
            button.clicked.connect(lambda _checked=False, r=row: self._clicked(r))
            self._group.addButton(button, row)
            self.buttons.append(button)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(8)
        self._columns = 0
        self.set_columns(1)

    def set_columns(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for button in self.buttons:
            self._grid.removeWidget(button)
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        for index, button in enumerate(self.buttons):
            self._grid.addWidget(button, index // columns, index % columns)
        rows = -(-len(self.buttons) // columns)
        self._grid.setRowStretch(rows, 1 if columns == 1 else 0)  # a column sits at the top

    def currentRow(self) -> int:
        return self._group.checkedId()

    def setCurrentRow(self, row: int) -> None:
        if 0 <= row < len(self.buttons) and row != self.currentRow():
            self.buttons[row].setChecked(True)
            self._on_open(row)

    def _clicked(self, row: int) -> None:
        self._on_open(row)


class _PageHolder(QWidget):
    """A page as the scroll area's widget. Its height for a width is the least its contents
    need (a scroll area would otherwise give them all they would like, and scroll a page that
    fits); the room left over goes to the page's stretchable parts."""

    def __init__(self, page: QWidget) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(page)

    def heightForWidth(self, width: int) -> int:
        layout = self.layout()
        if layout is None or not layout.hasHeightForWidth():
            return super().heightForWidth(width)
        return layout.totalMinimumHeightForWidth(width)


def _page_area(page: QWidget) -> QScrollArea:
    """A page in a scroll area that scrolls down only: a long page never widens the panel."""
    area = QScrollArea()
    area.setObjectName("adminPage")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(_PageHolder(page))
    return area


def _room_for_placeholders(root: QWidget) -> None:
    """A field is never narrower than its placeholder: the hint is the field's only label."""
    for field in root.findChildren(QLineEdit):
        hint = field.placeholderText()
        if hint:
            need = field.fontMetrics().horizontalAdvance(hint) + 24
            field.setMinimumWidth(max(field.minimumWidth(), need))


class AdminPanel(QWidget):
    def __init__(
        self,
        ctx_factory: Callable[[Callable[[str, bool], None]], AdminContext],
        on_logout: Callable[[str], None],
    ) -> None:
        super().__init__()
        self.setObjectName("adminRoot")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(ADMIN_STYLE)
        self._on_logout = on_logout
        self.ctx = ctx_factory(self.show_message)
        self.ctx.open_page = self.open_page_about
        session = self.ctx.session
        self.title = QLabel(
            _("Staff: {name} ({role})").format(name=session.name, role=role_text(session.role))
        )
        self.title.setObjectName("adminTitle")
        self.title.setWordWrap(True)
        self.version = QLabel(version_line())  # support asks for it first
        # Every page's help, from its key (kiosk/help/<key>.toml): one button for them all.
        self.howto_button = QPushButton(_("How to"))
        self.howto_button.clicked.connect(lambda _checked=False: self.open_howto())
        self.howto = HowToPanel(self.close_howto)
        self.logout_button = QPushButton(_("Log out"))
        self.logout_button.clicked.connect(lambda _checked=False: self.logout("logout"))
        self.message = QLabel("")
        self.message.setObjectName("messageBar")
        self.message.setWordWrap(True)
        self.stack = QStackedWidget()
        self.pages = build_pages(self.ctx)
        for page in self.pages:
            self.stack.addWidget(_page_area(page))
        self.nav = Navigation([page.title for page in self.pages], self._open)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.version)
        header.addWidget(self.howto_button)
        header.addWidget(self.logout_button)
        body = QWidget()
        self.body = QBoxLayout(QBoxLayout.Direction.LeftToRight, body)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.addWidget(self.nav)
        self.body.addWidget(self.stack, 1)
        # The navigation and the page, or in their place the page's How-to.
        self.main = QStackedWidget()
        self.main.addWidget(body)
        self.main.addWidget(self.howto)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.message)
        layout.addWidget(self.main, 1)
        self.ensurePolished()  # the style sheet's fonts, for the placeholders' widths
        _room_for_placeholders(self)
        self._portrait: bool | None = None
        self._arrange(portrait=False)
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

    # ------------------------------------------------------------ fitting the screen

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange(portrait=event.size().width() < event.size().height())

    def _arrange(self, *, portrait: bool) -> None:
        if portrait == self._portrait:
            return
        self._portrait = portrait
        if portrait:
            self.body.setDirection(QBoxLayout.Direction.TopToBottom)
            self.nav.set_columns(NAV_COLUMNS_PORTRAIT)
            self.nav.setMaximumWidth(16_777_215)
        else:
            self.body.setDirection(QBoxLayout.Direction.LeftToRight)
            self.nav.set_columns(1)
            self.nav.setMaximumWidth(360)
        for form in self.findChildren(QFormLayout):
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

    # ------------------------------------------------------------ pages

    def page(self, key: str) -> QWidget:
        return next(p for p in self.pages if p.key == key)

    def open_page(self, key: str) -> None:
        self.close_howto()
        self.nav.setCurrentRow([p.key for p in self.pages].index(key))

    def open_page_about(self, key: str, subject: str) -> None:
        """Another page, about ``subject`` (from an alert: the jam page for "lane:2")."""
        if key in [p.key for p in self.pages]:
            self.open_page(key)
            self.pages[self.nav.currentRow()].show_subject(subject)

    def current_page(self) -> AdminPage | None:
        row = self.nav.currentRow()
        return self.pages[row] if 0 <= row < len(self.pages) else None

    def open_howto(self) -> None:
        """The open page's How-to, in place of the navigation and the page."""
        page = self.current_page()
        if page is None:
            return
        self.howto.show_topic(page.key)
        self.main.setCurrentWidget(self.howto)
        self.howto_button.setEnabled(False)
        self.howto.close_button.setFocus()

    def close_howto(self) -> None:
        self.main.setCurrentIndex(0)
        self.howto_button.setEnabled(True)

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.pages):
            self.stack.setCurrentIndex(row)
            self.show_message("", False)
            self.pages[row].activated()

    def show_message(self, text: str, is_error: bool) -> None:
        colour = theme.ACCENT if is_error else theme.GOOD
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
