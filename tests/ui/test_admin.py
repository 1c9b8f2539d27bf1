"""The staff admin panel: entry, PIN lockout, auto-logout, roles, pages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain.alerts import AlertKind
from kiosk.domain.flow import Screen
from kiosk.services.seed import (
    DEMO_ADMIN_PIN,
    DEMO_NURSE_PIN,
    DEMO_PHARMACIST_PIN,
    DEMO_WORKER_PIN,
)
from kiosk.ui.admin.panel import AdminPanel
from tests.ui.conftest import Kiosk


def press_and_hold_corner(kiosk: Kiosk, qtbot: QtBot) -> None:
    corner = kiosk.window.view.idle.corner
    qtbot.mousePress(corner, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.window.login is not None, timeout=15000)
    qtbot.mouseRelease(corner, Qt.MouseButton.LeftButton)


def enter_pin(kiosk: Kiosk, qtbot: QtBot, pin: str) -> None:
    assert kiosk.window.login is not None
    pad = kiosk.window.login.pad
    for digit in pin:
        qtbot.mouseClick(pad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.keys["ok"], Qt.MouseButton.LeftButton)


def log_in(kiosk: Kiosk, qtbot: QtBot, pin: str) -> AdminPanel:
    press_and_hold_corner(kiosk, qtbot)
    enter_pin(kiosk, qtbot, pin)
    qtbot.waitUntil(lambda: kiosk.window.panel is not None, timeout=15000)
    assert kiosk.window.panel is not None
    return kiosk.window.panel


def audit_actions(kiosk: Kiosk, qtbot: QtBot) -> list[str]:
    rows: list[list[str]] = []
    kiosk.backend.submit(
        lambda: [
            a
            for (a,) in kiosk.runtime.store.conn.execute(
                "SELECT action FROM audit_log ORDER BY seq"
            )
        ],
        rows.append,
    )
    qtbot.waitUntil(lambda: bool(rows), timeout=15000)
    return rows[0]


def test_a_short_touch_does_not_open_the_panel(kiosk: Kiosk, qtbot: QtBot) -> None:
    corner = kiosk.window.view.idle.corner
    qtbot.mouseClick(corner, Qt.MouseButton.LeftButton)
    assert kiosk.window.login is None


def test_five_wrong_pins_lock_the_entry(kiosk: Kiosk, qtbot: QtBot) -> None:
    press_and_hold_corner(kiosk, qtbot)
    assert kiosk.window.login is not None
    message = kiosk.window.login.message
    for _ in range(4):
        enter_pin(kiosk, qtbot, "000000")
        qtbot.waitUntil(lambda: message.text() == "That PIN was not accepted.", timeout=15000)
        message.setText("")
    enter_pin(kiosk, qtbot, "000000")
    locked = "Too many wrong PINs. Try again in 30 seconds."
    qtbot.waitUntil(lambda: message.text() == locked, timeout=15000)
    message.setText("")
    enter_pin(kiosk, qtbot, DEMO_ADMIN_PIN)  # locked: even the right PIN waits
    qtbot.waitUntil(lambda: message.text() == locked, timeout=15000)
    assert kiosk.window.panel is None
    actions = audit_actions(kiosk, qtbot)
    assert (actions.count("pin.refused"), actions.count("pin.refused_locked")) == (5, 1)
    qtbot.mouseClick(kiosk.window.login.cancel, Qt.MouseButton.LeftButton)
    assert kiosk.driver.state.screen is Screen.IDLE


def test_the_panel_logs_out_by_itself_after_inactivity(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    assert panel.title.text() == "Staff: Demo Admin (Administrator)"
    assert kiosk.driver.state.screen is Screen.IDLE
    assert kiosk.runtime.health.staff_session
    panel._idle.setInterval(100)
    panel._idle.start()
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
    assert not kiosk.runtime.health.staff_session
    qtbot.waitUntil(lambda: "staff.auto_logout" in audit_actions(kiosk, qtbot), timeout=15000)
    # The participant screens are live again.
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)


def test_pages_follow_the_role(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_NURSE_PIN)
    keys = [page.key for page in panel.pages]
    assert "staff" not in keys  # only admins manage accounts
    assert {"alerts", "participants", "logs"} <= set(keys)
    qtbot.mouseClick(panel.logout_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    assert "staff" in [page.key for page in panel.pages]
    qtbot.mouseClick(panel.logout_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)


def test_alerts_are_acknowledged(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.backend.submit(
        # An incident (not a condition the kiosk sees clear by itself, like a jammed lane).
        lambda: kiosk.runtime.store.raise_alert(
            AlertKind.PARTIAL_DISPENSE, "vend:7", "Vend 7 gave 1 of 2", kiosk.runtime.clock.now()
        )
    )
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("alerts")
    page = panel.page("alerts")
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=15000)  # type: ignore[attr-defined]
    page.table.selectRow(0)  # type: ignore[attr-defined]
    qtbot.mouseClick(page.ack, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=15000)  # type: ignore[attr-defined]
    assert "alert.acknowledged" in audit_actions(kiosk, qtbot)
    panel.logout("logout")


def test_the_hardware_self_test_runs_from_the_panel(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("hardware")
    page = panel.page("hardware")
    page.run_selftest()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "Self-test passed.", timeout=15000)
    assert page.checks.rowCount() == 4  # type: ignore[attr-defined]
    panel.logout("logout")


def test_staff_accounts_are_added_by_an_admin(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    panel.open_page("staff")
    page = panel.page("staff")
    page.name.setText("New Nurse")  # type: ignore[attr-defined]
    page.role.setCurrentIndex(page.role.findData("nurse"))  # type: ignore[attr-defined]
    for field in (page.pin, page.pin_again):  # type: ignore[attr-defined]
        field.setText("864213")
    page.add()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "Staff member added.", timeout=15000)
    page.pin.setText("111111")  # type: ignore[attr-defined]
    page.pin_again.setText("111111")  # type: ignore[attr-defined]
    page.add()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "That PIN is too easy to guess.", timeout=15000)
    panel.logout("logout")


def test_prescriptions_are_entered_by_a_pharmacist_and_refused_to_staff(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    from kiosk.services.prescriptions import PrescriptionSpec

    rows: list[object] = []
    kiosk.backend.submit(lambda: kiosk.runtime.store.participant_by_code("P-0001"), rows.append)
    qtbot.waitUntil(lambda: bool(rows), timeout=15000)
    participant = rows[0]
    services = kiosk.window.admin_services
    assert services is not None
    for pin, expected in (
        (DEMO_WORKER_PIN, "Your role may not do that."),
        (DEMO_PHARMACIST_PIN, "Prescription saved."),
    ):
        panel = log_in(kiosk, qtbot, pin)
        page = panel.page("participants")
        panel.open_page("participants")
        page.current = participant  # type: ignore[attr-defined]
        page.add_prescription()  # type: ignore[attr-defined]
        qtbot.waitUntil(
            lambda p=page: p.form is not None and p.editor.isVisible(),  # type: ignore[attr-defined]
            timeout=15000,
        )
        page.form.reason.setText("second medication")  # type: ignore[attr-defined]
        page.save_prescription()  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda e=expected, p=panel: p.message.text() == e, timeout=15000)
        panel.logout("logout")
        qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
    assert PrescriptionSpec  # the form builds a PrescriptionSpec (checked in the service tests)


def open_participant(kiosk: Kiosk, qtbot: QtBot, panel: AdminPanel, code: str):  # type: ignore[no-untyped-def]
    panel.open_page("participants")
    page = panel.page("participants")
    page.search.setText(code)  # type: ignore[attr-defined]
    page.activated()  # type: ignore[no-untyped-call]
    qtbot.waitUntil(lambda: page.results.rowCount() == 1, timeout=15000)  # type: ignore[attr-defined]
    page.results.selectRow(0)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: code in page.heading.text(), timeout=15000)  # type: ignore[attr-defined]
    return page


def test_enrolling_a_second_finger_with_guidance(kiosk: Kiosk, qtbot: QtBot) -> None:
    from kiosk.services.participants import CaptureOutcome

    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    page = open_participant(kiosk, qtbot, panel, "P-0003")
    page.enroll()
    enrollment = page.enrollment
    enrollment.finger.setCurrentIndex(enrollment.finger.findData("left-index"))
    enrollment.start()
    finger = "P-0003/left-index"
    kiosk.sensor.place_finger(finger, quality="poor")
    qtbot.waitUntil(lambda: CaptureOutcome.PRESS_FLATTER in enrollment.outcomes, timeout=20000)
    assert "press flatter" in enrollment.guidance.text()
    press_three_times(kiosk, qtbot, enrollment, finger)
    assert enrollment.outcomes[-1] is CaptureOutcome.ENROLLED
    assert panel.message.text() == "Finger enrolled."
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
    # The new finger opens the machine for P-0003 (on hold: "please see staff").
    kiosk.sensor.place_finger(finger)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REFUSED, timeout=20000)
    assert kiosk.driver.state.participant_id is not None


def test_a_finger_enrolled_to_someone_else_is_refused(kiosk: Kiosk, qtbot: QtBot) -> None:
    from kiosk.services.participants import CaptureOutcome

    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    page = open_participant(kiosk, qtbot, panel, "P-0003")
    page.enroll()
    enrollment = page.enrollment
    enrollment.finger.setCurrentIndex(enrollment.finger.findData("left-thumb"))
    enrollment.start()
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: CaptureOutcome.DUPLICATE in enrollment.outcomes, timeout=20000)
    assert enrollment.guidance.text() == "This finger is already enrolled. Nothing was stored."
    kiosk.sensor.lift_finger()
    panel.logout("logout")


def press_three_times(kiosk: Kiosk, qtbot: QtBot, enrollment, finger: str) -> None:  # type: ignore[no-untyped-def]
    from kiosk.services.participants import CaptureOutcome

    for presses in range(1, 4):
        lifted_at = kiosk.sensor.empty_reads
        kiosk.sensor.lift_finger()
        qtbot.waitUntil(lambda n=lifted_at: kiosk.sensor.empty_reads > n, timeout=15000)
        kiosk.sensor.place_finger(finger)
        qtbot.waitUntil(
            lambda n=presses: (
                sum(
                    o in (CaptureOutcome.GOOD, CaptureOutcome.ENROLLED) for o in enrollment.outcomes
                )
                == n
            ),
            timeout=10000,
        )
    kiosk.sensor.lift_finger()


def test_a_new_participant_is_added_and_two_fingers_enrolled(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    panel.open_page("participants")
    page = panel.page("participants")
    page.new_code.setText("P-0100")  # type: ignore[attr-defined]
    page.new_name.setText("River")  # type: ignore[attr-defined]
    page.create_participant()  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: panel.message.text() == "Participant added. Now enroll two fingers.", timeout=15000
    )
    page = open_participant(kiosk, qtbot, panel, "P-0100")
    for finger in ("right-index", "left-index"):
        page.enroll()
        enrollment = page.enrollment
        enrollment.finger.setCurrentIndex(enrollment.finger.findData(finger))
        enrollment.start()
        press_three_times(kiosk, qtbot, enrollment, f"P-0100/{finger}")
        qtbot.waitUntil(lambda e=enrollment: e.start_button.isEnabled() is not False, timeout=15000)
    page.activated()
    qtbot.waitUntil(
        lambda: (
            page.results.rowCount() == 1
            and page.results.item(0, 3) is not None
            and page.results.item(0, 3).text() == "2"
        ),
        timeout=15000,
    )
    panel.logout("logout")


def test_the_panel_shows_the_version_and_build(kiosk: Kiosk, qtbot: QtBot) -> None:
    from kiosk.version import version_line

    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    assert panel.version.text() == version_line()
    assert "(" in panel.version.text()  # "kiosk 0.1.0 (<build>)"
    panel.logout("logout")


def test_diagnostics_go_to_a_usb_folder_from_the_hardware_page(
    kiosk: Kiosk, qtbot: QtBot, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("hardware")
    page = panel.page("hardware")
    page.folder.setText(str(tmp_path / "missing"))  # type: ignore[attr-defined]
    page.write_diagnostics()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "cannot be written" in panel.message.text(), timeout=15000)
    page.folder.setText(str(tmp_path))  # type: ignore[attr-defined]
    page.write_diagnostics()  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: panel.message.text().startswith("Written: kiosk-diagnostics-"), timeout=10000
    )
    [written] = tmp_path.glob("kiosk-diagnostics-*.zip")
    assert written.stat().st_mode & 0o777 == 0o600  # owner only: it leaves on a USB stick
    panel.logout("logout")


def test_the_hardware_and_sync_pages_show_the_version_and_updates(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    for key in ("hardware", "sync"):
        panel.open_page(key)
        page = panel.page(key)
        qtbot.waitUntil(
            lambda page=page: page.software.text().startswith("Software version 0.1.0"),  # type: ignore[attr-defined]
            timeout=10000,
        )
        assert "Updates are not set up on this kiosk." in page.software.text()  # type: ignore[attr-defined]
    assert not panel.page("hardware").update_button.isEnabled()  # type: ignore[attr-defined]
    panel.logout("logout")
