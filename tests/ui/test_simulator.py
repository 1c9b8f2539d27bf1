"""Demo mode: a person uses the simulator window and gets a dose end to end."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain.flow import Screen
from kiosk.ui.simulator import SimulatorWindow
from tests.ui.conftest import Kiosk


def click(qtbot: QtBot, simulator: SimulatorWindow, text: str) -> None:
    qtbot.mouseClick(simulator.buttons[text], Qt.MouseButton.LeftButton)


def test_simulator_buttons_drive_the_devices(kiosk: Kiosk, qtbot: QtBot) -> None:
    simulator = SimulatorWindow(kiosk.sensor, kiosk.controller)
    qtbot.addWidget(simulator)
    simulator.participant.setCurrentIndex(0)  # P-0001, due now
    click(qtbot, simulator, "Place enrolled finger")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert not kiosk.driver.state.partial
    click(qtbot, simulator, "Lift finger")
    click(qtbot, simulator, "Open service door")
    assert kiosk.controller.door_open
    click(qtbot, simulator, "Close service door")
    assert not kiosk.controller.door_open
