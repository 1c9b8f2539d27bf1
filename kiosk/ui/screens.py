"""The participant screens. They render a FlowState; buttons only send events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.domain import flow
from kiosk.domain.flow import FlowState, Screen
from kiosk.domain.model import SiteClock, SiteContact
from kiosk.i18n import PARTICIPANT_LOCALES, _, format_local_time, language_name
from kiosk.ui import theme
from kiosk.ui.hold_corner import HoldCorner
from kiosk.ui.icons import IconWidget
from kiosk.ui.labels import centred_label as _label
from kiosk.ui.layouts import message_and_keys
from kiosk.ui.pinpad import PinPad
from kiosk.ui.secure_panel import SecurePanel
from kiosk.ui.texts import ScreenText, fault_text, progress_text, site_notice_texts, texts_for

LANGUAGE_COLUMNS = 3


def _show_note(label: QLabel, text: ScreenText) -> None:
    label.setText(text.note)
    label.setVisible(bool(text.note))


class MessageScreen(QWidget):
    """Icon, headline, detail and (while dispensing) a unit-by-unit progress bar."""

    def __init__(self) -> None:
        super().__init__()
        self.icon = IconWidget()
        self.headline = _label("headline")
        self.detail = _label("detail")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("dispense progress")
        self.progress_label = _label("detail")
        self.note = _label("detail")  # what comes next: next dose, where and when staff are
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 60, 60, 60)
        layout.addStretch(2)
        layout.addWidget(self.icon, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(24)
        layout.addWidget(self.headline)
        layout.addSpacing(16)
        layout.addWidget(self.detail)
        layout.addSpacing(32)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addSpacing(16)
        layout.addWidget(self.note)
        layout.addStretch(3)

    def show_state(self, text: ScreenText, state: FlowState) -> None:
        colour = theme.TONE_COLOURS.get(text.tone, theme.TEXT)
        self.icon.set_icon(text.icon, colour)
        self.headline.setText(text.headline)
        self.headline.setStyleSheet(f"color: {colour};")
        self.detail.setText(text.detail)
        self.detail.setVisible(bool(text.detail))
        _show_note(self.note, text)
        dispensing = state.screen is Screen.DISPENSING and bool(state.lines)
        self.progress.setVisible(dispensing)
        self.progress_label.setVisible(dispensing)
        if dispensing:
            total = sum(line.units for line in state.lines)
            done = sum(line.dropped for line in state.lines)
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress_label.setText("\n".join(progress_text(line) for line in state.lines))


class IdleScreen(QWidget):
    """'Place your finger' with the language buttons and the local time."""

    def __init__(
        self, on_language: Callable[[str], None], on_staff: Callable[[], None] | None = None
    ) -> None:
        super().__init__()
        self.icon = IconWidget()
        self.headline = _label("headline")
        self.clock = _label("clock", wrap=False)
        self.notice = _label("notice")  # the site's notices of the day (kiosk.domain.notices)
        self.notice.setVisible(False)
        self.corner = HoldCorner(on_staff or (lambda: None))
        self.language_buttons: dict[str, QPushButton] = {}
        row = QGridLayout()
        row.setSpacing(24)
        row.setContentsMargins(0, 0, 60, 0)  # the screen's margin (the corner needs none)
        for index, locale in enumerate(PARTICIPANT_LOCALES):
            button = QPushButton(language_name(locale))
            button.setCheckable(True)
            button.setAccessibleName(language_name(locale))
            button.clicked.connect(lambda _checked=False, loc=locale: on_language(loc))
            self.language_buttons[locale] = button
            row.addWidget(button, index // LANGUAGE_COLUMNS, index % LANGUAGE_COLUMNS)
        top = QHBoxLayout()
        top.addWidget(self.clock, 1)
        top.addWidget(self.corner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 0, 0, 60)
        layout.addLayout(top)
        layout.addStretch(2)
        layout.addWidget(self.icon, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(24)
        layout.addWidget(self.headline)
        layout.addStretch(1)
        notice_row = QHBoxLayout()
        notice_row.setContentsMargins(0, 0, 60, 0)  # the screen's right margin
        notice_row.addWidget(self.notice)
        layout.addLayout(notice_row)
        layout.addStretch(2)
        layout.addLayout(row)

    def show_state(
        self, text: ScreenText, state: FlowState, now: datetime, site: SiteClock
    ) -> None:
        self.icon.set_icon(text.icon, theme.TEXT)
        self.headline.setText(text.headline)
        self.clock.setText(format_local_time(now, site.timezone))
        self.clock.setAccessibleName(_("Time now"))
        for locale, button in self.language_buttons.items():
            button.setChecked(locale == state.locale)
        notices = site_notice_texts(state)
        self.notice.setText("\n\n".join(notices))
        self.notice.setVisible(bool(notices))


class NoticeScreen(QWidget):
    """Staff's message for this participant, with one big "OK" (kiosk.domain.notices)."""

    def __init__(self, send: Callable[[flow.Event], None]) -> None:
        super().__init__()
        self.icon = IconWidget(160)
        self.headline = _label("headline")
        self.text = _label("notice")
        self.note = _label("detail")
        self.ok = QPushButton()
        self.ok.setMinimumHeight(theme.MIN_TOUCH_PX * 3 // 2)  # the one thing to press
        self.ok.clicked.connect(lambda _checked=False: send(flow.NoticeAcknowledged()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 60, 60, 60)
        layout.addStretch(1)
        layout.addWidget(self.icon, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(24)
        layout.addWidget(self.headline)
        layout.addSpacing(32)
        layout.addWidget(self.text)
        layout.addSpacing(24)
        layout.addWidget(self.note)
        layout.addStretch(1)
        layout.addWidget(self.ok)

    def show_state(self, text: ScreenText) -> None:
        self.icon.set_icon(text.icon, theme.ACCENT)
        self.headline.setText(text.headline)
        self.text.setText(text.detail)
        _show_note(self.note, text)
        self.ok.setText(_("OK"))
        self.ok.setAccessibleName(_("OK"))


class WitnessScreen(QWidget):
    """A nurse or pharmacist enters their PIN to witness the dose."""

    def __init__(self, send: Callable[[flow.Event], None]) -> None:
        super().__init__()
        self.icon = IconWidget(160)
        self.headline = _label("headline")
        self.detail = _label("detail")
        self.countdown = _label("detail")
        self.pad = PinPad(lambda pin: send(flow.WitnessPin(pin)))
        self.keys = self.pad.keys
        self.cancel = QPushButton()
        self.cancel.clicked.connect(lambda _checked=False: send(flow.Cancel()))
        message_and_keys(
            self,
            [self.icon, self.headline, self.detail, self.countdown],
            [self.pad, 24, self.cancel],
        )

    def show_state(self, text: ScreenText) -> None:
        self.icon.set_icon(text.icon, theme.TEXT)
        self.headline.setText(text.headline)
        self.detail.setText(text.detail)
        _show_note(self.countdown, text)
        self.pad.retranslate()
        self.cancel.setText(_("Cancel"))
        self.cancel.setAccessibleName(_("Cancel"))


class OutOfServiceScreen(QWidget):
    """Out of service: a plain sentence for participants, the reasons for staff, the steps
    that clear a lockout staff can clear here (service door, tamper), and a Staff button
    into the staff panel (hardware page, self-test, diagnostics, jam recovery)."""

    def __init__(
        self,
        send: Callable[[flow.Event], None],
        on_staff: Callable[[], None] | None = None,
        on_ask: Callable[[str], None] | None = None,
    ) -> None:
        """``on_ask(subject)``: a refused PIN's "Ask the on-call clinician" (sign in, then
        the staff panel's approval page about the lockout)."""
        super().__init__()
        self.icon = IconWidget(160)
        self.headline = _label("headline")
        self.detail = _label("detail")
        self.note = _label("detail")
        self.reasons = _label("staffNote")
        self.secure = SecurePanel(send, on_ask)
        # Staff's controls here are 96 px high (participant targets need 90), so the steps,
        # the help, a refusal and the PIN pad fit a landscape screen too.
        compact = (
            f"QPushButton {{ min-height: {theme.COMPACT_TOUCH_PX - 22}px; padding: 8px 20px; }}"
        )
        self.secure.setStyleSheet(compact)
        self.secure.pad.set_compact()
        self.staff = QPushButton()
        self.staff.setStyleSheet(compact)
        self.staff.setVisible(on_staff is not None)
        self.staff.clicked.connect(lambda _checked=False: on_staff() if on_staff else None)
        columns = message_and_keys(
            self,
            [self.icon, self.headline, self.detail, self.note, 24, self.reasons],
            [self.secure],
            corner=self.staff,
        )
        columns.setContentsMargins(60, 24, 60, 24)

    def show_state(self, text: ScreenText, state: FlowState) -> None:
        self.icon.set_icon(text.icon, theme.ACCENT)
        self.headline.setText(text.headline)
        self.headline.setStyleSheet(f"color: {theme.ACCENT};")
        self.detail.setText(text.detail)
        _show_note(self.note, text)
        self.reasons.setText("\n".join(fault_text(f) for f in state.faults))
        self.staff.setText(_("Staff sign-in"))
        self.staff.setAccessibleName(_("Staff sign-in"))
        # The lockout steps need the room: the icon gives way to them.
        self.icon.setVisible(state.secure is None)
        self.secure.setVisible(state.secure is not None)
        if state.secure is not None:
            self.secure.show_state(state.secure)


class ParticipantView(QStackedWidget):
    def __init__(
        self,
        send: Callable[[flow.Event], None],
        on_staff: Callable[[], None] | None = None,
        contact: SiteContact | None = None,
        on_ask: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("participantRoot")
        self.setStyleSheet(theme.STYLESHEET)
        self.contact = contact or SiteContact()  # where and when staff are, the site's words
        self.idle = IdleScreen(lambda locale: send(flow.LanguageChosen(locale)), on_staff)
        self.message = MessageScreen()
        self.witness = WitnessScreen(send)
        self.notice = NoticeScreen(send)
        self.out_of_service = OutOfServiceScreen(send, on_staff, on_ask)
        self.addWidget(self.idle)
        self.addWidget(self.message)
        self.addWidget(self.witness)
        self.addWidget(self.notice)
        self.addWidget(self.out_of_service)

    def show_state(self, state: FlowState, now: datetime, site: SiteClock) -> None:
        text = texts_for(state, now, site, self.contact)
        if state.screen is Screen.IDLE:
            self.idle.show_state(text, state, now, site)
            self.setCurrentWidget(self.idle)
        elif state.screen is Screen.WITNESS:
            self.witness.show_state(text)
            self.setCurrentWidget(self.witness)
        elif state.screen is Screen.NOTICE:
            self.notice.show_state(text)
            self.setCurrentWidget(self.notice)
        elif state.screen is Screen.OUT_OF_SERVICE:
            self.out_of_service.show_state(text, state)
            self.setCurrentWidget(self.out_of_service)
        else:
            self.message.show_state(text, state)
            self.setCurrentWidget(self.message)
