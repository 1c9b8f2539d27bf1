"""The out-of-service screen's staff part: clearing a service-door or tamper lockout, one
step at a time. It renders a ``SecureState`` (kiosk.domain.door_recovery) and only sends
its events; which roles may clear and whom to call come from the site's configuration."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from kiosk.domain import door_recovery as dr
from kiosk.domain.door_recovery import Latch, SecureRefusal, SecureState, SecureStep
from kiosk.i18n import N_, _
from kiosk.ui import theme
from kiosk.ui.labels import centred_label as _label
from kiosk.ui.pinpad import PinPad
from kiosk.ui.staff_words import roles_text
from kiosk.ui.steps import ACCENT, StepList
from kiosk.ui.texts import pin_locked_text

STEP_TITLES = (N_("Close up"), N_("Staff PIN"), N_("Checked"))
STEP_INDEX = {
    SecureStep.CLOSE_UP: 0,
    SecureStep.ENTER_PIN: 1,
    SecureStep.CHECKING: 2,
    SecureStep.CLEARED: 3,
}


def closed_button_text() -> str:
    return _("The machine is closed")


def who_can_clear(state: SecureState) -> str:
    return _("Roles that can clear this lockout: {roles}.").format(
        roles=roles_text(state.policy.roles)
    )


def on_call_text(state: SecureState) -> str:
    # The site's own words (kiosk.toml [site] on_call), shown as written.
    return state.policy.on_call or _("Ask someone in one of these roles to come.")


def remote_text(state: SecureState) -> tuple[str, ...]:
    """Why there is no "Ask the on-call clinician" button although the kiosk has a hub."""
    if not dr.cannot_ask_yet(state):
        return ()
    return (
        _(
            "A clinician cannot approve this from afar yet: this kiosk has not reached the "
            "hub lately and holds no clinician's key."
        ),
    )


def help_text(state: SecureState) -> str:
    """What to do now, for the step staff are on."""
    if state.step is SecureStep.CLOSE_UP:
        lines = []
        if Latch.TAMPER in state.latches:
            lines.append(_("Reset the tamper switch inside the door, then close the door."))
        else:
            lines.append(_("Close the service door firmly."))
        lines.append(_("Then press “{button}”.").format(button=closed_button_text()))
        return " ".join(lines)
    if state.step is SecureStep.ENTER_PIN:
        return _("Enter your PIN.") + " " + who_can_clear(state)
    if state.step is SecureStep.CHECKING:
        return _("Checking the PIN and the door…")
    return _("The lockout is cleared.")


def refusal_text(state: SecureState) -> str:
    """Why the last PIN did not clear it, and what to do next ('' when nothing failed)."""
    refusal = state.refusal
    if refusal is None:
        return ""
    if refusal is SecureRefusal.PIN_NOT_ACCEPTED:
        return "\n".join(
            (
                _("That PIN is not accepted for this task."),
                who_can_clear(state),
                on_call_text(state),
                *remote_text(state),
            )
        )
    if refusal is SecureRefusal.LOCKED:
        return "\n".join((pin_locked_text(state.locked_seconds), on_call_text(state),
                          *remote_text(state)))  # fmt: skip
    if refusal is SecureRefusal.DOOR_OPEN:
        return _(
            "The dispenser still reports the service door open. Close it firmly, then press "
            "“{button}”."
        ).format(button=closed_button_text())
    if refusal is SecureRefusal.TAMPER:
        return _(
            "The tamper switch is still tripped. Reset it inside the door and close the door, "
            "then press “{button}”."
        ).format(button=closed_button_text())
    if refusal is SecureRefusal.CONTROLLER_SILENT:
        return _(
            "The dispenser does not answer, so the door cannot be checked. Check its power "
            "and cable, then enter your PIN again."
        )
    return _("Not confirmed. Please try again.")


class SecurePanel(QWidget):
    """Steps, a help line, the refusal, and the one control the step needs."""

    def __init__(
        self,
        send: Callable[[dr.SecureEvent], None],
        on_ask: Callable[[str], None] | None = None,
    ) -> None:
        """``on_ask(subject)``: staff sign in and the approval page opens about the lockout
        ("door" or "tamper"); None where there is no staff panel."""
        super().__init__()
        self._on_ask = on_ask
        self._subject: str | None = None
        self.title = _label("detail")
        self.steps = StepList(len(STEP_TITLES), vertical=False, font_pt=theme.STAFF_PT)
        self.help = _label("staffNote")
        self.message = _label("staffNote")
        self.message.setStyleSheet(f"color: {ACCENT};")
        self.closed = QPushButton()
        self.closed.clicked.connect(lambda _checked=False: send(dr.MachineClosed()))
        self.pad = PinPad(lambda pin: send(dr.PinEntered(pin)))
        self.back = QPushButton()
        self.back.clicked.connect(lambda _checked=False: send(dr.Back()))
        self.ask = QPushButton()
        self.ask.setObjectName("askOnCall")
        self.ask.setStyleSheet(f"background: {ACCENT}; color: #000000; border-color: {ACCENT};")
        self.ask.clicked.connect(lambda _checked=False: self._ask())
        buttons = QHBoxLayout()
        buttons.addWidget(self.closed, 1)
        buttons.addWidget(self.ask, 1)  # beside Back: the PIN pad keeps its room
        buttons.addWidget(self.back)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.steps)
        layout.addWidget(self.help)
        layout.addWidget(self.message)
        layout.addWidget(self.pad)
        layout.addLayout(buttons)

    def show_state(self, state: SecureState) -> None:
        self.title.setText(_("Staff: put the kiosk back in service"))
        self.steps.show_steps([_(title) for title in STEP_TITLES], STEP_INDEX[state.step])
        self.help.setText(help_text(state))
        message = refusal_text(state)
        self.message.setText(message)
        self.message.setVisible(bool(message))
        closing = state.step is SecureStep.CLOSE_UP
        self.closed.setText(closed_button_text())
        self.closed.setVisible(closing)
        # Kept in place (disabled) while the PIN is checked, so nothing jumps under a finger.
        self.pad.setVisible(state.step in (SecureStep.ENTER_PIN, SecureStep.CHECKING))
        self.pad.setEnabled(state.pin_pad)
        if not state.pin_pad:
            self.pad.reset()
        self.pad.retranslate()
        self.back.setText(_("Back"))
        self.back.setVisible(state.step is SecureStep.ENTER_PIN)
        self._subject = dr.approval_subject(state) if self._on_ask is not None else None
        self.ask.setText(_("Ask the on-call clinician"))
        self.ask.setVisible(self._subject is not None)

    def _ask(self) -> None:
        if self._on_ask is not None and self._subject is not None:
            self._on_ask(self._subject)
