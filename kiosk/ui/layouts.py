"""Layouts that fit a portrait and a landscape screen: rows that wrap, sections that stack."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QBoxLayout, QLayout, QLayoutItem, QVBoxLayout, QWidget


class FlowLayout(QLayout):
    """A row of buttons (or fields) that wraps onto further rows when the page is narrow."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 12) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        shown = [item for item in self._items if not item.isEmpty()]
        width = sum(item.sizeHint().width() for item in shown) + self._gap * max(len(shown) - 1, 0)
        height = max((item.sizeHint().height() for item in shown), default=0)
        margins = self.contentsMargins()
        return QSize(width, height).grownBy(margins)

    def minimumSize(self) -> QSize:
        size = QSize(0, 0)
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        return size.grownBy(self.contentsMargins())

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, line = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():  # a hidden widget takes no room
                continue
            hint = item.sizeHint()
            width = min(hint.width(), max(area.width(), 0))
            if x > area.x() and x + width > area.x() + area.width():
                x, y, line = area.x(), y + line + self._gap, 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + self._gap
            line = max(line, hint.height())
        return y + line - rect.y() + margins.bottom()


class AdaptiveBox(QBoxLayout):
    """Sections side by side when they fit on a landscape screen, else one above the other.

    The window's shape and the sections' minimum widths decide, never the box's own width
    (which its side-by-side minimum would inflate): its minimum width is the widest section,
    so a page holding it can always be as narrow as the screen.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(QBoxLayout.Direction.LeftToRight, parent)

    def _shown(self) -> list[QLayoutItem]:
        items = (self.itemAt(index) for index in range(self.count()))
        return [item for item in items if item is not None and not item.isEmpty()]

    def _side_by_side_fits(self, width: int) -> bool:
        shown = self._shown()
        margins = self.contentsMargins()
        need = sum(item.minimumSize().width() for item in shown)
        need += self.spacing() * max(len(shown) - 1, 0) + margins.left() + margins.right()
        return need <= width

    def turn(self, rect: QRect) -> None:
        """Side by side or one above the other, for the window's shape and ``rect``."""
        holder = self.parentWidget()
        window = holder.window() if holder is not None else None
        portrait = window is not None and window.width() < window.height()
        wide = not portrait and self._side_by_side_fits(rect.width())
        wanted = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.direction() != wanted:
            self.setDirection(wanted)

    def setGeometry(self, rect: QRect) -> None:
        self.turn(rect)
        super().setGeometry(rect)

    def minimumSize(self) -> QSize:
        margins = self.contentsMargins()
        widest = max((item.minimumSize().width() for item in self._shown()), default=0)
        return QSize(widest + margins.left() + margins.right(), super().minimumSize().height())


class _MessageAndKeys(AdaptiveBox):
    """Beside each other, each column is centred; above each other, the two are centred
    together (the message sits on the keys). A column with nothing shown (no PIN pad while
    staff cannot act) takes no room: the message alone is centred on the screen."""

    def __init__(self, owner: QWidget | None) -> None:
        super().__init__(owner)
        self.columns: list[QVBoxLayout] = []
        self.tops: list[int] = []  # where each column's upper stretch is

    def setGeometry(self, rect: QRect) -> None:
        self.turn(rect)
        beside = self.direction() == QBoxLayout.Direction.LeftToRight
        shown = [column for column in self.columns if not column.isEmpty()]
        for index, column in enumerate(self.columns):
            self._stretch(self, index, 1 if column in shown else 0)
            first = bool(shown) and column is shown[0]
            last = bool(shown) and column is shown[-1]
            self._stretch(column, self.tops[index], 1 if beside or first else 0)
            self._stretch(column, column.count() - 1, 1 if beside or last else 0)
        QBoxLayout.setGeometry(self, rect)

    @staticmethod
    def _stretch(box: QBoxLayout, index: int, stretch: int) -> None:
        if box.stretch(index) != stretch:
            box.setStretch(index, stretch)


def message_and_keys(
    owner: QWidget | None,
    message: list[QWidget | int],
    keys: list[QWidget | int],
    corner: QWidget | None = None,
) -> AdaptiveBox:
    """A screen's message above its keys (a PIN pad) on a portrait screen, beside them on a
    landscape one: a PIN pad under a message does not fit in 1080 px of height. An int is a
    spacing; a fixed-size widget (an icon) is centred in its column; ``corner`` (a button)
    sits at the top right of the message's column, which is the screen's top right corner in
    portrait. Without an ``owner`` the box is for the caller to place in its own layout."""
    columns = _MessageAndKeys(owner)
    columns.setContentsMargins(60, 60, 60, 60)
    columns.setSpacing(24)
    for items in (message, keys):
        column = QVBoxLayout()
        if corner is not None and items is message:
            column.addWidget(corner, alignment=Qt.AlignmentFlag.AlignRight)
        columns.tops.append(column.count())
        column.addStretch(1)
        for item in items:
            if isinstance(item, int):
                column.addSpacing(item)
            elif item.minimumSize() == item.maximumSize():
                column.addWidget(item, alignment=Qt.AlignmentFlag.AlignHCenter)
            else:
                column.addWidget(item)
        column.addStretch(1)
        columns.addLayout(column, 1)
        columns.columns.append(column)
    return columns
