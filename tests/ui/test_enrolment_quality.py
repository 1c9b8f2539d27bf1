"""Enrolment quality on the Participants page, against the pty sensor emulator: presses that
barely agree and a test press that fails are worded for staff and save nothing; the picture
the participant chooses there is the one staff-assisted identification shows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hardware.emulators.fingerprint import Quality
from kiosk.domain.assisted_id import AssistStep, Picture
from kiosk.domain.flow import Screen
from kiosk.services.participants import CaptureOutcome
from kiosk.services.seed import DEMO_ADMIN_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in, open_participant
from tests.ui.test_assisted_id import identify, start_from_idle


def press(kiosk: Kiosk, qtbot: QtBot, enrollment, finger: str, quality: Quality = "good") -> None:  # type: ignore[no-untyped-def]
    """Lift (the page must see the empty glass), place, and wait for the press's outcome."""
    before = len(enrollment.outcomes)
    lifted_at = kiosk.sensor.empty_reads
    kiosk.sensor.lift_finger()
    qtbot.waitUntil(lambda: kiosk.sensor.empty_reads > lifted_at, timeout=15000)
    kiosk.sensor.place_finger(finger, quality)
    qtbot.waitUntil(lambda: len(enrollment.outcomes) > before, timeout=15000)


def test_presses_that_differ_and_a_failed_test_press_are_worded_and_save_nothing(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    page = open_participant(kiosk, qtbot, panel, "P-0003")
    page.enroll()
    enrollment = page.enrollment
    enrollment.finger.setCurrentIndex(enrollment.finger.findData("left-index"))
    enrollment.start()
    finger = "P-0003/left-index"
    press(kiosk, qtbot, enrollment, finger)
    press(kiosk, qtbot, enrollment, finger, "partial")
    assert enrollment.outcomes[-1] is CaptureOutcome.PRESSES_DIFFER
    words = enrollment.guidance.text()
    assert words.startswith("The two presses differ too much.")
    assert "Match score 25 (needs 50)." in words
    press(kiosk, qtbot, enrollment, finger, "messy")
    assert enrollment.outcomes[-1] is CaptureOutcome.MESSY_IMAGE
    assert "wipe the glass" in enrollment.guidance.text()
    press(kiosk, qtbot, enrollment, finger)
    press(kiosk, qtbot, enrollment, finger)
    assert enrollment.outcomes[-1] is CaptureOutcome.GOOD
    press(kiosk, qtbot, enrollment, finger, "partial")  # the test press
    assert enrollment.outcomes[-1] is CaptureOutcome.TEST_FAILED
    assert "Nothing was saved yet." in enrollment.guidance.text()
    assert list(kiosk.sensor.library().values()).count(finger) == 0
    press(kiosk, qtbot, enrollment, finger)
    assert enrollment.outcomes[-1] is CaptureOutcome.ENROLLED
    assert list(kiosk.sensor.library().values()).count(finger) == 1
    kiosk.sensor.lift_finger()
    # The participant chooses a picture, here, for when their finger will not read.
    page.picture.setCurrentIndex(page.picture.findData(Picture.TREE))
    qtbot.mouseClick(page.buttons["picture"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message.text() == "Picture saved.", timeout=15000)
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=15000)
    start_from_idle(kiosk, qtbot)
    identify(kiosk, qtbot, "3")
    assert kiosk.driver.state.assist is not None
    assert kiosk.driver.state.assist.step is AssistStep.CONFIRM
    assert kiosk.window.view.assisted.picture.picture is Picture.TREE
