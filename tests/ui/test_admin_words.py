"""The staff panel shows values in words: stored choices, alert history, who did what."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from kiosk import i18n
from kiosk.domain.alerts import AlertKind
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_NURSE_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_no_raw_values import WAIT_MS, log_in, on_backend, settle


def test_the_language_picker_shows_the_participants_stored_language(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    panel = log_in(kiosk, qtbot, DEMO_NURSE_PIN)
    panel.open_page("participants")
    page = panel.page("participants")
    qtbot.waitUntil(lambda: page.results.rowCount() == 5, timeout=WAIT_MS)  # type: ignore[attr-defined]
    codes = [page.results.item(r, 0).text() for r in range(5)]  # type: ignore[attr-defined]
    page.results.selectRow(codes.index("P-0002"))  # type: ignore[attr-defined]
    assert page.language.currentData() == "fr_CA"  # type: ignore[attr-defined]
    assert page.language.currentText() == "Français"  # type: ignore[attr-defined]
    page.results.selectRow(codes.index("P-0001"))  # type: ignore[attr-defined]
    assert page.language.currentData() == "en"  # type: ignore[attr-defined]
    # Changed and saved: still shown after the page refreshes.
    page.language.setCurrentIndex(page.language.findData("es"))  # type: ignore[attr-defined]
    page.set_language()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: panel.message.text() == "Language saved.", timeout=WAIT_MS)
    settle(kiosk, qtbot)
    assert page.language.currentData() == "es"  # type: ignore[attr-defined]
    page.results.selectRow(codes.index("P-0002"))  # type: ignore[attr-defined]
    page.activated()  # type: ignore[attr-defined]
    settle(kiosk, qtbot)
    page.results.selectRow(codes.index("P-0001"))  # type: ignore[attr-defined]
    assert page.language.currentData() == "es"  # type: ignore[attr-defined]
    panel.logout("logout")


def test_a_resolved_alert_is_in_the_history_in_the_readers_language(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    store, now = kiosk.runtime.store, kiosk.runtime.clock.now()

    def jam_then_clear() -> None:
        store.raise_alert(AlertKind.LANE_JAMMED, "lane:2", "Lane 2 is jammed", now)
        store.resolve_alerts(AlertKind.LANE_JAMMED, "lane:2", now, "test")

    on_backend(kiosk, qtbot, jam_then_clear)
    i18n.set_locale("fr_CA")
    try:
        panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
        panel.open_page("alerts")
        page = panel.page("alerts")
        settle(kiosk, qtbot)
        assert page.table.rowCount() == 0  # type: ignore[attr-defined]
        page.history.setChecked(True)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=WAIT_MS)  # type: ignore[attr-defined]
        row = [page.table.item(0, c).text() for c in range(5)]  # type: ignore[attr-defined]
        assert row[1:4] == [
            "Couloir bloqué",
            "Couloir 2",
            "Le couloir 2 est bloqué : sélectionnez cette alerte, puis Dégager ce blocage.",
        ]
        assert row[4].startswith("Résolue d’elle-même")
        panel.logout("logout")
    finally:
        i18n.set_locale("en")


def test_the_audit_log_names_who_did_what(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    panel.open_page("logs")
    page = panel.page("logs")
    page.tabs.setCurrentIndex(1)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.audit.rowCount() > 0, timeout=WAIT_MS)  # type: ignore[attr-defined]
    newest = [page.audit.item(0, c).text() for c in (2, 3, 4)]  # type: ignore[attr-defined]
    assert newest == ["Demo Admin (Administrator)", "Logged in", "Staff panel"]
    assert page.chain.text().startswith("Audit chain verified: ")  # type: ignore[attr-defined]
    panel.logout("logout")
