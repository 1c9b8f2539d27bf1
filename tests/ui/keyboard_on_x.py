"""The on-screen keyboard on a real X server: run by tests/ui/test_keyboard.py under Xvfb.

``python -m tests.ui.keyboard_on_x OUT_DIR`` (with QT_QPA_PLATFORM=xcb and a DISPLAY) opens
the setup wizard full screen as `kiosk run` does, touches its text and PIN fields with real
mouse events, types on the keyboard's own keys, and prints one JSON object of what it saw.
Screenshots of the whole X screen go to OUT_DIR. It waits on conditions, never sleeps.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QElapsedTimer, QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtQuick import QQuickItem
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from kiosk.ui.keyboard import application, keyboard_keys, keyboard_top

TIMEOUT_MS = 15000


def wait(condition: Any) -> bool:
    """Run the event loop until ``condition()`` holds (True) or TIMEOUT_MS pass (False)."""
    timer = QElapsedTimer()
    timer.start()
    while not condition():
        if timer.elapsed() > TIMEOUT_MS:
            return False
        QTest.qWait(10)  # processes events for 10 ms: the loop goes on while it waits
    return True


def visible() -> bool:
    return bool(QGuiApplication.inputMethod().isVisible())


def touch(widget: QWidget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)


def type_on_keyboard(text: str) -> list[str]:
    """Click the keyboard's keys for ``text`` (lower-case letters and spaces); the keys
    not found."""
    missing = []
    for char in text:
        keys = keyboard_keys()
        item = keys.get(char)
        if not isinstance(item, QQuickItem):
            missing.append(char)
            continue
        window = item.window()
        centre = item.mapToScene(QPointF(item.width() / 2, item.height() / 2)).toPoint()
        QTest.mouseClick(window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    return missing


def bottom_of(widget: QWidget) -> int:
    return int(widget.mapToGlobal(QPoint(0, widget.height())).y())


def shot(out: Path, name: str) -> str:
    """The whole X screen (every top-level window: ours and the keyboard's)."""
    from PySide6.QtWidgets import QApplication

    for window in QApplication.topLevelWidgets():
        if window.isVisible():
            window.repaint()  # painted now, not at the next turn of the loop
    QGuiApplication.sync()  # and on the X server before it is read back
    path = out / f"{name}.png"
    QGuiApplication.primaryScreen().grabWindow(0).save(str(path))
    return str(path)


def main(out: Path) -> dict[str, Any]:
    app = application(sys.argv[:1])
    from kiosk.services.setup import SetupService
    from kiosk.ui.background import Backend
    from kiosk.ui.setup_wizard import SetupWizard

    seen: dict[str, Any] = {"platform": QGuiApplication.platformName()}
    screen = QGuiApplication.primaryScreen().geometry()
    seen["screen"] = [screen.width(), screen.height()]
    backend = Backend()
    base = Path(tempfile.mkdtemp(prefix="kiosk-keyboard-"))
    wizard = SetupWizard(
        SetupService(), backend, config_path=base / "kiosk.toml", data_dir=base / "data"
    )
    wizard.setGeometry(screen)
    wizard.show()
    wait(lambda: wizard.isVisible() and wizard.windowHandle().isExposed())

    # A text field: touching it opens the keyboard; its keys type into the field.
    wizard._show_page(1)  # the site page
    touch(wizard.site_name)
    seen["text_field_opens_keyboard"] = wait(lambda: visible() and "a" in keyboard_keys())
    seen["accents_on_e"] = str(keyboard_keys()["e"].property("alternativeKeys"))  # type: ignore[attr-defined]
    seen["missing_keys"] = type_on_keyboard("east clinic")
    wait(lambda: wizard.site_name.text().lower() == "east clinic")
    seen["typed"] = wizard.site_name.text()
    top = keyboard_top(wizard.site_name)
    seen["keyboard_top"] = top
    seen["field_clear_of_keyboard"] = top is not None and bottom_of(wizard.site_name) <= top
    seen["shots"] = [shot(out, "keyboard-site-name")]

    # A PIN field: no keyboard; the kiosk's PIN pad opens over the window instead.
    wizard._show_page(wizard.stack.indexOf(wizard.admin_pin.parentWidget()))
    touch(wizard.admin_name)
    wait(visible)
    touch(wizard.admin_pin)
    seen["pin_field_hides_keyboard"] = wait(lambda: not visible())
    seen["pin_pad_opens"] = wait(lambda: wizard.admin_pin.pad is not None)
    pad = wizard.admin_pin.pad
    if pad is not None:
        seen["shots"].append(shot(out, "pin-pad"))
        for key in "602718":
            touch(pad.pad.keys[key])
        touch(pad.pad.keys["ok"])
        wait(lambda: wizard.admin_pin.pad is None)
    seen["pin_entered"] = wizard.admin_pin.text() == "602718"
    seen["keyboard_after_pin"] = visible()

    # A field at the very bottom of a full-screen window: the window moves up while typing.
    low = QWidget()
    low.setGeometry(screen)
    layout = QVBoxLayout(low)
    layout.addStretch(1)
    field = QLineEdit()
    field.setMinimumHeight(64)
    layout.addWidget(field)
    low.show()
    wait(lambda: low.windowHandle().isExposed())
    home = low.pos().y()
    touch(field)
    wait(visible)
    wait(lambda: (t := keyboard_top(field)) is not None and bottom_of(field) <= t)
    top = keyboard_top(field)
    seen["low_field_clear_of_keyboard"] = top is not None and bottom_of(field) <= top
    seen["low_window_moved_up"] = low.pos().y() < home
    seen["shots"].append(shot(out, "keyboard-low-field"))
    QGuiApplication.inputMethod().hide()
    seen["low_window_back"] = wait(lambda: low.pos().y() == home)

    low.close()
    wizard.close()
    backend.shutdown()
    app.processEvents()
    return seen


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    print(json.dumps(main(folder)), flush=True)
    # Straight out: Python's teardown order of Qt objects is not Qt's (a QPixmap outliving
    # the application aborts); everything this process had to say is said.
    os._exit(0)
