"""The staff-assisted identification screen: it renders an ``AssistState``
(kiosk.domain.assisted_id) and sends its events. Staff PIN (dots), the participant's code
(digits on screen: "12" is P-0012; a code with letters, which the store allows, is typed in
the field under the pad on the on-screen keyboard), then the participant's picture or
initials, big, with "Is this you?"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.domain import assisted_id, flow
from kiosk.domain.assisted_id import AssistRefusal, AssistState, AssistStep, normalise_code
from kiosk.i18n import _
from kiosk.ui import theme
from kiosk.ui.icons import IconWidget
from kiosk.ui.labels import centred_label as _label
from kiosk.ui.layouts import message_and_keys
from kiosk.ui.pictures import PictureWidget
from kiosk.ui.pinpad import PinPad
from kiosk.ui.texts import ScreenText, assist_answer_texts, assist_letters_text, back_text

CODE_DIGITS = 6


class CodePad(PinPad):
    """The PIN pad's keys, showing what is typed as the code it stands for ("12" → P-0012)."""

    def press(self, key: str) -> None:
        if key not in ("clear", "ok") and len(self._pin) >= CODE_DIGITS:
            return
        super().press(key)
        if self._pin:
            self.dots.setText(normalise_code(self._pin))

    def retranslate(self) -> None:
        super().retranslate()
        self.dots.setAccessibleName("code entered")


class AssistedScreen(QWidget):
    def __init__(self, send: Callable[[flow.Event], None]) -> None:
        super().__init__()
        self.icon = IconWidget(160)
        self.picture = PictureWidget()
        self.headline = _label("headline")
        self.detail = _label("detail")
        self.pin_pad = PinPad(lambda pin: send(assisted_id.StaffPin(pin)))
        self.code_pad = CodePad(lambda code: send(assisted_id.CodeTyped(code)))
        # A code with letters (kiosk.services.participants: [A-Za-z0-9-], up to 32): typed on
        # Qt Virtual Keyboard, which opens when the field is touched; Enter looks it up.
        self.code_text = QLineEdit()
        self.code_text.setObjectName("codeText")
        self.code_text.setMinimumHeight(theme.MIN_TOUCH_PX)
        self.code_text.setStyleSheet("font-size: 30px; padding: 8px 16px;")  # read standing
        self.code_text.setValidator(
            QRegularExpressionValidator(QRegularExpression("[A-Za-z0-9-]{0,32}"), self.code_text)
        )
        self.code_text.returnPressed.connect(lambda: self._typed(send))
        self.yes = QPushButton()
        self.yes.clicked.connect(lambda _checked=False: send(assisted_id.ThisIsMe()))
        self.no = QPushButton()
        self.no.clicked.connect(lambda _checked=False: send(assisted_id.NotMe()))
        answers = QWidget()
        row = QVBoxLayout(answers)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(24)
        row.addWidget(self.yes)
        row.addWidget(self.no)
        self.answers = answers
        self.cancel = QPushButton()
        self.cancel.clicked.connect(lambda _checked=False: send(flow.Cancel()))
        holder = QWidget()
        bottom = QHBoxLayout(holder)
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addStretch(1)
        bottom.addWidget(self.cancel)
        bottom.addStretch(1)
        message_and_keys(
            self,
            # The letters field goes with the words: in landscape the pad's column is full.
            [self.icon, self.picture, self.headline, self.detail, self.code_text],
            [self.pin_pad, self.code_pad, self.answers, 24, holder],
        )
        self.picture.setVisible(False)

    def _typed(self, send: Callable[[flow.Event], None]) -> None:
        code = self.code_text.text()
        self.code_text.clear()
        if code.strip():
            send(assisted_id.CodeTyped(code))

    def show_state(self, text: ScreenText, assist: AssistState) -> None:
        colour = theme.TONE_COLOURS.get(text.tone, theme.TEXT)
        confirming = assist.step is AssistStep.CONFIRM and assist.match is not None
        forbidden = assist.refusal is AssistRefusal.FORBIDDEN
        self.icon.set_icon(text.icon, colour)
        self.icon.setVisible(not confirming)
        self.picture.setVisible(confirming)
        if confirming and assist.match is not None:
            self.picture.show_picture(assist.match.picture, assist.match.initials)
        self.headline.setText(text.headline)
        self.detail.setText(text.detail)
        self.detail.setStyleSheet(f"color: {colour};")
        self.detail.setVisible(bool(text.detail))
        pin = assist.step is AssistStep.STAFF_PIN and not forbidden
        code = assist.step is AssistStep.CODE and not forbidden
        if not pin:
            self.pin_pad.reset()
        if not code:
            self.code_pad.reset()
            self.code_text.clear()
        self.pin_pad.setVisible(pin)
        self.code_pad.setVisible(code)
        self.code_text.setVisible(code)
        placeholder = assist_letters_text()
        self.code_text.setPlaceholderText(placeholder)
        self.code_text.setAccessibleName(placeholder)
        self.answers.setVisible(confirming)
        yes, no = assist_answer_texts()
        for button, words in ((self.yes, yes), (self.no, no)):
            button.setText(words)
            button.setAccessibleName(words)
        self.pin_pad.retranslate()
        self.code_pad.retranslate()
        words = back_text() if forbidden else _("Cancel")
        self.cancel.setText(words)
        self.cancel.setAccessibleName(words)
