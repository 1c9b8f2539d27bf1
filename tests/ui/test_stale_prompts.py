"""A prompt that no longer holds is withdrawn: "the door is still open" goes once the door
is closed (the next health check reads STATUS), without anyone touching the screen."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from kiosk.domain.door_recovery import SecureRefusal
from kiosk.domain.flow import Screen
from kiosk.services.seed import DEMO_ADMIN_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_faults import RECOVERY_MS, refusal, staff_pin


def test_the_door_still_open_goes_once_the_door_is_closed(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.open_door()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    secure = kiosk.window.view.out_of_service.secure
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)  # the right role, but the door is open
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.DOOR_OPEN, timeout=15000)
    assert "still reports the service door open" in secure.message.text()
    kiosk.controller.close_door()
    qtbot.waitUntil(lambda: refusal(kiosk) is None, timeout=RECOVERY_MS)
    assert "still reports the service door open" not in secure.message.text()
    assert kiosk.driver.state.screen is Screen.OUT_OF_SERVICE  # still latched until a PIN
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)


def test_the_tamper_prompt_goes_once_the_switch_is_back(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.trip_tamper()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.TAMPER, timeout=15000)
    kiosk.controller.clear_tamper()
    qtbot.waitUntil(lambda: refusal(kiosk) is None, timeout=RECOVERY_MS)
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)
