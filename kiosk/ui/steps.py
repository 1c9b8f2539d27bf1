"""A numbered list of a procedure's steps with the current one marked: the recovery
machines' screens render where staff are (done ✓, current ▶ in the accent colour)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

ACCENT = "#FFD84D"  # yellow: the current step, on the dark staff and participant backgrounds


class StepList(QWidget):
    def __init__(self, count: int, *, vertical: bool = True, font_pt: int = 18) -> None:
        super().__init__()
        self._font = f"font-size: {font_pt}pt;"
        layout: QBoxLayout = QVBoxLayout(self) if vertical else QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.labels: list[QLabel] = []
        for _index in range(count):
            label = QLabel()
            label.setObjectName("stepLabel")
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            layout.addWidget(label)
            self.labels.append(label)
        if vertical:
            layout.addStretch(1)
        self.current = -1

    def show_steps(self, titles: list[str], current: int) -> None:
        """``current``: the index of the step staff are on (len(titles): all done)."""
        self.current = current
        for index, (label, title) in enumerate(zip(self.labels, titles, strict=True)):
            mark = "✓" if index < current else "▶" if index == current else " "
            label.setText(f"{mark} {index + 1}. {title}")
            weight = (
                f"color: {ACCENT}; font-weight: 700;" if index == current else "font-weight: 400;"
            )
            label.setStyleSheet(weight + self._font)
            label.setAccessibleName(title)
