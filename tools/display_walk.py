"""The real-display walk: every screen a person can see, full screen, checked and saved.

Run on a real platform (``QT_QPA_PLATFORM=xcb`` under Xvfb: ``tests/ui/test_real_display.py``
and ``make screenshots`` start one per screen size). It walks

- every participant screen (every flow state of ``kiosk.ui.screenshots.states``, plus the
  out-of-service staff pad refusing and locked) in every participant language;
- the staff PIN pad (empty, refused, locked), then every admin page for every role (the demo's
  staff plus a technician and a prescriber), in English and French, with the participant
  detail, the prescription editor, the enrolment panel, the audit tab and each page's How-to
  panel opened once;
- the idle screen again after each logout (the window must not have grown);
- every page of the setup wizard;

and reports a problem when

- the window does not cover exactly the screen, or a widget reaches past its parent (past the
  screen); inside a scroll area only downwards (scrolling sideways is a problem too);
- text is clipped or elided: a label, button, tab, group title, placeholder, table header or
  cell that needs more room than it has;
- a touch target (button, field, tab, table row, spin-box arrow) is under 90 px
  (participant screens) or 60 px (staff screens) in either direction;
- the contrast measured from the rendered pixels of a label or an enabled button is under
  7:1 (participant) or 4.5:1 (staff): the window is grabbed as painted (a widget below the
  fold of a long page is scrolled into view first), the widget's rectangle cut out, its
  commonest colour taken as the background and the colour farthest from that (in contrast
  ratio, seen at least twice) as the text, and the WCAG 2 ratio of the two computed;
- Qt prints a warning.

Screenshots go to ``<out>/<portrait|landscape>/...``. The exit code is 1 when anything was
found; ``--report`` writes the findings as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QEventLoop,
    QMessageLogContext,
    QPoint,
    QRect,
    Qt,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QScrollBar,
    QStyle,
    QStyleOptionComboBox,
    QStyleOptionSpinBox,
    QTabBar,
    QTableView,
    QWidget,
)

from kiosk.ui import theme

PARTICIPANT_SHOT_LOCALES = ("en", "fr_CA", "es", "zh_Hant", "pa")
STAFF_LOCALES = ("en", "fr_CA")
TOLERANCE = 1  # px: rounding in layouts
# Qt messages that are not about the screens (the offscreen platform cannot size windows).
QT_NOISE = ("This plugin does not support propagateSizeHints",)


@dataclass(frozen=True)
class Limits:
    audience: str
    target_px: int
    contrast: float


PARTICIPANT = Limits("participant", 90, 7.0)
STAFF = Limits("staff", 60, 4.5)


# ------------------------------------------------------------------ measuring


def luminance(rgb: int) -> float:
    """WCAG 2 relative luminance of 0xRRGGBB."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: int, b: int) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@dataclass(frozen=True)
class Measured:
    ratio: float
    text: int  # 0xRRGGBB
    background: int


def measure(image: QImage, rect: QRect) -> Measured | None:
    """The text-against-background contrast of the pixels in ``rect`` of ``image``.

    The background is the commonest colour; the text colour is the colour (seen at least
    twice, so a stray pixel does not count) farthest from it in contrast ratio: the core of
    the glyphs, where anti-aliasing has not mixed in the background.
    """
    crop = image.copy(rect.intersected(image.rect())).convertToFormat(QImage.Format.Format_RGB32)
    if crop.isNull() or crop.width() == 0 or crop.height() == 0:
        return None
    pixels = array("I")
    pixels.frombytes(bytes(crop.constBits())[: crop.width() * crop.height() * 4])
    counts = Counter(pixels)
    background = max(counts, key=counts.__getitem__) & 0xFFFFFF
    seen = [colour & 0xFFFFFF for colour, n in counts.items() if n >= 2] or [background]
    text = max(seen, key=lambda colour: contrast_ratio(colour, background))
    return Measured(contrast_ratio(text, background), text, background)


# ------------------------------------------------------------------ inspecting a window


def _visible(window: QWidget) -> list[QWidget]:
    return [
        w
        for w in window.findChildren(QWidget)
        if not w.isWindow() and w.isVisibleTo(window) and not _inside_item_view(w)
    ]


def _inside_item_view(widget: QWidget) -> bool:
    """Editors and such inside a table's viewport are the table's business."""
    parent = widget.parentWidget()
    while parent is not None and not parent.isWindow():
        if isinstance(_scroll_area_of_viewport(parent), QAbstractItemView):
            return True
        parent = parent.parentWidget()
    return False


def _scroll_area_of_viewport(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    if isinstance(parent, QAbstractScrollArea) and parent.viewport() is widget:
        return parent
    return None


def _scroll_area_of(widget: QWidget, window: QWidget) -> QScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        area = _scroll_area_of_viewport(parent)
        if isinstance(area, QScrollArea):
            return area
        parent = parent.parentWidget()
    return None


def _name(widget: QWidget) -> str:
    text = ""
    if isinstance(widget, QLabel | QAbstractButton):
        text = widget.text()
    elif isinstance(widget, QGroupBox):
        text = widget.title()
    text = " ".join(text.split())
    kind = type(widget).__name__
    ident = widget.objectName() or ""
    label = f"{kind}"
    if ident:
        label += f"#{ident}"
    if text:
        label += f" {text[:60]!r}"
    return label


class Inspector:
    def __init__(self, window: QWidget, limits: Limits) -> None:
        self.window = window
        self.limits = limits
        self.problems: list[str] = []
        self._image: QImage | None = None
        self._scrolled: list[QScrollArea] = []

    def run(self) -> list[str]:
        self._window_fills_screen()
        for widget in _visible(self.window):
            self._fits_parent(widget)
            self._text_fits(widget)
            self._target(widget)
            self._contrast(widget)
            if isinstance(widget, QAbstractScrollArea):
                self._no_sideways_scrolling(widget)
            if isinstance(widget, QTableView):
                self._table(widget)
            if isinstance(widget, QTabBar):
                self._tabs(widget)
        return self.problems

    def add(self, widget: QWidget | None, what: str) -> None:
        self.problems.append(f"{_name(widget)} {what}" if widget is not None else what)

    # -------------------------------------------------------------- geometry

    def _window_fills_screen(self) -> None:
        screen = self.window.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        want, got = screen.geometry(), self.window.geometry()
        if got != want:
            self.add(
                None,
                f"window is {got.width()}x{got.height()}+{got.x()}+{got.y()}, "
                f"the screen {want.width()}x{want.height()}+{want.x()}+{want.y()}",
            )

    def _fits_parent(self, widget: QWidget) -> None:
        parent = widget.parentWidget()
        if parent is None:
            return
        r, room = widget.geometry(), parent.rect()
        area = _scroll_area_of_viewport(parent)
        right = r.right() - room.right()
        left = room.left() - r.left()
        below = r.bottom() - room.bottom()
        above = room.top() - r.top()
        if area is not None:
            above = below = 0  # a scroll area's page may be taller: it scrolls
        if max(right, left, below, above) > TOLERANCE:
            self.add(
                widget,
                f"reaches past its {type(parent).__name__} "
                f"(right {right}, left {left}, below {below}, above {above} px)",
            )

    def _no_sideways_scrolling(self, area: QAbstractScrollArea) -> None:
        bar = area.horizontalScrollBar()
        if bar.maximum() > bar.minimum():
            self.add(area, f"scrolls sideways ({bar.maximum() - bar.minimum()} px)")

    # -------------------------------------------------------------- text

    def _text_fits(self, widget: QWidget) -> None:
        if isinstance(widget, QLabel) and widget.text().strip():
            if widget.wordWrap():
                need = widget.heightForWidth(widget.width())
                if need > widget.height() + TOLERANCE:
                    self.add(widget, f"is cut off: needs {need} px height, has {widget.height()}")
            else:
                hint = widget.sizeHint()
                if hint.width() > widget.width() + TOLERANCE:
                    self.add(widget, f"is cut off: needs {hint.width()} px, has {widget.width()}")
                elif hint.height() > widget.height() + TOLERANCE:
                    self.add(
                        widget,
                        f"is cut off: needs {hint.height()} px height, has {widget.height()}",
                    )
        elif isinstance(widget, QAbstractButton) and widget.text().strip():
            hint = widget.sizeHint()
            if hint.width() > widget.width() + TOLERANCE:
                self.add(widget, f"text is cut off: needs {hint.width()} px, has {widget.width()}")
        elif isinstance(widget, QGroupBox) and widget.title():
            need = widget.fontMetrics().horizontalAdvance(widget.title()) + 24
            if need > widget.width():
                self.add(widget, f"title is cut off: needs {need} px, has {widget.width()}")
        elif isinstance(widget, QLineEdit) and not widget.text() and widget.placeholderText():
            need = widget.fontMetrics().horizontalAdvance(widget.placeholderText())
            room = widget.contentsRect().width() - 8
            if need > room:
                self.add(widget, f"placeholder {widget.placeholderText()!r} is cut off")
        elif isinstance(widget, QComboBox) and widget.currentText():
            option = QStyleOptionComboBox()
            widget.initStyleOption(option)
            field = widget.style().subControlRect(
                QStyle.ComplexControl.CC_ComboBox,
                option,
                QStyle.SubControl.SC_ComboBoxEditField,
                widget,
            )
            need = widget.fontMetrics().horizontalAdvance(widget.currentText())
            if need > field.width():
                self.add(
                    widget, f"shows {widget.currentText()!r} cut off ({need} > {field.width()} px)"
                )

    def _table(self, view: QTableView) -> None:
        header = view.horizontalHeader()
        stretch = header.stretchLastSection()
        last = max((c for c in range(header.count()) if not header.isSectionHidden(c)), default=-1)
        model = view.model()
        for column in range(header.count()):
            if header.isSectionHidden(column):
                continue
            width = header.sectionSize(column)
            title = str(model.headerData(column, header.orientation()) or "")
            need = header.sectionSizeFromContents(column).width()
            if need > width + TOLERANCE:
                self.add(view, f"column {title!r} heading is cut off ({need} > {width} px)")
            wraps = view.wordWrap() and (
                header.sectionResizeMode(column) == header.ResizeMode.Stretch
                or (stretch and column == last)
            )
            if not wraps and view.sizeHintForColumn(column) > width + TOLERANCE:
                self.add(view, f"column {title!r} cells are cut off")
        for row in range(model.rowCount()):
            if view.isRowHidden(row):
                continue
            height = view.rowHeight(row)
            if view.sizeHintForRow(row) > height + TOLERANCE:
                self.add(view, f"row {row} is cut off ({view.sizeHintForRow(row)} > {height})")
            if (
                height < self.limits.target_px
                and view.selectionMode() != view.SelectionMode.NoSelection
            ):
                self.add(view, f"row {row} is a {height} px touch target")

    def _tabs(self, bar: QTabBar) -> None:
        for index in range(bar.count()):
            rect, hint = bar.tabRect(index), bar.tabSizeHint(index)
            if rect.width() + TOLERANCE < hint.width():
                self.add(bar, f"tab {bar.tabText(index)!r} is cut off")
            if min(rect.width(), rect.height()) < self.limits.target_px:
                self.add(bar, f"tab {bar.tabText(index)!r} is {rect.width()}x{rect.height()}")

    # -------------------------------------------------------------- touch

    def _target(self, widget: QWidget) -> None:
        interactive = isinstance(widget, QAbstractButton | QComboBox | QAbstractSpinBox) or (
            isinstance(widget, QLineEdit)
            and not widget.isReadOnly()
            and not isinstance(widget.parentWidget(), QAbstractSpinBox | QComboBox)
        )
        if isinstance(widget, QScrollBar):
            thickness = (
                widget.width()
                if widget.orientation() == Qt.Orientation.Vertical
                else widget.height()
            )
            if thickness < self.limits.target_px:
                self.add(
                    widget,
                    f"is {thickness} px thick, a touch target under {self.limits.target_px} px",
                )
            return
        if not interactive:
            return
        smallest = min(widget.width(), widget.height())
        if smallest < self.limits.target_px:
            self.add(
                widget,
                f"is {widget.width()}x{widget.height()}, a touch target under "
                f"{self.limits.target_px} px",
            )
        if (
            isinstance(widget, QAbstractSpinBox)
            and widget.buttonSymbols() != QAbstractSpinBox.ButtonSymbols.NoButtons
            and not getattr(widget, "calendarPopup", lambda: False)()
        ):
            option = QStyleOptionSpinBox()
            option.initFrom(widget)
            option.rect = widget.rect()
            option.frame = widget.hasFrame()
            option.subControls = QStyle.SubControl.SC_SpinBoxUp | QStyle.SubControl.SC_SpinBoxDown
            for part in (QStyle.SubControl.SC_SpinBoxUp, QStyle.SubControl.SC_SpinBoxDown):
                rect = widget.style().subControlRect(
                    QStyle.ComplexControl.CC_SpinBox, option, part, widget
                )
                if min(rect.width(), rect.height()) < self.limits.target_px:
                    self.add(widget, f"arrow is {rect.width()}x{rect.height()}")

    # -------------------------------------------------------------- contrast

    def _grab(self) -> QImage:
        """The window as rendered (Qt's own painting, on the platform under test)."""
        if self._image is None:
            self._image = self.window.grab().toImage()
        return self._image

    def _contrast(self, widget: QWidget) -> None:
        if isinstance(widget, QLabel):
            if not widget.text().strip():
                return
        elif isinstance(widget, QAbstractButton):
            if not widget.text().strip() or not widget.isEnabled():
                return  # WCAG: inactive controls have no contrast requirement
        else:
            return
        if not on_screen(widget, self.window):
            area = _scroll_area_of(widget, self.window)
            if area is not None:  # a long page: scroll it into view, as a person would
                area.ensureWidgetVisible(widget, 0, 0)
                self._scrolled.append(area)
                QApplication.processEvents()
                self._image = None
            if not on_screen(widget, self.window):
                self.add(widget, "cannot be brought on screen to be read")
                return
        image = self._grab()
        ratio = image.devicePixelRatio() or 1.0
        top_left = widget.mapTo(self.window, QPoint(0, 0))
        rect = QRect(
            int(top_left.x() * ratio),
            int(top_left.y() * ratio),
            int(widget.width() * ratio),
            int(widget.height() * ratio),
        )
        found = measure(image, rect)
        if found is None:
            self.add(widget, "could not be measured")
        elif found.ratio < self.limits.contrast:
            self.add(
                widget,
                f"contrast {found.ratio:.2f}:1 (#{found.text:06X} on #{found.background:06X}), "
                f"under {self.limits.contrast:g}:1",
            )

    def scroll_back(self) -> None:
        for area in self._scrolled:
            area.verticalScrollBar().setValue(0)
        if self._scrolled:
            QApplication.processEvents()


def inspect(window: QWidget, limits: Limits) -> list[str]:
    inspector = Inspector(window, limits)
    try:
        return inspector.run()
    finally:
        inspector.scroll_back()


def on_screen(widget: QWidget, window: QWidget) -> bool:
    """Wholly visible without scrolling: inside the window and every scroll area's view."""
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    visible = window.rect()
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if _scroll_area_of_viewport(parent) is not None:
            visible = visible.intersected(QRect(parent.mapTo(window, QPoint(0, 0)), parent.size()))
        parent = parent.parentWidget()
    return widget.isVisibleTo(window) and visible.contains(rect)


# Buttons a night shift must find without scrolling, at both sizes (msgids, by page).
# The page whose How-to panel the walk saves (a long one, that scrolls).
HOWTO_SHOT = "lanes"
KEY_BUTTONS = {
    "participants": ("Enroll a finger",),
    "reconciliation": ("Reconcile", "Export CSV to folder"),
    "hardware": ("Write diagnostics to folder", "Install update from USB"),
    "notices": ("Save notice",),
    "manual_dose": ("Record the dose",),
}


# ------------------------------------------------------------------ the walk

# A site's on-call line as long as the configuration allows.
ON_CALL = "Call the on-call technician at 604-555-0199, any hour of the day"


@dataclass
class Report:
    size: str
    pages: int = 0
    problems: list[str] = field(default_factory=list)
    shots: list[str] = field(default_factory=list)


class QtWarnings:
    """Collects what Qt warns about while the walk runs."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._previous: Any = None

    def __enter__(self) -> QtWarnings:
        def handler(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
            serious = kind in (
                QtMsgType.QtWarningMsg,
                QtMsgType.QtCriticalMsg,
                QtMsgType.QtFatalMsg,
            )
            if serious and not any(noise in message for noise in QT_NOISE):
                self.seen.append(message)

        self._previous = qInstallMessageHandler(handler)
        return self

    def __exit__(self, *_exc: object) -> None:
        qInstallMessageHandler(self._previous)


def settle(app: QCoreApplication, busy: Callable[[], bool] = lambda: False) -> None:
    """Run the event loop until the backend has answered and posted layouts are done."""
    while busy():
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    for _ in range(3):
        app.sendPostedEvents()
        app.processEvents()


def wait_for(app: QCoreApplication, condition: Callable[[], object], what: str) -> None:
    """Run the event loop until ``condition`` holds (a loaded machine: a generous deadline)."""
    from time import monotonic

    deadline = monotonic() + 60
    while not condition():
        if monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)


class Walk:
    def __init__(self, app: QApplication, out: Path | None, report: Report) -> None:
        self.app = app
        self.out = out
        self.report = report
        screen = app.primaryScreen().geometry()
        self.orientation = "portrait" if screen.height() >= screen.width() else "landscape"

    def check(self, window: QWidget, name: str, limits: Limits, shot: str | None) -> None:
        self.report.pages += 1
        for problem in inspect(window, limits):
            self.report.problems.append(f"{self.report.size} {name}: {problem}")
        if shot is not None:
            self.save(window, shot)

    def save(self, window: QWidget, shot: str) -> None:
        if self.out is not None:
            path = self.out / self.orientation / f"{shot}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(path), "PNG", 0)  # 0: smallest file
            self.report.shots.append(str(path))

    # -------------------------------------------------------------- participants

    def participant_screens(self, kiosk: Kiosk, locales: tuple[str, ...]) -> None:
        from kiosk.domain import door_recovery as dr
        from kiosk.i18n import set_locale
        from kiosk.ui.screenshots import CONTACT, NOW, SITE, states

        all_states = states()
        # The door lockout's PIN step, refused and locked, with the longest on-call text.
        door = all_states["out_of_service_door"]
        assert door.secure is not None
        pin = replace(
            door.secure,
            step=dr.SecureStep.ENTER_PIN,
            policy=replace(door.secure.policy, on_call=ON_CALL),
        )
        all_states["out_of_service_door_pin"] = replace(door, secure=pin)
        all_states["out_of_service_door_refused"] = replace(
            door, secure=replace(pin, refusal=dr.SecureRefusal.PIN_NOT_ACCEPTED)
        )
        all_states["out_of_service_door_locked"] = replace(
            door, secure=replace(pin, refusal=dr.SecureRefusal.LOCKED, locked_seconds=30)
        )
        window = kiosk.window
        window.view.contact = CONTACT  # the longest site text the schema allows
        for locale in locales:
            set_locale(locale)
            for name, state in all_states.items():
                window.view.show_state(replace(state, locale=locale), NOW, SITE)
                settle(self.app)
                self.check(window, f"{locale} {name}", PARTICIPANT, f"{locale}/{name}")
                if name == "idle":
                    self.staff_corner(kiosk, f"{locale} {name}")
        set_locale("en")

    def store_unavailable(self, locales: tuple[str, ...]) -> None:
        """The window shown when the database cannot be opened (before any kiosk exists)."""
        from kiosk.i18n import set_locale
        from kiosk.ui.screen_fit import ScreenFit
        from kiosk.ui.unavailable import StoreUnavailableWindow

        for locale in locales:
            set_locale(locale)
            window = StoreUnavailableWindow(
                "the database key file /var/lib/kiosk/db.key is missing", lambda: "still missing"
            )
            ScreenFit(window, fullscreen=True).show()
            try:
                settle(self.app)
                name = f"{locale}/store_unavailable"
                self.check(window, f"{locale} store unavailable", PARTICIPANT, name)
            finally:
                window._timer.stop()
                window.close()
                window.deleteLater()
                settle(self.app)
        set_locale("en")

    # -------------------------------------------------------------- staff

    def staff_pages(self, kiosk: Kiosk, locales: tuple[str, ...]) -> None:
        from kiosk.i18n import set_locale
        from kiosk.ui.texts import pin_locked_text

        roles = kiosk.roles()
        for locale in locales:
            shown: set[str] = set()
            for number, (role, pin) in enumerate(roles.items()):
                set_locale(locale)
                login = kiosk.open_login()
                first = number == 0
                if first:
                    self.check(kiosk.window, f"{locale} PIN pad", STAFF, f"staff/{locale}/pin_pad")
                    kiosk.enter_pin(login, "000000")
                    wait_for(self.app, login.message.text, "the PIN refusal")
                    settle(self.app, kiosk.busy)
                    self.check(
                        kiosk.window,
                        f"{locale} PIN pad refused",
                        STAFF,
                        f"staff/{locale}/pin_refused",
                    )
                    login.message.setText(pin_locked_text(30))
                    settle(self.app)
                    self.check(
                        kiosk.window,
                        f"{locale} PIN pad locked",
                        STAFF,
                        f"staff/{locale}/pin_locked",
                    )
                panel = kiosk.log_in(login, pin)
                for index, page in enumerate(panel.pages):
                    panel.open_page(page.key)
                    settle(self.app, kiosk.busy)
                    where = f"{locale} {role} {page.key}"
                    shot = None
                    if index == 0:
                        shot = f"staff/{locale}/role_{role}"
                    elif page.key not in shown:
                        shot = f"staff/{locale}/{page.key}"
                    self.check(kiosk.window, where, STAFF, shot)
                    if index == 0 and page.key not in shown:
                        self.save(kiosk.window, f"staff/{locale}/{page.key}")  # the manual's
                    self.key_buttons(kiosk.window, panel, page, where)
                    if page.key not in shown:
                        self.page_details(kiosk, panel, page, f"{locale} {role}", f"staff/{locale}")
                        self.howto(kiosk, panel, page, f"{locale} {role}", f"staff/{locale}")
                    shown.add(page.key)
                panel.logout_button.click()
                settle(self.app, kiosk.busy)
                self.staff_corner(kiosk, f"{locale} {role} idle after logout")
                self.check(
                    kiosk.window,
                    f"{locale} {role} idle after logout",
                    PARTICIPANT,
                    f"{locale}/idle_after_logout" if first else None,
                )
        set_locale("en")

    def staff_corner(self, kiosk: Kiosk, where: str) -> None:
        """The idle screen's hidden corner (staff entry) is whole and on screen."""
        corner = kiosk.window.view.idle.corner
        if kiosk.window.view.currentWidget() is not kiosk.window.view.idle:
            self.report.problems.append(f"{self.report.size} {where}: not the idle screen")
        elif not on_screen(corner, kiosk.window):
            self.report.problems.append(
                f"{self.report.size} {where}: the staff corner is off screen"
            )

    def key_buttons(self, window: QWidget, panel: Any, page: Any, where: str) -> None:
        from kiosk.i18n import _

        wanted = [panel.logout_button]
        for msgid in KEY_BUTTONS.get(page.key, ()):
            found = [b for b in page.findChildren(QPushButton) if b.text() == _(msgid)]
            if not found:
                self.report.problems.append(f"{self.report.size} {where}: no {msgid!r} button")
            wanted += found
        for button in wanted:
            if not on_screen(button, window):
                self.report.problems.append(
                    f"{self.report.size} {where}: {button.text()!r} is not on screen"
                )

    def page_details(self, kiosk: Kiosk, panel: Any, page: Any, who: str, folder: str) -> None:
        """The parts of a page that only show after a touch: opened once per language."""
        busy = kiosk.busy
        if page.key == "participants":
            page.search.setText("P-0002")
            page.activated()
            settle(self.app, busy)
            page.results.selectRow(0)
            settle(self.app, busy)
            self.check(kiosk.window, f"{who} participant detail", STAFF, f"{folder}/participant")
            page.new_toggle.setChecked(True)
            settle(self.app, busy)
            self.check(kiosk.window, f"{who} new participant", STAFF, f"{folder}/new_participant")
            page.new_toggle.setChecked(False)
            page.add_prescription()
            settle(self.app, busy)
            self.check(kiosk.window, f"{who} prescription editor", STAFF, f"{folder}/prescription")
            page.editor.hide()
            page.enroll()
            settle(self.app, busy)
            self.check(kiosk.window, f"{who} enrolment", STAFF, f"{folder}/enrolment")
            page.closing()
            if page.enrollment is not None:
                page.enrollment.setParent(None)
                page.enrollment = None
            settle(self.app, busy)
        elif page.key == "logs":
            page.tabs.setCurrentIndex(1)
            settle(self.app, busy)
            self.check(kiosk.window, f"{who} audit log", STAFF, f"{folder}/audit")
            page.tabs.setCurrentIndex(0)
        elif page.key == "hardware":
            page.run_selftest()
            settle(self.app, busy)
            self.check(kiosk.window, f"{who} self-test", STAFF, f"{folder}/selftest")

    def howto(self, kiosk: Kiosk, panel: Any, page: Any, who: str, folder: str) -> None:
        """The page's How-to panel, open (kiosk/help): checked on every page, the longest
        one saved."""
        panel.howto_button.click()
        settle(self.app, kiosk.busy)
        shot = f"{folder}/howto" if page.key == HOWTO_SHOT else None
        self.check(kiosk.window, f"{who} {page.key} how-to", STAFF, shot)
        panel.howto.close_button.click()
        settle(self.app, kiosk.busy)

    # -------------------------------------------------------------- setup wizard

    def setup_wizard(self, locales: tuple[str, ...]) -> None:
        from kiosk.i18n import set_locale
        from kiosk.services.config import Config
        from kiosk.services.setup import SetupService
        from kiosk.ui.background import Backend
        from kiosk.ui.screen_fit import ScreenFit
        from kiosk.ui.setup_wizard import SetupWizard

        for locale in locales:
            set_locale(locale)
            backend = Backend()

            def backend_busy(backend: Backend = backend) -> bool:
                return bool(backend.busy)

            with tempfile.TemporaryDirectory(prefix="kiosk-walk-setup-") as tmp:
                service = SetupService()
                wizard = SetupWizard(
                    service,
                    backend,
                    config_path=Path(tmp) / "kiosk.toml",
                    data_dir=Path(tmp) / "data",
                )
                ScreenFit(wizard, fullscreen=True).show()
                try:
                    for index in range(wizard._summary_index + 1):
                        wizard._show_page(index)
                        settle(self.app, backend_busy)
                        name = f"{index + 1:02d}"
                        self.check(
                            wizard, f"{locale} setup page {name}", STAFF, f"setup/{locale}/{name}"
                        )
                        if index == 1:  # a refusal in the message line
                            wizard._next()
                            settle(self.app)
                            self.check(
                                wizard,
                                f"{locale} setup page {name} refused",
                                STAFF,
                                f"setup/{locale}/{name}_refused",
                            )
                    # Set up: the next steps page (with the key file's line).
                    service.key_path = Path("/var/lib/kiosk/db.key")  # steady screenshots
                    wizard._finished(Config(site_name="Walk", data_dir=Path(tmp) / "data"))
                    settle(self.app)
                    self.check(
                        wizard, f"{locale} setup next steps", STAFF, f"setup/{locale}/next_steps"
                    )
                finally:
                    wizard.hide()
                    wizard.deleteLater()
                    settle(self.app)
                    backend.shutdown()
        set_locale("en")


# ------------------------------------------------------------------ a kiosk to walk


WALK_ROLES = {
    # role: (name, PIN): the demo's four, plus the two roles the demo does not seed
    "technician": ("Walk Technician", "864213"),
    "prescriber": ("Walk Prescriber", "731946"),
}


class Kiosk:
    """The demo machine (fast emulators) behind a full-screen MainWindow."""

    def __init__(self, app: QApplication, data: Path) -> None:
        from kiosk.app import build_admin_services, start_demo
        from kiosk.services.clock import FixedClock
        from kiosk.ui.background import Backend
        from kiosk.ui.flow_driver import FlowDriver
        from kiosk.ui.main_window import MainWindow
        from kiosk.ui.screenshots import NOW

        self.app = app
        self.runtime = start_demo(data, FixedClock(NOW), realistic_timing=False)
        self.services = build_admin_services(self.runtime)
        self.backend = Backend()
        self.driver = FlowDriver(self.runtime.interaction, self.backend, "en", self.runtime.health)
        self.backend.set_fallback(self.driver.report_failure)
        config = self.runtime.config
        self.window = MainWindow(
            self.driver, self.runtime.clock, config.site, config.site_name, self.services
        )
        self.window.show_on_screen(fullscreen=True)
        self.runtime.store.raise_alert(
            "lane_jammed",
            "lane:2",
            "Lane 2 is jammed: staff must clear and reset it.",
            self.runtime.clock.now(),
        )

    def busy(self) -> bool:
        return bool(self.backend.busy)

    def roles(self) -> dict[str, str]:
        from kiosk.services.seed import (
            DEMO_ADMIN_PIN,
            DEMO_NURSE_PIN,
            DEMO_PHARMACIST_PIN,
            DEMO_WORKER_PIN,
        )

        staff = self.services.staff
        existing = {record.role for record in staff.staff()}
        admin = staff.login(DEMO_ADMIN_PIN)
        for role, (name, pin) in WALK_ROLES.items():
            if role not in existing:
                staff.add(admin, name, role, pin)
        staff.logout(admin)
        return {
            "admin": DEMO_ADMIN_PIN,
            "pharmacist": DEMO_PHARMACIST_PIN,
            "nurse": DEMO_NURSE_PIN,
            "staff": DEMO_WORKER_PIN,
            "technician": WALK_ROLES["technician"][1],
            "prescriber": WALK_ROLES["prescriber"][1],
        }

    def open_login(self) -> Any:
        self.window.open_staff_login()
        login = self.window.login
        assert login is not None, "the staff PIN pad did not open"
        settle(self.app)
        return login

    def enter_pin(self, login: Any, pin: str) -> None:
        for digit in pin:
            login.pad.keys[digit].click()
        login.pad.keys["ok"].click()

    def log_in(self, login: Any, pin: str) -> Any:
        self.enter_pin(login, pin)
        wait_for(self.app, lambda: self.window.panel is not None, "the staff panel")
        settle(self.app, self.busy)
        return self.window.panel

    def close(self) -> None:
        self.window.shutdown()
        self.window.close()
        settle(self.app, self.busy)
        self.backend.shutdown()
        self.runtime.close()


@contextmanager
def walking_kiosk(app: QApplication) -> Iterator[Kiosk]:
    with tempfile.TemporaryDirectory(prefix="kiosk-walk-") as tmp:
        kiosk = Kiosk(app, Path(tmp) / "data")
        try:
            yield kiosk
        finally:
            kiosk.close()


def walk(
    out: Path | None, participant_locales: tuple[str, ...], staff_locales: tuple[str, ...]
) -> Report:
    app = theme.application(sys.argv[:1])
    screen = app.primaryScreen().geometry()
    report = Report(f"{screen.width()}x{screen.height()} {app.platformName()}")
    with QtWarnings() as warnings:
        walker = Walk(app, out, report)
        with walking_kiosk(app) as kiosk:
            walker.participant_screens(kiosk, participant_locales)
            walker.staff_pages(kiosk, staff_locales)
        walker.setup_wizard(staff_locales)
        walker.store_unavailable(staff_locales)
    report.problems += [f"{report.size}: Qt warned: {message}" for message in warnings.seen]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="save screenshots under this folder")
    parser.add_argument("--report", type=Path, help="write the findings here (JSON)")
    parser.add_argument("--locales", default=",".join(PARTICIPANT_SHOT_LOCALES))
    parser.add_argument("--staff-locales", default=",".join(STAFF_LOCALES))
    args = parser.parse_args(argv)
    report = walk(
        args.out,
        tuple(filter(None, args.locales.split(","))),
        tuple(filter(None, args.staff_locales.split(","))),
    )
    if args.report is not None:
        args.report.write_text(json.dumps(report.__dict__, indent=1))
    print(f"{report.size}: {report.pages} screens walked, {len(report.problems)} problems")
    for problem in report.problems:
        print(problem)
    return 1 if report.problems else 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    sys.exit(main())
