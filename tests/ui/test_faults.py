"""One test per hardware fault: the kiosk says so plainly and ends back at idle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain import flow
from kiosk.domain.door_recovery import SecureRefusal
from kiosk.domain.flow import Screen
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_NURSE_PIN
from tests.ui.conftest import Kiosk

# Waits on conditions, sized for a loaded 2-core machine: the kiosk is back about a second
# after a device answers again on an idle machine; a test is not a timing claim.
RECOVERY_MS = 20000


def headline(kiosk: Kiosk) -> str:
    return kiosk.window.view.message.headline.text()


def back_to_idle(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.lift_finger()
    if kiosk.driver.state.screen is not Screen.IDLE:
        kiosk.driver.send(flow.Timeout())
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)
    # The sensor poll must see the glass empty before the next person's finger.
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=15000)


def ready_for_a_finger(kiosk: Kiosk, qtbot: QtBot) -> None:
    """After an outage the kiosk reads only a touch made once it is back: its idle poll
    must have seen the glass empty first (a finger left on through the outage is ignored)."""
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=15000)


def read_store(kiosk: Kiosk, qtbot: QtBot, sql: str) -> list[tuple[object, ...]]:
    """Read on the backend thread, which owns the connection."""
    rows: list[list[tuple[object, ...]]] = []
    kiosk.backend.submit(lambda: kiosk.runtime.store.conn.execute(sql).fetchall(), rows.append)
    qtbot.waitUntil(lambda: bool(rows), timeout=15000)
    return rows[0]


def staff_pin(kiosk: Kiosk, qtbot: QtBot, pin: str) -> None:
    """Say the machine is closed (when the screen asks), then type ``pin``."""
    secure = kiosk.window.view.out_of_service.secure
    if secure.closed.isVisible():
        qtbot.mouseClick(secure.closed, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: secure.pad.isVisible() and secure.pad.isEnabled(), timeout=15000)
    pad = secure.pad
    for digit in pin:
        qtbot.mouseClick(pad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.keys["ok"], Qt.MouseButton.LeftButton)


def refusal(kiosk: Kiosk) -> SecureRefusal | None:
    secure = kiosk.driver.state.secure
    return None if secure is None else secure.refusal


def test_a_jam_marks_the_lane_alerts_staff_and_the_shared_lane_serves_next(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    kiosk.controller.jam_seconds = 0.05
    kiosk.controller.force_jam(1, after_units=1)
    kiosk.controller.force_jam(2, after_units=1)
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert headline(kiosk) == "You received 1 tablet of hydromorphone 8 mg"
    jammed = read_store(kiosk, qtbot, "SELECT lane FROM lanes WHERE state = 'jammed'")
    assert len(jammed) == 1
    alerts = read_store(kiosk, qtbot, "SELECT kind FROM alerts WHERE acknowledged_at IS NULL")
    assert {("lane_jammed",), ("partial_dispense",)} <= set(alerts)
    back_to_idle(kiosk, qtbot)
    # The next person with the same medication is served from the other hydromorphone lane.
    kiosk.sensor.place_finger("P-0004/right-index")
    qtbot.waitUntil(
        lambda: kiosk.driver.state.screen in (Screen.DONE, Screen.REFUSED, Screen.ERROR),
        timeout=10000,
    )
    assert kiosk.driver.state.screen is Screen.DONE, kiosk.driver.state
    assert [line.dropped for line in kiosk.driver.state.lines] == [1, 1]
    back_to_idle(kiosk, qtbot)


def test_an_empty_lane_mid_vend_is_recorded_and_not_used_again(kiosk: Kiosk, qtbot: QtBot) -> None:
    for lane in (1, 2):
        kiosk.controller.set_stock(lane, 1)  # the store still believes there are 40
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert kiosk.driver.state.lines[0].dropped == 1
    empty = read_store(
        kiosk, qtbot, "SELECT lane FROM lanes WHERE state = 'empty' AND medication_id IS NOT NULL"
    )
    assert len(empty) == 1
    back_to_idle(kiosk, qtbot)


def test_a_service_door_opened_outside_a_staff_session_stops_dispensing_until_secured(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    kiosk.controller.open_door()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    screen = kiosk.window.view.out_of_service
    assert kiosk.driver.state.staff_can_clear
    assert "The service door was opened outside a staff session." in screen.reasons.text()
    assert screen.secure.help.text() == (
        "Close the service door firmly. Then press “The machine is closed”."
    )
    staff_pin(kiosk, qtbot, DEMO_NURSE_PIN)  # a nurse may not clear it
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.PIN_NOT_ACCEPTED, timeout=15000)
    # Who can, and whom to call (no on-call contact in the demo's configuration).
    assert screen.secure.message.text() == (
        "That PIN is not accepted for this task.\n"
        "Roles that can clear this lockout: administrator, pharmacist, technician.\n"
        "Ask someone in one of these roles to come."
    )
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)  # the right role, but the door is open
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.DOOR_OPEN, timeout=15000)
    assert screen.secure.closed.isVisible()  # back to closing up
    kiosk.controller.close_door()
    kiosk.driver.check_health()  # closing the door alone does not clear the lockout
    qtbot.wait_signal  # noqa: B018 - documentation: nothing to wait for here
    assert kiosk.driver.state.screen is Screen.OUT_OF_SERVICE
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)
    actions = read_store(kiosk, qtbot, "SELECT action FROM audit_log ORDER BY seq")
    flat = [a for (a,) in actions]
    assert "machine.flag_raised" in flat
    assert "pin.refused" in flat  # the nurse's PIN, at the confirm-secure pad
    assert flat[-1] == "machine.flags_cleared"


def test_a_tripped_tamper_switch_stops_dispensing_until_secured(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.trip_tamper()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    assert kiosk.driver.state.faults == ("tamper",)
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.TAMPER, timeout=15000)
    assert "The tamper switch is still tripped." in (
        kiosk.window.view.out_of_service.secure.message.text()
    )
    kiosk.controller.clear_tamper()
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)


def test_a_controller_reboot_mid_vend_is_settled_from_its_memory(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    kiosk.controller.unit_seconds = 0.3
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: any(line.dropped for line in kiosk.driver.state.lines), timeout=20000)
    kiosk.controller.power_cut()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert kiosk.driver.state.lines[0].dropped == 1
    rows = read_store(
        kiosk,
        qtbot,
        "SELECT r.dropped, r.outcome FROM dispense_results r"
        " ORDER BY r.finished_at DESC, r.vend_id DESC LIMIT 1",
    )
    assert rows == [(1, "aborted")]
    back_to_idle(kiosk, qtbot)


def test_a_silent_sensor_puts_the_kiosk_out_of_service_and_it_recovers(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    kiosk.sensor.set_silent(True)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=20000)
    assert "sensor" in kiosk.driver.state.faults
    assert not kiosk.driver.state.staff_can_clear  # it clears by itself
    kiosk.sensor.set_silent(False)
    ready_for_a_finger(kiosk, qtbot)
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    back_to_idle(kiosk, qtbot)


def test_an_unexpected_error_shows_see_staff_never_a_traceback(kiosk: Kiosk, qtbot: QtBot) -> None:
    def broken(_participant_id: int) -> object:
        raise RuntimeError("disk full")

    kiosk.runtime.interaction.decide = broken  # type: ignore[method-assign]
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.ERROR, timeout=15000)
    assert headline(kiosk) == "Please see staff"
    back_to_idle(kiosk, qtbot)


def test_a_usb_adapter_unplugged_and_plugged_back_recovers_by_itself(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    kiosk.controller.unplug()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=20000)
    assert kiosk.driver.state.faults == ("controller",)
    assert "The dispenser does not answer." in kiosk.window.view.out_of_service.reasons.text()
    kiosk.controller.replug()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)
    kiosk.sensor.unplug()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=20000)
    assert "sensor" in kiosk.driver.state.faults
    kiosk.sensor.replug()
    ready_for_a_finger(kiosk, qtbot)
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert kiosk.driver.state.lines[0].dropped == 2
    back_to_idle(kiosk, qtbot)


def test_an_adapter_unplugged_mid_vend_is_settled_after_replug(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.unit_seconds = 0.3
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: any(line.dropped for line in kiosk.driver.state.lines), timeout=20000)
    kiosk.controller.unplug()  # the board keeps dropping; the host hears nothing
    qtbot.waitUntil(lambda: kiosk.driver.state.screen in (Screen.ERROR, Screen.DONE), timeout=30000)
    kiosk.controller.replug()

    def last_result() -> list[tuple[object, ...]]:
        return read_store(
            kiosk,
            qtbot,
            "SELECT r.dropped FROM dispense_intents i JOIN dispense_results r USING (vend_id)"
            " ORDER BY i.created_at DESC, i.vend_id DESC LIMIT 1",
        )

    qtbot.waitUntil(lambda: last_result() == [(2,)], timeout=20000)
    [record] = kiosk.controller.log[-1:]
    assert kiosk.controller.vends_started[record.vend_id] == 1
    back_to_idle(kiosk, qtbot)


def test_staff_open_the_panel_from_the_out_of_service_screen(kiosk: Kiosk, qtbot: QtBot) -> None:
    from tests.ui.test_admin import enter_pin

    kiosk.controller.unplug()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=20000)
    button = kiosk.window.view.out_of_service.staff
    assert button.isVisible() and button.text() == "Staff sign-in"
    assert button.height() >= 60
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.window.login is not None, timeout=15000)
    enter_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.window.panel is not None, timeout=15000)
    panel = kiosk.window.panel
    assert panel is not None
    assert {"hardware", "jam", "alerts"} <= {page.key for page in panel.pages}
    panel.logout("logout")
    # Still faulty: back to out of service, not to idle.
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
    assert kiosk.window.pages.currentWidget() is kiosk.window.view
    assert kiosk.driver.state.screen is Screen.OUT_OF_SERVICE
    assert kiosk.window.view.currentWidget() is kiosk.window.view.out_of_service
    kiosk.controller.replug()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=RECOVERY_MS)
