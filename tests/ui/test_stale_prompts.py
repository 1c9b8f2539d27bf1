"""A prompt that no longer holds is withdrawn: "close the service door first" goes once the
door is closed (the next health check reads it), without anyone touching the screen."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from kiosk.domain.flow import Screen
from kiosk.services.seed import DEMO_ADMIN_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_faults import RECOVERY_MS, staff_pin


def test_close_the_door_first_goes_once_the_door_is_closed(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.open_door()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    screen = kiosk.window.view.out_of_service
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)  # the right role, but the door is open
    qtbot.waitUntil(lambda: kiosk.driver.state.staff_message == "door_open", timeout=15000)
    assert screen.staff_message.text() == "Close the service door first."
    kiosk.controller.close_door()
    qtbot.waitUntil(lambda: kiosk.driver.state.staff_message == "", timeout=RECOVERY_MS)
    assert screen.staff_message.isHidden()
    assert kiosk.driver.state.screen is Screen.OUT_OF_SERVICE  # still latched until a PIN
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)


def test_the_tamper_prompt_goes_once_the_switch_is_back(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.trip_tamper()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.staff_message == "tamper", timeout=15000)
    kiosk.controller.clear_tamper()
    qtbot.waitUntil(lambda: kiosk.driver.state.staff_message == "", timeout=RECOVERY_MS)
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)
