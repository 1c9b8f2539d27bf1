"""End to end on emulated hardware: the real drivers over ptys, the real encrypted store."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from kiosk.domain import flow
from kiosk.domain.flow import Screen
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file
from kiosk.store.repository import Store
from tests.ui.conftest import Kiosk


def headline(kiosk: Kiosk) -> str:
    return kiosk.window.view.message.headline.text()


def test_an_enrolled_finger_gets_the_dose_and_the_store_records_it(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    stock_before = kiosk.controller.stock(1) + kiosk.controller.stock(2)
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DISPENSING, timeout=15000)
    assert "2 tablets of hydromorphone 8 mg" in headline(kiosk)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert headline(kiosk) == "Your dose is ready"
    assert kiosk.driver.state.lines[0].dropped == 2
    # The emulator dropped two units, and the encrypted database says so.
    assert kiosk.controller.stock(1) + kiosk.controller.stock(2) == stock_before - 2
    data = kiosk.runtime.config.data_dir
    conn = connect(data / "kiosk.db", read_key_file(data / "db.key"), migrate=False)
    rows = Store(conn).dispenses()
    conn.close()
    latest = rows[0]
    assert (latest.participant_code, latest.units, latest.dropped, latest.outcome) == (
        "P-0001",
        2,
        2,
        "complete",
    )
    assert kiosk.controller.dropped_total(latest.vend_id) == 2
    # Back to idle on timeout, ready for the next person once the finger is lifted.
    kiosk.sensor.lift_finger()
    kiosk.driver.send(flow.Timeout())
    assert kiosk.driver.state.screen is Screen.IDLE


def test_an_unknown_finger_is_told_plainly(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.place_finger("stranger/left-thumb")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.NOT_RECOGNISED, timeout=15000)
    assert headline(kiosk) == "This finger was not recognised"


def test_too_early_shows_the_next_time_in_the_participants_language(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    kiosk.sensor.place_finger("P-0002/right-index")  # dosed a moment ago; prefers French
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REFUSED, timeout=15000)
    # 12:00 in Vancouver, window 10:00-16:00 already used: next at 16:00.
    assert headline(kiosk) == "Votre prochaine dose sera disponible à 16 h 00"


def test_a_jam_tells_the_participant_what_they_received(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.jam_seconds = 0.05
    for lane in (1, 2):
        kiosk.controller.force_jam(lane, after_units=1)
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert kiosk.driver.state.partial
    assert headline(kiosk) == "You received 1 tablet of hydromorphone 8 mg"
