"""The jam recovery wizard: unlock the door, clear, count, reset, close — step by step."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout

from kiosk.domain.permissions import Permission
from kiosk.i18n import N_, _
from kiosk.services.jam import JamOutcome, JamProgress, JamRecovery, JamStep
from kiosk.services.staff import StaffSession
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.pages.base import AdminPage

NEXT_HINT = {
    JamStep.IDLE: N_("Choose the jammed lane and press Begin."),
    JamStep.BEGUN: N_("Press Unlock door: the service door opens for 30 seconds."),
    JamStep.DOOR_UNLOCKED: N_("Clear the lane by hand, then press Lane cleared."),
    JamStep.CLEARED: N_("Count the units left in the lane and press Count."),
    JamStep.COUNTED: N_("Press Reset lane."),
    JamStep.RESET: N_("Close the service door, then press Finish."),
}
OUTCOME_TEXT = {
    JamOutcome.STILL_BLOCKED: N_("The lane is still blocked. Check it again, then Lane cleared."),
    JamOutcome.DOOR_OPEN: N_("Close the service door first."),
    JamOutcome.CONTROLLER_UNAVAILABLE: N_("The dispenser does not answer. Try again."),
}


class JamPage(AdminPage):
    key = "jam"
    order = 40
    permission = Permission.RESET_LANE

    def __init__(self, ctx: AdminContext) -> None:
        super().__init__(ctx)
        self.lane = QSpinBox()
        self.lane.setRange(1, 64)
        self.remaining = QSpinBox()
        self.remaining.setRange(0, 10_000)
        self.hint = QLabel(_(NEXT_HINT[JamStep.IDLE]))
        self.hint.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        steps = [
            ("begin", _("Begin"), lambda: self._step(lambda j, s: j.begin(s, self.lane.value()))),
            ("unlock", _("Unlock door"), lambda: self._step(lambda j, s: j.unlock_door(s))),
            ("cleared", _("Lane cleared"), lambda: self._step(lambda j, s: j.lane_cleared(s))),
            (
                "count",
                _("Count"),
                lambda: self._step(lambda j, s: j.count(s, self.remaining.value())),
            ),
            ("reset", _("Reset lane"), lambda: self._step(lambda j, s: j.reset_lane(s))),
            ("finish", _("Finish"), lambda: self._step(lambda j, s: j.finish(s))),
            ("abort", _("Abort"), lambda: self._step(lambda j, s: j.abort(s))),
        ]
        for index, (key, label, handler) in enumerate(steps):
            button = QPushButton(label)
            button.clicked.connect(lambda _checked=False, h=handler: h())
            self.buttons[key] = button
            grid.addWidget(button, index // 4, index % 4)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_("Jammed lane")))
        layout.addWidget(self.lane)
        layout.addWidget(QLabel(_("Units left in the lane (for Count)")))
        layout.addWidget(self.remaining)
        layout.addWidget(self.hint)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.step = JamStep.IDLE

    @property
    def title(self) -> str:
        return _("Clear a jam")

    def _step(self, action: Callable[[JamRecovery, StaffSession], JamProgress]) -> None:
        jam, session = self.ctx.services.jam, self.ctx.session
        self.ctx.run(lambda: action(jam, session), self._progress)

    def _progress(self, progress: JamProgress) -> None:
        self.step = progress.step
        if progress.outcome is JamOutcome.OK:
            if progress.step is JamStep.IDLE:
                self.ctx.show_message(_("Done. The lane is back in service."), False)
            self.hint.setText(_(NEXT_HINT[progress.step]))
        else:
            self.hint.setText(_(OUTCOME_TEXT[progress.outcome]))
        if progress.count is not None and not progress.count.matches:
            self.ctx.show_message(
                _(
                    "The count differs from the record: a pharmacist must "
                    "resolve the discrepancy before the lane dispenses."
                ),
                True,
            )

    def closing(self) -> None:
        jam, session = self.ctx.services.jam, self.ctx.session
        if jam.active:  # never leave the door lockout switched off behind a logout
            self.ctx.backend.submit(lambda: jam.abort(session))
