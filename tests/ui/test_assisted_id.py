"""Staff-assisted identification end to end: emulated sensor and dispenser on ptys, the real
encrypted store, the buttons pressed as staff and the participant press them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from kiosk.domain import flow
from kiosk.domain.alerts import AlertKind
from kiosk.domain.assisted_id import AssistRefusal, AssistStep, Picture
from kiosk.domain.flow import Screen
from kiosk.domain.notices import NoticeScope
from kiosk.services.notices import NoticeDraft
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_WORKER_PIN
from kiosk.store import sync_repo
from tests.ui.conftest import Kiosk

T = TypeVar("T")


def on_backend(kiosk: Kiosk, qtbot: QtBot, work: Callable[[], T]) -> T:
    """Run ``work`` on the backend thread, which owns the store, and wait for its result."""
    results: list[T] = []
    kiosk.backend.submit(work, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=20000)
    return results[0]


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def type_on(qtbot: QtBot, keys: dict[str, QPushButton], digits: str) -> None:
    for digit in digits:
        click(qtbot, keys[digit])
    click(qtbot, keys["ok"])


def assist_step(kiosk: Kiosk) -> AssistStep | None:
    assist = kiosk.driver.state.assist
    return None if assist is None else assist.step


def start_from_idle(kiosk: Kiosk, qtbot: QtBot) -> None:
    click(qtbot, kiosk.window.view.idle.assist)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.ASSISTED, timeout=15000)


def identify(kiosk: Kiosk, qtbot: QtBot, code: str) -> None:
    """Staff PIN and code, up to "Is this you?"."""
    screen = kiosk.window.view.assisted
    type_on(qtbot, screen.pin_pad.keys, DEMO_WORKER_PIN)
    qtbot.waitUntil(lambda: assist_step(kiosk) is AssistStep.CODE, timeout=15000)
    type_on(qtbot, screen.code_pad.keys, code)
    qtbot.waitUntil(lambda: assist_step(kiosk) is AssistStep.CONFIRM, timeout=15000)


def staff_id(kiosk: Kiosk, qtbot: QtBot) -> int:
    rows = on_backend(
        kiosk,
        qtbot,
        lambda: kiosk.runtime.store.staff_with_roles(("staff",)),
    )
    return rows[0][0]


def test_staff_identify_a_participant_who_confirms_their_picture_and_gets_the_dose(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    store = kiosk.runtime.store

    def choose_picture() -> None:
        store.conn.execute(
            "UPDATE participants SET confirmation_picture = 'fish' WHERE code = 'P-0001'"
        )

    on_backend(kiosk, qtbot, choose_picture)
    start_from_idle(kiosk, qtbot)
    identify(kiosk, qtbot, "1")
    screen = kiosk.window.view.assisted
    assert screen.headline.text() == "Is this you?"
    assert screen.picture.isVisible() and screen.picture.picture is Picture.FISH
    assert not screen.pin_pad.isVisible() and not screen.code_pad.isVisible()
    click(qtbot, screen.yes)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert kiosk.driver.state.lines[0].dropped == 2
    worker = staff_id(kiosk, qtbot)

    def records() -> tuple[list[object], list[object], list[str]]:
        intents = store.conn.execute(
            "SELECT identified_by FROM dispense_intents ORDER BY vend_id DESC LIMIT 1"
        ).fetchall()
        uses = store.conn.execute("SELECT participant_id, staff_id FROM assisted_ids").fetchall()
        events = [
            row[0]
            for row in store.conn.execute(
                "SELECT payload FROM outbox WHERE type = 'dispense.intent' ORDER BY seq DESC"
            )
        ]
        return intents, uses, events

    intents, uses, events = on_backend(kiosk, qtbot, records)
    assert intents == [(worker,)]
    assert len(uses) == 1 and uses[0][1] == worker  # type: ignore[index]
    assert json.loads(events[0])["identified_by"] == f"staff:{worker}"


def test_initials_when_no_picture_was_chosen_and_no_sends_back_to_the_code(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    start_from_idle(kiosk, qtbot)
    identify(kiosk, qtbot, "4")
    screen = kiosk.window.view.assisted
    assert screen.picture.picture is Picture.INITIALS
    click(qtbot, screen.no)
    qtbot.waitUntil(lambda: assist_step(kiosk) is AssistStep.CODE, timeout=15000)
    assert screen.detail.text() == "Not this person. Check the code and try again."
    type_on(qtbot, screen.code_pad.keys, "99")
    qtbot.waitUntil(
        lambda: screen.detail.text() == "No participant has this code. Check it and try again.",
        timeout=15000,
    )
    click(qtbot, screen.cancel)
    assert kiosk.driver.state.screen is Screen.IDLE
    assert kiosk.controller.log == []  # nothing was vended


def test_wrong_staff_pins_lock_the_assisted_pad(kiosk: Kiosk, qtbot: QtBot) -> None:
    start_from_idle(kiosk, qtbot)
    screen = kiosk.window.view.assisted
    for attempt in range(4):
        type_on(qtbot, screen.pin_pad.keys, "000000")
        qtbot.waitUntil(
            lambda: (
                kiosk.driver.state.assist is not None
                and kiosk.driver.state.assist.refusal is AssistRefusal.PIN_NOT_ACCEPTED
                and assist_step(kiosk) is AssistStep.STAFF_PIN
            ),
            timeout=15000,
        )
        assert screen.detail.text() == "That PIN was not accepted. Please try again.", attempt
    type_on(qtbot, screen.pin_pad.keys, "000000")  # the fifth locks it
    locked = "Too many wrong PINs. Try again in 30 seconds."
    qtbot.waitUntil(lambda: screen.detail.text() == locked, timeout=15000)
    type_on(qtbot, screen.pin_pad.keys, DEMO_WORKER_PIN)  # locked: the right PIN waits too
    qtbot.waitUntil(
        lambda: assist_step(kiosk) is AssistStep.STAFF_PIN and screen.detail.text() == locked,
        timeout=15000,
    )

    def audit() -> list[str]:
        rows = kiosk.runtime.store.conn.execute(
            "SELECT action FROM audit_log WHERE subject = 'assisted_id'"
        ).fetchall()
        return [str(row[0]) for row in rows]

    actions = on_backend(kiosk, qtbot, audit)
    assert actions.count("pin.refused") == 5 and "pin.refused_locked" in actions
    alerts = on_backend(kiosk, qtbot, kiosk.runtime.store.open_alerts)
    assert any(
        kind == AlertKind.PIN_LOCKOUT and subject == "assisted_id"
        for _i, kind, subject, _m in alerts
    )
    kiosk.runtime.clock.at += timedelta(seconds=30)  # type: ignore[attr-defined]
    type_on(qtbot, screen.pin_pad.keys, DEMO_WORKER_PIN)
    qtbot.waitUntil(lambda: assist_step(kiosk) is AssistStep.CODE, timeout=15000)


def test_a_site_that_forbids_it_checks_no_pin(kiosk: Kiosk, qtbot: QtBot) -> None:
    def forbid() -> None:
        store = kiosk.runtime.store
        sync_repo.set_setting(store.conn, "assisted_id", {"value": False}, store_now(kiosk))

    on_backend(kiosk, qtbot, forbid)
    start_from_idle(kiosk, qtbot)
    screen = kiosk.window.view.assisted
    assert screen.headline.text() == "Staff identification is not used at this site"
    assert not screen.pin_pad.isVisible() and not screen.code_pad.isVisible()
    assert screen.cancel.text() == "Back"
    click(qtbot, screen.cancel)
    assert kiosk.driver.state.screen is Screen.IDLE


def test_forbidden_after_the_screen_opened_refuses_at_the_pin(kiosk: Kiosk, qtbot: QtBot) -> None:
    start_from_idle(kiosk, qtbot)

    def forbid() -> None:
        sync_repo.set_setting(
            kiosk.runtime.store.conn, "assisted_id", {"value": False}, store_now(kiosk)
        )

    on_backend(kiosk, qtbot, forbid)
    type_on(qtbot, kiosk.window.view.assisted.pin_pad.keys, DEMO_WORKER_PIN)
    qtbot.waitUntil(
        lambda: (
            kiosk.driver.state.assist is not None
            and kiosk.driver.state.assist.refusal is AssistRefusal.FORBIDDEN
        ),
        timeout=15000,
    )
    assert kiosk.controller.log == []


def store_now(kiosk: Kiosk) -> datetime:
    return kiosk.runtime.clock.now()


@pytest.mark.parametrize("limit", [3])
def test_more_than_n_uses_in_seven_days_alerts_staff_to_re_enrol(
    kiosk: Kiosk, qtbot: QtBot, limit: int
) -> None:
    service = kiosk.runtime.interaction.assisted
    clock = kiosk.runtime.clock
    worker = staff_id(kiosk, qtbot)

    def reenrol_alerts() -> list[str]:
        return [
            subject
            for _id, kind, subject, _message in kiosk.runtime.store.open_alerts()
            if kind == AlertKind.REENROL
        ]

    # Old uses fall out of the 7 days: three 8 days ago, then three now, stay at the limit.
    for _ in range(limit):
        on_backend(kiosk, qtbot, lambda: service.record(1, worker))
    clock.at += timedelta(days=8)  # type: ignore[attr-defined]
    for _ in range(limit):
        on_backend(kiosk, qtbot, lambda: service.record(1, worker))
    assert on_backend(kiosk, qtbot, lambda: service.uses(1)) == limit
    assert on_backend(kiosk, qtbot, reenrol_alerts) == []
    # One more within the 7 days: the alert, by ids only.
    clock.at += timedelta(days=1)  # type: ignore[attr-defined]
    assert on_backend(kiosk, qtbot, lambda: service.record(1, worker)) == limit + 1
    assert on_backend(kiosk, qtbot, reenrol_alerts) == ["participant:1"]

    def raised_event() -> dict[str, object]:
        row = kiosk.runtime.store.conn.execute(
            "SELECT payload FROM outbox WHERE type = 'alert.raised' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return dict(json.loads(row[0]))

    event = on_backend(kiosk, qtbot, raised_event)  # what the hub gets with the next push
    assert event["kind"] == "reenrol" and event["subject"] == "participant:1"
    assert "Alex" not in json.dumps(event) and "P-0001" not in json.dumps(event)


def test_an_assisted_identification_that_cannot_be_recorded_gives_nothing(
    kiosk: Kiosk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the store refuses the record of the assisted identification (a full
    disk). The participant must get nothing: no dispense without its record."""
    from kiosk.store.db import StoreError

    def cannot_write(participant_id: int, staff: int) -> int:
        raise StoreError("disk full")

    def vended() -> int:
        row = kiosk.runtime.store.conn.execute("SELECT count(*) FROM dispense_intents").fetchone()
        return int(row[0])

    before = on_backend(kiosk, qtbot, vended)  # the demo's earlier doses
    monkeypatch.setattr(kiosk.runtime.interaction.assisted, "record", cannot_write)
    start_from_idle(kiosk, qtbot)
    identify(kiosk, qtbot, "1")
    click(qtbot, kiosk.window.view.assisted.yes)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.ERROR, timeout=20000)

    # The decision queued behind the record comes back after the fault and is ignored: a
    # job queued after both returns only once their results reached the screen.
    count = on_backend(kiosk, qtbot, vended)
    assert kiosk.driver.state.screen is Screen.ERROR
    assert kiosk.controller.log == [] and count == before


def test_the_idle_staff_button_is_hidden_where_the_site_forbids_it(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    idle = kiosk.window.view.idle
    qtbot.waitUntil(idle.assist.isVisible, timeout=15000)

    def forbid() -> None:
        store = kiosk.runtime.store
        sync_repo.set_setting(store.conn, "assisted_id", {"value": False}, store_now(kiosk))

    on_backend(kiosk, qtbot, forbid)
    kiosk.driver.refresh_notices()  # the driver's periodic read of the site's settings
    qtbot.waitUntil(lambda: not idle.assist.isVisible(), timeout=15000)
    assert kiosk.driver.state.assist_allowed is False
    # Not on "not recognised" either, and still hidden after the next person.
    kiosk.driver.send(flow.FingerDetected())
    kiosk.driver.send(flow.NotRecognised())
    message = kiosk.window.view.message
    qtbot.waitUntil(lambda: kiosk.window.view.currentWidget() is message, timeout=15000)
    assert not message.assist.isVisible()
    kiosk.driver.send(flow.Timeout())
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=15000)
    assert not idle.assist.isVisible()


def test_after_this_is_me_the_participants_notices_come_first(kiosk: Kiosk, qtbot: QtBot) -> None:
    notices = kiosk.runtime.interaction.notices
    today = notices.today()
    draft = NoticeDraft(
        NoticeScope.PARTICIPANT, "P-0001", today, today, {"en": "Please see staff today."}
    )
    admin = notices._staff.login(DEMO_ADMIN_PIN)
    on_backend(kiosk, qtbot, lambda: notices.create(admin, draft))
    start_from_idle(kiosk, qtbot)
    identify(kiosk, qtbot, "1")
    click(qtbot, kiosk.window.view.assisted.yes)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.NOTICE, timeout=15000)
    notice = kiosk.window.view.notice
    qtbot.waitUntil(lambda: kiosk.window.view.currentWidget() is notice, timeout=15000)
    assert notice.text.text() == "Please see staff today."
    assert kiosk.controller.log == []  # nothing decided or given before the "OK"
    click(qtbot, notice.ok)
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.DONE, timeout=20000)
    assert kiosk.driver.state.identified_by == staff_id(kiosk, qtbot)


def test_a_code_with_letters_is_typed_in_the_field_under_the_pad(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    store = kiosk.runtime.store

    def letters_code() -> None:
        store.conn.execute("UPDATE participants SET code = 'AB-7' WHERE code = 'P-0001'")

    on_backend(kiosk, qtbot, letters_code)
    start_from_idle(kiosk, qtbot)
    screen = kiosk.window.view.assisted
    type_on(qtbot, screen.pin_pad.keys, DEMO_WORKER_PIN)
    qtbot.waitUntil(lambda: assist_step(kiosk) is AssistStep.CODE, timeout=15000)
    assert screen.code_text.isVisible()
    qtbot.keyClicks(screen.code_text, "ab-7")
    qtbot.keyClick(screen.code_text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: assist_step(kiosk) is AssistStep.CONFIRM, timeout=15000)
    match = kiosk.driver.state.assist.match  # type: ignore[union-attr]
    assert match is not None and screen.code_text.text() == ""
    found = on_backend(kiosk, qtbot, lambda: store.participant_by_code("AB-7"))
    assert found is not None and match.participant_id == found.id
