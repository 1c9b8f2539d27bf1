"""Drives the pure participant flow: feeds it events, runs its effects on the backend.

The state machine (``kiosk.domain.flow``) decides; this object only turns backend results
into events, runs effects, and owns the timers (sensor poll on every screen that reads a
finger, screen timeout and the countdown shown from it, health checks).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal

from hardware.ports import DeviceError, SensorError
from kiosk.domain import assisted_id, door_recovery, flow
from kiosk.domain import remote_approval as ra
from kiosk.domain import remote_witness as rw
from kiosk.domain.assisted_id import AssistRefusal, Match
from kiosk.domain.door_recovery import SecureRefusal
from kiosk.domain.flow import DoseLine, ErrorKind, FlowState, Screen
from kiosk.domain.notices import Notice
from kiosk.domain.told import NOT_RECORDED, Told
from kiosk.i18n import set_locale
from kiosk.services.assisted import AssistForbidden
from kiosk.services.decide import DecisionView, PlannedDose
from kiosk.services.dispense import VendResult
from kiosk.services.errors import Refusal
from kiosk.services.health import HealthReport, HealthService, NotSecure
from kiosk.services.help import HelpNews
from kiosk.services.identify import BadImage, Recognised, ScanOutcome, Unrecognised
from kiosk.services.interaction import InteractionService
from kiosk.services.pin_gate import PinLocked
from kiosk.ui.background import Backend
from kiosk.ui.qt_translations import QtTranslations
from kiosk.ui.sound import ATTENTION, SUCCESS, SoundCues

# What a dispense job hands back: one result per planned line, the next dose time, and
# whether staff's alert about a short dispense is recorded.
Dispensed = tuple[list[VendResult], datetime | None, Told | None]

log = logging.getLogger("kiosk.flow")

HEALTH_MS = 1000  # a device that answers again is back in service within about a second
POLL_MS = 50  # a finger is noticed within ~50 ms; a no-finger poll is a short exchange
COUNTDOWN_MS = 1000  # a counting-down screen (the witness's) shows the seconds left
REMOTE_TICK_MS = 1000  # witnessing from afar: the approval step's clock and the hub poll
HELP_NEWS_MS = 2000  # the help screen learns within ~2 s that staff were told or are coming
NOTICES_MS = 60_000  # the site's notices at idle follow the day (and the pulled changes)


class FlowDriver(QObject):
    state_changed = Signal(object)  # FlowState

    def __init__(
        self,
        service: InteractionService,
        backend: Backend,
        site_locale: str,
        health: HealthService | None = None,
        sounds: SoundCues | None = None,
    ) -> None:
        super().__init__()
        self.sounds = sounds or SoundCues(enabled=False)
        self.service = service
        self.backend = backend
        self.health = health
        self._checking = False
        self._health_due = False
        self._health_timer = QTimer(self)
        self._health_timer.setInterval(HEALTH_MS)
        self._health_timer.timeout.connect(self.check_health)
        self.state: FlowState = flow.initial(site_locale)
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.timeout.connect(lambda: self.send(flow.Timeout()))
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_sensor)
        self._countdown = QTimer(self)
        self._countdown.setInterval(COUNTDOWN_MS)
        self._countdown.timeout.connect(self._count_down)
        self._remote_tick = QTimer(self)
        self._remote_tick.setInterval(REMOTE_TICK_MS)
        self._remote_tick.timeout.connect(self._tick_remote)
        self._help_alert: int | None = None  # the help request the help screen follows
        self._help_timer = QTimer(self)
        self._help_timer.setInterval(HELP_NEWS_MS)
        self._help_timer.timeout.connect(self._ask_help_news)
        self._scanning = False
        self._notices = QTimer(self)
        self._notices.setInterval(NOTICES_MS)
        self._notices.timeout.connect(self.refresh_notices)
        self.qt_translations = QtTranslations()
        set_locale(site_locale)
        self.qt_translations.apply(site_locale)

    def start(self) -> None:
        self._poll.start()
        if self.health is not None:
            self._health_timer.start()
            self.check_health()  # first: the machine's state comes before its notices
        self._notices.start()
        self.refresh_notices()

    def pause(self) -> None:
        """Staff took the screen: no scans, no screen timeouts (health checks go on)."""
        self._help_timer.stop()
        self._poll.stop()
        self._timeout.stop()
        self._countdown.stop()

    def resume(self) -> None:
        """Back to the participant screens, at idle (or out of service)."""
        if self.state.timeout_seconds:
            self.state = flow.step(self.state, flow.Timeout())
            for effect in self.state.effects:
                if isinstance(effect, ra.Withdraw):  # a request for a witness from afar
                    self._run_remote(effect)
        if self.state.screen is not Screen.IDLE and self.state.screen is not Screen.OUT_OF_SERVICE:
            self.state = flow.initial(self.state.site_locale)
        self._poll.start()
        self.state_changed.emit(self.state)

    def stop(self) -> None:
        self._help_timer.stop()
        self._poll.stop()
        self._timeout.stop()
        self._countdown.stop()
        self._remote_tick.stop()
        self._health_timer.stop()
        self._notices.stop()
        self.sounds.close()

    # ------------------------------------------------------------ machine health

    def check_health(self) -> None:
        """Ask the backend whether the machine can serve. When it is busy the check is owed
        and the sensor poll hands over its next turn, so scans can never starve it."""
        if self.health is None or self._checking:
            return
        if self.backend.busy:
            self._health_due = True
            return
        self._health_due = False
        self._checking = True
        self.backend.submit(self.health.check, self._on_health, self._on_health_failure)

    def _on_health(self, report: HealthReport) -> None:
        self._checking = False
        assert self.health is not None  # only asked with a health service
        secure = self.state.secure
        if secure is not None and secure.refusal is not None and report.door_open is not None:
            # "Close the door first" is withdrawn once STATUS shows it closed: never stale.
            self.send(door_recovery.StatusSeen(report.door_open, bool(report.tamper)))
        if report.ok:
            if self.state.faults:
                self.send(flow.ServiceRestored())
            return
        faults = tuple(sorted(f.value for f in report.faults))
        policy = replace(self.health.lockout, remote=report.remote)
        secure = self.state.secure
        if (
            faults != self.state.faults
            or report.needs_staff != self.state.staff_can_clear
            or report.told != self.state.faults_told  # the alert recorded, or the hub told
            or (secure is not None and secure.policy != policy)  # a remote approval can work
        ):
            self.send(flow.ServiceLost(faults, report.needs_staff, policy, report.told))

    def _on_health_failure(self, exc: BaseException) -> None:
        self._checking = False
        log.error("health check failed: %s: %s", type(exc).__name__, exc)
        self.send(flow.ServiceLost(("health_check",)))

    # ------------------------------------------------------------ the site's notices

    def refresh_notices(self) -> None:
        """Read the site's notices of the day (on the backend) for the idle screen, and
        whether the site allows staff-assisted identification (its discreet button)."""
        self.backend.submit(self.service.site_notices, self._on_notices, self._on_notices_failed)
        self.backend.submit(
            self.service.assisted_allowed, self._on_assist_allowed, self._on_notices_failed
        )

    def _on_assist_allowed(self, allowed: bool) -> None:
        if bool(allowed) != self.state.assist_allowed:
            self.send(flow.AssistAvailability(bool(allowed)))

    def _on_notices(self, notices: tuple[Notice, ...]) -> None:
        if notices != self.state.site_notices:
            self.send(flow.SiteNotices(notices))

    def _on_notices_failed(self, exc: BaseException) -> None:
        log.error("site notices not read: %s", type(exc).__name__)

    # ------------------------------------------------------------ events in

    def send(self, event: flow.Event) -> None:
        if isinstance(event, flow.ServiceLost) and not self.state.faults:
            # On the backend thread, so it is ordered before any scan after the outage.
            self.backend.submit(self.service.identify.require_lift)
        if isinstance(event, rw.Approval):
            event = event.stamped(self.service.clock.now())
        before = self.state.screen
        self.state = flow.step(self.state, event)
        for effect in self.state.effects:
            self._run(effect)
        if self.state.screen is not before or isinstance(event, flow.Timeout):
            self._arm_timeout()
        if self.state.screen is not before:
            log.info("screen %s -> %s", before.value, self.state.screen.value)
            self._cue(self.state)
            if self.state.screen is not Screen.HELP:
                self._help_timer.stop()
        if self.state.screen is Screen.REMOTE_WITNESS:
            if not self._remote_tick.isActive():
                self._remote_tick.start()
        else:
            self._remote_tick.stop()
        self.state_changed.emit(self.state)

    def _cue(self, state: FlowState) -> None:
        if state.screen is Screen.DONE:
            self.sounds.play(ATTENTION if state.partial else SUCCESS)
        elif state.screen in (
            Screen.REFUSED,
            Screen.UNAVAILABLE,
            Screen.NOT_RECOGNISED,
            Screen.ERROR,
            Screen.HELP,  # on-site staff hear that someone asks for help
        ):
            self.sounds.play(ATTENTION)

    def _arm_timeout(self) -> None:
        seconds = self.state.timeout_seconds
        if seconds is None:
            self._timeout.stop()
        else:
            self._timeout.start(int(seconds * 1000))
        # The countdown shows what is left of this very timer: one clock, never two.
        if self.state.counts_down and self._timeout.isActive():
            self._countdown.start()
        else:
            self._countdown.stop()

    def _count_down(self) -> None:
        left = self._timeout.remainingTime()
        if not self.state.counts_down or left < 0:
            self._countdown.stop()
            return
        # Ticks come about a second apart (a coarse timer may fire a little early): the
        # nearest whole second, so the screen reads 90, 89, ... and never skips one.
        self.send(flow.Countdown(round(left / 1000)))

    # ------------------------------------------------------------ effects

    def _run(self, effect: flow.Effect) -> None:
        if isinstance(effect, flow.ApplyLanguage):
            set_locale(effect.locale)
            self.qt_translations.apply(effect.locale)
        elif isinstance(effect, flow.Decide):
            self.backend.submit(
                partial(self._decide, effect.participant_id),
                self._on_decision,
                self.report_failure,
            )
        elif isinstance(effect, flow.RecordAssisted):
            # Before the decision, on the same thread: a refused record (the site forbade
            # it meanwhile) fails the decision's turn too, so nothing is given unrecorded.
            self.backend.submit(
                partial(self.service.assisted.record, effect.participant_id, effect.staff_id),
                lambda _uses: None,
                self.report_failure,
            )
        elif isinstance(effect, assisted_id.CheckStaffPin):
            self.backend.submit(
                partial(self.service.assisted.check_staff, effect.pin),
                lambda staff: self.send(assisted_id.StaffAccepted(staff)),
                self._on_assist_pin_refused,
            )
        elif isinstance(effect, assisted_id.LookUpCode):
            self.backend.submit(
                partial(self._look_up, effect.code, effect.staff_id),
                self._on_code,
                self._on_assist_failure,
            )
        elif isinstance(effect, flow.RaiseHelp):
            self.backend.submit(
                partial(self.service.help.ask, effect.participant_id),
                self._on_help_raised,
                self._on_help_failure,
            )
        elif isinstance(effect, flow.Dispense):
            self.backend.submit(
                partial(self._dispense, effect), self._on_dispensed, self.report_failure
            )

        elif isinstance(effect, flow.AcknowledgeNotice) and self.state.participant_id is not None:
            self.backend.submit(
                partial(self.service.acknowledge_notice, self.state.participant_id, effect.uuid),
                lambda _none: None,
                self._on_notices_failed,
            )
        elif isinstance(effect, door_recovery.ConfirmSecure) and self.health is not None:
            self.backend.submit(
                partial(self.health.confirm_secure, effect.pin),
                lambda _staff: self._after_confirm(),
                self._on_confirm_refused,
            )
        elif isinstance(effect, flow.VerifyWitness) and self.state.participant_id is not None:
            self.backend.submit(
                partial(self.service.verify_witness, self.state.participant_id, effect.pin),
                self._on_witness,
                self._on_witness_failure,
            )
        else:
            self._run_remote(effect)

    # ------------------------------------------------------------ witnessing from afar

    def _run_remote(self, effect: flow.Effect) -> None:
        """The remote-witness step's effects: the requester's PIN, then the approval
        step's own (kiosk.domain.remote_approval), each answered as an event."""
        pid, remote = self.state.participant_id, self.state.remote
        approvals = self.service.approvals
        if pid is None or remote is None:
            return
        if isinstance(effect, rw.VerifyRequester):
            self.backend.submit(
                partial(self.service.verify_requester, pid, effect.pin),
                self._on_requester,
                self._on_requester_failure,
            )
            return
        if approvals is None:
            return
        staff = remote.staff_id or 0
        match effect:
            case ra.SendRequest(action=action, subject=subject):
                job = partial(approvals.request, action, subject, staff)
                self.backend.submit(job, self._approval, self.report_failure)
            case ra.CheckCode(request_id=rid, code=code):
                job2 = partial(approvals.check_code, rid, code)
                self.backend.submit(job2, self._code_checked, self.report_failure)
            case ra.CheckAppCode(request_id=rid, code=code):
                job2 = partial(approvals.check_app_code, rid, code)
                self.backend.submit(job2, self._code_checked, self.report_failure)
            case ra.ActOnline(request_id=rid):
                job3 = partial(approvals.act_online, rid)
                self.backend.submit(job3, self._approval, self.report_failure)
            case ra.Withdraw(request_id=rid):
                self.backend.submit(partial(approvals.withdraw, rid, staff))

    def _approval(self, event: ra.ApprovalEvent | None) -> None:
        if event is not None:
            self.send(rw.Approval(event, self.service.clock.now()))

    def _code_checked(self, answer: tuple[ra.CodeChecked, ra.Performed | None]) -> None:
        checked, performed = answer
        self._approval(checked)
        if performed is not None:
            self._approval(performed)

    def _on_requester(self, staff_id: int | None) -> None:
        if staff_id is None:
            self.send(rw.RequesterRejected())
        else:
            self.send(rw.RequesterAccepted(staff_id, self.service.clock.now()))

    def _on_requester_failure(self, exc: BaseException) -> None:
        if isinstance(exc, PinLocked):
            self.send(rw.RequesterLocked(exc.seconds_left))
            return
        self.report_failure(exc)

    def _tick_remote(self) -> None:
        """Every second while witnessing from afar: the approval step's clock, and while
        the request waits, the hub's decision (pulled by the sync thread into the store)."""
        remote, approvals = self.state.remote, self.service.approvals
        if remote is None or remote.approval is None or approvals is None:
            return
        self._approval(ra.Tick())
        approval = self.state.remote.approval if self.state.remote else None
        if approval is not None and approval.polling:
            self.backend.submit(partial(approvals.decision, approval.request_id), self._approval)

    def _decide(self, participant_id: int) -> tuple[DecisionView, rw.RemoteOffer | None]:
        """On the backend: the decision, and whether a witness from afar may be offered."""
        view = self.service.decide(participant_id)
        return view, self.service.remote_witness_offer(participant_id, view)

    def _dispense(self, effect: flow.Dispense) -> Dispensed:
        """On the backend: vend the plan shown, then find when the next dose is available
        and, for a short dispense, whether staff's alert about it is recorded."""
        pid, plan = effect.participant_id, effect.prescriptions
        results = self.service.dispense(
            pid,
            effect.witness_staff_id,
            self._on_unit,
            plan,
            effect.remote_witness,
            effect.identified_by,
        )
        return results, self.service.next_dose(pid, plan), self.service.told_after(results)

    # ------------------------------------------------------------ staff-assisted identification

    def start_assist(self) -> None:
        """Staff tapped "identify by code": the site's setting decides (read on the backend,
        whose connection the store is), then the flow starts the steps or says it is not
        used here."""
        self.backend.submit(  # queued behind a scan under way: jobs run in order
            self.service.assisted.allowed,
            lambda allowed: self.send(flow.AssistStart(bool(allowed))),
            self.report_failure,
        )

    def _on_assist_pin_refused(self, exc: BaseException) -> None:
        if isinstance(exc, PinLocked):
            self.send(assisted_id.StaffRefused(AssistRefusal.LOCKED, exc.seconds_left))
        elif isinstance(exc, AssistForbidden):
            self.send(assisted_id.StaffRefused(AssistRefusal.FORBIDDEN))
        elif isinstance(exc, Refusal):
            self.send(assisted_id.StaffRefused(AssistRefusal.PIN_NOT_ACCEPTED))
        else:
            self.report_failure(exc)

    def _look_up(self, code: str, staff_id: int) -> Match | None:
        """On the backend: the participant a code names, with their notices to show once
        they confirm (as after a scan)."""
        found = self.service.assisted.look_up(code, staff_id)
        if found is None:
            return None
        return replace(found, notices=self.service.participant_notices(found.participant_id))

    def _on_code(self, found: Match | None) -> None:
        self.send(assisted_id.CodeUnknown() if found is None else assisted_id.CodeFound(found))

    def _on_assist_failure(self, exc: BaseException) -> None:
        if isinstance(exc, AssistForbidden):
            self.send(assisted_id.StaffRefused(AssistRefusal.FORBIDDEN))
        else:
            self.report_failure(exc)

    # ------------------------------------------------------------ "I need help"

    def _on_help_raised(self, news: HelpNews) -> None:
        self._help_alert = news.alert_id
        self.send(flow.HelpNews(news.told, news.coming))
        if self.state.screen is Screen.HELP:
            self._help_timer.start()

    def _on_help_failure(self, exc: BaseException) -> None:
        # Nothing was recorded: the screen must not say staff were told.
        log.error("help request not recorded: %s: %s", type(exc).__name__, exc)
        self.send(flow.HelpNews(NOT_RECORDED))

    def _ask_help_news(self) -> None:
        alert = self._help_alert
        if self.state.screen is not Screen.HELP or alert is None:
            self._help_timer.stop()
            return
        if self.backend.busy:
            return  # the next tick asks again
        self.backend.submit(
            partial(self.service.help.news, alert),
            lambda news: self.send(flow.HelpNews(news.told, news.coming)),
            lambda exc: log.error("help news: %s: %s", type(exc).__name__, exc),
        )

    def _after_confirm(self) -> None:
        self.send(door_recovery.Confirmed())
        self.check_health()

    def _on_confirm_refused(self, exc: BaseException) -> None:
        if isinstance(exc, PinLocked):
            self.send(door_recovery.Refused(SecureRefusal.LOCKED, exc.seconds_left))
            return
        reason = exc.reason if isinstance(exc, NotSecure) else SecureRefusal.ERROR
        if reason is SecureRefusal.ERROR:
            log.error("staff confirmation failed: %s: %s", type(exc).__name__, exc)
        else:
            log.info("staff confirmation refused: %s", reason.value)
        self.send(door_recovery.Refused(reason))

    def _on_witness(self, staff_id: int | None) -> None:
        self.send(flow.WitnessRejected() if staff_id is None else flow.WitnessAccepted(staff_id))

    def _on_witness_failure(self, exc: BaseException) -> None:
        if isinstance(exc, PinLocked):
            self.send(flow.WitnessLocked(exc.seconds_left))
            return
        self.report_failure(exc)

    def _poll_sensor(self) -> None:
        if self._health_due and not self.backend.busy:
            self.check_health()
            return
        if not self.state.reads_finger or self._scanning:
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
            self.send(flow.Identified(outcome.participant_id, outcome.language, outcome.notices))
        elif isinstance(outcome, Unrecognised):
            self.send(flow.NotRecognised())
        elif isinstance(outcome, BadImage):
            self.send(flow.PoorImage())

    def _on_scan_failure(self, exc: BaseException) -> None:
        self._scanning = False
        if self.health is not None and isinstance(exc, SensorError):
            # A silent or vanished sensor is a machine fault, not this person's problem.
            self.health.report_sensor_failure(exc)
            faults = tuple(sorted({*self.state.faults, "sensor"}))
            self.send(flow.ServiceLost(faults, self.state.staff_can_clear, self.health.lockout))
            return
        self.report_failure(exc)

    def _on_decision(self, decided: tuple[DecisionView, rw.RemoteOffer | None]) -> None:
        view, offer = decided
        lines = tuple(_line(dose) for dose in view.doses)
        unavailable = tuple(_line(dose) for dose in view.unavailable)
        if lines or unavailable:
            self.send(flow.DoseAllowed(lines, view.needs_witness, unavailable, view.told, offer))
        elif view.refusal is not None:
            self.send(flow.DoseRefused(view.refusal))

    def _on_unit(self, line: int, dropped: int) -> None:  # backend thread
        self.backend.post(lambda: self.send(flow.UnitDropped(line, dropped)))

    def _on_dispensed(self, outcome: Dispensed) -> None:
        results, next_dose, told = outcome
        self.send(flow.DispenseFinished(tuple(r.dropped for r in results), next_dose, told))

    def report_failure(self, exc: BaseException) -> None:
        # The participant sees a plain sentence; the log has the reason, never personal data.
        kind = ErrorKind.OUT_OF_SERVICE if isinstance(exc, DeviceError) else ErrorKind.SEE_STAFF
        level = logging.INFO if isinstance(exc, Refusal) else logging.ERROR
        log.log(level, "interaction failed: %s: %s", type(exc).__name__, exc)
        self.send(flow.Fault(kind))


def _line(dose: PlannedDose) -> DoseLine:
    medication = dose.prescription.medication
    return DoseLine(
        medication.name,
        medication.strength,
        medication.form,
        dose.units,
        prescription_id=dose.prescription.id,
    )
