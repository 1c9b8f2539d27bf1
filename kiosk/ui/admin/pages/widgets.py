"""Small helpers shared by the admin pages: tables that fit the screen's width, button rows
that wrap, and sections that sit side by side in landscape and stack in portrait."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

from kiosk.ui import theme
from kiosk.ui.layouts import AdaptiveBox, FlowLayout

__all__ = ["AdaptiveBox", "FlowLayout", "Table", "fill", "picked_day", "table"]

# The column that takes the rest of the width wraps its text; it needs at least this much.
STRETCH_MIN_PX = 260


class Table(QTableWidget):
    """A table that never scrolls sideways: one column (the important one) stretches and
    wraps; when the others do not fit beside it, the optional ones are hidden, least
    important first. Rows are touch targets: at least ``theme.STAFF_TOUCH_PX`` high."""

    def __init__(self, headers: Sequence[str], stretch: int, optional: Sequence[int]) -> None:
        super().__init__(0, len(headers))
        self._stretch = stretch
        self._optional = [c for c in optional if c != stretch]
        self.setHorizontalHeaderLabels(list(headers))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setWordWrap(True)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setMinimumSectionSize(theme.STAFF_TOUCH_PX)
        rows.setDefaultSectionSize(theme.STAFF_TOUCH_PX)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        columns = self.horizontalHeader()
        columns.setStretchLastSection(False)
        columns.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        columns.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)

    def sizeHint(self) -> QSize:
        """A header and three rows: a long page keeps its buttons on screen; a table with
        room to spare grows (its page gives it the stretch)."""
        hint = super().sizeHint()
        header = self.horizontalHeader().sizeHint().height()
        return QSize(hint.width(), header + 3 * theme.STAFF_TOUCH_PX + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        header = self.horizontalHeader().sizeHint().height()
        return QSize(hint.width(), header + 2 * theme.STAFF_TOUCH_PX + 2 * self.frameWidth())

    def _room(self) -> int:
        room = self.width() - 2 * self.frameWidth()
        bar = self.verticalScrollBar()
        if bar.isVisible() or bar.maximum() > bar.minimum():
            room -= bar.sizeHint().width() if bar.width() <= 0 else bar.width()
        return room

    def _needed(self) -> int:
        header = self.horizontalHeader()
        total = 0
        for column in range(self.columnCount()):
            if header.isSectionHidden(column):
                continue
            content = max(self.sizeHintForColumn(column), header.sectionSizeHint(column))
            total += (
                max(min(content, STRETCH_MIN_PX), header.sectionSizeHint(column))
                if column == self._stretch
                else content
            )
        return total

    def fit_columns(self) -> None:
        """Show every column that fits, hide optional ones (least important first) if not."""
        header = self.horizontalHeader()
        for column in self._optional:
            header.setSectionHidden(column, False)
        room = self._room()
        for column in reversed(self._optional):
            if self._needed() <= room:
                break
            header.setSectionHidden(column, True)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit_columns()


def table(
    headers: Sequence[str], stretch: int | None = None, optional: Sequence[int] = ()
) -> Table:
    """``stretch``: the column that takes the rest of the width (default: the last);
    ``optional``: the columns that may be hidden on a narrow screen, most important first."""
    return Table(headers, len(headers) - 1 if stretch is None else stretch, optional)


def fill(widget: QTableWidget, rows: Sequence[Sequence[object]]) -> None:
    widget.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            widget.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))
    if isinstance(widget, Table):
        widget.fit_columns()


def picked_day(edit: QDateEdit) -> date:
    """The day a date field shows."""
    day = edit.date()
    return date(day.year(), day.month(), day.day())
