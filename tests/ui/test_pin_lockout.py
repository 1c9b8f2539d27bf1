"""A locked staff PIN entry says so, the same way, on every PIN pad and field."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from pytestqt.qtbot import QtBot

from kiosk.domain.flow import Screen
from kiosk.services.pin_gate import EntryPoint, PinGate, PinRefused
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_NURSE_PIN, DEMO_WORKER_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in
from tests.ui.test_faults import staff_pin
from tests.ui.test_rules_at_the_kiosk import type_pin

LOCKED = "Too many wrong PINs. Try again in 30 seconds."


def wrong_pins(kiosk: Kiosk, qtbot: QtBot, entry: EntryPoint, count: int) -> None:
    """Wrong PINs typed earlier at ``entry`` (on the backend thread, which owns the store)."""
    gate = PinGate(kiosk.runtime.store, kiosk.runtime.clock)
    done: list[bool] = []

    def work() -> None:
        for _ in range(count):
            with contextlib.suppress(PinRefused):
                gate.check(entry, "000000")

    kiosk.backend.submit(work, lambda _result: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=20000)


def test_the_witness_pad_shows_the_lock_and_refuses_even_the_right_pin(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    wrong_pins(kiosk, qtbot, EntryPoint.WITNESS, 4)
    kiosk.sensor.place_finger("P-0005/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.WITNESS, timeout=15000)
    witness = kiosk.window.view.witness
    type_pin(kiosk, qtbot, "999999")  # the fifth wrong PIN in a row locks the pad
    qtbot.waitUntil(lambda: witness.detail.text() == LOCKED, timeout=15000)
    witness.detail.setText("")
    type_pin(kiosk, qtbot, DEMO_NURSE_PIN)  # locked: the right PIN waits too
    qtbot.waitUntil(lambda: witness.detail.text() == LOCKED, timeout=15000)
    assert kiosk.driver.state.screen is Screen.WITNESS
    assert kiosk.controller.log == []  # nothing was vended
    kiosk.runtime.clock.at += timedelta(seconds=30)  # type: ignore[attr-defined]
    type_pin(kiosk, qtbot, DEMO_NURSE_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)


def test_the_confirm_secure_pad_shows_the_lock(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.trip_tamper()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    kiosk.controller.clear_tamper()
    wrong_pins(kiosk, qtbot, EntryPoint.CONFIRM_SECURE, 5)
    screen = kiosk.window.view.out_of_service
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: screen.secure.message.text().startswith(LOCKED), timeout=15000)
    assert kiosk.driver.state.screen is Screen.OUT_OF_SERVICE
    kiosk.runtime.clock.at += timedelta(seconds=30)  # type: ignore[attr-defined]
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=15000)


def test_the_second_signature_field_shows_the_lock(kiosk: Kiosk, qtbot: QtBot) -> None:
    wrong_pins(kiosk, qtbot, EntryPoint.SECOND_SIGNATURE, 5)
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("lanes")
    page = panel.page("lanes")
    qtbot.waitUntil(lambda: page.table.rowCount() == 4, timeout=15000)  # type: ignore[attr-defined]
    page.lane.setValue(3)  # type: ignore[attr-defined]
    page.counted.setValue(30)  # type: ignore[attr-defined]
    page.added.setValue(5)  # type: ignore[attr-defined]
    page.second_pin.setText(DEMO_NURSE_PIN)  # type: ignore[attr-defined]
    page.restock()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == LOCKED, timeout=15000)
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
