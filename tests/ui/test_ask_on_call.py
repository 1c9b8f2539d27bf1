"""The "Ask the on-call clinician" buttons where staff hit their role's limit: a door or
tamper lockout's refused PIN, the jam page's service door, a hold's release. Each opens the
approval page about its subject; a role that may do the action does not see it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain import permissions
from kiosk.domain.door_recovery import SecureRefusal
from kiosk.domain.dosing import MISSED_DOSES_HOLD_REASON
from kiosk.domain.flow import Screen
from kiosk.domain.permissions import Permission, Role
from kiosk.domain.remote_approval import ApprovalAction
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_NURSE_PIN, DEMO_WORKER_PIN
from kiosk.ui.admin.pages.approval import ApprovalPage
from kiosk.ui.admin.pages.jam import JamPage
from kiosk.ui.admin.panel import AdminPanel
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import enter_pin, log_in, open_participant
from tests.ui.test_approval_page import with_approvals
from tests.ui.test_faults import refusal, staff_pin


def approval_page(panel: AdminPanel) -> ApprovalPage:
    page = panel.page("approval")
    assert isinstance(page, ApprovalPage)
    assert panel.pages[panel.nav.currentRow()] is page  # the panel shows it
    return page


@pytest.mark.parametrize(
    ("subject", "action"),
    [("door", ApprovalAction.CLEAR_DOOR_LOCKOUT), ("tamper", ApprovalAction.CLEAR_TAMPER_LOCKOUT)],
)
def test_a_refused_pin_at_a_lockout_offers_the_on_call_clinician(
    kiosk: Kiosk, qtbot: QtBot, subject: str, action: ApprovalAction
) -> None:
    with_approvals(kiosk, qtbot)
    if subject == "door":
        kiosk.controller.open_door()
    else:
        kiosk.controller.trip_tamper()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    secure = kiosk.window.view.out_of_service.secure
    assert not secure.ask.isVisible()
    # A role that may clear it (the door still open): no offer, the steps go on.
    staff_pin(kiosk, qtbot, DEMO_ADMIN_PIN)
    qtbot.waitUntil(lambda: refusal(kiosk) is not None, timeout=15000)
    assert refusal(kiosk) in (SecureRefusal.DOOR_OPEN, SecureRefusal.TAMPER)
    assert not secure.ask.isVisible()
    # A nurse may not clear it: the offer shows.
    staff_pin(kiosk, qtbot, DEMO_NURSE_PIN)
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.PIN_NOT_ACCEPTED, timeout=15000)
    qtbot.waitUntil(secure.ask.isVisible, timeout=15000)
    assert secure.ask.text() == "Ask the on-call clinician"
    qtbot.mouseClick(secure.ask, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.window.login is not None, timeout=15000)
    enter_pin(kiosk, qtbot, DEMO_NURSE_PIN)  # whoever asks signs in
    qtbot.waitUntil(lambda: kiosk.window.panel is not None, timeout=15000)
    panel = kiosk.window.panel
    assert panel is not None
    page = approval_page(panel)
    assert page.wanted == (action,) and page.subject == "machine"
    qtbot.waitUntil(page.action_buttons[action].isVisible, timeout=15000)
    panel.logout("logout")


def test_the_jam_page_offers_the_on_call_clinician_to_a_role_that_may_not_unlock(
    kiosk: Kiosk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_approvals(kiosk, qtbot)
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    jam = panel.page("jam")
    assert isinstance(jam, JamPage)
    panel.open_page("jam")
    assert not jam.ask.isVisible()  # every role may unlock today (RESET_LANE)
    # A site where the plain staff role may not: the page offers to ask.
    grants = dict(permissions.GRANTS)
    grants[Permission.RESET_LANE] = frozenset(Role) - {Role.STAFF}
    monkeypatch.setattr(permissions, "GRANTS", grants)
    jam.show_state()
    assert jam.ask.isVisible() and jam.ask.text() == "Ask the on-call clinician"
    qtbot.mouseClick(jam.ask, Qt.MouseButton.LeftButton)
    page = approval_page(panel)
    assert page.wanted == (ApprovalAction.UNLOCK_SERVICE_DOOR,)
    qtbot.waitUntil(
        page.action_buttons[ApprovalAction.UNLOCK_SERVICE_DOOR].isVisible, timeout=15000
    )
    panel.logout("logout")


def test_a_nurse_may_release_a_hold_and_is_not_offered_to_ask(kiosk: Kiosk, qtbot: QtBot) -> None:
    with_approvals(kiosk, qtbot)
    panel = log_in(kiosk, qtbot, DEMO_NURSE_PIN)
    page = open_participant(kiosk, qtbot, panel, "P-0001")
    assert page.buttons["release"].isVisible() and not page.buttons["ask"].isVisible()


def run_sql(kiosk: Kiosk, qtbot: QtBot, sql: str, *args: object) -> None:
    done: list[object] = []
    kiosk.backend.submit(lambda: kiosk.runtime.store.conn.execute(sql, args), done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=15000)


def test_a_hold_release_offers_the_on_call_clinician_by_hub_id(kiosk: Kiosk, qtbot: QtBot) -> None:
    with_approvals(kiosk, qtbot)
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    page = open_participant(kiosk, qtbot, panel, "P-0001")
    ask = page.buttons["ask"]
    qtbot.waitUntil(lambda: page.prescriptions.rowCount() > 0, timeout=15000)
    page.prescriptions.selectRow(0)
    assert not ask.isVisible()  # an active prescription: nothing to release
    rx_id = page._prescriptions[0].id
    run_sql(kiosk, qtbot, "UPDATE prescriptions SET status = 'on_hold', hold_reason = ?"
            " WHERE id = ?", MISSED_DOSES_HOLD_REASON, rx_id)  # fmt: skip
    page.refresh()
    qtbot.waitUntil(lambda: page._prescriptions[0].hold_reason != "", timeout=15000)
    page.prescriptions.selectRow(0)
    assert ask.isVisible()  # the rules' missed-dose hold: the clinician may release it
    # Entered here only: the hub cannot approve it, and the page says so.
    qtbot.mouseClick(ask, Qt.MouseButton.LeftButton)
    assert "not sent by the hub" in panel.message.text()
    assert panel.pages[panel.nav.currentRow()] is page
    # One the hub sent: the approval page opens about it.
    run_sql(kiosk, qtbot, "UPDATE prescriptions SET hub_id = 'rx-hub-9' WHERE id = ?", rx_id)
    page.refresh()
    qtbot.waitUntil(lambda: page._prescriptions[0].hub_id == "rx-hub-9", timeout=15000)
    page.prescriptions.selectRow(0)
    qtbot.mouseClick(ask, Qt.MouseButton.LeftButton)
    approval = approval_page(panel)
    assert approval.subject == "prescription:rx-hub-9"
    assert approval.wanted == (ApprovalAction.RELEASE_HOLD,)


def test_a_staff_members_own_hold_is_not_asked_about(kiosk: Kiosk, qtbot: QtBot) -> None:
    with_approvals(kiosk, qtbot)
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    page = open_participant(kiosk, qtbot, panel, "P-0001")
    qtbot.waitUntil(lambda: page.prescriptions.rowCount() > 0, timeout=15000)
    rx_id = page._prescriptions[0].id
    run_sql(kiosk, qtbot, "UPDATE prescriptions SET status = 'on_hold', hold_reason = ?"
            " WHERE id = ?", "away this week", rx_id)  # fmt: skip
    page.refresh()
    qtbot.waitUntil(lambda: page._prescriptions[0].hold_reason != "", timeout=15000)
    page.prescriptions.selectRow(0)
    assert not page.buttons["ask"].isVisible()


def refused_nurse_at_the_door(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.open_door()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    staff_pin(kiosk, qtbot, DEMO_NURSE_PIN)
    qtbot.waitUntil(lambda: refusal(kiosk) is SecureRefusal.PIN_NOT_ACCEPTED, timeout=15000)


def test_a_kiosk_without_a_hub_never_offers_to_ask(kiosk: Kiosk, qtbot: QtBot) -> None:
    refused_nurse_at_the_door(kiosk, qtbot)
    secure = kiosk.window.view.out_of_service.secure
    kiosk.driver.check_health()  # a later check changes nothing
    qtbot.waitUntil(lambda: not kiosk.driver._checking, timeout=15000)
    assert not secure.ask.isVisible()
    assert "from afar" not in secure.message.text()


def test_a_hub_without_a_key_here_nor_a_recent_sync_says_why_it_cannot_ask(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    """Offline without a clinician's key, a code could never be checked; never reached,
    the hub cannot take the request: no button, and staff are told why in plain words."""
    with_approvals(kiosk, qtbot, seeded=False)
    refused_nurse_at_the_door(kiosk, qtbot)
    secure = kiosk.window.view.out_of_service.secure
    qtbot.waitUntil(lambda: "from afar yet" in secure.message.text(), timeout=15000)
    assert not secure.ask.isVisible()
