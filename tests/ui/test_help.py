""" "I need help" end to end on emulated hardware: the alert raised once, what the screen may
say, and "someone is coming" after a kiosk acknowledgement or the hub's (its alert_notice
applied by the real sync apply)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pytestqt.qtbot import QtBot

from kiosk.domain import flow
from kiosk.domain.alerts import AlertKind
from kiosk.domain.flow import Screen
from kiosk.services.seed import DEMO_WORKER_PIN
from kiosk.services.sync.apply import apply_page
from kiosk.services.sync.client import Change, ChangesPage
from kiosk.store import sync_repo
from tests.ui.conftest import Kiosk
from tests.ui.test_assisted_id import click, on_backend


def help_alerts(kiosk: Kiosk, qtbot: QtBot) -> list[tuple[int, str]]:
    alerts = on_backend(kiosk, qtbot, kiosk.runtime.store.open_alerts)
    return [(i, subject) for i, kind, subject, _message in alerts if kind == AlertKind.HELP]


def ask_for_help(kiosk: Kiosk, qtbot: QtBot, until: Callable[[], bool]) -> None:
    message = kiosk.window.view.message
    click(qtbot, message.help)
    qtbot.waitUntil(until, timeout=15000)


def not_recognised(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.place_finger("stranger/left-thumb")
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.NOT_RECOGNISED, timeout=15000)


def headline(kiosk: Kiosk) -> str:
    return kiosk.window.view.message.headline.text()


def test_help_is_raised_once_and_a_kiosk_acknowledgement_says_someone_is_coming(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    not_recognised(kiosk, qtbot)
    assert kiosk.window.view.message.help.text() == "I need help"
    ask_for_help(kiosk, qtbot, lambda: headline(kiosk) == "Staff have been told.")
    # No hub on this kiosk: the Alerts page (and the sound cue) is staff's notice.
    assert kiosk.driver.state.screen is Screen.HELP
    [(alert_id, subject)] = help_alerts(kiosk, qtbot)
    assert subject == "machine"  # nobody was identified: the machine only
    # A stuck or repeated button raises nothing new.
    click(qtbot, kiosk.window.view.message.back)
    assert kiosk.driver.state.screen is Screen.IDLE
    kiosk.sensor.lift_finger()
    identify = kiosk.runtime.interaction.identify
    qtbot.waitUntil(lambda: not identify.awaiting_lift, timeout=15000)
    not_recognised(kiosk, qtbot)
    ask_for_help(kiosk, qtbot, lambda: headline(kiosk) == "Staff have been told.")
    assert help_alerts(kiosk, qtbot) == [(alert_id, "machine")]
    # Staff acknowledge it on the kiosk's Alerts page (its service, as the page calls it).
    admin = kiosk.gui.admin

    def acknowledge() -> None:
        session = admin.staff.login(DEMO_WORKER_PIN)
        admin.logs.acknowledge(session, alert_id)

    on_backend(kiosk, qtbot, acknowledge)
    qtbot.waitUntil(lambda: headline(kiosk) == "Someone is coming", timeout=15000)
    assert kiosk.window.view.message.detail.text() == "Please stay here."
    # The help screen goes back to idle in its time; the timers stop with it.
    kiosk.driver.send(flow.Timeout())
    assert kiosk.driver.state.screen is Screen.IDLE


def test_the_hubs_acknowledgement_comes_back_through_sync(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.sensor.place_finger("P-0002/right-index")  # too early: the refused screen
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.REFUSED, timeout=15000)
    ask_for_help(kiosk, qtbot, lambda: kiosk.driver.state.help_told is not None)
    [(alert_id, subject)] = help_alerts(kiosk, qtbot)
    assert subject == "participant:2"  # ids only
    clock = kiosk.runtime.clock
    notice = {
        "kiosk_alert_id": alert_id,
        "kind": "help",
        "machine_alert": False,
        "told": [
            {
                "role": "nurse",
                "label": "Sam K.",
                "channel": "email",
                "at": clock.now().isoformat(),
            }
        ],
        "acknowledged": None,
    }

    def pull(data: dict[str, object], cursor: int) -> None:
        page = ChangesPage(cursor, False, False, [Change("alert_notice", "upsert", "77", data)])
        apply_page(kiosk.runtime.store.conn, page, clock.now())

    on_backend(kiosk, qtbot, lambda: pull(notice, 1))
    # In the participant's language (French for P-0002), a role and a time, never a name.
    qtbot.waitUntil(lambda: "infirmière" in headline(kiosk).lower(), timeout=15000)
    assert "Sam" not in headline(kiosk)
    acknowledged = {
        **notice,
        "acknowledged": {"role": "nurse", "label": "Sam K.", "at": clock.now().isoformat()},
    }
    on_backend(kiosk, qtbot, lambda: pull(acknowledged, 2))
    qtbot.waitUntil(lambda: headline(kiosk) == "Quelqu’un arrive", timeout=15000)


def test_with_a_hub_the_screen_waits_for_the_push_before_saying_staff_were_told(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    woken: list[bool] = []
    service = kiosk.runtime.interaction.help
    service.hub, service.wake = True, lambda: woken.append(True)
    not_recognised(kiosk, qtbot)
    ask_for_help(kiosk, qtbot, lambda: kiosk.driver.state.help_told is not None)
    assert woken == [True]  # the sync thread was woken at once
    assert headline(kiosk) == "Asking staff to come"  # not pushed yet: nothing claimed

    def push() -> None:
        conn = kiosk.runtime.store.conn
        last = int(conn.execute("SELECT max(seq) FROM outbox").fetchone()[0])
        sync_repo.mark_sent_through(conn, last, kiosk.runtime.clock.now() + timedelta(seconds=1))

    on_backend(kiosk, qtbot, push)
    qtbot.waitUntil(lambda: headline(kiosk) == "Staff have been told.", timeout=15000)


def test_out_of_service_offers_help_too(kiosk: Kiosk, qtbot: QtBot) -> None:
    kiosk.controller.trip_tamper()
    kiosk.driver.check_health()
    qtbot.waitUntil(lambda: kiosk.driver.state.screen is Screen.OUT_OF_SERVICE, timeout=15000)
    screen = kiosk.window.view.out_of_service
    # While staff can clear the lockout on screen, the steps take the room: no help button.
    assert screen.help.isHidden() == (kiosk.driver.state.secure is not None)
    kiosk.driver.send(flow.HelpAsked())
    qtbot.waitUntil(lambda: kiosk.driver.state.help_told is not None, timeout=15000)
    assert [s for _i, s in help_alerts(kiosk, qtbot)] == ["machine"]
