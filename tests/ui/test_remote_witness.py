"""Witnessing a dose from afar through the real participant flow (emulated sensor and
controller, the real encrypted store, the real approvals service): the witness screen offers
"Witness from afar" where the site allows it; the night worker types their PIN; the on-call
clinician's decision arrives as sync would apply it; an approval dispenses exactly once,
recorded with the remote witness; a refusal dispenses nothing and says so without blame."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pyotp
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.domain import remote_approval as ra
from kiosk.domain.flow import ErrorKind, Screen
from kiosk.domain.remote_approval import ApprovalAction, ApprovalStep
from kiosk.services.approvals import ApprovalsService, standard_performers
from kiosk.services.holds import HoldService
from kiosk.services.seed import DEMO_WORKER_PIN
from kiosk.services.sync.apply import apply_page
from kiosk.services.sync.client import Change, ChangesPage
from tests.ui.conftest import Kiosk

NURSE_HUB_ID = 7
APP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WAIT_MS = 20000
T = TypeVar("T")


def on_backend(kiosk: Kiosk, qtbot: QtBot, work: Callable[[], T]) -> T:
    """Run ``work`` on the backend thread, which owns the store, and wait for it."""
    done: list[T] = []
    kiosk.backend.submit(work, done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)
    return done[0]


def pull(kiosk: Kiosk, qtbot: QtBot, *changes: Change) -> None:
    now = kiosk.runtime.clock.now()
    page = ChangesPage(1, False, False, list(changes))
    on_backend(kiosk, qtbot, lambda: apply_page(kiosk.runtime.store.conn, page, now))


def with_remote_witness(kiosk: Kiosk, qtbot: QtBot) -> None:
    """This machine has a hub; the site lets a nurse witness from afar; a nurse's key."""
    runtime = kiosk.runtime
    store, clock = runtime.store, runtime.clock
    holds = HoldService(store, clock)
    performers = standard_performers(store, clock, runtime.health, runtime.controller, holds)
    runtime.interaction.approvals = ApprovalsService(
        store, clock, "dev-witness-ui", performers=performers
    )
    policy = {**ra.default_policy().as_wire(), "witness_dose": ["nurse"]}
    seed = {
        "user_id": NURSE_HUB_ID,
        "role": "nurse",
        "label": "Maria L.",
        "seed": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "totp": APP,
        "actions": [a.value for a in ApprovalAction],
        "sites": [1],
    }
    pull(
        kiosk,
        qtbot,
        Change("setting", "upsert", "remote_approval", {"value": policy}),
        Change("approver_seed", "upsert", str(NURSE_HUB_ID), seed),
    )


def ask_from_afar(kiosk: Kiosk, qtbot: QtBot) -> str:
    """The witnessed participant scans; staff choose "Witness from afar" and type their PIN:
    the request waits for the on-call clinician. Returns its id."""
    kiosk.sensor.place_finger("P-0005/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.WITNESS, timeout=WAIT_MS)
    view = kiosk.window.view
    qtbot.waitUntil(view.witness.afar.isVisible, timeout=WAIT_MS)
    qtbot.mouseClick(view.witness.afar, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REMOTE_WITNESS, timeout=WAIT_MS)
    screen = view.remote_witness
    for digit in DEMO_WORKER_PIN:
        qtbot.mouseClick(screen.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.keys["ok"], Qt.MouseButton.LeftButton)

    def waiting() -> bool:
        remote = kiosk.driver.state.remote
        return bool(remote and remote.approval and remote.approval.step is ApprovalStep.WAITING)

    qtbot.waitUntil(waiting, timeout=WAIT_MS)
    assert screen.phone.isVisible() and screen.app.isVisible()
    remote = kiosk.driver.state.remote
    assert remote is not None
    return remote.request_id


def decision(kiosk: Kiosk, request_id: str, approved: bool) -> Change:
    """The hub's answer as the sync thread pulls it."""
    now = kiosk.runtime.clock.now()
    data: dict[str, Any] = {
        "request_id": request_id,
        "decision": "approved" if approved else "refused",
        "approver": {"id": NURSE_HUB_ID, "role": "nurse", "label": "Maria L."},
        "reason": "" if approved else "please call me first",
        "at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=10)).isoformat(),
    }
    return Change("approval_decision", "upsert", request_id, data)


def intents(kiosk: Kiosk, qtbot: QtBot) -> list[tuple[Any, ...]]:
    """The witnessed participant's dispenses (the demo has none of theirs before)."""
    sql = (
        "SELECT participant_id, witness_staff_id, witness_hub_user_id, witness_request_id"
        " FROM dispense_intents WHERE participant_id = ?"
    )
    participant = (kiosk.driver.state.participant_id,)
    conn = kiosk.runtime.store.conn
    return on_backend(kiosk, qtbot, lambda: conn.execute(sql, participant).fetchall())


def test_a_remote_witness_approved_online_dispenses_once_recorded_with_them(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    with_remote_witness(kiosk, qtbot)
    request_id = ask_from_afar(kiosk, qtbot)
    subject = on_backend(
        kiosk,
        qtbot,
        lambda: kiosk.runtime.store.conn.execute(
            "SELECT subject, action FROM approval_requests WHERE request_id = ?", (request_id,)
        ).fetchone(),
    )
    assert subject[1] == "witness_dose" and subject[0].startswith("participant:")
    pull(kiosk, qtbot, decision(kiosk, request_id, approved=True))
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=WAIT_MS)
    assert len(kiosk.controller.log) == 1  # exactly one vend
    ((participant, staff, hub_user, used),) = intents(kiosk, qtbot)
    assert (staff, hub_user, used) == (None, NURSE_HUB_ID, request_id)
    details = on_backend(
        kiosk,
        qtbot,
        lambda: kiosk.runtime.store.conn.execute(
            "SELECT details FROM audit_log WHERE action = 'dispense.intent'"
            " ORDER BY seq DESC LIMIT 1"
        ).fetchone()[0],
    )
    assert json.loads(details)["witness"] == f"hub_user:{NURSE_HUB_ID}"
    # The same approval never witnesses another dispense.
    again = on_backend(
        kiosk,
        qtbot,
        lambda: _try_dispense_again(kiosk, participant, request_id),
    )
    assert again == "refused"
    assert len(kiosk.controller.log) == 1


def _try_dispense_again(kiosk: Kiosk, participant: int, request_id: str) -> str:
    from kiosk.services.interaction import WitnessRequired

    try:
        kiosk.runtime.interaction.dispense(participant, None, None, (), request_id)
    except WitnessRequired:
        return "refused"
    return "dispensed"


def test_an_app_code_witnesses_without_a_network(kiosk: Kiosk, qtbot: QtBot) -> None:
    with_remote_witness(kiosk, qtbot)
    ask_from_afar(kiosk, qtbot)
    screen = kiosk.window.view.remote_witness
    qtbot.mouseClick(screen.app, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(screen.challenge.isVisible, timeout=WAIT_MS)
    assert "6-digit code" in screen.note.text()
    code = pyotp.TOTP(APP).at(kiosk.runtime.clock.now())
    for digit in code:
        qtbot.mouseClick(screen.keys[digit], Qt.MouseButton.LeftButton)
    assert screen.pad.dots.text() == code  # a code is shown as typed, not as dots
    qtbot.mouseClick(screen.keys["ok"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=WAIT_MS)
    assert len(kiosk.controller.log) == 1
    ((_participant, staff, hub_user, _used),) = intents(kiosk, qtbot)
    assert (staff, hub_user) == (None, NURSE_HUB_ID)


def test_a_refusal_dispenses_nothing_and_says_so_plainly(kiosk: Kiosk, qtbot: QtBot) -> None:
    with_remote_witness(kiosk, qtbot)
    request_id = ask_from_afar(kiosk, qtbot)
    pull(kiosk, qtbot, decision(kiosk, request_id, approved=False))
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.ERROR, timeout=WAIT_MS)
    assert kiosk.driver.state.error is ErrorKind.NO_WITNESS
    assert kiosk.window.view.message.headline.text() == "Your dose was not given"
    assert kiosk.controller.log == []
    assert intents(kiosk, qtbot) == []


def test_cancel_withdraws_the_request_and_goes_back_to_the_witness_pad(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    with_remote_witness(kiosk, qtbot)
    request_id = ask_from_afar(kiosk, qtbot)
    qtbot.mouseClick(kiosk.window.view.remote_witness.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.WITNESS, timeout=WAIT_MS)
    # The withdrawal went to the one backend thread first, so this query sees it.
    sql = "SELECT withdrawn_at FROM approval_requests WHERE request_id = ?"
    conn = kiosk.runtime.store.conn
    row = on_backend(kiosk, qtbot, lambda: conn.execute(sql, (request_id,)).fetchone())
    assert row[0] is not None
    assert kiosk.controller.log == []


def test_without_a_hub_witness_from_afar_is_not_offered(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.place_finger("P-0005/right-index")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.WITNESS, timeout=WAIT_MS)
    assert not kiosk.window.view.witness.afar.isVisible()
    assert kiosk.driver.state.remote_offer is None
