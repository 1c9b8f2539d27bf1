"""A participant's confirmation picture (assets/pictures/*.svg), or their initials, drawn big:
what they recognise as theirs when staff identify them ("Is this you?")."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QWidget

from kiosk.domain.assisted_id import Picture
from kiosk.ui import theme


def pictures_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    base = Path(frozen) if frozen else Path(__file__).resolve().parents[2]
    return base / "assets" / "pictures"


def picture_path(picture: Picture) -> Path | None:
    """The SVG of a picture; None for INITIALS."""
    return None if picture is Picture.INITIALS else pictures_dir() / f"{picture.value}.svg"


class PictureWidget(QWidget):
    def __init__(self, size: int = 320) -> None:
        super().__init__()
        self.setFixedSize(QSize(size, size))
        self._picture = Picture.INITIALS
        self._initials = ""
        self._renderer: QSvgRenderer | None = None

    @property
    def picture(self) -> Picture:
        return self._picture

    def show_picture(self, picture: Picture, initials: str) -> None:
        path = picture_path(picture)
        renderer = QSvgRenderer(str(path)) if path is not None and path.exists() else None
        if renderer is not None and not renderer.isValid():
            renderer = None
        # A picture that cannot be drawn falls back to the initials, never to a blank.
        self._picture = picture if renderer is not None else Picture.INITIALS
        self._renderer = renderer
        self._initials = initials or "?"
        self.setAccessibleName(self._picture.value)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        box = QRectF(4, 4, side - 8, side - 8)
        if self._renderer is not None:
            self._renderer.render(painter, box)
        else:
            painter.setPen(QPen(QColor(theme.TEXT), 8))
            painter.drawEllipse(box)
            font = QFont(self.font())
            font.setPixelSize(int(side * 0.36))
            font.setBold(True)
            painter.setFont(font)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._initials)
        painter.end()
