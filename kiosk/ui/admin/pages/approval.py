"""Ask for approval: renders the "request approval" state machine
(kiosk.domain.remote_approval). For what a night worker's role cannot do alone: clear a door
or tamper lockout, unlock the service door for a jam, release a hold (opened from a hold with
its prescription).

Online the request goes to the hub and the page asks the service every second for the
on-call clinician's answer. Offline (or when nobody answers) staff phone the clinician, read
the challenge shown in large digits and type the response on the keypad. Each press is an
event; each effect runs on the backend through ``ApprovalsService`` and its answer is the next
event. A timer sends ``Tick`` (the machine decides when the wait or the 10 minutes are over).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import (
    ApprovalAction,
    ApprovalPolicy,
    ApprovalProblem,
    ApprovalState,
    ApprovalStep,
)
from kiosk.i18n import N_, _
from kiosk.services.approvals import ApprovalsService
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.steps import ACCENT

TICK_MS = 1000
MIN_TARGET_PX = 72
PRIMARY_STYLE = f"background: {ACCENT}; color: #000000; border-color: {ACCENT};"
MACHINE = "machine"

ACTIONS = {
    ApprovalAction.CLEAR_DOOR_LOCKOUT: N_("Clear the service-door lockout"),
    ApprovalAction.CLEAR_TAMPER_LOCKOUT: N_("Clear the tamper lockout"),
    ApprovalAction.UNLOCK_SERVICE_DOOR: N_("Unlock the service door (jam)"),
    ApprovalAction.RELEASE_HOLD: N_("Release the hold on this prescription"),
    ApprovalAction.WITNESS_DOSE: N_("Witness this dose"),
}
STEP_HELP = {
    ApprovalStep.CHOOSE_ACTION: N_("What do you need the on-call clinician to approve?"),
    ApprovalStep.SENDING: N_("Sending your request…"),
    ApprovalStep.WAITING: N_(
        "Your request went to the on-call clinician. Wait here for their answer. "
        "If the machine has no network, or nobody answers, phone them."
    ),
    ApprovalStep.TIMED_OUT: N_(
        "No answer yet. Phone the on-call clinician and read them the challenge."
    ),
    ApprovalStep.CHALLENGE: N_(
        "Phone the on-call clinician. Read them this challenge, then type the 8-digit "
        "response they read back."
    ),
    ApprovalStep.CHECKING: N_("Checking…"),
    ApprovalStep.APPROVED: N_("Approved by {approver}. Done."),
    ApprovalStep.REFUSED: N_("Refused by {approver}."),
    ApprovalStep.LOCKED: N_("Too many wrong responses. Wait {seconds} s before trying again."),
    ApprovalStep.EXPIRED: N_("This challenge is over 10 minutes old. Ask again."),
    ApprovalStep.NOT_ALLOWED: N_(
        "This site does not allow that to be approved from afar. Call the on-call contact."
    ),
}
PROBLEMS = {
    ApprovalProblem.WRONG: N_("That response is not right. {left} tries left."),
    ApprovalProblem.USED: N_("That challenge was used already. Ask again."),
    ApprovalProblem.ACTION_FAILED: N_("Approved, but the machine could not do it: {detail}"),
    ApprovalProblem.ERROR: N_("Something went wrong. It was logged; please try again."),
    ApprovalProblem.REPLAYED: N_(
        "That app code was used already. Ask for the next code in the app. {left} tries left."
    ),
    ApprovalProblem.CLOCK: N_(
        "The machine's clock cannot be trusted, so app codes are not checked. "
        "Use the challenge and response, or set the time."
    ),
}
APP_HELP = N_(
    "Phone the on-call clinician. Ask them for the 6-digit code their authenticator app "
    "shows now, and type it."
)


def help_text(state: ApprovalState, now_seconds_locked: int) -> str:
    by_app = state.by_app and state.step is ApprovalStep.CHALLENGE
    text = _(APP_HELP) if by_app else _(STEP_HELP[state.step])
    return text.format(
        approver=state.approver_label or _("the clinician"), seconds=now_seconds_locked
    )


def problem_text(state: ApprovalState) -> str:
    if state.problem is None:
        if state.step is ApprovalStep.REFUSED and state.reason:
            return _("Their reason: {reason}").format(reason=state.reason)
        return ""
    return _(PROBLEMS[state.problem]).format(left=state.attempts_left, detail=state.reason)


# The response is not a secret (the clinician read it out loud): its digits are shown, large,
# so staff can read them back and correct one; an empty place is a plain underscore.
EMPTY_PLACE = "_"


class ResponsePad(QWidget):
    """Eight digits (a response) or six (an app's code) on a big keypad, shown as typed;
    Delete takes the last one back."""

    def __init__(self) -> None:
        super().__init__()
        self.digits = ""
        self.length = ra.CODE_DIGITS
        self.shown = QLabel()
        self.shown.setObjectName("approvalResponse")
        self.shown.setStyleSheet("font-size: 40pt; font-weight: 700; letter-spacing: 8px;")
        grid = QGridLayout()
        self.keys: dict[str, QPushButton] = {}
        labels = {"clear": N_("Clear"), "delete": N_("Delete")}
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "delete"]
        for index, key in enumerate(keys):
            button = QPushButton(_(labels[key]) if key in labels else key)
            button.setMinimumSize(MIN_TARGET_PX + 16, MIN_TARGET_PX)
            button.clicked.connect(lambda _checked=False, k=key: self.press(k))
            self.keys[key] = button
            grid.addWidget(button, index // 3, index % 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.shown)
        layout.addLayout(grid)
        self.refresh()

    def press(self, key: str) -> None:
        if key == "clear":
            self.digits = ""
        elif key == "delete":
            self.digits = self.digits[:-1]
        elif len(self.digits) < self.length:
            self.digits += key
        self.refresh()

    def set_length(self, length: int) -> None:
        if length != self.length:
            self.length = length
            self.digits = ""
            self.refresh()

    def refresh(self) -> None:
        padded = self.digits.ljust(self.length, EMPTY_PLACE)
        half = self.length // 2
        self.shown.setText(f"{padded[:half]} {padded[half:]}")
        self.shown.setAccessibleName(" ".join(self.digits) or _("No digits yet"))


class ApprovalPage(AdminPage):
    key = "approval"
    order = 45
    permission = None  # any staff member may ask; the approver's role is what counts

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.subject = MACHINE
        self.wanted: tuple[ApprovalAction, ...] = ()
        self.policy = ApprovalPolicy({})
        self.state = ra.start(self.policy)
        self.help = QLabel()
        self.help.setObjectName("approvalHelp")
        self.help.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {ACCENT};")
        self.challenge = QLabel()
        self.challenge.setObjectName("approvalChallenge")
        self.challenge.setStyleSheet(f"color: {ACCENT}; font-size: 44pt; font-weight: 700;")
        self.expires = QLabel()
        self.pad = ResponsePad()
        self.choices = QVBoxLayout()
        self.action_buttons: dict[ApprovalAction, QPushButton] = {}
        for action in ApprovalAction:
            button = QPushButton(_(ACTIONS[action]))
            button.setMinimumHeight(MIN_TARGET_PX)
            button.clicked.connect(lambda _checked=False, a=action: self.choose(a))
            self.action_buttons[action] = button
            self.choices.addWidget(button)
        self.phone = QPushButton(_("Phone the clinician instead"))
        self.app = QPushButton(_("Code from the clinician's app"))
        self.response = QPushButton(_("Use the challenge instead"))
        self.check = QPushButton(_("Check the response"))
        self.again = QPushButton(_("Start again"))
        self.cancel = QPushButton(_("Cancel"))
        for button in (self.phone, self.app, self.response, self.check, self.again, self.cancel):
            button.setMinimumHeight(MIN_TARGET_PX)
        self.phone.clicked.connect(lambda: self.send(ra.UsePhone()))
        self.app.clicked.connect(lambda: self.send(ra.UseApp()))
        self.response.clicked.connect(lambda: self.send(ra.UseApp(by_app=False)))
        self.check.clicked.connect(lambda: self.send(ra.CodeEntered(self.pad.digits)))
        self.again.clicked.connect(lambda: self.send(ra.Cancel()))
        self.cancel.clicked.connect(lambda: self.send(ra.Cancel()))
        self.check.setStyleSheet(PRIMARY_STYLE)
        buttons = QHBoxLayout()
        for button in (self.phone, self.app, self.response, self.check, self.again, self.cancel):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.help)
        layout.addWidget(self.problem)
        layout.addLayout(self.choices)
        layout.addWidget(self.challenge)
        layout.addWidget(self.expires)
        layout.addWidget(self.pad)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self._ticks = QTimer(self)
        self._ticks.setInterval(TICK_MS)
        self._ticks.timeout.connect(self._tick)
        self.show_state()

    @classmethod
    def available(cls, ctx: AdminContext) -> bool:
        return ctx.services.approvals is not None

    @property
    def title(self) -> str:
        return _("Ask for approval")

    @property
    def service(self) -> ApprovalsService:
        service = self.ctx.services.approvals
        assert service is not None
        return service

    # ------------------------------------------------------------ events in

    def activated(self) -> None:
        if self.state.step in (ApprovalStep.CHOOSE_ACTION, ApprovalStep.NOT_ALLOWED):
            self.ctx.run(self._read_policy, self._policy_read)

    def _read_policy(self) -> tuple[ApprovalPolicy, bool]:
        """On the backend: the policy as offered here, and whether app codes can be used."""
        return self.service.offered(), self.service.app_codes_offered()

    def show_subject(self, subject: str) -> None:
        """Opened about a subject: "door", "tamper", "jam", or "prescription:<hub id>"."""
        wanted = {
            "door": (ApprovalAction.CLEAR_DOOR_LOCKOUT,),
            "tamper": (ApprovalAction.CLEAR_TAMPER_LOCKOUT,),
            "jam": (ApprovalAction.UNLOCK_SERVICE_DOOR,),
        }
        if subject.startswith("prescription:"):
            self.subject, self.wanted = subject, (ApprovalAction.RELEASE_HOLD,)
        else:
            self.subject, self.wanted = MACHINE, wanted.get(subject, ())
        self.ctx.run(self._read_policy, self._policy_read)

    def _policy_read(self, read: tuple[ApprovalPolicy, bool]) -> None:
        policy, app_seeds = read
        self.policy = policy
        wanted = self.wanted or tuple(
            a
            for a in ApprovalAction
            if (a is not ApprovalAction.RELEASE_HOLD or self._for_rx())
            and a is not ApprovalAction.WITNESS_DOSE  # asked for from the witness screen
        )
        self.state = ra.start(policy, wanted, app_seeds=app_seeds)
        self.show_state()

    def _for_rx(self) -> bool:
        return self.subject.startswith("prescription:")

    def choose(self, action: ApprovalAction) -> None:
        self.send(ra.Choose(action, self.subject))

    def send(self, event: ra.ApprovalEvent) -> None:
        before = self.state
        self.state = ra.step(self.state, event, self.ctx.clock.now())
        self.pad.set_length(self.state.code_digits)
        if isinstance(event, ra.CodeEntered) or (
            self.state.step is ApprovalStep.CHALLENGE
            and (before.step is not ApprovalStep.CHALLENGE or before.by_app != self.state.by_app)
        ):
            self.pad.press("clear")
        self._run_effects()
        if self.state != before:
            self.show_state()

    def _run_effects(self) -> None:
        service, staff = self.service, self.ctx.session.staff_id
        for effect in self.state.effects:
            match effect:
                case ra.SendRequest(action=action, subject=subject):
                    self.ctx.run(partial(service.request, action, subject, staff), self.send)
                case ra.CheckCode(request_id=rid, code=code):
                    self.ctx.run(partial(service.check_code, rid, code), self._checked)
                case ra.CheckAppCode(request_id=rid, code=code):
                    self.ctx.run(partial(service.check_app_code, rid, code), self._checked)
                case ra.ActOnline(request_id=rid):
                    self.ctx.run(partial(service.act_online, rid), self.send, self._failed)
                case ra.Withdraw(request_id=rid):
                    self.ctx.run(partial(service.withdraw, rid, staff))

    def _checked(self, answer: tuple[ra.CodeChecked, ra.Performed | None]) -> None:
        checked, performed = answer
        self.send(checked)
        if performed is not None:
            self.send(performed)

    def _failed(self, exc: BaseException) -> None:
        self.ctx.report_error(exc)
        self.send(ra.Performed(False, ""))

    def _tick(self) -> None:
        self.send(ra.Tick())
        if self.state.polling:
            rid = self.state.request_id
            self.ctx.run(partial(self.service.decision, rid), self._decided)

    def _decided(self, decided: ra.Decided | None) -> None:
        if decided is not None:
            self.send(decided)

    def closing(self) -> None:
        self._ticks.stop()

    # ------------------------------------------------------------ rendering

    def show_state(self) -> None:
        state = self.state
        now = self.ctx.clock.now()
        locked = 0
        if state.locked_until is not None:
            locked = max(0, int((state.locked_until - now).total_seconds()))
        self.help.setText(help_text(state, locked))
        problem = problem_text(state)
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        choosing = state.step is ApprovalStep.CHOOSE_ACTION
        for action, button in self.action_buttons.items():
            button.setVisible(choosing and action in state.offered)
        showing_challenge = state.step in (
            ApprovalStep.WAITING,
            ApprovalStep.TIMED_OUT,
            ApprovalStep.CHALLENGE,
            ApprovalStep.LOCKED,
        )
        digits = state.challenge
        self.challenge.setText(
            _("Challenge: {digits}").format(digits=f"{digits[:4]} {digits[4:]}") if digits else ""
        )
        # An app's code is not bound to the challenge: it would only mislead while typing one.
        self.challenge.setVisible(showing_challenge and bool(digits) and not state.by_app)
        minutes = -(-state.seconds_left(now) // 60)  # rounded up: "0 minutes" while still good
        self.expires.setText(
            _("Good for {minutes} more minutes.").format(minutes=minutes)
            if showing_challenge
            else ""
        )
        self.expires.setVisible(showing_challenge)
        self.pad.setVisible(state.keypad)
        self.phone.setVisible(state.polling)
        self.app.setVisible(state.can_use_app)
        self.response.setVisible(state.keypad and state.by_app)
        self.check.setVisible(state.keypad)
        ended = state.step in (
            ApprovalStep.APPROVED,
            ApprovalStep.REFUSED,
            ApprovalStep.EXPIRED,
            ApprovalStep.NOT_ALLOWED,
        )
        self.again.setVisible(ended and bool(state.offered))
        self.cancel.setVisible(showing_challenge)
        running = showing_challenge or state.step is ApprovalStep.CHECKING
        if running and not self._ticks.isActive():
            self._ticks.start()
        elif not running:
            self._ticks.stop()
