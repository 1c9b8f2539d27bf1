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


def test_the_simulator_presents_distinct_new_fingers_for_a_two_finger_enrolment(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    """The demo enrolls two more fingers of P-0001 with the simulator's "new finger"
    buttons: each number is one finger (three presses of it merge), the next is another."""
    from kiosk.services.participants import CaptureOutcome
    from kiosk.services.seed import DEMO_ADMIN_PIN
    from kiosk.ui.admin.pages.enrollment import EnrollmentPanel
    from tests.ui.test_admin import log_in

    simulator = SimulatorWindow(kiosk.sensor, kiosk.controller)
    qtbot.addWidget(simulator)
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)  # the participant flow pauses meanwhile
    ctx = panel.ctx
    people: list[object] = []
    ctx.run(lambda: ctx.services.participants.search(ctx.session, "P-0001"), people.extend)
    qtbot.waitUntil(lambda: bool(people), timeout=15000)
    before = len(kiosk.sensor.library())

    for finger in ("left-index", "left-middle"):
        enrol = EnrollmentPanel(ctx, people[0], lambda: None)
        qtbot.addWidget(enrol)
        enrol.finger.setCurrentIndex(enrol.finger.findData(finger))
        enrol.start()
        outcomes = enrol.outcomes
        for press in range(1, 4):
            click(qtbot, simulator, "Place new finger")
            qtbot.waitUntil(lambda n=press, seen=outcomes: len(seen) == n, timeout=20000)
            empty = kiosk.sensor.empty_reads
            click(qtbot, simulator, "Lift finger")
            if press < 3:  # the sensor must see the glass empty between presses
                qtbot.waitUntil(lambda e=empty: kiosk.sensor.empty_reads > e, timeout=20000)
        assert outcomes == [CaptureOutcome.GOOD, CaptureOutcome.GOOD, CaptureOutcome.ENROLLED]
        click(qtbot, simulator, "Next new finger")
    assert simulator.new_finger.value() == 3
    library = kiosk.sensor.library()
    assert len(library) == before + 2
    assert {"new-finger/1", "new-finger/2"} <= set(library.values())
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
