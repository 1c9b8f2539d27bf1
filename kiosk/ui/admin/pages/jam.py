"""Clear a jam: renders the jam recovery state machine (kiosk.domain.jam_recovery).

The page shows where staff are (the steps, the current one marked), one line of help, the
countdown while the door is unlocked, and offers only the action the machine offers next
(plus Cancel where it applies). Each press is an event; each effect runs on the backend
through ``JamRecovery.perform`` and its answer is the next event. A timer sends ``Tick``
while the door is unlocked; the machine decides when the countdown is over.
"""

from __future__ import annotations

from functools import partial
from time import monotonic

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.domain import jam_recovery as jr
from kiosk.domain.jam_recovery import (
    JamAction,
    JamEnd,
    JamFailure,
    JamState,
    LaneChoice,
    LaneCondition,
    RecoveryStep,
)
from kiosk.domain.permissions import Permission
from kiosk.domain.remote_approval import ApprovalAction, ask_instead
from kiosk.i18n import N_, _
from kiosk.services.jam import JamRecovery
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage
from kiosk.ui.layouts import AdaptiveBox
from kiosk.ui.steps import ACCENT, StepList

TICK_MS = 250  # the countdown is redrawn four times a second; the machine decides its end
LANE_COLUMNS = 2
MIN_TARGET_PX = 64  # staff touch targets (the panel's buttons are at least this tall)
PRIMARY_STYLE = f"background: {ACCENT}; color: #000000; border-color: {ACCENT};"
# A chosen lane or count field: inverted, as the participant screens show a checked button.
CHECKED_STYLE = "QPushButton:checked { background: #FFFFFF; color: #101418; }"

STEP_TITLES = {
    RecoveryStep.CHOOSE_LANE: N_("Choose the lane"),
    RecoveryStep.UNLOCK_DOOR: N_("Unlock the door"),
    RecoveryStep.CLEAR_JAM: N_("Open the door and clear the jam"),
    RecoveryStep.COUNT: N_("Count the units"),
    RecoveryStep.RESET_LANE: N_("Reset the lane"),
    RecoveryStep.CLOSE_DOOR: N_("Close the door"),
    RecoveryStep.DONE: N_("Done"),
}
ACTION_LABELS = {
    JamAction.START: N_("Start"),
    JamAction.UNLOCK: N_("Unlock the door"),
    JamAction.CLEARED: N_("The jam is cleared"),
    JamAction.COUNT: N_("Save the count"),
    JamAction.RESET: N_("Reset the lane"),
    JamAction.DOOR_CLOSED: N_("The door is closed"),
    JamAction.CANCEL: N_("Cancel"),
    JamAction.AGAIN: N_("Clear another lane"),
}
CONDITIONS = {
    LaneCondition.READY: N_("ready"),
    LaneCondition.JAMMED: N_("jammed"),
    LaneCondition.EMPTY: N_("empty"),
    LaneCondition.FAULT: N_("motor fault"),
    LaneCondition.DISCREPANCY: N_("count differs from the record"),
    LaneCondition.UNKNOWN: N_("state unknown"),
}
FAILURES = {
    JamFailure.CONTROLLER_SILENT: N_(
        "The dispenser does not answer. Check its power and cable, then try again."
    ),
    JamFailure.DOOR_NOT_OPENED: N_("The door locked again before it was opened."),
    JamFailure.STILL_BLOCKED: N_(
        "The dispenser says the lane is still blocked: look into it again and take out "
        "what is stuck."
    ),
    JamFailure.RESET_REFUSED: N_(
        "The dispenser refused to reset the lane. Try again; if it refuses again, the lane "
        "needs a technician."
    ),
    JamFailure.DOOR_STILL_OPEN: N_("The dispenser still reports the service door open."),
    JamFailure.NOT_ACCEPTED: N_(
        "That step was not accepted. Press Cancel, or log out and start again."
    ),
    JamFailure.ERROR: N_("Something went wrong. It was logged; please try again."),
}


def action_label(action: JamAction, state: JamState) -> str:
    if action is JamAction.AGAIN and state.step is RecoveryStep.CHOOSE_LANE:
        return _("Try again")
    return _(ACTION_LABELS[action])


def lane_text(choice: LaneChoice, *, condition: bool = True) -> str:
    """A lane as staff choose it; without its condition once chosen (it changes on the way)."""
    medication = choice.medication or _("no medication assigned")
    if not condition:
        return _("Lane {lane} · {medication}").format(lane=choice.lane, medication=medication)
    return _("Lane {lane} · {medication} · {state}").format(
        lane=choice.lane, medication=medication, state=_(CONDITIONS[choice.condition])
    )


def help_text(state: JamState) -> str:
    """One line: what to do now."""
    lane = state.lane if state.lane is not None else 0
    button = action_label(jr.STEP_ACTION[state.step], state)
    step = state.step
    if step is RecoveryStep.CHOOSE_LANE:
        if not state.lanes:
            return "" if state.failure else _("Reading the lanes…")
        if state.lane_choice is None:
            return _("Touch the jammed lane.")
        return _("Lane {lane} is chosen. Press “{button}”, or touch another lane first.").format(
            lane=lane, button=button
        )
    if step is RecoveryStep.UNLOCK_DOOR:
        return _("Press “{button}”: the service door unlocks for {seconds} seconds.").format(
            button=button, seconds=jr.UNLOCK_SECONDS
        )
    if step is RecoveryStep.CLEAR_JAM:
        return _(
            "Open the service door. Take out what is stuck in lane {lane} and set aside any "
            "units you take out. Then press “{button}”."
        ).format(lane=lane, button=button)
    if step is RecoveryStep.COUNT:
        return _(
            "Count the units left in lane {lane} and the units you took out (not counted "
            "before). Enter both, then press “{button}”."
        ).format(lane=lane, button=button)
    if step is RecoveryStep.RESET_LANE:
        return _("Press “{button}”: the dispenser checks that lane {lane} turns freely.").format(
            lane=lane, button=button
        )
    if step is RecoveryStep.CLOSE_DOOR:
        if state.cancelling:
            return _("To stop, close the service door firmly, then press “{button}”.").format(
                button=button
            )
        return _("Close the service door firmly, then press “{button}”.").format(button=button)
    if state.ended is JamEnd.AWAITS_PHARMACIST:
        return _(
            "Lane {lane} is reset, but the count differs from the record: it stays out of use "
            "until a pharmacist resolves the discrepancy."
        ).format(lane=lane)
    if state.ended is JamEnd.STOPPED:
        choice = state.lane_choice
        if choice is not None and choice.condition in (LaneCondition.JAMMED, LaneCondition.FAULT):
            return _("Stopped. Lane {lane} stays out of use until it is cleared and reset.").format(
                lane=lane
            )
        return _("Stopped. Nothing was changed on lane {lane}.").format(lane=lane)
    return _("Done. Lane {lane} is back in service.").format(lane=lane)


def countdown_text(state: JamState) -> str:
    if not state.seconds_left:
        return ""
    return _("The door is unlocked: {seconds} s left to open it.").format(
        seconds=state.seconds_left
    )


class CountEntry(QWidget):
    """Two counts typed on a keypad: touch a field, then the digits."""

    def __init__(self) -> None:
        super().__init__()
        self.values = {"in_lane": 0, "taken_out": 0}
        self.fields: dict[str, QPushButton] = {}
        self.active = "in_lane"
        row = QHBoxLayout()
        for key in self.values:
            button = QPushButton()
            button.setCheckable(True)
            button.setMinimumHeight(MIN_TARGET_PX)
            button.clicked.connect(lambda _checked=False, k=key: self.select(k))
            self.fields[key] = button
            row.addWidget(button)
        grid = QGridLayout()
        self.keys: dict[str, QPushButton] = {}
        for index, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0"]):
            button = QPushButton()
            button.setMinimumSize(MIN_TARGET_PX + 16, MIN_TARGET_PX)
            button.clicked.connect(lambda _checked=False, k=key: self.press(k))
            self.keys[key] = button
            grid.addWidget(button, index // 3, index % 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addLayout(grid)
        self.reset()

    def reset(self) -> None:
        self.values = dict.fromkeys(self.values, 0)
        self.active = "in_lane"
        self.refresh()

    def select(self, key: str) -> None:
        self.active = key
        self.refresh()

    def press(self, key: str) -> None:
        value = self.values[self.active]
        if key == "clear":
            value = 0
        elif value < 10_000:
            value = value * 10 + int(key)
        self.values[self.active] = value
        self.refresh()

    def refresh(self) -> None:
        labels = {
            "in_lane": _("Left in the lane: {count}"),
            "taken_out": _("Taken out: {count}"),
        }
        for key, button in self.fields.items():
            button.setText(labels[key].format(count=self.values[key]))
            button.setChecked(key == self.active)
        for key, button in self.keys.items():
            button.setText(_("Clear") if key == "clear" else key)


class JamPage(AdminPage):
    key = "jam"
    order = 40
    permission = Permission.RESET_LANE

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.setStyleSheet(CHECKED_STYLE)
        self.state = JamState()
        self._rendered_step: RecoveryStep | None = None
        self.steps = StepList(len(STEP_TITLES))
        self.help = QLabel()
        self.help.setObjectName("jamHelp")
        self.help.setWordWrap(True)
        self.failure = QLabel()
        self.failure.setWordWrap(True)
        self.failure.setStyleSheet(f"color: {ACCENT};")
        self.countdown = QLabel()
        self.countdown.setStyleSheet(f"color: {ACCENT}; font-size: 26pt; font-weight: 700;")
        self.lane_label = QLabel()
        self.lane_label.setWordWrap(True)
        self.lane_box = QWidget()
        self.lane_grid = QGridLayout(self.lane_box)
        self.lane_grid.setContentsMargins(0, 0, 0, 0)
        self.lane_buttons: dict[int, QPushButton] = {}
        self.count = CountEntry()
        self.buttons: dict[JamAction, QPushButton] = {}
        actions = QHBoxLayout()
        for action in JamAction:
            button = QPushButton()
            button.setMinimumHeight(MIN_TARGET_PX)
            button.clicked.connect(lambda _checked=False, a=action: self.press(a))
            self.buttons[action] = button
            actions.addWidget(button, 0 if action is JamAction.CANCEL else 1)
        # A role that may not unlock the service door asks the on-call clinician instead.
        self.ask = QPushButton(_("Ask the on-call clinician"))
        self.ask.setMinimumHeight(MIN_TARGET_PX)
        self.ask.setStyleSheet(PRIMARY_STYLE)
        self.ask.clicked.connect(lambda _checked=False: self._ask())
        left = QVBoxLayout()
        left.addWidget(self.help)
        left.addWidget(self.ask)
        left.addWidget(self.failure)
        left.addWidget(self.countdown)
        left.addWidget(self.lane_label)
        left.addWidget(self.lane_box)
        left.addWidget(self.count)
        left.addStretch(1)
        left.addLayout(actions)
        body = AdaptiveBox()  # the steps beside the work in landscape, above it in portrait
        body.addWidget(self.steps)
        body.addLayout(left, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        self._ticks = QTimer(self)
        self._ticks.setInterval(TICK_MS)
        self._ticks.timeout.connect(lambda: self.send(jr.Tick()))
        self.show_state()

    def _lane_columns(self) -> int:
        """One lane a row on a portrait screen: a lane's name is long."""
        window = self.window()
        return 1 if window.width() < window.height() else LANE_COLUMNS

    @property
    def title(self) -> str:
        return _("Clear a jam")

    @property
    def jam(self) -> JamRecovery:
        jam = self.ctx.services.jam
        assert isinstance(jam, JamRecovery)
        return jam

    # ------------------------------------------------------------ events in

    def activated(self) -> None:
        """Shown: between recoveries, read the lanes (and open jam alerts) afresh."""
        if self.state.step in (RecoveryStep.CHOOSE_LANE, RecoveryStep.DONE) and (
            not self.state.busy or isinstance(self.state.pending, jr.LoadLanes)
        ):
            self.state = jr.initial()
            self._run_effects()
            self.show_state()

    def show_subject(self, subject: str) -> None:
        """Opened from an alert about ``subject`` ("lane:2"): that lane is preselected."""
        self.send(jr.FromAlert(subject))

    def _ask(self) -> None:
        if self.ctx.open_page is not None:
            self.ctx.open_page("approval", "jam")

    def press(self, action: JamAction) -> None:
        events: dict[JamAction, jr.StaffEvent] = {
            JamAction.START: jr.Start(),
            JamAction.UNLOCK: jr.Unlock(),
            JamAction.CLEARED: jr.JamCleared(),
            JamAction.COUNT: jr.CountEntered(
                self.count.values["in_lane"], self.count.values["taken_out"]
            ),
            JamAction.RESET: jr.Reset(),
            JamAction.DOOR_CLOSED: jr.DoorClosed(),
            JamAction.CANCEL: jr.Cancel(),
            JamAction.AGAIN: jr.Again(),
        }
        self.send(events[action])

    def send(self, event: jr.Event) -> None:
        before = self.state
        self.state = jr.step(self.state, event, monotonic())
        self._run_effects()
        if self.state != before:
            self.show_state()

    def _run_effects(self) -> None:
        jam, session = self.jam, self.ctx.session
        for effect in self.state.effects:
            self.ctx.run(partial(jam.perform, session, effect), self.send, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.ctx.report_error(exc)  # logged by the backend; a line in the message bar
        self.send(jr.Failed(JamFailure.ERROR))

    # ------------------------------------------------------------ rendering

    def show_state(self) -> None:
        state = self.state
        self.steps.show_steps([_(STEP_TITLES[s]) for s in jr.STEPS], jr.STEPS.index(state.step))
        self.help.setText(help_text(state))
        failure = _(FAILURES[state.failure]) if state.failure else ""
        self.failure.setText(failure)
        self.failure.setVisible(bool(failure))
        countdown = countdown_text(state)
        self.countdown.setText(countdown)
        self.countdown.setVisible(bool(countdown))
        choosing = state.step is RecoveryStep.CHOOSE_LANE
        self._render_lanes(state, choosing)
        choice = state.lane_choice
        self.lane_label.setText(lane_text(choice, condition=False) if choice else "")
        self.lane_label.setVisible(bool(choice) and not choosing)
        counting = state.step is RecoveryStep.COUNT
        if counting and self._rendered_step is not RecoveryStep.COUNT:
            self.count.reset()  # a new count starts blank (blind), also after a refused reset
        self._rendered_step = state.step
        self.count.setVisible(counting)
        self.count.setEnabled(counting and not state.busy)
        # The step's own action stays in place, disabled while the service works; only what
        # the machine offers is enabled, and the next action stands out.
        enabled = jr.actions(state)
        shown = {jr.STEP_ACTION[state.step], *enabled}
        if state.step in jr.CANCELLABLE:
            shown.add(JamAction.CANCEL)
        primary = jr.next_action(state)
        for action, button in self.buttons.items():
            button.setText(action_label(action, state))
            button.setVisible(action in shown)
            button.setEnabled(action in enabled)
            button.setStyleSheet(PRIMARY_STYLE if action is primary else "")
        self.ask.setVisible(
            state.step in (RecoveryStep.CHOOSE_LANE, RecoveryStep.UNLOCK_DOOR)
            and self.ctx.services.approvals is not None
            and ask_instead(self.ctx.session.role, ApprovalAction.UNLOCK_SERVICE_DOOR)
        )
        if state.door_deadline is not None:
            if not self._ticks.isActive():
                self._ticks.start()
        else:
            self._ticks.stop()

    def _render_lanes(self, state: JamState, choosing: bool) -> None:
        if {c.lane for c in state.lanes} != set(self.lane_buttons):
            for button in self.lane_buttons.values():
                self.lane_grid.removeWidget(button)
                button.deleteLater()
            self.lane_buttons = {}
            for index, choice in enumerate(state.lanes):
                button = QPushButton()
                button.setCheckable(True)
                button.setMinimumHeight(MIN_TARGET_PX)
                button.clicked.connect(
                    lambda _checked=False, lane=choice.lane: self.send(jr.ChooseLane(lane))
                )
                self.lane_buttons[choice.lane] = button
                columns = self._lane_columns()
                self.lane_grid.addWidget(button, index // columns, index % columns)
        for choice in state.lanes:
            button = self.lane_buttons[choice.lane]
            button.setText(lane_text(choice))
            button.setChecked(choice.lane == state.lane)
            button.setEnabled(choosing and not state.busy)
        self.lane_box.setVisible(choosing and bool(state.lanes))

    def closing(self) -> None:
        self._ticks.stop()
        jam, session = self.jam, self.ctx.session
        if jam.active:  # never leave the door lockout switched off behind a logout
            self.ctx.backend.submit(lambda: jam.abort(session))
