"""The How to button: on every admin page it opens that page's help (kiosk/help) in place of
the page, in the staff language, scrolled by a finger; Close brings the page back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScroller
from pytestqt.qtbot import QtBot

from kiosk import help as howtos
from kiosk.i18n import set_locale
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_PHARMACIST_PIN
from tests.ui.conftest import Kiosk
from tests.ui.test_admin import log_in


def test_every_page_opens_its_own_howto_and_closes_back_to_the_page(
    kiosk: Kiosk, qtbot: QtBot
) -> None:
    panel = log_in(kiosk, qtbot, DEMO_PHARMACIST_PIN)
    seen = set()
    for page in panel.pages:
        panel.open_page(page.key)
        qtbot.mouseClick(panel.howto_button, Qt.MouseButton.LeftButton)
        assert panel.howto.isVisible() and not panel.stack.isVisible()
        assert not panel.nav.isVisible() and not panel.howto_button.isEnabled()
        text = panel.howto.text.toPlainText()
        topic = howtos.howto(page.key, "en")
        assert text.startswith(topic.title), page.key
        assert topic.tasks[0].steps[0].replace("**", "") in text
        assert "There is no help" not in text
        qtbot.mouseClick(panel.howto.close_button, Qt.MouseButton.LeftButton)
        assert panel.stack.isVisible() and panel.nav.isVisible()
        assert not panel.howto.isVisible() and panel.howto_button.isEnabled()
        assert panel.stack.currentIndex() == panel.pages.index(page)
        seen.add(page.key)
    assert {"alerts", "participants", "lanes", "reconciliation"} <= seen


def test_the_help_reads_in_french_and_scrolls_by_finger(kiosk: Kiosk, qtbot: QtBot) -> None:
    set_locale("fr_CA")
    try:
        panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
        assert panel.howto_button.text() == "Mode d’emploi"
        panel.open_page("lanes")
        panel.howto_button.click()
        text = panel.howto.text.toPlainText()
        assert text.startswith("Couloirs et stock")
        assert "En cas de problème" in text and "Quand :" in text
        assert panel.howto.close_button.text() == "Fermer"
    finally:
        set_locale("en")
    view = panel.howto.text
    assert QScroller.hasScroller(view.viewport())
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)  # a long text scrolls
    bar.setValue(bar.maximum())
    panel.close_howto()
    panel.open_howto()
    assert bar.value() == 0  # opened again: from the top


def test_opening_another_page_from_a_link_closes_the_help(kiosk: Kiosk, qtbot: QtBot) -> None:
    panel = log_in(kiosk, qtbot, DEMO_ADMIN_PIN)
    panel.open_howto()
    panel.open_page_about("jam", "lane:2")
    assert panel.stack.isVisible() and not panel.howto.isVisible()
    assert panel.current_page() is panel.page("jam")
