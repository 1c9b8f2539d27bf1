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
from kiosk.domain import remote_approval as ra
from kiosk.domain import remote_witness as rw
from kiosk.domain.flow import FlowState, Screen
from kiosk.domain.model import SiteClock, SiteContact
from kiosk.domain.remote_approval import ApprovalStep
from kiosk.domain.remote_witness import Stage
from kiosk.i18n import PARTICIPANT_LOCALES, _, format_local_time, language_name
from kiosk.ui import theme
from kiosk.ui.assist_screen import AssistedScreen
from kiosk.ui.hold_corner import HoldCorner
from kiosk.ui.icons import IconWidget
from kiosk.ui.labels import centred_label as _label
from kiosk.ui.layouts import message_and_keys
from kiosk.ui.pinpad import PinPad
from kiosk.ui.secure_panel import SecurePanel
from kiosk.ui.texts import (
    ScreenText,
    assist_entry_text,
    back_text,
    fault_text,
    help_button_text,
    progress_text,
    site_notice_texts,
    texts_for,
)

LANGUAGE_COLUMNS = 3


def _show_note(label: QLabel, text: ScreenText) -> None:
    label.setText(text.note)
    label.setVisible(bool(text.note))


def _help_button(send: Callable[[flow.Event], None]) -> QPushButton:
    """The big "I need help" on every result screen."""
    button = QPushButton()
    button.setObjectName("helpButton")
    # Big and bordered in the attention colour: findable by someone in distress.
    button.setStyleSheet(
        f"QPushButton#helpButton {{ min-width: 560px; font-weight: bold;"
        f" border: 4px solid {theme.ACCENT}; }}"
    )
    button.clicked.connect(lambda _checked=False: send(flow.HelpAsked()))
    return button


def _assist_button(on_assist: Callable[[], None]) -> QPushButton:
    """The discreet staff entry to identify someone whose finger does not read."""
    button = QPushButton()
    button.setObjectName("assistButton")
    button.setStyleSheet(f"font-size: {theme.STAFF_PT}pt; padding: 8px 24px;")
    button.clicked.connect(lambda _checked=False: on_assist())
    return button


def _retranslate(button: QPushButton, text: str) -> None:
    button.setText(text)
    button.setAccessibleName(text)


class MessageScreen(QWidget):
    """Icon, headline, detail and (while dispensing) a unit-by-unit progress bar; on a
    result screen "I need help" (and, when a finger was not read, the staff entry)."""

    def __init__(
        self,
        send: Callable[[flow.Event], None] = lambda _event: None,
        on_assist: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.icon = IconWidget()
        self.headline = _label("headline")
        self.detail = _label("detail")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("dispense progress")
        self.progress_label = _label("detail")
        self.note = _label("detail")  # what comes next: next dose, where and when staff are
        self.help = _help_button(send)
        self.back = QPushButton()
        self.back.clicked.connect(lambda _checked=False: send(flow.Cancel()))
        self.assist = _assist_button(on_assist)
        buttons = QHBoxLayout()
        buttons.setSpacing(24)
        buttons.addStretch(1)
        buttons.addWidget(self.help)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        # A hidden button takes no room, nor the spacing before it (a done screen has none).
        rows = QVBoxLayout()
        rows.setSpacing(16)
        rows.addLayout(buttons)
        rows.addWidget(self.assist, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 40, 60, 40)
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
        layout.addLayout(rows)

    def show_state(self, text: ScreenText, state: FlowState) -> None:
        self.help.setVisible(state.offers_help)
        _retranslate(self.help, help_button_text())
        self.back.setVisible(state.screen is Screen.HELP)
        _retranslate(self.back, back_text())
        self.assist.setVisible(
            state.assist_allowed
            and (
                state.screen is Screen.NOT_RECOGNISED
                or (state.screen is Screen.ERROR and state.error is flow.ErrorKind.POOR_IMAGE)
            )
        )
        _retranslate(self.assist, assist_entry_text())
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
        self,
        on_language: Callable[[str], None],
        on_staff: Callable[[], None] | None = None,
        on_assist: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.assist = _assist_button(on_assist)
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
        layout.addSpacing(24)
        under = QHBoxLayout()
        under.setContentsMargins(0, 0, 60, 0)  # centred under the language buttons
        under.addWidget(self.assist, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(under)

    def show_state(
        self, text: ScreenText, state: FlowState, now: datetime, site: SiteClock
    ) -> None:
        _retranslate(self.assist, assist_entry_text())
        self.assist.setVisible(state.assist_allowed)  # hidden where the site forbids it
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
        self.afar = QPushButton()  # shown only where the site lets someone witness from afar
        self.afar.clicked.connect(lambda _checked=False: send(flow.AskRemoteWitness()))
        message_and_keys(
            self,
            # "Witness from afar" beside the message: a landscape screen has no room under
            # the pad for a third row of controls.
            [self.icon, self.headline, self.detail, self.countdown, 24, self.afar],
            [self.pad, 24, self.cancel],
        )

    def show_state(self, text: ScreenText, state: FlowState | None = None) -> None:
        self.icon.set_icon(text.icon, theme.TEXT)
        self.headline.setText(text.headline)
        self.detail.setText(text.detail)
        _show_note(self.countdown, text)
        self.pad.retranslate()
        self.cancel.setText(_("Cancel"))
        self.cancel.setAccessibleName(_("Cancel"))
        self.afar.setText(_("Witness from afar"))
        self.afar.setAccessibleName(_("Witness from afar"))
        self.afar.setVisible(state is not None and state.remote_offer is not None)


class RemoteWitnessScreen(QWidget):
    """Witnessing from afar (kiosk.domain.remote_witness): the participant reads that a
    nurse or pharmacist is being asked and to wait; staff type their PIN, then wait for the
    on-call clinician's answer, or phone them and type the response or the app's code."""

    def __init__(self, send: Callable[[flow.Event], None]) -> None:
        super().__init__()
        self._send = send
        self._state: rw.RemoteWitness | None = None
        self.icon = IconWidget(160)
        self.headline = _label("headline")
        self.detail = _label("detail")
        self.note = _label("staffNote")
        self.pad = PinPad(self._entered)
        self.pad.set_compact()  # the pad shares the screen with the staff's choices
        self.keys = self.pad.keys
        self.phone = QPushButton()
        self.app = QPushButton()
        self.challenge = QPushButton()
        self.cancel = QPushButton()
        self.phone.clicked.connect(lambda _checked=False: self._approval(ra.UsePhone()))
        self.app.clicked.connect(lambda _checked=False: self._approval(ra.UseApp()))
        self.challenge.clicked.connect(
            lambda _checked=False: self._approval(ra.UseApp(by_app=False))
        )
        self.cancel.clicked.connect(lambda _checked=False: send(flow.Cancel()))
        message_and_keys(
            self,
            [self.icon, self.headline, self.detail, 24, self.note],
            [self.pad, 16, self.phone, self.app, self.challenge, self.cancel],
        )

    def _approval(self, event: ra.ApprovalEvent) -> None:
        self._send(rw.Approval(event))  # the driver stamps the kiosk's time

    def _entered(self, digits: str) -> None:
        if self._state is not None and self._state.stage is Stage.WHO:
            self._send(rw.RequesterPin(digits))
        else:
            self._approval(ra.CodeEntered(digits))

    def show_state(self, text: ScreenText, state: FlowState) -> None:
        remote = self._state = state.remote
        approval = remote.approval if remote is not None else None
        self.icon.set_icon(text.icon, theme.TEXT)
        self.headline.setText(text.headline)
        self.detail.setText(text.detail)
        self.detail.setVisible(bool(text.detail))
        _show_note(self.note, text)
        who = remote is not None and remote.stage is Stage.WHO
        typing = approval is not None and approval.step is ApprovalStep.CHALLENGE
        self.pad.setVisible(who or typing)
        self.pad.reveal(typing)
        self.pad.retranslate()
        polling = approval is not None and approval.polling
        self.phone.setVisible(polling)
        self.app.setVisible(approval is not None and approval.can_use_app)
        self.challenge.setVisible(typing and approval is not None and approval.by_app)
        for button, words in (
            (self.phone, _("Phone the clinician")),
            (self.app, _("Code from the clinician's app")),
            (self.challenge, _("Use the challenge")),
            (self.cancel, _("Cancel")),
        ):
            button.setText(words)
            button.setAccessibleName(words)


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
        self.help = _help_button(send)
        columns = message_and_keys(
            self,
            [self.icon, self.headline, self.detail, self.note, 24, self.help, 24, self.reasons],
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
        _retranslate(self.help, help_button_text())
        # While staff clear a lockout on screen, they are there: no help button then.
        self.help.setVisible(state.secure is None)
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
        on_assist: Callable[[], None] | None = None,
    ) -> None:
        """``on_assist``: staff start an assisted identification (the driver's
        ``start_assist``); by default the flow is sent the start itself."""
        super().__init__()
        self.setObjectName("participantRoot")
        self.setStyleSheet(theme.STYLESHEET)
        self.contact = contact or SiteContact()  # where and when staff are, the site's words
        assist = on_assist or (lambda: send(flow.AssistStart()))
        self.idle = IdleScreen(lambda locale: send(flow.LanguageChosen(locale)), on_staff, assist)
        self.message = MessageScreen(send, assist)
        self.witness = WitnessScreen(send)
        self.remote_witness = RemoteWitnessScreen(send)
        self.notice = NoticeScreen(send)
        self.out_of_service = OutOfServiceScreen(send, on_staff, on_ask)
        self.assisted = AssistedScreen(send)
        self.addWidget(self.idle)
        self.addWidget(self.message)
        self.addWidget(self.witness)
        self.addWidget(self.remote_witness)
        self.addWidget(self.notice)
        self.addWidget(self.out_of_service)
        self.addWidget(self.assisted)

    def show_state(self, state: FlowState, now: datetime, site: SiteClock) -> None:
        text = texts_for(state, now, site, self.contact)
        if state.screen is Screen.IDLE:
            self.idle.show_state(text, state, now, site)
            self.setCurrentWidget(self.idle)
        elif state.screen is Screen.WITNESS:
            self.witness.show_state(text, state)
            self.setCurrentWidget(self.witness)
        elif state.screen is Screen.REMOTE_WITNESS:
            self.remote_witness.show_state(text, state)
            self.setCurrentWidget(self.remote_witness)
        elif state.screen is Screen.NOTICE:
            self.notice.show_state(text)
            self.setCurrentWidget(self.notice)
        elif state.screen is Screen.OUT_OF_SERVICE:
            self.out_of_service.show_state(text, state)
            self.setCurrentWidget(self.out_of_service)
        elif state.screen is Screen.ASSISTED and state.assist is not None:
            self.assisted.show_state(text, state.assist)
            self.setCurrentWidget(self.assisted)
        else:
            self.message.show_state(text, state)
            self.setCurrentWidget(self.message)
