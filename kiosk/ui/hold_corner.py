"""A discreet way into the admin panel: press and hold a corner of the idle screen."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QWidget

HOLD_MS = 2000  # long enough that nobody opens it by leaning on the screen


class HoldCorner(QWidget):
    def __init__(self, on_hold: Callable[[], None], size: int = 140) -> None:
        super().__init__()
        self.setFixedSize(size, size)
        self.setAccessibleName("staff entry")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(HOLD_MS)
        self._timer.timeout.connect(on_hold)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._timer.start()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._timer.stop()
        event.accept()
