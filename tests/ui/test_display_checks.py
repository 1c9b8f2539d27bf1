"""The pieces the real-display walk stands on, checked offscreen: the contrast measured from
pixels, each check failing when it should, the window that fills the screen and never grows,
tables that never scroll sideways, button rows that wrap."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from kiosk.ui.admin.pages.widgets import fill, table
from kiosk.ui.layouts import FlowLayout
from kiosk.ui.screen_fit import ScreenFit
from tools.display_walk import PARTICIPANT, STAFF, contrast_ratio, inspect, measure


def test_contrast_is_measured_from_the_pixels_text_against_background() -> None:
    image = QImage(200, 60, QImage.Format.Format_RGB32)
    image.fill(QColor("#101418"))
    painter = QPainter(image)
    painter.fillRect(QRect(20, 20, 30, 10), QColor("#FFFFFF"))  # the "glyphs"
    painter.fillRect(QRect(60, 20, 30, 10), QColor("#8A8A8A"))  # anti-aliased edges
    painter.end()
    found = measure(image, QRect(0, 0, 200, 60))
    assert found is not None
    assert (found.background, found.text) == (0x101418, 0xFFFFFF)
    assert found.ratio == contrast_ratio(0xFFFFFF, 0x101418)
    assert round(contrast_ratio(0xFFFFFF, 0x000000), 1) == 21.0
    assert round(contrast_ratio(0xFFFFFF, 0xEFEFEF), 2) == 1.15  # xcb's default palette


def _screen_window(qtbot: QtBot, content: QWidget) -> QMainWindow:
    window = QMainWindow()
    window.setCentralWidget(content)
    qtbot.addWidget(window)
    ScreenFit(window, fullscreen=True).show()
    qtbot.waitUntil(window.isVisible)
    return window


def test_the_walk_fails_pale_text_small_targets_cut_text_and_overflow(qtbot: QtBot) -> None:
    content = QWidget()
    layout = QVBoxLayout(content)
    pale = QLabel("Staff PIN")
    pale.setStyleSheet("color: #FFFFFF; background: #EFEFEF; font-size: 24pt;")
    small = QPushButton("OK")
    small.setFixedSize(50, 40)
    cut = QLabel("A sentence much too long for the room it is given on the screen")
    cut.setFixedWidth(60)
    layout.addWidget(pale)
    layout.addWidget(small)
    layout.addWidget(cut)
    stray = QLabel("past the edge", content)
    stray.setStyleSheet("color: #FFFFFF;")
    window = _screen_window(qtbot, content)
    stray.setGeometry(content.width() - 20, 10, 200, 40)
    stray.show()
    problems = "\n".join(inspect(window, STAFF))
    assert "'Staff PIN' contrast 1.15:1" in problems
    assert "'OK' is 50x40, a touch target under 60 px" in problems
    assert "is cut off: needs" in problems
    assert "'past the edge' reaches past its QWidget" in problems


def test_the_walk_passes_a_clean_screen(qtbot: QtBot) -> None:
    content = QWidget()
    content.setStyleSheet("background: #0A0A0A;")
    layout = QVBoxLayout(content)
    label = QLabel("Place your finger")
    label.setStyleSheet("color: #FFFFFF; font-size: 30pt;")
    button = QPushButton("English")
    button.setMinimumSize(200, 120)
    layout.addWidget(label)
    layout.addWidget(button)
    window = _screen_window(qtbot, content)
    assert inspect(window, PARTICIPANT) == []


def test_the_window_fills_the_screen_and_a_wide_page_does_not_grow_it(qtbot: QtBot) -> None:
    content = QWidget()
    window = _screen_window(qtbot, content)
    screen = window.screen().geometry()
    assert window.geometry() == screen
    assert window.maximumSize() == screen.size()
    wide = QWidget()
    wide.setMinimumWidth(screen.width() * 3)  # a staff page three screens wide
    window.setCentralWidget(wide)
    qtbot.waitUntil(wide.isVisible)
    assert window.geometry() == screen
    assert "window is" not in " ".join(inspect(window, STAFF))


def test_a_windowed_kiosk_is_never_larger_than_the_screen(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    fit = ScreenFit(window, fullscreen=False)
    fit.show()
    available = window.screen().availableGeometry().size()
    assert window.width() <= available.width() and window.height() <= available.height()
    assert window.maximumSize() == available
    window.resize(available.width() * 2, available.height() * 2)
    assert window.width() <= available.width()


def test_a_table_hides_optional_columns_rather_than_scroll_sideways(qtbot: QtBot) -> None:
    view = table(["Medication", "Opening", "Restocked", "Counted", "Balanced"], 0, (3, 1, 2))
    qtbot.addWidget(view)
    view.resize(1600, 400)
    view.show()
    fill(view, [("hydromorphone 8 mg tablet, a long name", 100, 20, 118, "yes")])
    header = view.horizontalHeader()
    assert not any(header.isSectionHidden(c) for c in range(5))
    view.resize(460, 400)
    bar = view.horizontalScrollBar()
    qtbot.waitUntil(lambda: header.isSectionHidden(2) and bar.maximum() == 0)
    # the least important went first; the main column and "Balanced" (not optional) stay
    assert not header.isSectionHidden(0) and not header.isSectionHidden(4)
    assert view.rowHeight(0) >= 64  # rows are touch targets


def test_a_row_of_buttons_wraps_when_narrow(qtbot: QtBot) -> None:
    holder = QWidget()
    row = FlowLayout(holder)
    buttons = [QPushButton(f"Button number {n}") for n in range(5)]
    for button in buttons:
        row.addWidget(button)
    qtbot.addWidget(holder)
    holder.resize(2000, 200)
    holder.show()
    qtbot.waitUntil(lambda: buttons[-1].y() == buttons[0].y())
    assert row.heightForWidth(300) > row.heightForWidth(2000)
    holder.resize(300, row.heightForWidth(300))
    qtbot.waitUntil(lambda: buttons[-1].y() > buttons[0].y())
    assert all(button.geometry().right() < 300 for button in buttons)
