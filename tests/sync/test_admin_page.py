"""The admin sync page: shows the state from the facade and "Sync now" wakes the thread."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from kiosk.domain.model import SiteClock
from kiosk.services.clock import FixedClock
from kiosk.services.staff import StaffSession
from kiosk.services.sync import SyncFacade
from kiosk.store import sync_repo
from kiosk.store.db import transaction
from kiosk.store.repository import Store
from kiosk.ui.admin.context import AdminContext, AdminServices
from kiosk.ui.admin.pages.sync import SyncPage


class InlineBackend:
    """Runs the work at once (the page's contract is only submit(work, done, error))."""

    def submit(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None],
    ) -> None:
        try:
            result = work()
        except Exception as exc:
            on_error(exc)
            return
        if on_done is not None:
            on_done(result)


def make_page(store: Store, clock: FixedClock, thread: Any, messages: list[Any]) -> SyncPage:
    # Only the sync facade is used by this page.
    unused: Any = None
    services = AdminServices(
        staff=unused,
        logs=unused,
        prescriptions=unused,
        health=unused,
        interaction=unused,
        holds=unused,
        participants=unused,
        stock=unused,
        jam=unused,
        reconciliation=unused,
        sync=SyncFacade(store, thread),
        diagnostics=unused,
    )
    ctx = AdminContext(
        services=services,
        backend=InlineBackend(),  # type: ignore[arg-type]
        site=SiteClock("America/Vancouver", 4, 3),
        clock=clock,
        session=StaffSession(1, "Nurse", "nurse", clock.now()),
        show_message=lambda text, error: messages.append((text, error)),
    )
    return SyncPage(ctx)


def test_the_page_shows_the_state_and_syncs_now(
    qtbot: QtBot, store: Store, clock: FixedClock
) -> None:
    woken: list[bool] = []

    class Thread:
        def sync_now(self) -> None:
            woken.append(True)

    store.note(clock.now(), "system", "test.event", "x")
    sync_repo.record_outcome(store.conn, datetime(2026, 6, 10, 19, 5, tzinfo=UTC), "")
    sync_repo.record_outcome(store.conn, clock.now(), "the hub cannot be reached (ConnectError)")
    messages: list[Any] = []
    page = make_page(store, clock, Thread(), messages)
    qtbot.addWidget(page)
    assert SyncPage.available(page.ctx)
    page.activated()
    assert "12:05" in page.last_success.text()  # site-local time (Vancouver)
    assert page.waiting.text() == "1"
    assert page.last_error.text() == "the hub cannot be reached (ConnectError)"
    assert (page.hub_cursor.text(), page.conflicts.text()) == ("0", "0")
    page.sync_button.click()
    assert woken == [True] and messages == [("Sync started.", False)]


def test_without_a_hub_the_page_says_so(qtbot: QtBot, store: Store, clock: FixedClock) -> None:
    page = make_page(store, clock, None, [])
    qtbot.addWidget(page)
    page.activated()
    assert "not configured" in page.state.text()
    assert not page.sync_button.isEnabled()
    assert page.last_success.text() == "never"


def test_events_the_hub_set_aside_are_told_in_plain_words(
    qtbot: QtBot, store: Store, clock: FixedClock
) -> None:
    class Thread:
        def sync_now(self) -> None:
            pass

    page = make_page(store, clock, Thread(), [])
    qtbot.addWidget(page)
    page.show()
    page.activated()
    assert not page.set_aside.isVisible()  # none: nothing extra
    with transaction(store.conn) as conn:
        sync_repo.add_quarantined(
            conn, 123, "stock.counted", "a text field held a NUL character.", clock.now()
        )
        sync_repo.add_quarantined(conn, 7, "test.event", "unreadable payload", clock.now())
    page.activated()
    assert page.set_aside.isVisible()
    lines = [label.text() for label in page.set_aside.findChildren(QLabel)]
    assert lines == [
        "Events the hub set aside",
        "Event #123 (Lane counted) was set aside by the hub: a text field held a NUL "
        "character. The hub's staff will review it.",
        "Event #7 (test event) was set aside by the hub: unreadable payload. The hub's staff "
        "will review it.",
    ]
    label = page.set_aside.findChildren(QLabel)[1]
    # Wrapped, in the staff panel's body size (the kiosk's application font) at least.
    assert label.wordWrap() and label.fontInfo().pointSizeF() >= 16
    page.activated()  # shown again: the lines are replaced, not added
    qtbot.waitUntil(lambda: len(page.set_aside.findChildren(QLabel)) == 3)
