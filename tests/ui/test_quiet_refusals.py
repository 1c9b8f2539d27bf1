"""Expected refusals are a line at INFO, never an ERROR with a traceback; faults still are."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain.door_recovery import SecureRefusal
from kiosk.domain.flow import Screen
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.health import NotSecure
from kiosk.services.interaction import WitnessRequired
from kiosk.services.pin_gate import EntryPoint, PinLocked, WrongPin
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_NURSE_PIN
from kiosk.ui.background import Backend
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import enter_pin, log_in, press_and_hold_corner
from tests.ui.test_faults import refusal, staff_pin

NOW = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)
REFUSALS: list[BaseException] = [
    NotPermitted("manage_staff"),
    InvalidInput("pin_short"),
    WrongPin(EntryPoint.ADMIN_LOGIN, 1),
    PinLocked(EntryPoint.ADMIN_LOGIN, NOW + timedelta(seconds=30), NOW),
    NotSecure(SecureRefusal.DOOR_OPEN),
    WitnessRequired("a witnessed dose cannot be given without a witness"),
]


def loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records at WARNING or worse from the kiosk, and any record with a traceback."""
    return [
        r
        for r in caplog.records
        if r.name.startswith("kiosk") and (r.levelno >= logging.WARNING or r.exc_info)
    ]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda e: type(e).__name__)
def test_a_refused_job_is_logged_at_info_without_a_traceback(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture, refusal: BaseException
) -> None:
    backend = Backend()
    errors: list[BaseException] = []

    def refuse() -> None:
        raise refusal

    with caplog.at_level(logging.INFO):
        backend.submit(refuse, on_error=errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=15000)
    backend.shutdown()
    assert errors == [refusal]
    assert not loud(caplog)
    assert [r.levelno for r in caplog.records if r.name == "kiosk.backend"] == [logging.INFO]


def test_a_fault_in_a_job_is_still_an_error_with_its_traceback(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    backend = Backend()
    errors: list[BaseException] = []

    def boom() -> None:
        raise RuntimeError("disk full")

    with caplog.at_level(logging.INFO):
        backend.submit(boom, on_error=errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=15000)
    backend.shutdown()
    (record,) = [r for r in caplog.records if r.name == "kiosk.backend"]
    assert record.levelno == logging.ERROR and record.exc_info


def test_staff_refusals_on_the_screens_stay_out_of_the_error_log(
    kiosk: Kiosk, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # A wrong PIN at the staff login.
    press_and_hold_corner(kiosk, qtbot)
    assert kiosk.window.login is not None
    message = kiosk.window.login.message
    enter_pin(kiosk, qtbot, "000000")
    qtbot.waitUntil(lambda: message.text() == "That PIN was not accepted.", timeout=15000)
    qtbot.mouseClick(kiosk.window.login.cancel, Qt.MouseButton.LeftButton)
    # A role that may not remove a participant.
    panel = log_in(kiosk, qtbot, DEMO_NURSE_PIN)
    panel.open_page("participants")
    page = panel.page("participants")
    qtbot.waitUntil(lambda: page.results.rowCount() > 0, timeout=15000)  # type: ignore[attr-defined]
    page.results.selectRow(0)  # type: ignore[attr-defined]
    page.reason.setText("moved away")  # type: ignore[attr-defined]
    page.remove()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "Your role may not do that.", timeout=15000)
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
    # A lockout that cannot be cleared yet (the door is open) and a PIN of the wrong role.
    kiosk.controller.open_door()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    staff_pin(kiosk, qtbot, DEMO_NURSE_PIN)
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.PIN_NOT_ACCEPTED, timeout=15000)
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.DOOR_OPEN, timeout=15000)
    kiosk.controller.close_door()
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=20000)
    refused = [r for r in caplog.records if r.name == "kiosk.backend"]
    assert [r.getMessage() for r in refused] == [
        "backend job refused: WrongPin: wrong PIN at admin (1 in a row)",
        "backend job refused: NotPermitted: remove_participant",
        "backend job refused: NotSecure: pin",
        "backend job refused: NotSecure: door_open",
    ]
    # The door opening is worth a warning; none of the refusals is.
    assert [(r.levelname, r.getMessage()) for r in loud(caplog)] == [
        ("WARNING", "service door opened outside a staff session: dispensing stopped")
    ]
