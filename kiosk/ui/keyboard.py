"""The on-screen keyboard: Qt Virtual Keyboard for text, the kiosk's own pad for PINs.

Staff work standing at the machine with no keyboard. ``application()`` makes the one
QApplication of a kiosk process with ``QT_IM_MODULE=qtvirtualkeyboard`` (it must be set
before the application exists): every text field (a QLineEdit, an editable QComboBox, a
QPlainTextEdit) then opens Qt Virtual Keyboard when touched. With QWidget windows the
keyboard is its own top-level window along the bottom of the screen; ``KeyboardGuard`` moves
the window being typed into up while the keyboard would cover the field, and back when it
hides. A PIN never goes through it: ``PinField`` takes no input method and opens the kiosk's
PIN pad (kiosk/ui/pinpad.py) over its window instead.

An operator can choose another input method by setting ``QT_IM_MODULE`` themselves (for a
machine with a physical keyboard, ``QT_IM_MODULE=none``).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import (
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QRegularExpressionValidator,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import _
from kiosk.ui.pinpad import MAX_DIGITS, PinPad

log = logging.getLogger("kiosk.ui.keyboard")

IM_MODULE = "qtvirtualkeyboard"
# The field's bottom stays this far above the keyboard's top edge.
MARGIN_PX = 24

PIN_STYLE = """
QWidget#pinOverlay { background: rgba(0, 0, 0, 190); }
QWidget#pinPanel { background: #101418; border: 2px solid #FFFFFF; border-radius: 16px; }
QWidget#pinPanel QLabel { color: #FFFFFF; font-size: 20pt; }
QWidget#pinPanel QPushButton { background: #1F2833; color: #FFFFFF; border: 2px solid #FFFFFF;
    border-radius: 10px; font-size: 22pt; min-height: 64px; }
"""


def use_virtual_keyboard(environ: MutableMapping[str, str] | None = None) -> None:
    """Ask Qt for the virtual keyboard, unless the operator chose an input method."""
    env = os.environ if environ is None else environ
    env.setdefault("QT_IM_MODULE", IM_MODULE)


def application(argv: list[str] | None = None) -> QApplication:
    """The process's QApplication with the on-screen keyboard (made once; later calls return
    the same one). The keyboard guard is installed on it."""
    existing = QApplication.instance()
    if existing is None:
        use_virtual_keyboard()
        existing = QApplication(sys.argv if argv is None else argv)
    app = existing if isinstance(existing, QApplication) else None
    if app is None:
        raise RuntimeError("a QCoreApplication exists that is not a QApplication")
    if app.findChild(KeyboardGuard) is None:
        KeyboardGuard(app)
    return app


def takes_text(widget: QWidget | None) -> bool:
    """True when touching ``widget`` opens the on-screen keyboard."""
    if widget is None or not widget.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled):
        return False
    return bool(widget.inputMethodQuery(Qt.InputMethodQuery.ImEnabled))


def keyboard_top(widget: QWidget) -> int | None:
    """The global y of the on-screen keyboard's top edge, None while it is hidden. The
    keyboard spans the bottom of the screen the widget is on."""
    method = QGuiApplication.inputMethod()
    rect = method.keyboardRectangle()
    if not method.isVisible() or rect.isEmpty():
        return None
    screen = widget.screen() or QGuiApplication.primaryScreen()
    geometry = screen.geometry()
    return geometry.y() + geometry.height() - round(rect.height())


class KeyboardGuard(QObject):
    """Keeps the field being typed into above the on-screen keyboard: while the keyboard
    would cover it, the field's window moves up by the overlap; it goes back when the
    keyboard hides or the field is clear of it. (On Wayland a window cannot place itself;
    there the move does nothing.)"""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.setObjectName("keyboardGuard")
        self._moved: dict[QWidget, QPoint] = {}  # window -> where it was
        method = QGuiApplication.inputMethod()
        method.visibleChanged.connect(self.update)
        method.keyboardRectangleChanged.connect(self.update)
        app.focusChanged.connect(lambda _old, _new: self.update())
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A touch on a text field opens the keyboard, even in a window that is not active
        yet (X without a window manager activates nothing by itself)."""
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(watched, QWidget)
            and takes_text(watched)
        ):
            window = watched.window()
            if not window.isActiveWindow():
                window.activateWindow()
            watched.setFocus(Qt.FocusReason.MouseFocusReason)
            QGuiApplication.inputMethod().show()
        return False

    def update(self) -> None:
        focus = QApplication.focusWidget()
        top = keyboard_top(focus) if focus is not None and takes_text(focus) else None
        if focus is None or top is None:
            self.restore()
            return
        window = focus.window()
        for other in [w for w in self._moved if w is not window]:
            self._put_back(other)
        home = self._moved.get(window, window.pos())
        shift = window.pos().y() - home.y()  # how far it is moved now (<= 0)
        bottom = focus.mapToGlobal(QPoint(0, focus.height())).y() - shift
        overlap = bottom + MARGIN_PX - top
        if overlap <= 0:
            self._put_back(window)
            return
        self._moved[window] = home
        window.move(home.x(), home.y() - overlap)

    def restore(self) -> None:
        for window in list(self._moved):
            self._put_back(window)

    def _put_back(self, window: QWidget) -> None:
        home = self._moved.pop(window, None)
        if home is not None:
            window.move(home)


# ------------------------------------------------------------------ PINs


class PinField(QLineEdit):
    """A PIN field: dots, digits only, and no on-screen keyboard. A touch opens the kiosk's
    PIN pad over the field's window; its OK fills the field."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.setEchoMode(QLineEdit.EchoMode.Password)  # (re-enables input methods: then off)
        self.setValidator(QRegularExpressionValidator(rf"\d{{0,{MAX_DIGITS}}}", self))
        self.setInputMethodHints(
            Qt.InputMethodHint.ImhDigitsOnly
            | Qt.InputMethodHint.ImhHiddenText
            | Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
        )
        self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.pad: PinPadOverlay | None = None

    # Qt's own signature (an overload: (query) or (query, argument)) answers Any.
    def inputMethodQuery(self, *args: Any) -> Any:  # type: ignore[explicit-any]
        if args and args[0] == Qt.InputMethodQuery.ImEnabled:
            return False
        return super().inputMethodQuery(*args)

    def setEchoMode(self, mode: QLineEdit.EchoMode) -> None:
        super().setEchoMode(mode)
        self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if self.isEnabled() and event.button() == Qt.MouseButton.LeftButton:
            self.open_pad()

    def open_pad(self) -> PinPadOverlay:
        if self.pad is None:
            self.pad = PinPadOverlay(self.window(), self.title, self._entered, self._closed)
        return self.pad

    def _entered(self, pin: str) -> None:
        self.setText(pin)
        self.editingFinished.emit()

    def _closed(self) -> None:
        self.pad = None


class PinPadOverlay(QWidget):
    """The PIN pad over a whole window (a child, so no extra top-level window is needed)."""

    def __init__(
        self,
        window: QWidget,
        title: str,
        on_pin: Callable[[str], None],
        on_close: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.setObjectName("pinOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(PIN_STYLE)
        self._on_pin = on_pin
        self._on_close = on_close
        panel = QWidget()
        panel.setObjectName("pinPanel")
        panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.title = QLabel(title or _("Enter the PIN"))
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pad = PinPad(self._entered)
        self.cancel = QPushButton(_("Cancel"))
        self.cancel.clicked.connect(lambda _checked=False: self.close_pad())
        inner = QVBoxLayout(panel)
        inner.setContentsMargins(24, 24, 24, 24)
        inner.addWidget(self.title)
        inner.addWidget(self.pad)
        inner.addWidget(self.cancel)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(panel)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        self.setGeometry(window.rect())
        window.installEventFilter(self)
        self.show()
        self.raise_()
        self.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and isinstance(event, QResizeEvent):
            self.setGeometry(0, 0, event.size().width(), event.size().height())
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_pad()
        else:
            super().keyPressEvent(event)

    def _entered(self, pin: str) -> None:
        self._on_pin(pin)
        self.close_pad()

    def close_pad(self) -> None:
        self.pad.reset()
        parent = self.parentWidget()
        if parent is not None:
            parent.removeEventFilter(self)
        self.hide()
        self._on_close()
        self.deleteLater()


# ------------------------------------------------------------------ checks


def key_items(root: object) -> Iterator[object]:
    """Every visible key of the on-screen keyboard under a QQuickItem (tests, smoke)."""
    from PySide6.QtQuick import QQuickItem

    if not isinstance(root, QQuickItem):
        return
    meta = root.metaObject()
    if (
        meta.indexOfProperty("key") >= 0
        and meta.indexOfProperty("text") >= 0
        and root.isVisible()
        and root.property("text")
    ):
        yield root
    for child in root.childItems():
        yield from key_items(child)


def keyboard_keys() -> dict[str, object]:
    """The on-screen keyboard's keys by the text they type ({} when it never loaded)."""
    from PySide6.QtQuick import QQuickWindow

    keys: dict[str, object] = {}
    for window in QGuiApplication.topLevelWindows():
        if isinstance(window, QQuickWindow):
            for item in key_items(window.contentItem()):
                keys.setdefault(str(item.property("text")), item)  # type: ignore[attr-defined]
    return keys


class KeyboardProbe:
    """Shows the on-screen keyboard for a hidden field of ``window`` and notes whether it
    appears: its plugin, QML modules and libraries are all there (``kiosk smoke`` on the
    frozen binary). Any platform will do, offscreen too."""

    def __init__(self, window: QWidget) -> None:
        self.appeared = False
        self.field = QLineEdit(window)
        self.field.setGeometry(0, 0, 1, 1)
        self.field.show()
        self.field.setFocus()
        method = QGuiApplication.inputMethod()
        method.visibleChanged.connect(self._changed)
        method.show()
        self._changed()

    def _changed(self) -> None:
        if QGuiApplication.inputMethod().isVisible():
            self.appeared = True

    def problem(self) -> str:
        chosen = os.environ.get("QT_IM_MODULE", "")
        if chosen != IM_MODULE:
            return f"the on-screen keyboard is not chosen (QT_IM_MODULE={chosen!r})"
        return "the on-screen keyboard did not appear (its plugin or QML modules are missing)"

    def close(self) -> None:
        QGuiApplication.inputMethod().visibleChanged.disconnect(self._changed)
        QGuiApplication.inputMethod().hide()
        self.field.hide()
        self.field.deleteLater()
