"""The on-screen keyboard: text fields open it and its keys type; PIN fields never do.

The real keyboard runs on a real X server (Xvfb, the xcb platform) in a subprocess, since
the input method is chosen before a QApplication exists and this suite's is offscreen
(tests/ui/keyboard_on_x.py). The PIN fields' own pad is tested here, offscreen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from kiosk.services.seed import DEMO_ADMIN_PIN
from kiosk.ui.keyboard import PinField, takes_text, use_virtual_keyboard
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("size", ["1080x1920", "1920x1080"])
def test_the_keyboard_on_a_real_x_display(size: str, tmp_path: Path) -> None:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        if os.environ.get("CI"):
            pytest.fail("xvfb-run is missing (package xvfb; .ci/run installs it)")
        pytest.skip("xvfb-run is not installed (package xvfb)")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_IM_MODULE", "DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    result = subprocess.run(
        [
            xvfb_run,
            "-a",
            "-s",
            f"-screen 0 {size}x24",
            sys.executable,
            "-m",
            "tests.ui.keyboard_on_x",
            str(tmp_path),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=100,
        env=env,
        cwd=ROOT,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout + result.stderr[-3000:]
    seen = json.loads(lines[-1])
    assert seen["platform"] == "xcb"
    # Touching a text field opens the keyboard; its keys type into the field.
    assert seen["text_field_opens_keyboard"], seen
    assert seen["missing_keys"] == [], seen
    assert seen["typed"] == "East clinic"  # the first letter capitalised by the keyboard
    assert "é" in seen["accents_on_e"]  # French accents: press and hold the vowel
    assert seen["field_clear_of_keyboard"], seen
    # A PIN field closes the keyboard and opens the kiosk's PIN pad, which fills it.
    assert seen["pin_field_hides_keyboard"] and seen["pin_pad_opens"], seen
    assert seen["pin_entered"] and not seen["keyboard_after_pin"], seen
    # A field low on the screen: its window moves up while the keyboard shows, then back.
    assert seen["low_field_clear_of_keyboard"] and seen["low_window_moved_up"], seen
    assert seen["low_window_back"], seen
    for shot in seen["shots"]:
        assert Path(shot).stat().st_size > 0


def test_text_fields_take_text_and_pin_fields_do_not(qtbot: QtBot) -> None:
    window = QWidget()
    layout = QVBoxLayout(window)
    text, notes, pin = QLineEdit(), QPlainTextEdit(), PinField("PIN")
    for widget in (text, notes, pin):
        layout.addWidget(widget)
    qtbot.addWidget(window)
    window.show()
    assert takes_text(text) and takes_text(notes)
    assert not takes_text(pin)
    pin.setEchoMode(QLineEdit.EchoMode.Password)  # QLineEdit would turn input methods on
    assert not takes_text(pin)


def test_a_pin_field_opens_the_pin_pad_which_fills_it(qtbot: QtBot) -> None:
    window = QWidget()
    layout = QVBoxLayout(window)
    pin = PinField("Second signature")
    layout.addWidget(pin)
    qtbot.addWidget(window)
    window.resize(600, 900)
    window.show()
    qtbot.mouseClick(pin, Qt.MouseButton.LeftButton)
    assert pin.pad is not None
    pad = pin.pad
    assert pad.isVisible() and pad.title.text() == "Second signature"
    assert pad.geometry() == window.rect()  # over the whole window
    for key in "4829157":
        qtbot.mouseClick(pad.pad.keys[key], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.pad.keys["ok"], Qt.MouseButton.LeftButton)
    assert pin.text() == "4829157"
    assert pin.pad is None
    qtbot.waitUntil(lambda: not pad.isVisible())
    # Cancel leaves the field as it was.
    qtbot.mouseClick(pin, Qt.MouseButton.LeftButton)
    assert pin.pad is not None
    qtbot.mouseClick(pin.pad.pad.keys["1"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pin.pad.cancel, Qt.MouseButton.LeftButton)
    assert pin.text() == "4829157" and pin.pad is None


def test_every_staff_pin_field_uses_the_pin_pad(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    fields = panel.findChildren(QLineEdit)
    pins = [field for field in fields if field.echoMode() != QLineEdit.EchoMode.Normal]
    assert len(pins) >= 4  # two on Lanes and stock, two on Staff accounts
    assert all(isinstance(field, PinField) and not takes_text(field) for field in pins)
    texts = [field for field in fields if not isinstance(field, PinField)]
    assert texts and all(takes_text(field) for field in texts)
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)


def test_the_keyboard_is_chosen_unless_the_operator_chose_another() -> None:
    env: dict[str, str] = {}
    use_virtual_keyboard(env)
    assert env == {"QT_IM_MODULE": "qtvirtualkeyboard"}
    env = {"QT_IM_MODULE": "none"}
    use_virtual_keyboard(env)
    assert env == {"QT_IM_MODULE": "none"}
