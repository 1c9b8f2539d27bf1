"""The staff PIN screen, reached by a long press in the idle screen's corner."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from kiosk.i18n import _
from kiosk.services.pin_gate import PinLocked, WrongPin
from kiosk.services.staff import StaffSession
from kiosk.ui.background import Backend
from kiosk.ui.layouts import message_and_keys
from kiosk.ui.pinpad import PinPad
from kiosk.ui.texts import pin_locked_text


class LoginScreen(QWidget):
    def __init__(
        self,
        backend: Backend,
        login: Callable[[str], StaffSession],
        on_login: Callable[[StaffSession], None],
        on_cancel: Callable[[], None],
    ) -> None:
        super().__init__()
        self._backend = backend
        self._login = login
        self._on_login = on_login
        self.title = QLabel()
        self.title.setObjectName("headline")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel()
        self.message.setObjectName("detail")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.pad = PinPad(self._submit)
        self.cancel = QPushButton()
        self.cancel.clicked.connect(lambda _checked=False: on_cancel())
        message_and_keys(self, [self.title, self.message], [self.pad, 24, self.cancel])
        self.reset()

    def reset(self) -> None:
        self.title.setText(_("Staff PIN"))
        self.message.setText("")
        self.cancel.setText(_("Cancel"))
        self.pad.reset()
        self.pad.retranslate()

    def _submit(self, pin: str) -> None:
        self.message.setText(_("Checking…"))
        self._backend.submit(lambda: self._login(pin), self._on_login, self._refused)

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, PinLocked):
            self.message.setText(pin_locked_text(exc.seconds_left))
        elif isinstance(exc, WrongPin):
            self.message.setText(_("That PIN was not accepted."))
        else:
            self.message.setText(_("Something went wrong. It was logged; please try again."))
