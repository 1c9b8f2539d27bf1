"""Jam and lockout recovery on screen, on emulated hardware, following only what the screen
offers: the one enabled button, the help line, the highlighted step.

The site lets its night workers (role "staff") clear a door lockout and names an on-call
contact ([site] door_clear_roles, on_call)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot

from kiosk.domain.flow import Screen
from kiosk.services.seed import DEMO_NURSE_PIN, DEMO_WORKER_PIN
from kiosk.ui.admin.pages import jam as jam_page
from kiosk.ui.admin.pages.jam import JamPage
from kiosk.ui.admin.panel import AdminPanel
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import enter_pin
from tests.ui.test_faults import back_to_idle

ON_CALL = "Call the on-call nurse: 604-555-0100"
WAIT_MS = 20000  # a loaded 2-core machine; never a timing claim


@pytest.fixture
def site_toml() -> str:
    return (
        "[site]\n"
        'door_clear_roles = ["staff", "technician", "pharmacist", "admin"]\n'
        f'on_call = "{ON_CALL}"\n'
    )


def click(qtbot: QtBot, button: QWidget) -> None:
    assert button.isVisible() and button.isEnabled(), button
    assert button.height() >= 60, (button, button.height())  # a staff touch target
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def button_named(root: QWidget, text: str) -> QPushButton:
    """The visible button that says ``text`` (as a person finds it)."""
    found = [b for b in root.findChildren(QPushButton) if b.isVisible() and b.text() == text]
    assert len(found) == 1, (text, [b.text() for b in root.findChildren(QPushButton)])
    return found[0]


def next_button(page: JamPage) -> QPushButton:
    """The one action the page offers (Cancel aside)."""
    offered = [
        b
        for action, b in page.buttons.items()
        if b.isVisible() and b.isEnabled() and b.text() != "Cancel"
    ]
    assert len(offered) == 1, [b.text() for b in offered]
    return offered[0]


def press_next(qtbot: QtBot, page: JamPage, label: str) -> str:
    """Press the enabled button (it must say ``label``); wait for the machine's answer;
    return the help line the page shows then."""
    button = next_button(page)
    assert button.text() == label
    click(qtbot, button)
    qtbot.waitUntil(lambda: not page.state.busy, timeout=WAIT_MS)
    help_line = page.help.text()
    assert help_line
    return help_line


def current_step(page: JamPage) -> str:
    label = page.steps.labels[page.steps.current]
    assert "font-weight: 700" in label.styleSheet()  # the current step stands out
    return label.text()


def read_store(kiosk: Kiosk, qtbot: QtBot, sql: str) -> list[tuple[object, ...]]:
    rows: list[list[tuple[object, ...]]] = []
    kiosk.backend.submit(lambda: kiosk.runtime.store.conn.execute(sql).fetchall(), rows.append)
    qtbot.waitUntil(lambda: bool(rows), timeout=WAIT_MS)
    return rows[0]


def dispense_to(kiosk: Kiosk, qtbot: QtBot, finger: str) -> None:
    kiosk.sensor.place_finger(finger)
    qtbot.waitUntil(
        lambda: kiosk.driver.state.screen in (Screen.DONE, Screen.REFUSED, Screen.ERROR),
        timeout=WAIT_MS,
    )
    assert kiosk.driver.state.screen is Screen.DONE, kiosk.driver.state
    back_to_idle(kiosk, qtbot)


@pytest.fixture
def night(kiosk: Kiosk, qtbot: QtBot) -> Iterator[Kiosk]:
    """Lane 2 jammed mid-dose (the fuller of the two hydromorphone lanes in the demo), then
    someone opened the service door with a key: out of service, nobody on shift but a
    night worker."""
    kiosk.controller.jam_seconds = 0.05
    kiosk.controller.force_jam(2, after_units=0)
    dispense_to(kiosk, qtbot, "P-0004/right-index")  # its hydromorphone jams in lane 2
    jammed = read_store(kiosk, qtbot, "SELECT lane FROM lanes WHERE state = 'jammed'")
    assert jammed == [(2,)]
    kiosk.controller.open_door()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=WAIT_MS)
    yield kiosk


def test_a_night_worker_clears_a_jam_and_a_door_lockout_from_the_screen_alone(
    night: Kiosk, qtbot: QtBot
) -> None:
    kiosk, window = night, night.window
    screen = window.view.out_of_service
    assert "The service door was opened outside a staff session." in screen.reasons.text()

    # 1. Out of service: the Staff button, the PIN, the panel.
    click(qtbot, button_named(screen, "Staff sign-in"))
    qtbot.waitUntil(lambda: window.login is not None, timeout=WAIT_MS)
    enter_pin(kiosk, qtbot, DEMO_WORKER_PIN)
    qtbot.waitUntil(lambda: window.panel is not None, timeout=WAIT_MS)
    panel = window.panel
    assert isinstance(panel, AdminPanel)

    # 2. The alerts page: the jam alert, and "Clear this jam".
    alerts = panel.page("alerts")
    table = alerts.table  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: table.rowCount() >= 1, timeout=WAIT_MS)
    [row] = [
        r
        for r in range(table.rowCount())
        if table.item(r, 3).text() == "Lane 2 is jammed: select this alert, then Clear this jam."
    ]
    table.selectRow(row)
    click(qtbot, button_named(alerts, "Clear this jam"))
    page = panel.page("jam")
    assert isinstance(page, JamPage)
    qtbot.waitUntil(lambda: page.isVisible() and page.state.lanes != (), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not page.state.busy, timeout=WAIT_MS)

    # 3. The lane the alert names is chosen; one step at a time.
    assert current_step(page) == "▶ 1. Choose the lane"
    chosen = [b for b in page.lane_buttons.values() if b.isChecked()]
    assert [b.text() for b in chosen] == ["Lane 2 · hydromorphone 8 mg tablet · jammed"]
    assert page.help.text() == "Lane 2 is chosen. Press “Start”, or touch another lane first."
    help_line = press_next(qtbot, page, "Start")
    assert current_step(page) == "▶ 2. Unlock the door"
    assert help_line == "Press “Unlock the door”: the service door unlocks for 30 seconds."
    help_line = press_next(qtbot, page, "Unlock the door")
    assert current_step(page) == "▶ 3. Open the door and clear the jam"
    assert "Take out what is stuck in lane 2" in help_line
    qtbot.waitUntil(page.countdown.isVisible, timeout=WAIT_MS)
    assert page.countdown.text().startswith("The door is unlocked: ")
    # The worker reaches in and takes the stuck tablet out of lane 2.
    kiosk.controller.clear_jam(2)
    in_lane = kiosk.controller.stock(2) - 1
    kiosk.controller.set_stock(2, in_lane)
    help_line = press_next(qtbot, page, "The jam is cleared")
    assert current_step(page) == "▶ 4. Count the units"
    assert not page.countdown.isVisible()
    assert "Count the units left in lane 2 and the units you took out" in help_line
    count = page.count
    click(qtbot, button_named(count, "Left in the lane: 0"))
    for digit in str(in_lane):
        click(qtbot, count.keys[digit])
    click(qtbot, button_named(count, "Taken out: 0"))
    click(qtbot, count.keys["1"])
    assert count.fields["in_lane"].text() == f"Left in the lane: {in_lane}"
    help_line = press_next(qtbot, page, "Save the count")
    assert current_step(page) == "▶ 5. Reset the lane"
    help_line = press_next(qtbot, page, "Reset the lane")
    assert current_step(page) == "▶ 6. Close the door"
    assert help_line == "Close the service door firmly, then press “The door is closed”."
    kiosk.controller.close_door()
    help_line = press_next(qtbot, page, "The door is closed")
    assert current_step(page) == "▶ 7. Done"
    assert help_line == "Done. Lane 2 is back in service."
    assert read_store(kiosk, qtbot, "SELECT state FROM lanes WHERE lane = 2") == [("ready",)]

    # 4. Log out: still out of service (the lockout), the steps to clear it on screen.
    click(qtbot, button_named(panel, "Log out"))
    qtbot.waitUntil(lambda: window.panel is None, timeout=WAIT_MS)
    assert kiosk.driver.state.screen is Screen.OUT_OF_SERVICE
    secure = screen.secure
    qtbot.waitUntil(secure.isVisible, timeout=WAIT_MS)
    assert secure.help.text() == (
        "Close the service door firmly. Then press “The machine is closed”."
    )
    click(qtbot, button_named(secure, "The machine is closed"))
    qtbot.waitUntil(lambda: secure.pad.isVisible() and secure.pad.isEnabled(), timeout=WAIT_MS)
    roles = "Roles that can clear this lockout: staff, technician, pharmacist, administrator."
    assert secure.help.text() == f"Enter your PIN. {roles}"
    # A PIN of a role the site does not allow: who can, and whom to call.
    for digit in DEMO_NURSE_PIN:
        click(qtbot, secure.pad.keys[digit])
    click(qtbot, secure.pad.keys["ok"])
    qtbot.waitUntil(secure.message.isVisible, timeout=WAIT_MS)
    assert secure.message.text() == f"That PIN is not accepted for this task.\n{roles}\n{ON_CALL}"
    for digit in DEMO_WORKER_PIN:
        click(qtbot, secure.pad.keys[digit])
    click(qtbot, secure.pad.keys["ok"])
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=WAIT_MS)
    assert read_store(kiosk, qtbot, "SELECT name FROM machine_flags") == []


def test_the_countdown_runs_out_with_the_door_closed_and_cancel_leaves_it_closed(
    kiosk: Kiosk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The QTimer sends Tick; past the unlock time with the door shut, the page goes back to
    unlocking and says why. Cancel then stops with the machine closed, lane untouched."""
    from kiosk.ui.admin.pages.jam import monotonic as real_monotonic
    from tests.ui.test_admin import log_in

    later = [0.0]
    monkeypatch.setattr(jam_page, "monotonic", lambda: real_monotonic() + later[0])
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("jam")
    page = panel.page("jam")
    assert isinstance(page, JamPage)
    qtbot.waitUntil(lambda: page.state.lanes != () and not page.state.busy, timeout=WAIT_MS)
    assert page.state.lane is None  # nothing jammed, no alert: staff choose
    assert [b.text() for b in page.buttons.values() if b.isVisible()] == ["Start"]
    assert not page.buttons[jam_page.JamAction.START].isEnabled()
    panel._idle.stop()
    click(qtbot, page.lane_buttons[3])  # made after the panel: a touch still counts
    assert panel._idle.isActive()
    press_next(qtbot, page, "Start")
    press_next(qtbot, page, "Unlock the door")
    kiosk.controller.close_door()  # nobody pulled it open
    later[0] = 31.0
    qtbot.waitUntil(lambda: current_step(page) == "▶ 2. Unlock the door", timeout=WAIT_MS)
    assert page.failure.text() == "The door locked again before it was opened."
    assert not page._ticks.isActive()
    cancel = button_named(page, "Cancel")
    click(qtbot, cancel)
    qtbot.waitUntil(lambda: current_step(page) == "▶ 7. Done", timeout=WAIT_MS)
    assert page.help.text() == "Stopped. Nothing was changed on lane 3."
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=WAIT_MS)
    assert kiosk.driver.state.faults == ()
