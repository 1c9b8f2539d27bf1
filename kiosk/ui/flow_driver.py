"""Drives the pure participant flow: feeds it events, runs its effects on the backend.

The state machine (``kiosk.domain.flow``) decides; this object only turns backend results
into events, runs effects, and owns the two timers (sensor poll, screen timeout).
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal

from hardware.ports import DeviceError
from kiosk.domain import flow
from kiosk.domain.flow import DoseLine, ErrorKind, FlowState, Screen
from kiosk.i18n import set_locale
from kiosk.services.decide import DecisionView
from kiosk.services.dispense import VendResult
from kiosk.services.identify import BadImage, Recognised, ScanOutcome, Unrecognised
from kiosk.services.interaction import InteractionService
from kiosk.ui.background import Backend

log = logging.getLogger("kiosk.flow")

POLL_MS = 50  # a finger is noticed within ~50 ms; a no-finger poll is a short exchange


class FlowDriver(QObject):
    state_changed = Signal(object)  # FlowState

    def __init__(self, service: InteractionService, backend: Backend, site_locale: str) -> None:
        super().__init__()
        self.service = service
        self.backend = backend
        self.state: FlowState = flow.initial(site_locale)
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.timeout.connect(lambda: self.send(flow.Timeout()))
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_sensor)
        self._scanning = False
        set_locale(site_locale)

    def start(self) -> None:
        self._poll.start()

    def stop(self) -> None:
        self._poll.stop()
        self._timeout.stop()

    # ------------------------------------------------------------ events in

    def send(self, event: flow.Event) -> None:
        before = self.state.screen
        self.state = flow.step(self.state, event)
        for effect in self.state.effects:
            self._run(effect)
        if self.state.screen is not before or isinstance(event, flow.Timeout):
            self._arm_timeout()
        if self.state.screen is not before:
            log.info("screen %s -> %s", before.value, self.state.screen.value)
        self.state_changed.emit(self.state)

    def _arm_timeout(self) -> None:
        seconds = self.state.timeout_seconds
        if seconds is None:
            self._timeout.stop()
        else:
            self._timeout.start(int(seconds * 1000))

    # ------------------------------------------------------------ effects

    def _run(self, effect: flow.Effect) -> None:
        if isinstance(effect, flow.ApplyLanguage):
            set_locale(effect.locale)
        elif isinstance(effect, flow.Decide):
            self.backend.submit(
                partial(self.service.decide, effect.participant_id),
                self._on_decision,
                self.report_failure,
            )
        elif isinstance(effect, flow.Dispense):
            self.backend.submit(
                partial(
                    self.service.dispense,
                    effect.participant_id,
                    effect.witness_staff_id,
                    self._on_unit,
                ),
                self._on_dispensed,
                self.report_failure,
            )

        elif isinstance(effect, flow.VerifyWitness) and self.state.participant_id is not None:
            self.backend.submit(
                partial(self.service.verify_witness, self.state.participant_id, effect.pin),
                self._on_witness,
                self.report_failure,
            )

    def _on_witness(self, staff_id: int | None) -> None:
        self.send(flow.WitnessRejected() if staff_id is None else flow.WitnessAccepted(staff_id))

    def _poll_sensor(self) -> None:
        if self.state.screen is not Screen.IDLE or self._scanning:
            return
        self._scanning = True

        def finger_seen() -> None:
            self.backend.post(lambda: self.send(flow.FingerDetected()))

        self.backend.submit(
            lambda: self.service.scan(finger_seen), self._on_scan, self._on_scan_failure
        )

    # ------------------------------------------------------------ results (GUI thread)

    def _on_scan(self, outcome: ScanOutcome | None) -> None:
        self._scanning = False
        if isinstance(outcome, Recognised):
            self.send(flow.Identified(outcome.participant_id, outcome.language))
        elif isinstance(outcome, Unrecognised):
            self.send(flow.NotRecognised())
        elif isinstance(outcome, BadImage):
            self.send(flow.PoorImage())

    def _on_scan_failure(self, exc: BaseException) -> None:
        self._scanning = False
        self.report_failure(exc)

    def _on_decision(self, view: DecisionView) -> None:
        if view.doses:
            lines = tuple(
                DoseLine(
                    d.prescription.medication.name,
                    d.prescription.medication.strength,
                    d.prescription.medication.form,
                    d.units,
                )
                for d in view.doses
            )
            self.send(flow.DoseAllowed(lines, witness=view.needs_witness))
        elif view.refusal is not None:
            self.send(flow.DoseRefused(view.refusal))

    def _on_unit(self, line: int, dropped: int) -> None:  # backend thread
        self.backend.post(lambda: self.send(flow.UnitDropped(line, dropped)))

    def _on_dispensed(self, results: list[VendResult]) -> None:
        self.send(flow.DispenseFinished(tuple(r.dropped for r in results)))

    def report_failure(self, exc: BaseException) -> None:
        # The participant sees a plain sentence; the log has the reason, never personal data.
        kind = ErrorKind.OUT_OF_SERVICE if isinstance(exc, DeviceError) else ErrorKind.SEE_STAFF
        log.error("interaction failed: %s: %s", type(exc).__name__, exc)
        self.send(flow.Fault(kind))
