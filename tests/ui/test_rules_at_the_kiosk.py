"""The rules engine at the touchscreen: several medications, witnessing, an untrusted clock."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain.flow import Screen
from kiosk.services.seed import DEMO_NURSE_PIN
from tests.ui.conftest import Kiosk


def headline(kiosk: Kiosk) -> str:
    return kiosk.window.view.message.headline.text()


def type_pin(kiosk: Kiosk, qtbot: QtBot, pin: str) -> None:
    keys = kiosk.window.view.witness.keys
    for digit in pin:
        qtbot.mouseClick(keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(keys["ok"], Qt.MouseButton.LeftButton)


def test_one_scan_gives_every_due_medication_from_its_own_lane(kiosk: Kiosk, qtbot: QtBot) -> None:
    capsules_before = kiosk.controller.stock(3)
    kiosk.sensor.place_finger("P-0004/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DISPENSING, timeout=15000)
    assert headline(kiosk) == (
        "Dispensing 1 tablet of hydromorphone 8 mg and "
        "1 capsule of slow-release oral morphine 200 mg"
    )
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert [line.dropped for line in kiosk.driver.state.lines] == [1, 1]
    assert kiosk.controller.stock(3) == capsules_before - 1


def test_a_witnessed_dose_waits_for_a_nurse_pin_and_records_the_witness(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    kiosk.sensor.place_finger("P-0005/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.WITNESS, timeout=15000)
    witness = kiosk.window.view.witness
    assert witness.headline.text() == "A nurse or pharmacist will witness this dose"
    type_pin(kiosk, qtbot, "999999")
    qtbot.waitUntil(lambda: kiosk.driver.state.witness_attempts == 1, timeout=15000)
    assert witness.detail.text() == "That PIN was not accepted. Please try again."
    type_pin(kiosk, qtbot, DEMO_NURSE_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    kiosk.backend.submit(lambda: None)  # the store is the backend's: read it there
    qtbot.waitUntil(lambda: not kiosk.backend.busy, timeout=15000)
    row = kiosk.runtime.store.conn.execute(
        "SELECT s.role FROM dispense_intents i JOIN staff s ON s.id = i.witness_staff_id"
        " ORDER BY i.created_at DESC, i.vend_id DESC LIMIT 1"
    ).fetchone()
    assert row == ("nurse",)


def test_three_wrong_witness_pins_send_to_staff(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.place_finger("P-0005/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.WITNESS, timeout=15000)
    for attempt in range(1, 4):
        type_pin(kiosk, qtbot, "000000")
        qtbot.waitUntil(
            lambda a=attempt: (
                kiosk.driver.state.witness_attempts == a
                or kiosk.driver.state.screen is Screen.ERROR
            ),
            timeout=15000,
        )
    assert kiosk.driver.state.screen is Screen.ERROR
    assert headline(kiosk) == "Please see staff"
    assert kiosk.controller.log == []  # nothing was vended


def test_an_untrusted_clock_puts_the_kiosk_out_of_service(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.runtime.clock.at -= timedelta(hours=1)  # type: ignore[attr-defined]
    kiosk.driver.check_health()
    # Generous waits: health checks run once a second; a loaded 2-core machine is slow.
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    screen = kiosk.window.view.out_of_service
    assert screen.headline.text() == "Temporarily out of service"
    # The health check's clock fault records no alert: the screen no longer claims staff
    # were alerted (it did before issue 15); the note sends people to staff.
    assert screen.detail.text() == ""
    assert "see staff" in screen.note.text()
    assert screen.reasons.text() == "The clock is behind the last recorded event."
    # A finger left on the glass through the outage is not served when service returns:
    # it must be lifted and placed again.
    kiosk.sensor.place_finger("P-0001/right-index")
    kiosk.runtime.clock.at += timedelta(hours=1)  # type: ignore[attr-defined]
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=15000)
    identify = kiosk.runtime.interaction.identify
    assert identify.awaiting_lift
    kiosk.sensor.lift_finger()
    # The poll saw the empty glass: every poll before it saw the old finger and read nothing.
    qtbot.waitUntil(lambda: not identify.awaiting_lift, timeout=15000)
    assert kiosk.driver.state.screen is Screen.IDLE
    assert kiosk.controller.log == []
    kiosk.sensor.place_finger("P-0001/right-index")  # a new touch is served
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=15000)


def test_a_decision_on_an_untrusted_clock_is_refused(kiosk: Kiosk, qtbot: QtBot) -> None:
    """Even if the clock jumps back between the health check and the scan."""
    kiosk.driver.stop()  # no health checks: the decision itself must refuse
    qtbot.waitUntil(lambda: not kiosk.backend.busy, timeout=15000)  # the first check is done
    kiosk.driver._poll.start()  # only the sensor poll
    kiosk.runtime.clock.at -= timedelta(hours=1)  # type: ignore[attr-defined]
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REFUSED, timeout=15000)
    assert headline(kiosk) == "Out of service"
    assert kiosk.controller.log == []
