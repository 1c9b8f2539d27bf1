"""A fresh install's staff side: the only admin reaches Lanes and stock; the Hardware page
does not call four empty lanes "ready to serve"."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from kiosk.services.seed import DEMO_ADMIN_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in


def test_empty_lanes_say_no_medication_assigned(kiosk: Kiosk, qtbot: QtBot) -> None:
    store, now = kiosk.runtime.store, kiosk.runtime.clock.now()
    done: list[bool] = []

    def empty_every_lane() -> bool:
        for lane in store.lanes():
            store.set_lane(lane.lane, None, 0, now, "test")
        return True

    kiosk.backend.submit(empty_every_lane, done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=15000)
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    assert "lanes" in [page.key for page in panel.pages]  # the admin loads the lanes
    panel.open_page("hardware")
    page = panel.page("hardware")
    table = page.lanes  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: table.rowCount() == 4 and table.item(0, 1) is not None, timeout=15000)
    assert {table.item(row, 1).text() for row in range(4)} == {"No medication assigned"}
    status = page.status  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: status.text().startswith("No lane has a medication"), timeout=15000)
    assert "Lanes and stock" in status.text()
    panel.open_page("lanes")
    lanes = panel.page("lanes")
    qtbot.waitUntil(lambda: lanes.table.rowCount() == 4, timeout=15000)  # type: ignore[attr-defined]
    assert lanes.table.item(0, 1).text() == "No medication assigned"  # type: ignore[attr-defined]
    assert not lanes.medication_box.isVisible()  # type: ignore[attr-defined] # pharmacists add them
    panel.logout("logout")
    qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=15000)
