"""Notices and doses given by hand at the touchscreen (issue 17 items 3 and 4): a participant
notice shown once in the participant's language, a site notice at idle until its last day, a
notice set on the admin panel, and a dose given by hand counted by the rules and shown in
reconciliation."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain import flow
from kiosk.domain.dosing import RefusalReason
from kiosk.domain.flow import Screen
from kiosk.domain.manual_doses import StockSource
from kiosk.domain.notices import NoticeScope
from kiosk.services.notices import NoticeDraft
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_NURSE_PIN, DEMO_WORKER_PIN
from kiosk.services.staff import StaffSession
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in
from tests.ui.test_admin_stock import logout


def on_backend(kiosk: Kiosk, qtbot: QtBot, work: object) -> object:
    """Run ``work`` on the backend thread (the store is the backend's) and return its result."""
    found: list[object] = []
    kiosk.backend.submit(work, found.append)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: bool(found), timeout=15000)
    return found[0]


def admin(kiosk: Kiosk) -> StaffSession:
    return kiosk.runtime.interaction.notices._staff.login(DEMO_ADMIN_PIN)


def next_person(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.lift_finger()
    kiosk.driver.send(flow.Timeout())
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=15000)
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=15000)


def test_a_participant_notice_is_shown_once_in_their_language(kiosk: Kiosk, qtbot: QtBot) -> None:
    notices = kiosk.runtime.interaction.notices
    today = notices.today()
    draft = NoticeDraft(
        NoticeScope.PARTICIPANT,
        "P-0002",  # the demo's French-speaking participant
        today,
        today + timedelta(days=7),
        {
            "en": "The nurse is here Tuesdays 2-4 pm.",
            "fr_CA": "L'infirmière est ici le mardi de 14 h à 16 h.",
        },
    )
    on_backend(kiosk, qtbot, lambda: notices.create(admin(kiosk), draft))
    kiosk.sensor.place_finger("P-0002/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.NOTICE, timeout=15000)
    screen = kiosk.window.view.notice
    qtbot.waitUntil(lambda: kiosk.window.view.currentWidget() is screen, timeout=15000)
    assert screen.text.text() == "L'infirmière est ici le mardi de 14 h à 16 h."
    assert screen.headline.text() == "Un message pour vous"
    assert screen.ok.text() == "OK"
    qtbot.mouseClick(screen.ok, Qt.MouseButton.LeftButton)
    # Then the decision, as without a notice (Sam was dosed already: too early).
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REFUSED, timeout=15000)
    next_person(kiosk, qtbot)
    kiosk.sensor.place_finger("P-0002/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REFUSED, timeout=15000)
    assert kiosk.driver.state.notices == ()
    rows = on_backend(
        kiosk,
        qtbot,
        lambda: kiosk.runtime.store.conn.execute(
            "SELECT type, payload FROM outbox WHERE type = 'notice.acknowledged'"
        ).fetchall(),
    )
    assert len(rows) == 1 and "infirmi" not in rows[0][1]  # type: ignore[index]


def test_a_notice_not_acknowledged_comes_again_and_nothing_is_decided_meanwhile(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    notices = kiosk.runtime.interaction.notices
    today = notices.today()
    draft = NoticeDraft(
        NoticeScope.PARTICIPANT, "P-0001", today, today, {"en": "Please see staff today."}
    )
    on_backend(kiosk, qtbot, lambda: notices.create(admin(kiosk), draft))
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.NOTICE, timeout=15000)
    kiosk.driver.send(flow.Timeout())  # walked away without pressing OK
    assert kiosk.driver.state.screen is Screen.IDLE and kiosk.controller.log == []
    next_person(kiosk, qtbot)
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.NOTICE, timeout=15000)
    assert kiosk.window.view.notice.text.text() == "Please see staff today."
    qtbot.mouseClick(kiosk.window.view.notice.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)


def test_a_site_notice_shows_at_idle_until_its_last_day(kiosk: Kiosk, qtbot: QtBot) -> None:
    notices = kiosk.runtime.interaction.notices
    today = notices.today()
    draft = NoticeDraft(
        NoticeScope.SITE,
        None,
        today,
        today + timedelta(days=1),
        {"en": "Serviced on Friday 9-11 am."},
        one_language="en",
    )
    on_backend(kiosk, qtbot, lambda: notices.create(admin(kiosk), draft))
    idle = kiosk.window.view.idle
    kiosk.driver.refresh_notices()
    qtbot.waitUntil(idle.notice.isVisible, timeout=15000)
    assert idle.notice.text() == "Serviced on Friday 9-11 am."
    kiosk.driver.send(flow.LanguageChosen("fr_CA"))  # one language only: shown as written
    assert idle.notice.text() == "Serviced on Friday 9-11 am."
    kiosk.runtime.clock.at += timedelta(days=1)  # type: ignore[attr-defined] # its last day
    kiosk.driver.refresh_notices()
    qtbot.waitUntil(lambda: not kiosk.backend.busy, timeout=15000)
    assert idle.notice.isVisible()
    kiosk.runtime.clock.at += timedelta(days=1)  # type: ignore[attr-defined] # over
    kiosk.driver.refresh_notices()
    qtbot.waitUntil(lambda: not idle.notice.isVisible(), timeout=15000)


def test_a_notice_is_set_on_the_admin_panel(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("notices")
    page = panel.page("notices")
    qtbot.waitUntil(lambda: page.who.count() > 1, timeout=15000)  # type: ignore[attr-defined]
    page.save()  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: panel.message.text() == "Write the notice in one language at least.",
        timeout=15000,
    )
    page.who.setCurrentIndex(page.who.findData("P-0001"))  # type: ignore[attr-defined]
    page.texts["en"].setText("Your new card is at the desk.")  # type: ignore[attr-defined]
    page.save()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "Notice saved.", timeout=15000)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=15000)  # type: ignore[attr-defined]
    assert page.table.item(0, 0).text() == "P-0001"  # type: ignore[attr-defined]
    logout(kiosk, qtbot)
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.NOTICE, timeout=15000)
    assert kiosk.window.view.notice.text.text() == "Your new card is at the desk."


def test_a_dose_given_by_hand_is_counted_by_the_rules_and_in_reconciliation(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    assert "manual_dose" not in [p.key for p in panel.pages]  # staff may not
    logout(kiosk, qtbot)
    panel = log_in(kiosk, qtbot, DEMO_NURSE_PIN)
    panel.open_page("manual_dose")
    page = panel.page("manual_dose")
    qtbot.waitUntil(lambda: page.prescription.count() > 0, timeout=15000)  # type: ignore[attr-defined]
    labels = [page.prescription.itemText(i) for i in range(page.prescription.count())]  # type: ignore[attr-defined]
    page.prescription.setCurrentIndex(
        labels.index(next(x for x in labels if x.startswith("P-0001")))
    )  # type: ignore[attr-defined]
    page.units.setCurrentIndex(page.units.findData(2))  # type: ignore[attr-defined]
    page.source.setCurrentIndex(page.source.findData(StockSource.MACHINE_LANE))  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.lane.count() > 0, timeout=15000)  # type: ignore[attr-defined]
    lane = int(page.lane.currentData())  # type: ignore[attr-defined]
    stock_before = next(r.stock for r in kiosk.runtime.store.lanes() if r.lane == lane)
    page.record()  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: panel.message.text() == "Dose recorded. The machine counts it.", timeout=15000
    )
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=15000)  # type: ignore[attr-defined]
    panel.open_page("reconciliation")
    recon = panel.page("reconciliation")
    qtbot.waitUntil(lambda: bool(recon.lines), timeout=15000)  # type: ignore[attr-defined]
    [line] = [x for x in recon.lines if lane in x.lanes]  # type: ignore[attr-defined]
    assert line.by_hand == 2 and line.by_hand_pharmacy == 0
    assert line.expected_closing == line.opening + line.restocked - line.dispensed - 2 - (
        line.returned + line.wasted
    )
    logout(kiosk, qtbot)
    assert next(r.stock for r in kiosk.runtime.store.lanes() if r.lane == lane) == stock_before - 2
    # The rules count it: P-0001 was due 2 tablets, and now has had them.
    kiosk.sensor.place_finger("P-0001/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REFUSED, timeout=15000)
    refusal = kiosk.driver.state.refusal
    assert refusal is not None and refusal.reason is not RefusalReason.MISSED_DOSES
    assert kiosk.controller.log == []


def test_a_dose_the_rules_would_refuse_needs_an_override_reason(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_NURSE_PIN)
    panel.open_page("manual_dose")
    page: Any = panel.page("manual_dose")
    qtbot.waitUntil(lambda: page.prescription.count() > 0, timeout=15000)
    labels = [page.prescription.itemText(i) for i in range(page.prescription.count())]
    page.prescription.setCurrentIndex(labels.index(next(x for x in labels if "P-0001" in x)))
    page.units.setCurrentIndex(page.units.findData(2))
    page.record()  # P-0001 was due: allowed, recorded
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=15000)
    assert not page.override.isVisibleTo(page)
    page.record()  # the same dose again: the rules would refuse it
    qtbot.waitUntil(lambda: page.override.isVisibleTo(page), timeout=15000)
    assert panel.message.text().startswith("The rules would refuse this dose: ")
    assert "It was not recorded." in panel.message.text()
    page.record()  # still no reason: still refused, nothing recorded
    qtbot.waitUntil(lambda: page.override.isVisibleTo(page), timeout=15000)
    assert page.table.rowCount() == 1
    page.override.setText("Vomited the first dose; prescriber phoned")
    page.record()
    qtbot.waitUntil(
        lambda: panel.message.text() == "Dose recorded. The machine counts it.", timeout=15000
    )
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=15000)
    assert not page.override.isVisibleTo(page)
    rows: Any = on_backend(
        kiosk,
        qtbot,
        lambda: kiosk.runtime.store.conn.execute(
            "SELECT details FROM audit_log WHERE action = 'manual_dose.recorded' ORDER BY seq"
        ).fetchall(),
    )
    assert "rules_override" not in rows[0][0]
    assert json.loads(rows[1][0])["rules_override"] == {
        "refusal": "already_dosed",
        "reason": "Vomited the first dose; prescriber phoned",
    }
