"""Every participant screen, in every language, at both kiosk resolutions: big targets,
big text, high contrast, nothing clipped, no missing glyph, an accessible name on every
control. Plus the sound cues and Qt's own strings."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from kiosk.domain import flow
from kiosk.domain.flow import TIMEOUTS, Screen
from kiosk.i18n import PARTICIPANT_LOCALES, set_locale
from kiosk.ui import theme
from kiosk.ui.screens import ParticipantView
from kiosk.ui.screenshots import CONTACT, NOW, SITE, states
from kiosk.ui.sound import SoundCues

RESOLUTIONS = [(1080, 1920), (1920, 1080)]
MIN_TARGET = 90
MIN_TEXT_PT = 24
MIN_CONTRAST = 7.0


def luminance(colour: str) -> float:
    c = QColor(colour)

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        (theme.TEXT, theme.BACKGROUND),
        (theme.MUTED_TEXT, theme.BACKGROUND),
        (theme.ACCENT, theme.BACKGROUND),
        (theme.GOOD, theme.BACKGROUND),
        (theme.BUTTON_TEXT, theme.BUTTON_BG),
        (theme.BACKGROUND, theme.TEXT),  # a checked language button
    ],
)
def test_theme_colours_reach_wcag_aaa(foreground: str, background: str) -> None:
    assert contrast(foreground, background) >= MIN_CONTRAST


def test_every_screen_but_dispensing_and_out_of_service_times_out() -> None:
    waiting = {screen for screen, seconds in TIMEOUTS.items() if seconds is None}
    assert waiting == {Screen.IDLE, Screen.DISPENSING, Screen.OUT_OF_SERVICE}


def covered(text: str) -> bool:
    metrics = [QFontMetrics(QFont(family)) for family in theme.FONT_FAMILIES]
    return all(ch.isspace() or any(m.inFontUcs4(ord(ch)) for m in metrics) for ch in text)


def visible(widgets: list[QWidget]) -> list[QWidget]:
    return [w for w in widgets if w.isVisibleTo(w.window())]


@pytest.mark.parametrize("locale", PARTICIPANT_LOCALES)
@pytest.mark.parametrize("size", RESOLUTIONS, ids=["portrait", "landscape"])
def test_participant_screens_fit_and_read_well(
    qtbot: QtBot, locale: str, size: tuple[int, int]
) -> None:
    set_locale(locale)
    problems: list[str] = []
    try:
        for name, state in states().items():
            view = ParticipantView(lambda _event: None, lambda: None, CONTACT)
            qtbot.addWidget(view)
            view.resize(*size)
            view.show_state(replace(state, locale=locale), NOW, SITE)
            view.show()
            QApplication.processEvents()
            page = view.currentWidget()
            for label in visible(page.findChildren(QLabel)):
                text = label.text()
                if not text.strip():
                    continue
                where = f"{locale} {size} {name}: {text!r}"
                if label.font().pointSizeF() < MIN_TEXT_PT:
                    problems.append(f"{where} is {label.font().pointSizeF()} pt")
                if label.wordWrap():
                    if label.heightForWidth(label.width()) > label.height() + 1:
                        problems.append(f"{where} is cut off (needs more height)")
                elif label.sizeHint().width() > label.width() + 1:
                    problems.append(f"{where} is cut off (needs more width)")
                if not covered(text):
                    problems.append(f"{where} has a character no font can show")
            for button in visible(page.findChildren(QPushButton)):
                where = f"{locale} {size} {name}: button {button.text()!r}"
                if button.width() < MIN_TARGET or button.height() < MIN_TARGET:
                    problems.append(f"{where} is {button.width()}x{button.height()}")
                if button.sizeHint().width() > button.width() + 1:
                    problems.append(f"{where} text is cut off")
                if not (button.accessibleName() or button.text()):
                    problems.append(f"{where} has no accessible name")
                if button.text() and not covered(button.text()):
                    problems.append(f"{where} has a character no font can show")
            view.close()
    finally:
        set_locale("en")
    assert problems == []


def test_sound_cues_play_on_success_and_refusal_when_enabled(tmp_path: Path, qtbot: QtBot) -> None:
    played = tmp_path / "played.txt"
    recorder = [
        sys.executable,
        "-c",
        f"import sys; open({str(played)!r}, 'a').write(sys.argv[1] + '\\n')",
    ]
    cues = SoundCues(enabled=True, player=recorder)
    cues.play("success")
    cues.play("attention")
    qtbot.waitUntil(
        lambda: played.exists() and len(played.read_text().splitlines()) == 2, timeout=10000
    )
    cues.close()
    assert sorted(Path(line).name for line in played.read_text().splitlines()) == [
        "attention.wav",
        "success.wav",
    ]
    assert all(Path(line).exists() for line in played.read_text().splitlines())
    SoundCues(enabled=False, player=recorder).play("success")  # off: nothing more


def test_qt_standard_strings_follow_the_language(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from kiosk.ui.qt_translations import QtTranslations

    translations = QtTranslations()
    try:
        assert translations.apply("fr_CA")
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        qtbot.addWidget(box)
        assert box.button(QDialogButtonBox.StandardButton.Cancel).text() == "Annuler"
    finally:
        translations.apply("en")
    assert flow  # the flow module drives ApplyLanguage, which calls apply()
