"""The "Ask for approval" page (kiosk/ui/admin/pages/approval.py) on the demo kiosk: a night
worker asks to unlock the service door, phones the clinician, types the response on the keypad
and the (emulated) controller unlocks; a wrong response says how many tries are left; an
approval from the hub (applied as sync would) is acted on while the page waits."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyotp
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction, ApprovalStep
from kiosk.services.approvals import ApprovalsService, standard_performers
from kiosk.services.holds import HoldService
from kiosk.services.seed import DEMO_WORKER_PIN
from kiosk.services.sync.apply import apply_page
from kiosk.services.sync.client import Change, ChangesPage
from kiosk.ui.admin.pages.approval import ApprovalPage
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in

DEVICE = "dev-ui-approval"
SEED = base64.b32encode(b"nurse seed for the ui").decode()
ROOT = Path(__file__).resolve().parents[2]


def with_approvals(
    kiosk: Kiosk, qtbot: QtBot, app: str | None = None, *, seeded: bool = True
) -> None:
    """Remote approvals wired as kiosk.app.build_approvals does (a kiosk with a hub), and
    (``seeded``) a nurse's key pulled as sync would (with an app seed ``app``)."""
    runtime = kiosk.runtime
    store, clock = runtime.store, runtime.clock
    service = ApprovalsService(
        store,
        clock,
        DEVICE,
        performers=standard_performers(
            store, clock, runtime.health, runtime.controller, HoldService(store, clock)
        ),
    )
    admin = kiosk.window.admin_services
    assert admin is not None
    kiosk.window.admin_services = replace(admin, approvals=service)
    runtime.health.remote_reach = service.lockout_reach
    if not seeded:
        return
    seed = {
        "user_id": 7,
        "role": "nurse",
        "label": "Maria L.",
        "seed": SEED,
        "totp": app,
        "actions": [a.value for a in ApprovalAction],
        "sites": [1],
    }
    page = ChangesPage(1, False, False, [Change("approver_seed", "upsert", "7", seed)])
    done: list[object] = []
    kiosk.backend.submit(lambda: apply_page(store.conn, page, clock.now()), done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=15000)


def open_page(kiosk: Kiosk, qtbot: QtBot) -> ApprovalPage:
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("approval")
    page = panel.page("approval")
    assert isinstance(page, ApprovalPage)
    button = page.action_buttons[ApprovalAction.UNLOCK_SERVICE_DOOR]
    qtbot.waitUntil(button.isVisible, timeout=15000)
    assert button.minimumHeight() >= 64  # the panel's big touch targets
    # Witnessing from afar is off by default: never offered.
    assert not page.action_buttons[ApprovalAction.WITNESS_DOSE].isVisible()
    return page


def ask_and_phone(kiosk: Kiosk, qtbot: QtBot, page: ApprovalPage) -> str:
    qtbot.mouseClick(
        page.action_buttons[ApprovalAction.UNLOCK_SERVICE_DOOR], Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: page.state.step is ApprovalStep.WAITING, timeout=15000)
    assert page.challenge.isVisible() and page.state.challenge.replace(" ", "") in (
        page.challenge.text().replace(" ", "")
    )
    qtbot.mouseClick(page.phone, Qt.MouseButton.LeftButton)
    assert page.state.step is ApprovalStep.CHALLENGE and page.pad.isVisible()
    return page.state.challenge


def type_code(qtbot: QtBot, page: ApprovalPage, code: str) -> None:
    for digit in code:
        qtbot.mouseClick(page.pad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.check, Qt.MouseButton.LeftButton)


def audit(kiosk: Kiosk, qtbot: QtBot, action: str) -> list[dict[str, object]]:
    rows: list[list[dict[str, object]]] = []
    kiosk.backend.submit(
        lambda: [
            json.loads(d)
            for (d,) in kiosk.runtime.store.conn.execute(
                "SELECT details FROM audit_log WHERE action = ? ORDER BY seq", (action,)
            )
        ],
        rows.append,
    )
    qtbot.waitUntil(lambda: bool(rows), timeout=15000)
    return rows[0]


def test_a_phone_approval_unlocks_the_service_door(kiosk: Kiosk, qtbot: QtBot) -> None:
    with_approvals(kiosk, qtbot)
    page = open_page(kiosk, qtbot)
    challenge = ask_and_phone(kiosk, qtbot, page)
    type_code(qtbot, page, "12345678")
    qtbot.waitUntil(page.problem.isVisible, timeout=15000)
    assert page.problem.text() == "That response is not right. 4 tries left."
    save_screenshots(page, "approval-challenge")
    step = ra.time_step(kiosk.runtime.clock.now())
    code = ra.response_code(SEED, DEVICE, ApprovalAction.UNLOCK_SERVICE_DOOR, challenge, step)
    type_code(qtbot, page, code)
    qtbot.waitUntil(lambda: page.state.step is ApprovalStep.APPROVED, timeout=15000)
    assert page.help.text() == "Approved by Maria L.. Done."
    (used,) = audit(kiosk, qtbot, "approval.used")
    assert (used["how"], used["approver"], used["approver_label"]) == (
        "offline",
        "hub_user:7",
        "Maria L.",
    )
    (unlocked,) = audit(kiosk, qtbot, "approval.door_unlocked")
    assert unlocked["seconds"] == 30


def test_an_approval_from_the_hub_is_acted_on_while_the_page_waits(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    with_approvals(kiosk, qtbot)
    page = open_page(kiosk, qtbot)
    qtbot.mouseClick(
        page.action_buttons[ApprovalAction.UNLOCK_SERVICE_DOOR], Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: page.state.step is ApprovalStep.WAITING, timeout=15000)
    now = kiosk.runtime.clock.now()
    decision = {
        "request_id": page.state.request_id,
        "decision": "approved",
        "approver": {"id": 7, "role": "nurse", "label": "Maria L."},
        "at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=10)).isoformat(),
    }
    changes = [Change("approval_decision", "upsert", page.state.request_id, decision)]
    store = kiosk.runtime.store
    kiosk.backend.submit(lambda: apply_page(store.conn, ChangesPage(2, False, False, changes), now))
    qtbot.waitUntil(lambda: page.state.step is ApprovalStep.APPROVED, timeout=15000)
    assert audit(kiosk, qtbot, "approval.used")[0]["how"] == "online"
    kiosk.window.panel.logout("logout")  # type: ignore[union-attr]


def test_a_code_from_the_clinicians_app_unlocks_the_service_door(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    app = base64.b32encode(b"the nurse's app seed").decode()
    with_approvals(kiosk, qtbot, app)
    page = open_page(kiosk, qtbot)
    qtbot.mouseClick(
        page.action_buttons[ApprovalAction.UNLOCK_SERVICE_DOOR], Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: page.state.step is ApprovalStep.WAITING, timeout=15000)
    assert page.app.isVisible()
    qtbot.mouseClick(page.app, Qt.MouseButton.LeftButton)
    assert page.state.by_app and page.pad.length == 6 and page.response.isVisible()
    assert "6-digit code" in page.help.text()
    save_screenshots(page, "approval-app-code")
    type_code(qtbot, page, pyotp.TOTP(app).at(kiosk.runtime.clock.now()))
    qtbot.waitUntil(lambda: page.state.step is ApprovalStep.APPROVED, timeout=15000)
    (used,) = audit(kiosk, qtbot, "approval.used")
    assert (used["how"], used["approver"]) == ("app", "hub_user:7")


def save_screenshots(page: ApprovalPage, name: str) -> None:
    """The page as staff see it, portrait and landscape (docs/screenshots/kiosk)."""
    window = page.window()
    size = window.size()
    for width, height, tag in ((1080, 1920, "portrait"), (1920, 1080, "landscape")):
        window.resize(width, height)
        window.grab().save(str(ROOT / "docs" / "screenshots" / tag / "en" / f"{name}.png"))
    window.resize(size)


def test_the_response_is_shown_as_typed_and_one_digit_can_be_taken_back(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    """A response code is read out over the phone, not a secret PIN: its digits show, large,
    so staff can read them back; Delete corrects the last one."""
    with_approvals(kiosk, qtbot)
    page = open_page(kiosk, qtbot)
    ask_and_phone(kiosk, qtbot, page)
    assert page.pad.shown.text() == "____ ____"
    for digit in "12345":
        qtbot.mouseClick(page.pad.keys[digit], Qt.MouseButton.LeftButton)
    assert page.pad.shown.text() == "1234 5___"
    qtbot.mouseClick(page.pad.keys["delete"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.pad.keys["9"], Qt.MouseButton.LeftButton)
    assert page.pad.shown.text() == "1234 9___" and page.pad.digits == "12349"
    save_screenshots(page, "approval-response-typed")
    assert page.pad.keys["delete"].text() == "Delete"
    assert page.pad.keys["delete"].minimumHeight() >= 64
    assert "·" not in page.pad.shown.text() and "•" not in page.pad.shown.text()
    assert page.pad.shown.font().pointSize() >= 32 or "40pt" in page.pad.shown.styleSheet()
