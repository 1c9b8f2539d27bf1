"""Admin flows on emulated hardware: restock with a discrepancy, reconciliation and its
export (jam recovery: tests/ui/test_recovery.py)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from kiosk.domain import flow
from kiosk.domain.flow import Screen
from kiosk.services.seed import (
    DEMO_ADMIN_PIN,
    DEMO_NURSE_PIN,
    DEMO_PHARMACIST_PIN,
    DEMO_WORKER_PIN,
)
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in


def logout(kiosk: Kiosk, qtbot: QtBot) -> None:
    assert kiosk.window.panel is not None
    kiosk.window.panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)


def test_a_restock_count_that_disagrees_blocks_the_lane_until_a_pharmacist_resolves_it(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("lanes")
    page = panel.page("lanes")
    qtbot.waitUntil(lambda: page.table.rowCount() == 4, timeout=15000)  # type: ignore[attr-defined]
    page.lane.setValue(3)  # type: ignore[attr-defined]
    page.counted.setValue(25)  # type: ignore[attr-defined] # the record says 30
    page.added.setValue(20)  # type: ignore[attr-defined]
    page.second_pin.setText(DEMO_WORKER_PIN)  # type: ignore[attr-defined] # not someone else
    page.restock()  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: (
            panel.message.text() == "A second, different staff member must sign with their PIN."
        ),
        timeout=15000,
    )
    page.second_pin.setText(DEMO_NURSE_PIN)  # type: ignore[attr-defined]
    page.restock()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "blocked until a pharmacist" in panel.message.text(), timeout=15000)
    assert "counted 25, expected 30" in panel.message.text()
    # The page refreshes its lanes after the restock (on the backend): wait for the new state.
    qtbot.waitUntil(
        lambda: any(v.lane == 3 and v.discrepancy_id for v in page._lanes),  # type: ignore[attr-defined]
        timeout=15000,
    )
    # The plain staff role may not resolve it.
    page.reason.setText("recount done")  # type: ignore[attr-defined]
    page.resolve()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "Your role may not do that.", timeout=15000)
    logout(kiosk, qtbot)
    # Meanwhile the capsule lane does not dispense: P-0004 gets only the tablet, and the
    # capsule is never announced: it is not available here, and staff have been told.
    kiosk.sensor.place_finger("P-0004/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert [line.dropped for line in kiosk.driver.state.lines] == [1]
    assert kiosk.window.view.message.headline.text() == "Your dose is ready"
    assert kiosk.window.view.message.note.text().startswith(
        "slow-release oral morphine 200 mg is not available here right now"
    )
    kiosk.sensor.lift_finger()
    kiosk.driver.send(flow.Timeout())
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=15000)
    panel = log_in(kiosk, qtbot, DEMO_PHARMACIST_PIN)
    panel.open_page("lanes")
    page = panel.page("lanes")
    qtbot.waitUntil(lambda: page.table.rowCount() == 4, timeout=15000)  # type: ignore[attr-defined]
    page.lane.setValue(3)  # type: ignore[attr-defined]
    page.reason.setText("5 capsules found in the return bin, recorded")  # type: ignore[attr-defined]
    page.resolve()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "Discrepancy resolved.", timeout=15000)
    logout(kiosk, qtbot)


def test_reconciliation_of_the_day_and_its_export(
    kiosk: Kiosk, qtbot: QtBot, tmp_path: Path
) -> None:
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    kiosk.sensor.lift_finger()
    kiosk.driver.send(flow.Timeout())
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    panel.open_page("reconciliation")
    page = panel.page("reconciliation")
    qtbot.waitUntil(lambda: len(page.lines) == 2, timeout=15000)  # type: ignore[attr-defined]
    hydro = next(line for line in page.lines if "hydromorphone" in line.medication)  # type: ignore[attr-defined]
    assert hydro.dispensed == 3  # Sam's seeded dose + Alex's two tablets
    assert hydro.expected_closing == hydro.opening + hydro.restocked - 3
    page.folder.setText(str(tmp_path / "usb"))  # type: ignore[attr-defined] # not there
    page.export()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "cannot be written" in panel.message.text(), timeout=15000)
    (tmp_path / "usb").mkdir()
    page.export()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text().startswith("Written:"), timeout=15000)
    files = sorted(p.name for p in (tmp_path / "usb").iterdir())
    assert len(files) == 2
    dispenses = next(p for p in (tmp_path / "usb").iterdir() if p.name.startswith("dispenses"))
    text = dispenses.read_text()
    assert "P-0001" in text and "Alex" not in text
    logout(kiosk, qtbot)
