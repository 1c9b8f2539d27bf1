"""Enrolling a finger: the sensor is driven press by press, with guidance in between."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from kiosk.i18n import _
from kiosk.services.participants import (
    FINGERS,
    MIN_AGREEMENT,
    CaptureOutcome,
    Enrollment,
    ParticipantSummary,
)
from kiosk.ui.admin.context import AdminContext
from kiosk.ui.admin.wording import finger_text

CAPTURE_TIMEOUT_S = 10.0
# Presses whose agreement with the earlier ones staff see (press 2, the test press).
AGREEMENT_SHOWN = frozenset(
    {CaptureOutcome.GOOD, CaptureOutcome.PRESSES_DIFFER, CaptureOutcome.TEST_FAILED}
)


def guidance(outcome: CaptureOutcome, captured: int, required: int) -> str:
    return {
        CaptureOutcome.GOOD: _(
            "Good. Lift the finger, then press it again ({done} of {total})."
        ).format(done=captured, total=required),
        CaptureOutcome.ENROLLED: _("Finger enrolled."),
        CaptureOutcome.NO_FINGER: _("Place the finger flat on the sensor."),
        CaptureOutcome.POOR_IMAGE: _("Unclear image: press flat and still, and wipe the glass."),
        CaptureOutcome.PRESS_FLATTER: _(
            "Too little of the finger was read: press flatter, the whole pad on the glass."
        ),
        CaptureOutcome.MESSY_IMAGE: _("Smudged image: wipe the glass and the finger, keep still."),
        CaptureOutcome.PRESSES_DIFFER: _(
            "The two presses differ too much. Try again: press the same way each time."
        ),
        CaptureOutcome.TEST_FAILED: _(
            "The test press did not match: lift the finger and press it once more, "
            "the same way. Nothing was saved yet."
        ),
        CaptureOutcome.LIFT_FIRST: _("Lift the finger off the sensor first."),
        CaptureOutcome.MISMATCH: _("Those presses were different fingers. Start again."),
        CaptureOutcome.DUPLICATE: _("This finger is already enrolled. Nothing was stored."),
        CaptureOutcome.CANCELLED: _("Enrollment cancelled."),
    }[outcome]


class EnrollmentPanel(QGroupBox):
    def __init__(
        self, ctx: AdminContext, participant: ParticipantSummary, on_done: Callable[[], None]
    ) -> None:
        super().__init__(_("Enroll a finger of {code}").format(code=participant.code))
        self.ctx = ctx
        self.participant = participant
        self._on_done = on_done
        self.finger = QComboBox()
        for finger in FINGERS:
            self.finger.addItem(finger_text(finger), finger)
        self.finger.setCurrentIndex(self.finger.findData("right-index"))
        self.guidance = QLabel(_("Choose the finger, then press Start."))
        self.guidance.setWordWrap(True)
        self.start_button = QPushButton(_("Start"))
        self.start_button.clicked.connect(lambda _checked=False: self.start())
        self.cancel_button = QPushButton(_("Cancel"))
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel())
        row = QHBoxLayout()
        row.addWidget(self.finger, 1)
        row.addWidget(self.start_button)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.guidance)
        self.enrollment: Enrollment | None = None
        self.outcomes: list[CaptureOutcome] = []

    def start(self) -> None:
        service, session = self.ctx.services.participants, self.ctx.session
        pid, finger = self.participant.id, str(self.finger.currentData())
        self.start_button.setEnabled(False)
        self.guidance.setText(_("Place the finger flat on the sensor."))

        def started(enrollment: Enrollment) -> None:
            self.enrollment = enrollment
            self._next(enrollment)

        self.ctx.run(lambda: service.start_enrollment(session, pid, finger), started, self._failed)

    def _next(self, enrollment: Enrollment) -> None:
        self.ctx.run(
            lambda: enrollment.capture(CAPTURE_TIMEOUT_S),
            lambda outcome: self._captured(enrollment, outcome),
            self._failed,
        )

    def _captured(self, enrollment: Enrollment, outcome: CaptureOutcome) -> None:
        self.outcomes.append(outcome)
        words = guidance(outcome, enrollment.captured, enrollment.required)
        if enrollment.last_score is not None and outcome in AGREEMENT_SHOWN:
            words += " " + _("Match score {score} (needs {needed}).").format(
                score=enrollment.last_score, needed=MIN_AGREEMENT
            )
        self.guidance.setText(words)
        if enrollment.done:
            self.start_button.setEnabled(True)
            self.enrollment = None
            if outcome is CaptureOutcome.ENROLLED:
                self.ctx.show_message(_("Finger enrolled."), False)
                self._on_done()
            return
        self._next(enrollment)

    def _failed(self, exc: BaseException) -> None:
        self.start_button.setEnabled(True)
        self.enrollment = None
        self.ctx.report_error(exc)

    def cancel(self) -> None:
        if self.enrollment is not None:
            self.enrollment.cancel()  # safe from any thread; the capture returns CANCELLED

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel()
        super().closeEvent(event)
