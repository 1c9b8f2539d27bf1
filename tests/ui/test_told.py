"""Who has been told, on screen: the participant reads "staff have been told" only when the
alert is in the store (a fault injected into the store takes the claim away), the role and
time the hub told when it has said (never a name), and staff read names, channels and times
on the Alerts page. On the real kiosk (tests.ui.conftest), conditions waited on, no sleeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pytestqt.qtbot import QtBot

from kiosk.domain.alerts import AlertKind
from kiosk.domain.flow import Screen
from kiosk.domain.told import AlertNotice, Channel, NoticeRole, ToldPerson
from kiosk.i18n import format_local_time
from kiosk.services.seed import DEMO_WORKER_PIN
from kiosk.store import sync_repo
from kiosk.store.db import DatabaseError, transaction
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in
from tests.ui.test_faults import read_store
from tests.ui.test_next_steps import WAIT_MS, Recorder, lane_states, wait_screen

NOT_HERE = "hydromorphone 8 mg is not available here right now."


def no_hydromorphone(kiosk: Kiosk, qtbot: QtBot) -> None:
    for lane in (1, 2):
        kiosk.controller.set_stock(lane, 0)
    qtbot.waitUntil(
        lambda: [lane_states(kiosk, qtbot)[n] for n in (1, 2)] == ["empty", "empty"],
        timeout=WAIT_MS,
    )


def on_backend(kiosk: Kiosk, qtbot: QtBot, work: Callable[[], object]) -> None:
    done: list[object] = []
    kiosk.backend.submit(work, done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)


def test_no_claim_that_staff_were_told_when_the_alert_cannot_be_recorded(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    no_hydromorphone(kiosk, qtbot)
    store = kiosk.runtime.store
    real = store.raise_alert

    def failing(kind: AlertKind, subject: str, message: str, at):  # type: ignore[no-untyped-def]
        if kind is AlertKind.NO_LANE:
            raise DatabaseError("disk I/O error")  # the store refuses this write
        return real(kind, subject, message, at)

    store.raise_alert = failing  # type: ignore[method-assign]
    recorder = Recorder(kiosk)
    kiosk.sensor.place_finger("P-0005/right-index")
    wait_screen(kiosk, qtbot, Screen.UNAVAILABLE)
    shown = recorder.first(Screen.UNAVAILABLE)
    assert shown.detail == NOT_HERE  # and nothing about staff having been told
    assert "told" not in (shown.detail + shown.note).lower()
    assert shown.note.splitlines()[0] == "Please see staff for your dose."
    assert ("no_lane", "medication:1") not in read_store(
        kiosk, qtbot, "SELECT kind, subject FROM alerts"
    )


def test_the_role_and_time_the_hub_told_and_never_a_name(kiosk: Kiosk, qtbot: QtBot) -> None:
    no_hydromorphone(kiosk, qtbot)
    recorder = Recorder(kiosk)
    kiosk.sensor.place_finger("P-0005/right-index")
    wait_screen(kiosk, qtbot, Screen.UNAVAILABLE)
    assert recorder.first(Screen.UNAVAILABLE).detail.splitlines() == [
        NOT_HERE,
        "Staff have been told.",  # the no_lane alert is in the store
    ]
    [(alert_id,)] = read_store(
        kiosk, qtbot, "SELECT id FROM alerts WHERE kind = 'no_lane' AND subject = 'medication:1'"
    )
    store, now = kiosk.runtime.store, kiosk.runtime.clock.now()
    told_at = now - timedelta(minutes=3)
    notice = AlertNotice(
        "901",
        int(alert_id),  # type: ignore[call-overload]
        "no_lane",
        False,
        (ToldPerson(NoticeRole.NURSE, "Maria L.", Channel.EMAIL, told_at),),
    )

    def keep() -> None:
        with transaction(store.conn):
            sync_repo.put_alert_notice(store.conn, notice, now)

    on_backend(kiosk, qtbot, keep)
    kiosk.sensor.lift_finger()
    recorder.shown.clear()
    qtbot.waitUntil(lambda: not kiosk.runtime.interaction.identify.awaiting_lift, timeout=WAIT_MS)
    kiosk.sensor.place_finger("P-0005/right-index")
    qtbot.waitUntil(
        lambda: any(s.screen is Screen.UNAVAILABLE and "nurse" in s.detail for s in recorder.shown),
        timeout=WAIT_MS,
    )
    shown = recorder.first(Screen.UNAVAILABLE)
    clock = format_local_time(told_at, kiosk.runtime.config.timezone)
    assert shown.detail.splitlines() == [NOT_HERE, f"A nurse has been told at {clock}."]
    assert "Maria" not in shown.detail + shown.note + shown.headline

    # Staff, signed in, read who was told, how and when.
    kiosk.sensor.lift_finger()
    panel = log_in_from_anywhere(kiosk, qtbot)
    panel.open_page("alerts")
    page = panel.page("alerts")
    column = 5

    def told_cells() -> list[str]:
        table = page.table  # type: ignore[attr-defined]
        return [
            table.item(row, column).text()
            for row in range(table.rowCount())
            if table.item(row, column) is not None
        ]

    qtbot.waitUntil(lambda: any("Maria L." in cell for cell in told_cells()), timeout=WAIT_MS)
    assert f"Told: Maria L. (nurse) by e-mail at {clock}" in told_cells()
    panel.logout("logout")


def log_in_from_anywhere(kiosk: Kiosk, qtbot: QtBot):  # type: ignore[no-untyped-def]
    if kiosk.driver.state.screen is not Screen.IDLE:
        from kiosk.domain import flow

        kiosk.driver.send(flow.Timeout())
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.IDLE, timeout=WAIT_MS)
    return log_in(kiosk, qtbot, DEMO_WORKER_PIN)


def test_an_open_alert_nobody_was_told_of_says_what_happens_next(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    on_backend(
        kiosk,
        qtbot,
        lambda: kiosk.runtime.store.raise_alert(
            AlertKind.PARTIAL_DISPENSE, "vend:7", "Vend 7 gave 1 of 2", kiosk.runtime.clock.now()
        ),
    )
    panel = log_in(kiosk, qtbot, DEMO_WORKER_PIN)
    panel.open_page("alerts")
    page = panel.page("alerts")
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=WAIT_MS)  # type: ignore[attr-defined]
    text = page.table.item(0, 5).text()  # type: ignore[attr-defined]
    # The demo kiosk has no hub: it says so and names whom to call when the site said.
    assert text.startswith("This machine cannot reach the hub")
    panel.logout("logout")
