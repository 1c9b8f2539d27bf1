"""Screen icons drawn with QPainter: no font has to carry them, so none shows as a box.

Each shape differs in outline as well as colour, so meaning never rests on colour alone.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

FINGER = "finger"
WAIT = "wait"
OK = "ok"
INFO = "info"
ATTENTION = "attention"


class IconWidget(QWidget):
    def __init__(self, size: int = 220) -> None:
        super().__init__()
        self._kind = FINGER
        self._colour = QColor("#FFFFFF")
        self.setFixedSize(QSize(size, size))

    @property
    def kind(self) -> str:
        return self._kind

    def set_icon(self, kind: str, colour: str) -> None:
        self._kind = kind
        self._colour = QColor(colour)
        self.setAccessibleName(kind)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        stroke = side * 0.06
        pen = QPen(self._colour, stroke)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        box = QRectF(stroke, stroke, side - 2 * stroke, side - 2 * stroke)
        draw = {
            FINGER: self._finger,
            WAIT: self._wait,
            OK: self._ok,
            INFO: self._info,
            ATTENTION: self._attention,
        }[self._kind]
        draw(painter, box)
        painter.end()

    def _finger(self, p: QPainter, box: QRectF) -> None:
        # Concentric open arcs: a fingerprint.
        centre = box.center()
        for i in range(1, 5):
            r = box.width() * 0.12 * i
            rect = QRectF(centre.x() - r * 0.8, centre.y() - r, 1.6 * r, 2 * r)
            p.drawArc(rect, 200 * 16, 300 * 16 - i * 12 * 16)

    def _wait(self, p: QPainter, box: QRectF) -> None:
        # An hourglass.
        x0, x1, y0, y1 = (
            box.left() + box.width() * 0.2,
            box.right() - box.width() * 0.2,
            box.top(),
            box.bottom(),
        )
        mid = box.center()
        p.drawLine(QPointF(x0, y0), QPointF(x1, y0))
        p.drawLine(QPointF(x0, y1), QPointF(x1, y1))
        p.drawLine(QPointF(x0, y0), QPointF(x1, y1))
        p.drawLine(QPointF(x1, y0), QPointF(x0, y1))
        sand = QPolygonF(
            [QPointF(mid.x(), mid.y() + 4), QPointF(x0 + 20, y1 - 6), QPointF(x1 - 20, y1 - 6)]
        )
        path = QPainterPath()
        path.addPolygon(sand)
        p.fillPath(path, self._colour)

    def _ok(self, p: QPainter, box: QRectF) -> None:
        p.drawEllipse(box)
        w, h, x, y = box.width(), box.height(), box.left(), box.top()
        p.drawPolyline(
            QPolygonF(
                [
                    QPointF(x + w * 0.27, y + h * 0.52),
                    QPointF(x + w * 0.44, y + h * 0.69),
                    QPointF(x + w * 0.74, y + h * 0.35),
                ]
            )
        )

    def _info(self, p: QPainter, box: QRectF) -> None:
        p.drawEllipse(box)
        c = box.center()
        h = box.height()
        p.drawLine(QPointF(c.x(), c.y() - h * 0.05), QPointF(c.x(), c.y() + h * 0.25))
        dot = QPainterPath()
        dot.addEllipse(QPointF(c.x(), c.y() - h * 0.22), h * 0.05, h * 0.05)
        p.fillPath(dot, self._colour)

    def _attention(self, p: QPainter, box: QRectF) -> None:
        # An octagon (a stop sign's outline) with an exclamation mark.
        c = box.center()
        r = box.width() / 2
        points = [
            QPointF(
                c.x() + r * math.cos(math.radians(22.5 + 45 * i)),
                c.y() + r * math.sin(math.radians(22.5 + 45 * i)),
            )
            for i in range(8)
        ]
        p.drawPolygon(QPolygonF(points))
        h = box.height()
        p.drawLine(QPointF(c.x(), c.y() - h * 0.25), QPointF(c.x(), c.y() + h * 0.08))
        dot = QPainterPath()
        dot.addEllipse(QPointF(c.x(), c.y() + h * 0.24), h * 0.05, h * 0.05)
        p.fillPath(dot, self._colour)
