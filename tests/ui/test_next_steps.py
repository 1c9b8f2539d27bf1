"""No promise the kiosk cannot keep, and a next step (with where and when) on every screen
that sends a participant to staff (issue 12, items 8 and 9), on emulated hardware."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.app import DEMO_STAFF_HOURS, DEMO_STAFF_LOCATION
from kiosk.domain import flow
from kiosk.domain.flow import TIMEOUTS, ErrorKind, FlowState, Screen
from kiosk.services.seed import DEMO_WORKER_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import enter_pin
from tests.ui.test_faults import read_store

WAIT_MS = 20000  # conditions, sized for a loaded 2-core machine; never a sleep
WHERE = f"Where to find staff: {DEMO_STAFF_LOCATION}"
WHEN = f"Staff hours: {DEMO_STAFF_HOURS}"
CAPSULE_NOT_HERE = "slow-release oral morphine 200 mg is not available here right now."
# Said only because the no_lane alert is in the store (kiosk.domain.told).
TOLD = "Staff have been told."


@dataclass(frozen=True)
class Shown:
    screen: Screen
    headline: str
    detail: str
    note: str
    progress: str


class Recorder:
    """What each participant screen said, in order (read as each state is rendered)."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.shown: list[Shown] = []
        kiosk.driver.state_changed.connect(self._changed)  # after the window's own slot

    def _changed(self, state: FlowState) -> None:
        view = self.kiosk.window.view
        if view.currentWidget() is view.message:
            page = view.message
            self.shown.append(
                Shown(
                    state.screen,
                    page.headline.text(),
                    page.detail.text(),
                    page.note.text() if page.note.isVisibleTo(page) else "",
                    page.progress_label.text() if page.progress_label.isVisibleTo(page) else "",
                )
            )

    def first(self, screen: Screen) -> Shown:
        return next(shown for shown in self.shown if shown.screen is screen)


def wait_screen(kiosk: Kiosk, qtbot: QtBot, screen: Screen) -> None:
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is screen, timeout=WAIT_MS)


def lane_states(kiosk: Kiosk, qtbot: QtBot) -> dict[int, str]:
    rows = read_store(kiosk, qtbot, "SELECT lane, state FROM lanes")
    return {int(lane): str(state) for lane, state in rows}  # type: ignore[call-overload]


def test_a_medication_without_a_ready_lane_is_never_announced(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.set_stock(3, 0)  # the capsule lane runs out; health reads STATUS
    qtbot.waitUntil(lambda: lane_states(kiosk, qtbot)[3] == "empty", timeout=WAIT_MS)
    recorder = Recorder(kiosk)
    kiosk.sensor.place_finger("P-0004/right-index")  # due a tablet and a capsule
    wait_screen(kiosk, qtbot, Screen.DONE)
    dispensing = recorder.first(Screen.DISPENSING)
    assert dispensing.headline == "Dispensing 1 tablet of hydromorphone 8 mg"
    assert dispensing.note.splitlines() == [CAPSULE_NOT_HERE, TOLD]
    done = recorder.first(Screen.DONE)
    assert done.headline == "Your dose is ready"
    assert done.note.splitlines() == [
        CAPSULE_NOT_HERE,
        TOLD,
        "Please see staff for it.",
        WHERE,
        WHEN,
    ]
    assert [line.dropped for line in kiosk.driver.state.lines] == [1]
    assert [record.lane for record in kiosk.controller.log] in ([1], [2])  # no capsule vend
    alerts = read_store(kiosk, qtbot, "SELECT kind, subject FROM alerts")
    assert ("no_lane", "medication:2") in alerts  # staff have been told


def test_nothing_available_says_so_and_sends_nobody_to_a_nurse(kiosk: Kiosk, qtbot: QtBot) -> None:
    for lane in (1, 2):
        kiosk.controller.set_stock(lane, 0)  # no hydromorphone; the capsule lane still serves
    qtbot.waitUntil(
        lambda: [lane_states(kiosk, qtbot)[n] for n in (1, 2)] == ["empty", "empty"],
        timeout=WAIT_MS,
    )
    assert kiosk.driver.state.screen is Screen.IDLE  # someone can still be served
    recorder = Recorder(kiosk)
    kiosk.sensor.place_finger("P-0005/right-index")  # witnessed hydromorphone
    wait_screen(kiosk, qtbot, Screen.UNAVAILABLE)
    assert Screen.WITNESS not in [shown.screen for shown in recorder.shown]
    shown = recorder.first(Screen.UNAVAILABLE)
    assert shown.headline == "Your dose cannot be given here right now"
    assert shown.detail.splitlines() == [
        "hydromorphone 8 mg is not available here right now.",
        TOLD,
    ]
    assert shown.note.splitlines() == ["Please see staff for your dose.", WHERE, WHEN]
    assert kiosk.controller.log == []


def jam_everything(kiosk: Kiosk, qtbot: QtBot) -> None:
    """Real jams, as a night would bring them: every lane with a medication jams."""
    controller = kiosk.controller
    controller.jam_seconds = 0.05
    for lane in (1, 2, 3):
        controller.force_jam(lane, after_units=0)
    kiosk.sensor.place_finger("P-0004/right-index")  # a tablet (fullest lane), a capsule
    wait_screen(kiosk, qtbot, Screen.DONE)
    assert kiosk.window.view.message.headline.text() == "The machine could not give your dose"
    assert WHERE in kiosk.window.view.message.note.text()
    kiosk.sensor.lift_finger()
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=WAIT_MS)
    kiosk.sensor.place_finger("P-0001/right-index")  # read at once: the other tablet lane
    qtbot.waitUntil(lambda: len(controller.log) == 3, timeout=WAIT_MS)
    assert {record.lane for record in controller.log} == {1, 2, 3}
    kiosk.sensor.lift_finger()


def test_with_every_lane_jammed_the_kiosk_is_out_of_service_until_a_lane_is_reset(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    jam_everything(kiosk, qtbot)
    # The done screen finishes first; then out of service instead of inviting a finger.
    wait_screen(kiosk, qtbot, Screen.OUT_OF_SERVICE)
    assert kiosk.driver.state.faults == ("no_ready_lane",)
    screen = kiosk.window.view.out_of_service
    assert screen.headline.text() == "Temporarily out of service"
    assert screen.note.text().splitlines() == [
        "Please come back later, or see staff.",
        WHERE,
        WHEN,
    ]
    assert screen.reasons.text() == (
        "No lane can dispense: every lane is jammed, empty, faulty or unassigned."
    )
    # Staff reach the panel from here: it is the way back.
    qtbot.mouseClick(screen.staff, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.window.login is not None, timeout=WAIT_MS)
    enter_pin(kiosk, qtbot, DEMO_WORKER_PIN)
    qtbot.waitUntil(lambda: kiosk.window.panel is not None, timeout=WAIT_MS)
    # A tablet lane is cleared by hand and reset (what the jam wizard does).
    kiosk.controller.clear_jam(1)
    reset: list[object] = []
    kiosk.backend.submit(lambda: kiosk.runtime.controller.lane_reset(1), reset.append)
    qtbot.waitUntil(lambda: bool(reset), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=WAIT_MS)
    assert kiosk.window.panel is not None
    kiosk.window.panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.view.currentWidget() is kiosk.window.view.idle)
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=WAIT_MS)
    kiosk.sensor.place_finger("P-0001/right-index")
    wait_screen(kiosk, qtbot, Screen.DONE)
    assert [line.dropped for line in kiosk.driver.state.lines] == [2]


def test_the_done_screen_gives_the_next_dose_time(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.place_finger("P-0001/right-index")
    wait_screen(kiosk, qtbot, Screen.DONE)
    # 12:00 in Vancouver, in the 10:00-16:00 window just used: the next opens at 16:00.
    assert kiosk.driver.state.next_dose == datetime(2026, 6, 10, 23, 0, tzinfo=UTC)
    page = kiosk.window.view.message
    assert page.headline.text() == "Your dose is ready"
    assert page.detail.text().splitlines() == [
        "Please take it from the tray.",
        "Your next dose is available at 4:00\u202fPM",
    ]


def test_each_medication_s_progress_is_labelled(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.unit_seconds = 0.3
    recorder = Recorder(kiosk)
    kiosk.sensor.place_finger("P-0004/right-index")
    wait_screen(kiosk, qtbot, Screen.DONE)
    progress = [shown.progress for shown in recorder.shown if shown.screen is Screen.DISPENSING]
    assert progress[0].splitlines() == [
        "hydromorphone 8 mg: 0 of 1",
        "slow-release oral morphine 200 mg: 0 of 1",
    ]
    assert progress[-1].splitlines() == [
        "hydromorphone 8 mg: 1 of 1",
        "slow-release oral morphine 200 mg: 1 of 1",
    ]


def test_a_refusal_to_see_staff_says_where_and_when(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.place_finger("P-0003/right-index")  # on hold
    wait_screen(kiosk, qtbot, Screen.REFUSED)
    page = kiosk.window.view.message
    assert page.headline.text() == "Please see staff"
    assert page.note.text().splitlines() == [WHERE, WHEN]


def test_the_witness_screen_counts_down_and_ends_with_what_to_do(
    kiosk: Kiosk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TIMEOUTS, Screen.WITNESS, 3.0)  # the real timer, shortened
    witness = kiosk.window.view.witness
    shown: list[str] = []

    def record(state: FlowState) -> None:
        if state.screen is Screen.WITNESS:
            shown.append(witness.countdown.text())

    kiosk.driver.state_changed.connect(record)
    kiosk.sensor.place_finger("P-0005/right-index")
    wait_screen(kiosk, qtbot, Screen.WITNESS)
    assert shown[0] == "Time left: 3 seconds"
    wait_screen(kiosk, qtbot, Screen.ERROR)  # not idle in silence
    # It counted down while on screen (a tick may come late on a loaded machine: not every
    # second need be seen, but never one out of order).
    seconds = [int(text.split()[2]) for text in dict.fromkeys(shown)]
    assert seconds[0] == 3 and len(seconds) >= 2
    assert seconds == sorted(seconds, reverse=True)
    assert kiosk.driver.state.error is ErrorKind.NO_WITNESS
    page = kiosk.window.view.message
    assert page.headline.text() == "Your dose was not given"
    assert page.detail.text() == "A nurse or pharmacist must witness it."
    assert page.note.text().splitlines() == [
        "Please ask staff, then place your finger again.",
        WHERE,
        WHEN,
    ]
    assert kiosk.controller.log == []
    # ... and placing the finger again, with a nurse there, is read at once.
    kiosk.sensor.lift_finger()
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=WAIT_MS)
    monkeypatch.setitem(TIMEOUTS, Screen.WITNESS, 90.0)
    kiosk.sensor.place_finger("P-0005/right-index")
    wait_screen(kiosk, qtbot, Screen.WITNESS)
    assert witness.countdown.text() == "Time left: 90 seconds"
    kiosk.driver.send(flow.Cancel())
    assert kiosk.driver.state.screen is Screen.IDLE
