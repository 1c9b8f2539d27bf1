"""A touch PIN pad: digits, clear, OK. The PIN shows only as dots and is never logged."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import _
from kiosk.ui import theme

MAX_DIGITS = 12


class PinPad(QWidget):
    def __init__(self, on_pin: Callable[[str], None]) -> None:
        super().__init__()
        self._on_pin = on_pin
        self._pin = ""
        self._revealed = False
        self.dots = QLabel(" ")
        self.dots.setObjectName("headline")
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.dots.setAccessibleName("PIN entered")
        grid = QGridLayout()
        grid.setSpacing(16)
        self.keys: dict[str, QPushButton] = {}
        for index, key in enumerate(
            ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "ok"]
        ):
            button = QPushButton()
            button.setMinimumSize(theme.MIN_TOUCH_PX + 40, theme.MIN_TOUCH_PX)
            button.clicked.connect(lambda _checked=False, k=key: self.press(k))
            self.keys[key] = button
            grid.addWidget(button, index // 3, index % 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.dots)
        layout.addLayout(grid)
        self.retranslate()

    def set_compact(self) -> None:
        """Smaller keys (still over the participant screens' 90 px) and dots, where the pad
        shares the screen with many other controls (the door lockout's steps)."""
        for button in self.keys.values():
            button.setMinimumSize(theme.COMPACT_TOUCH_PX + 40, theme.COMPACT_TOUCH_PX)
            button.setStyleSheet(f"min-height: {theme.COMPACT_TOUCH_PX - 22}px; padding: 8px 20px;")
        self.dots.setObjectName("detail")
        self.dots.style().unpolish(self.dots)  # the new name's size
        self.dots.style().polish(self.dots)

    def press(self, key: str) -> None:
        if key == "clear":
            self._pin = ""
        elif key == "ok":
            pin, self._pin = self._pin, ""
            if pin:
                self._on_pin(pin)
        elif len(self._pin) < MAX_DIGITS:
            self._pin += key
        self._show()

    def reveal(self, shown: bool) -> None:
        """Show the digits themselves (a code read out over the phone is no secret, and
        staff check what they typed), or dots (a PIN)."""
        if shown != self._revealed:
            self._revealed = shown
            self._show()

    def _show(self) -> None:
        shown = self._pin if self._revealed else "●" * len(self._pin)
        self.dots.setText(shown or " ")

    def reset(self) -> None:
        self._pin = ""
        self.dots.setText(" ")

    def retranslate(self) -> None:
        for key, button in self.keys.items():
            label = {"clear": _("Clear"), "ok": _("OK")}.get(key, key)
            button.setText(label)
            button.setAccessibleName(label)
