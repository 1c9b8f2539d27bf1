"""A new finger press is read at once on every screen that shows an outcome (issue 12,
item 7), and one touch is still one interaction: a finger left on the glass is not read
again, on any screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

from kiosk.domain.flow import ErrorKind, FlowState, Screen
from tests.ui.conftest import Kiosk

WAIT_MS = 20000  # conditions, sized for a loaded 2-core machine; never a sleep


class Screens:
    """Every screen the kiosk shows, in order (the driver's state_changed signal)."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.seen: list[Screen] = []
        kiosk.driver.state_changed.connect(self._changed)

    def _changed(self, state: FlowState) -> None:
        if not self.seen or self.seen[-1] is not state.screen:
            self.seen.append(state.screen)

    def after(self, screen: Screen) -> list[Screen]:
        """The screens from the first time ``screen`` showed."""
        return self.seen[self.seen.index(screen) :]


def lifted(kiosk: Kiosk, qtbot: QtBot) -> None:
    """The finger is lifted, and the kiosk's poll saw the glass empty."""
    kiosk.sensor.lift_finger()
    identify = kiosk.runtime.interaction.identify
    qtbot.waitUntil(lambda: not identify.awaiting_lift, timeout=WAIT_MS)


def wait_screen(kiosk: Kiosk, qtbot: QtBot, screen: Screen) -> None:
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is screen, timeout=WAIT_MS)


def not_recognised(kiosk: Kiosk) -> None:
    kiosk.sensor.place_finger("stranger/left-thumb")


def poor_image(kiosk: Kiosk) -> None:
    kiosk.sensor.place_finger("P-0001/right-index", quality="poor")


def done(kiosk: Kiosk) -> None:
    kiosk.sensor.place_finger("P-0004/right-index")


def refused(kiosk: Kiosk) -> None:
    kiosk.sensor.place_finger("P-0002/right-index")  # dosed a moment ago


OUTCOMES: dict[str, tuple[Callable[[Kiosk], None], Screen]] = {
    "not recognised (8 s)": (not_recognised, Screen.NOT_RECOGNISED),
    "please try again (15 s)": (poor_image, Screen.ERROR),
    "done (12 s)": (done, Screen.DONE),
    "refused (12 s)": (refused, Screen.REFUSED),
}


@pytest.mark.parametrize("name", list(OUTCOMES))
def test_a_new_press_on_an_outcome_screen_is_read_at_once(
    kiosk: Kiosk, qtbot: QtBot, name: str
) -> None:
    first_touch, outcome = OUTCOMES[name]
    screens = Screens(kiosk)
    first_touch(kiosk)
    wait_screen(kiosk, qtbot, outcome)
    if outcome is Screen.ERROR:
        assert kiosk.driver.state.error is ErrorKind.POOR_IMAGE
    lifted(kiosk, qtbot)  # seen while the outcome is still on screen
    assert kiosk.driver.state.screen is outcome
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: Screen.DONE in screens.after(outcome)[1:], timeout=WAIT_MS)
    # Straight from the outcome to reading the new finger: never back through idle.
    assert screens.after(outcome)[:2] == [outcome, Screen.IDENTIFYING]
    assert [line.dropped for line in kiosk.driver.state.lines] == [2]
    assert kiosk.window.view.message.headline.text() == "Your dose is ready"


def test_the_same_finger_left_on_the_glass_is_not_read_again(
    kiosk: Kiosk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    interaction = kiosk.runtime.interaction
    scans = [0]
    scan = interaction.scan

    def counted(*args: object) -> object:
        scans[0] += 1
        return scan(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(interaction, "scan", counted)
    kiosk.sensor.place_finger("P-0001/right-index")
    wait_screen(kiosk, qtbot, Screen.DONE)
    vends = len(kiosk.controller.log)
    polled = scans[0]
    # The done screen polls the sensor, and every poll finds the same finger: no new press.
    qtbot.waitUntil(lambda: scans[0] >= polled + 10, timeout=WAIT_MS)
    assert kiosk.driver.state.screen is Screen.DONE
    assert interaction.identify.awaiting_lift
    assert len(kiosk.controller.log) == vends
    lifted(kiosk, qtbot)
