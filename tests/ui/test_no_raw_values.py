"""No raw enum value or internal id on any screen, in English and French.

Every staff page is rendered for every role (with alerts of every kind, open and in the
history, the self-test run, a participant on hold selected, the enrolment panel open and the
audit log shown), and every participant screen; the text of every visible label, button,
group box, combo box item, line edit, text box, tab, list item and table cell (headers too)
is scanned for snake_case tokens (``on_hold``, ``no_lane``) and ``word:digits`` ids
(``staff:1``, ``lane:2``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QTableWidget,
    QTabWidget,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from kiosk import i18n
from kiosk.domain import door_recovery, flow
from kiosk.domain.alerts import AlertKind
from kiosk.domain.door_recovery import SecureRefusal, SecureStep
from kiosk.domain.model import LaneStatus, PrescriptionStatus, SiteClock
from kiosk.domain.permissions import Role
from kiosk.services.health import Fault
from kiosk.services.participants import FINGERS
from kiosk.services.seed import (
    DEMO_ADMIN_PIN,
    DEMO_NURSE_PIN,
    DEMO_PHARMACIST_PIN,
    DEMO_WORKER_PIN,
)
from kiosk.store.pins import hash_pin
from kiosk.ui.admin.panel import AdminPanel
from kiosk.ui.screens import ParticipantView
from kiosk.ui.screenshots import states
from tests.ui.conftest import Kiosk

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+")
WORD_ID = re.compile(r"\b[a-z]+:\d+")
LOCALES = ("en", "fr_CA")
TECHNICIAN_PIN, PRESCRIBER_PIN = "482915", "593726"
PINS = {
    Role.STAFF: DEMO_WORKER_PIN,
    Role.NURSE: DEMO_NURSE_PIN,
    Role.PHARMACIST: DEMO_PHARMACIST_PIN,
    Role.TECHNICIAN: TECHNICIAN_PIN,
    Role.PRESCRIBER: PRESCRIBER_PIN,
    Role.ADMIN: DEMO_ADMIN_PIN,
}
WAIT_MS = 20000


def texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) of everything a person can read under ``root`` right now."""
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) and widget is not root:
            continue
        where = f"{type(widget).__name__} {widget.objectName()}".strip()
        if isinstance(widget, QLabel | QAbstractButton):
            yield where, widget.text()
        elif isinstance(widget, QGroupBox):
            yield where, widget.title()
        elif isinstance(widget, QComboBox):
            for index in range(widget.count()):
                yield where, widget.itemText(index)
        elif isinstance(widget, QLineEdit):
            yield where, widget.text()
            yield where, widget.placeholderText()
        elif isinstance(widget, QPlainTextEdit | QTextEdit):
            yield where, widget.toPlainText()
        elif isinstance(widget, QTabWidget):
            for index in range(widget.count()):
                yield where, widget.tabText(index)
        elif isinstance(widget, QListWidget):
            for index in range(widget.count()):
                item = widget.item(index)
                if item is not None:
                    yield where, item.text()
        if isinstance(widget, QTableWidget):
            for column in range(widget.columnCount()):
                header = widget.horizontalHeaderItem(column)
                if header is not None:
                    yield f"{where} header", header.text()
                for row in range(widget.rowCount()):
                    item = widget.item(row, column)
                    if item is not None:
                        yield f"{where} row {row}", item.text()


# Enum values that are single words (no underscore for the pattern to catch): shown as a
# whole cell, or as "(admin)", they are a raw value too.
RAW_WORDS = (
    {state.value for state in LaneStatus}
    | {role.value for role in Role}
    | {status.value for status in PrescriptionStatus}
    | {"inactive", "removed", "complete", "jam", "aborted", "machine", "system", "hub"}
    | set(FINGERS)
)


def raw_values(root: QWidget) -> list[str]:
    found = []
    for where, text in texts(root):
        for pattern in (SNAKE, WORD_ID):
            found += [f"{where}: {match!r} in {text!r}" for match in pattern.findall(text)]
        for word in RAW_WORDS:
            if text.strip() == word or f"({word})" in text:
                found.append(f"{where}: {word!r} in {text!r}")
    return found


@pytest.fixture
def english() -> Iterator[None]:
    yield
    i18n.set_locale("en")


def on_backend(kiosk: Kiosk, qtbot: QtBot, work: object) -> None:
    done: list[object] = []
    kiosk.backend.submit(work, done.append)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)


def settle(kiosk: Kiosk, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: not kiosk.backend.busy, timeout=WAIT_MS)


def stage_the_machine(kiosk: Kiosk, qtbot: QtBot) -> None:
    """More roles than the demo has, and an alert of every kind (some already closed)."""
    store, now = kiosk.runtime.store, kiosk.runtime.clock.now()

    def work() -> None:
        store.add_staff("Tech", "technician", hash_pin(TECHNICIAN_PIN), now, "test")
        store.add_staff("Prescriber", "prescriber", hash_pin(PRESCRIBER_PIN), now, "test")
        subjects = {
            AlertKind.LANE_JAMMED: "lane:2",
            AlertKind.LANE_EMPTY: "lane:4",
            AlertKind.LANE_FAULT: "lane:3",
            AlertKind.DISCREPANCY: "lane:1",
            AlertKind.PARTIAL_DISPENSE: "vend:12",
            AlertKind.NO_LANE: "medication:2",
            AlertKind.MISSED_DOSES: "prescription:3",
            AlertKind.PIN_LOCKOUT: "witness",
            AlertKind.SYNC_CONFLICT: "participant:P-0001",
            AlertKind.SYNC_EVENT_QUARANTINED: "event:123",
        }
        for kind in AlertKind:
            store.raise_alert(kind, subjects.get(kind, "machine"), f"{kind} (English)", now)
        store.raise_alert(AlertKind.PIN_LOCKOUT, "all", "every entry locked", now)
        store.resolve_alerts(AlertKind.SENSOR, None, now, "test")
        store.note(now, "staff:1", "staff.logout", "admin")

    on_backend(kiosk, qtbot, work)


def log_in(kiosk: Kiosk, qtbot: QtBot, pin: str) -> AdminPanel:
    kiosk.window.open_staff_login()  # what the long press in the corner opens
    assert kiosk.window.login is not None
    pad = kiosk.window.login.pad
    for digit in pin:
        qtbot.mouseClick(pad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.keys["ok"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.window.panel is not None, timeout=WAIT_MS)
    assert kiosk.window.panel is not None
    return kiosk.window.panel


def exercise(kiosk: Kiosk, qtbot: QtBot, panel: AdminPanel, key: str) -> Iterator[None]:
    """Bring a page to each state worth reading, yielding at each."""
    page = panel.page(key)
    settle(kiosk, qtbot)
    yield
    if key == "participants":
        page.search.setText("P-0003")  # type: ignore[attr-defined]
        page.activated()  # type: ignore[attr-defined]
        settle(kiosk, qtbot)
        if page.results.rowCount() != 1:  # type: ignore[attr-defined]
            return  # this role may not look participants up (the page says so)
        page.results.selectRow(0)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: page.prescriptions.rowCount() > 0, timeout=WAIT_MS)  # type: ignore[attr-defined]
        page.enroll()  # type: ignore[attr-defined]
        qtbot.waitUntil(page.enrollment.isVisible, timeout=WAIT_MS)  # type: ignore[attr-defined]
        yield
    elif key == "hardware":
        page.run_selftest()  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: page.checks.rowCount() == 4, timeout=WAIT_MS)  # type: ignore[attr-defined]
        yield
    elif key == "alerts":
        qtbot.waitUntil(lambda: page.table.rowCount() > 0, timeout=WAIT_MS)  # type: ignore[attr-defined]
        yield
        page.history.setChecked(True)  # type: ignore[attr-defined]
        settle(kiosk, qtbot)
        yield
    elif key == "logs":
        qtbot.waitUntil(lambda: page.dispenses.rowCount() > 0, timeout=WAIT_MS)  # type: ignore[attr-defined]
        yield
        page.tabs.setCurrentIndex(1)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: page.audit.rowCount() > 0, timeout=WAIT_MS)  # type: ignore[attr-defined]
        yield


@pytest.mark.parametrize("locale", LOCALES)
def test_no_staff_page_shows_a_raw_value_for_any_role(
    kiosk: Kiosk, qtbot: QtBot, locale: str, english: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    stage_the_machine(kiosk, qtbot)
    found: list[str] = []
    for role, pin in PINS.items():
        i18n.set_locale(locale)
        panel = log_in(kiosk, qtbot, pin)
        for page in panel.pages:
            panel.open_page(page.key)
            for _state in exercise(kiosk, qtbot, panel, page.key):
                found += [f"{locale} {role.value} {page.key}: {raw}" for raw in raw_values(panel)]
        panel.logout("logout")
        qtbot.waitUntil(lambda: kiosk.window.panel is None, timeout=WAIT_MS)
    assert not found, "\n".join(sorted(set(found)))
    # A page that failed to show its rows would hide its raw values: none may fail.
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def participant_states() -> dict[str, flow.FlowState]:
    shown = dict(states())
    every_fault = tuple(sorted({f.value for f in Fault} | {"health_check"}))
    lost = flow.step(flow.initial("en"), flow.ServiceLost(every_fault, True))
    shown["every_fault"] = lost
    assert lost.secure is not None
    for reason in SecureRefusal:
        checking = replace(lost.secure, step=SecureStep.CHECKING)
        seconds = 30 if reason is SecureRefusal.LOCKED else 0
        secure = door_recovery.step(checking, door_recovery.Refused(reason, seconds))
        shown[f"refused_{reason.value}"] = replace(lost, secure=secure)
    return shown


@pytest.mark.parametrize("locale", LOCALES)
def test_no_participant_screen_shows_a_raw_value(qtbot: QtBot, locale: str, english: None) -> None:
    site = SiteClock("America/Vancouver", 4)
    now = datetime(2026, 6, 10, 18, 30, tzinfo=UTC)
    i18n.set_locale(locale)
    view = ParticipantView(lambda _event: None, lambda: None)
    qtbot.addWidget(view)
    view.show()
    found: list[str] = []
    for name, state in participant_states().items():
        view.show_state(replace(state, locale=locale), now + timedelta(minutes=1), site)
        found += [f"{locale} {name}: {raw}" for raw in raw_values(view)]
    assert not found, "\n".join(sorted(set(found)))
