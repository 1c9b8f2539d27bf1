"""Can the machine serve right now? Device supervision, security lockouts, boot self-test.

Runs on the backend thread (``check`` every second or so). Controller events arrive on the
driver's reader thread and are only queued here; everything that touches the store or a
device happens in ``check``. Device faults clear by themselves when the device answers
again; the service door and tamper latches are kept in the store and cleared only by staff
with the right role, once the machine is closed and the switch is back.
"""

from __future__ import annotations

import enum
import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from hardware.ports import (
    ControllerBooted,
    ControllerError,
    ControllerEvent,
    DeviceState,
    DispenserController,
    DoorChanged,
    FingerprintSensor,
    LaneState,
    SensorError,
    SensorInfo,
    TamperChanged,
)
from kiosk.domain.alerts import AlertKind, parse_alert_kind, subject_number
from kiosk.domain.door_recovery import LockoutPolicy, RemoteAsk, SecureRefusal, default_policy
from kiosk.domain.dosing import clock_is_trusted
from kiosk.domain.model import LaneStatus, PrescriptionStatus
from kiosk.domain.told import NOT_RECORDED, AlertRecord, Told
from kiosk.logsetup import recovers
from kiosk.services.books import RECORDS_MISSING_FLAG, check_books, keep_evidence
from kiosk.services.clock import Clock
from kiosk.services.dispense import DispenseService, OutcomeUnknown
from kiosk.services.errors import Refusal
from kiosk.services.events import ControllerEvents
from kiosk.services.pin_gate import EntryPoint, PinGate, WrongPin
from kiosk.services.storage import STORE_FAILURES, StorageGuard
from kiosk.store import audit, stock_repo
from kiosk.store.db import integrity_check
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.health")

# The audit entries checked at boot; the whole chain is `kiosk db verify`'s job.
BOOT_AUDIT_TAIL = 2000
LANE_STATES = {
    LaneState.READY: LaneStatus.READY,
    LaneState.JAMMED: LaneStatus.JAMMED,
    LaneState.EMPTY: LaneStatus.EMPTY,
    LaneState.MOTOR_FAULT: LaneStatus.FAULT,
}


class Fault(enum.Enum):
    SENSOR = "sensor"
    CONTROLLER = "controller"
    DOOR_OPENED = "door_opened"  # latched
    TAMPER = "tamper"  # latched
    CLOCK = "clock"
    DATABASE = "database"
    CANNOT_RECORD = "cannot_record"  # a write failed; cleared once writes work again
    STORAGE_LOW = "storage_low"  # the data folder is nearly full
    VEND_UNSETTLED = "vend_unsettled"  # a vend's outcome is not recorded yet
    RECORDS_MISSING = "records_missing"  # latched: the books are behind their anchors
    # No lane can serve anyone (jammed, empty, faulty, unassigned): cleared by itself once
    # staff reset, restock or assign a lane.
    NO_READY_LANE = "no_ready_lane"


# Cleared by staff on the kiosk's screen once the machine is closed and secure.
LATCHED = (Fault.DOOR_OPENED, Fault.TAMPER)
# The alert each latched flag raised; resolved when the flag is cleared.
FLAG_ALERTS = {
    Fault.DOOR_OPENED: AlertKind.DOOR,
    Fault.TAMPER: AlertKind.TAMPER,
    Fault.RECORDS_MISSING: AlertKind.RECORDS_MISSING,
}
LATCH_MESSAGES = {
    Fault.DOOR_OPENED: "Service door opened outside a staff session",
    Fault.TAMPER: "Tamper switch tripped",
}
FLAG_OF_ALERT = {kind: fault for fault, kind in FLAG_ALERTS.items()}
# Faults staff are alerted to while they last (resolved once the device answers again).
FAULT_ALERTS = {
    Fault.SENSOR: (
        AlertKind.SENSOR,
        "The fingerprint sensor does not answer: dispensing is stopped until it does.",
    ),
    Fault.CONTROLLER: (
        AlertKind.CONTROLLER,
        "The dispenser controller does not answer: dispensing is stopped until it does.",
    ),
}
# Alerts whose cause is a fault: resolved once the fault is gone.
CLEARS_WITH_FAULT = {
    AlertKind.SENSOR: Fault.SENSOR,
    AlertKind.CONTROLLER: Fault.CONTROLLER,
    AlertKind.CLOCK: Fault.CLOCK,
    AlertKind.CANNOT_RECORD: Fault.CANNOT_RECORD,
}
# Where each device's driver logs (its repeated warnings are summed up on recovery).
DEVICE_LOGGERS = {Fault.SENSOR: "hardware.sensor", Fault.CONTROLLER: "hardware.controller"}
LANE_ALERTS = (AlertKind.LANE_JAMMED, AlertKind.LANE_EMPTY, AlertKind.LANE_FAULT)
# The alerts that tell staff of each fault, so the screen says "staff have been told" only
# when they are in the store. A fault without one (records cannot be written, the data
# folder full, a vend unsettled, a failed database check) is never claimed as told.
TOLD_BY: dict[Fault, tuple[tuple[AlertKind, ...], str | None]] = {
    Fault.SENSOR: ((AlertKind.SENSOR,), "machine"),
    Fault.CONTROLLER: ((AlertKind.CONTROLLER,), "machine"),
    Fault.DOOR_OPENED: ((AlertKind.DOOR,), "machine"),
    Fault.TAMPER: ((AlertKind.TAMPER,), "machine"),
    Fault.CLOCK: ((AlertKind.CLOCK,), "machine"),
    Fault.RECORDS_MISSING: ((AlertKind.RECORDS_MISSING,), None),
    Fault.NO_READY_LANE: (LANE_ALERTS, None),
}


@dataclass(frozen=True)
class HealthReport:
    faults: frozenset[Fault] = frozenset()
    details: dict[str, str] = field(default_factory=dict)
    # What the last STATUS said (None: the controller has not answered), so a prompt such
    # as "close the service door first" is withdrawn once it no longer holds.
    door_open: bool | None = None
    tamper: bool | None = None
    told: Told | None = None  # whether staff's alerts about the faults are in the store
    remote: RemoteAsk = RemoteAsk.NONE  # whether a lockout can be cleared with a remote approval

    @property
    def ok(self) -> bool:
        return not self.faults

    @property
    def needs_staff(self) -> bool:
        return any(f in self.faults for f in LATCHED)


class SelfTestPart(enum.Enum):
    SENSOR = "sensor"
    CONTROLLER = "controller"
    DATABASE = "database"
    CLOCK = "clock"


@dataclass(frozen=True)
class SelfTestRow:
    """One part of the hardware page's self-test: the facts for the panel to word, and
    ``detail`` in English for the diagnostics zip and the log."""

    part: SelfTestPart
    ok: bool
    detail: str
    sensor: SensorInfo | None = None  # the sensor's answer
    firmware: str | None = None  # the controller's answer ...
    door_open: bool | None = None
    lanes: tuple[LaneStatus, ...] = ()


class NotSecure(Refusal):
    """Staff tried to clear a lockout that cannot be cleared yet (or may not): ``reason``
    is PIN_NOT_ACCEPTED (wrong PIN, or a role the site does not allow), DOOR_OPEN, TAMPER or
    CONTROLLER_SILENT."""

    def __init__(self, reason: SecureRefusal, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason


class HealthService:
    def __init__(
        self,
        store: Store,
        sensor: FingerprintSensor,
        controller: DispenserController,
        clock: Clock,
        dispense: DispenseService,
        events: ControllerEvents,
        guard: StorageGuard | None = None,
        lockout: LockoutPolicy | None = None,
    ) -> None:
        self._store = store
        self._guard = guard
        self.lockout = lockout or default_policy()  # who may clear a door or tamper lockout
        self._sensor = sensor
        self._controller = controller
        self._clock = clock
        self._dispense = dispense
        self._inbox: queue.SimpleQueue[ControllerEvent] = queue.SimpleQueue()
        self._faults: set[Fault] = set()
        self._details: dict[str, str] = {}
        self._database_ok = True
        self._reboot_seen = False  # a controller BOOT drained outside check()
        self._alerted: set[Fault] = set()  # device faults staff were alerted to
        self._door_open: bool | None = None  # per the last STATUS
        self._tamper: bool | None = None
        self.staff_session = False  # the admin panel sets it while staff work on the machine
        # Set by kiosk.app when the kiosk syncs with a hub (ApprovalsService.lockout_reach):
        # whether a clinician can approve clearing a lockout from afar (tamper or door).
        self.remote_reach: Callable[[bool], RemoteAsk] | None = None
        events.subscribe(self._inbox.put)

    # ------------------------------------------------------------ reports from elsewhere

    def report_sensor_failure(self, error: SensorError) -> None:
        self._fault(Fault.SENSOR, error.message)

    # ------------------------------------------------------------ the check

    def check(self) -> HealthReport:
        """Drain events, probe what is faulty (and the controller), return the state.

        Never raises: a store that fails here is itself a fault (cannot record)."""
        self._check_storage()
        try:
            self._check_store_and_devices()
            self._keep_alerts()
        except STORE_FAILURES as exc:
            if self._guard is not None:
                self._guard.failed("health check", exc)
            self._fault(Fault.CANNOT_RECORD, str(exc))
        if self._dispense.unsettled:
            self._fault(Fault.VEND_UNSETTLED, "a vend's outcome is not recorded yet")
        else:
            self._clear(Fault.VEND_UNSETTLED)
        if not self._database_ok:
            self._faults.add(Fault.DATABASE)
        return replace(self._report(), told=self._told(), remote=self._remote())

    def _remote(self) -> RemoteAsk:
        if self.remote_reach is None or not any(f in self._faults for f in LATCHED):
            return RemoteAsk.NONE
        try:
            return self.remote_reach(Fault.TAMPER in self._faults)
        except STORE_FAILURES:
            return RemoteAsk.NONE  # the store's own fault is reported elsewhere

    def _report(self) -> HealthReport:
        return HealthReport(
            frozenset(self._faults), dict(self._details), self._door_open, self._tamper
        )

    def _told(self) -> Told | None:
        """Whether every fault has its alert in the store (None: no fault)."""
        if not self._faults:
            return None
        if any(fault not in TOLD_BY for fault in self._faults):
            return Told(AlertRecord.NONE)
        try:
            return self._store.told_about(
                [TOLD_BY[f] for f in sorted(self._faults, key=lambda f: f.value)]
            )
        except STORE_FAILURES:
            return NOT_RECORDED

    def _check_store_and_devices(self) -> None:
        self._recover_store()
        booted = self._drain_events() or self._reboot_seen
        self._reboot_seen = False
        self._check_controller(recover=booted)
        self._check_lanes()
        if Fault.SENSOR in self._faults or self._sensor.state is not DeviceState.READY:
            self._check_sensor()
        now = self._clock.now()
        if clock_is_trusted(now, self._store.latest_recorded_time()):
            self._clear(Fault.CLOCK)
        else:
            self._fault(Fault.CLOCK, "the clock is behind the last recorded event")
        flags = self._store.flags()
        for fault in (*LATCHED, Fault.RECORDS_MISSING):
            if fault.value in flags:
                self._faults.add(fault)
                self._details[fault.value] = flags[fault.value]
            elif fault in self._faults:
                self._clear(fault)  # cleared elsewhere (a CLI acknowledgement)

    def _keep_alerts(self) -> None:
        """Alert staff to a device fault once; resolve every open alert whose cause is gone
        (history is kept: the row stays, with when it was resolved)."""
        now = self._clock.now()
        for fault, (kind, message) in FAULT_ALERTS.items():
            if fault in self._faults and fault not in self._alerted:
                self._store.raise_alert(kind, "machine", message, now)
                self._alerted.add(fault)
            elif fault not in self._faults:
                self._alerted.discard(fault)
        open_alerts = self._store.open_alerts()
        if not open_alerts:
            return
        flags = self._store.flags()
        ready = {lane.lane for lane in self._store.lanes() if lane.state is LaneStatus.READY}
        for _id, kind_text, subject, _message in open_alerts:
            cleared = parse_alert_kind(kind_text)
            if (
                cleared is not None
                and self._cause_cleared(cleared, subject, flags, ready)
                and self._store.resolve_alerts(cleared, subject, now, "cause cleared")
            ):
                log.info("alert %s on %s resolved: its cause has cleared", cleared, subject)

    def _cause_cleared(
        self, kind: AlertKind, subject: str, flags: dict[str, str], ready: set[int]
    ) -> bool:
        if kind in CLEARS_WITH_FAULT:
            return CLEARS_WITH_FAULT[kind] not in self._faults
        if kind in LANE_ALERTS:
            return subject_number(subject, "lane") in ready
        if kind in FLAG_OF_ALERT:
            return FLAG_OF_ALERT[kind].value not in flags
        if kind is AlertKind.NO_LANE:
            medication = subject_number(subject, "medication")
            return medication is not None and self._store.lane_for(medication, 1) is not None
        if kind is AlertKind.MISSED_DOSES:
            prescription = subject_number(subject, "prescription")
            status = None if prescription is None else self._store.prescription_status(prescription)
            return status is not None and status is not PrescriptionStatus.ON_HOLD
        # An incident (a partial dispense, a PIN lockout, a discrepancy, a sync conflict or
        # clock skew) stays until staff acknowledge it or its own service resolves it.
        return False

    def _check_storage(self) -> None:
        if self._guard is None:
            return
        problem = self._guard.free_space_problem()
        if problem:
            self._fault(Fault.STORAGE_LOW, problem)
        else:
            self._clear(Fault.STORAGE_LOW)

    def _recover_store(self) -> None:
        """After a failed write: write again (the alert), then settle open vends."""
        if self._guard is None or not self._guard.failure:
            self._clear(Fault.CANNOT_RECORD)
            return
        self._fault(Fault.CANNOT_RECORD, self._guard.failure)
        if Fault.STORAGE_LOW in self._faults:
            return  # no point trying before there is room
        now = self._clock.now()
        self._store.note(now, "system", "machine.store_recovered", "machine")
        self._store.raise_alert(
            AlertKind.CANNOT_RECORD,
            "machine",
            "Records could not be written (full disk or storage fault); dispensing was "
            "stopped until the store accepted writes again.",
            now,
        )
        self._guard.cleared()
        self._clear(Fault.CANNOT_RECORD)

    def boot(self) -> HealthReport:
        """The boot self-test: database, books, devices, lane states, clock."""
        try:
            problems = integrity_check_quick(self._store)
        except STORE_FAILURES as exc:
            problems = f"the database cannot be read: {exc}"
        if problems:
            self._database_ok = False
            self._details[Fault.DATABASE.value] = problems
            log.error("database check failed at boot: %s", problems)
        else:
            self.check_books()
        self.check()
        self._check_sensor()
        report = self._report()
        log.info(
            "boot self-test: %s", "ok" if report.ok else sorted(f.value for f in report.faults)
        )
        return report

    def check_books(self) -> None:
        """Anchor file and controller log against the store; a gap latches out of service."""
        try:
            report = check_books(self._store, self._controller)
            if report.ok:
                return
            now = self._clock.now()
            keep_evidence(self._store, list(report.unknown_vends), now)
            if self._store.raise_flag(RECORDS_MISSING_FLAG, report.problems[0], now):
                self._store.raise_alert(
                    AlertKind.RECORDS_MISSING,
                    "machine",
                    "Records are missing from this kiosk's database: dispensing is stopped. "
                    "A technician must check and acknowledge (kiosk db acknowledge).",
                    now,
                )
        except STORE_FAILURES as exc:
            if self._guard is not None:
                self._guard.failed("books check", exc)
            return
        for problem in report.problems:
            log.error("books check: %s", problem)

    def _drain_events(self) -> bool:
        booted = False
        while True:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                return booted
            now = self._clock.now()
            if isinstance(event, DoorChanged) and event.door_open and not self.staff_session:
                self._latch(Fault.DOOR_OPENED, "service door opened outside a staff session", now)
            elif isinstance(event, TamperChanged) and event.tripped:
                self._latch(Fault.TAMPER, "tamper switch tripped", now)
            elif isinstance(event, ControllerBooted):
                log.warning("controller restarted (firmware %s)", event.firmware)
                booted = True

    def _latch(self, fault: Fault, detail: str, now: datetime) -> None:
        """Latch the door or tamper lockout (first report only) and alert staff, whether the
        event or a STATUS read saw it first."""
        if not self._store.raise_flag(fault.value, detail, now):
            return
        self._store.raise_alert(
            FLAG_ALERTS[fault],
            "machine",
            f"{LATCH_MESSAGES[fault]}: confirm the machine is secure.",
            now,
        )
        log.warning("%s: dispensing stopped", LATCH_MESSAGES[fault].lower())

    def _check_controller(self, *, recover: bool) -> None:
        try:
            if self._controller.state in (DeviceState.CLOSED, DeviceState.DISCONNECTED):
                self._controller.open()
            status = self._controller.status()
        except ControllerError as exc:
            self._fault(Fault.CONTROLLER, exc.message)
            self._door_open = self._tamper = None
            return
        self._door_open, self._tamper = status.door_open, status.tamper
        was_down = Fault.CONTROLLER in self._faults
        self._clear(Fault.CONTROLLER)
        now = self._clock.now()
        if status.door_open and not self.staff_session:
            self._latch(Fault.DOOR_OPENED, "service door found open", now)
        if status.tamper:
            self._latch(Fault.TAMPER, "tamper switch found tripped", now)
        stored = {lane.lane: lane.state for lane in self._store.lanes()}
        for lane, state in enumerate(status.lanes, start=1):
            if stored.get(lane) is LaneStatus.DISCREPANCY and state is LaneState.READY:
                continue  # a stock discrepancy blocks the lane until a pharmacist resolves it
            if self._store.set_lane_state(lane, LANE_STATES[state], now, "controller"):
                log.info("lane %d is now %s", lane, LANE_STATES[state])
        if recover or was_down or self._dispense.open_intents:
            # After a reboot or an outage the truth of open vends is asked, never guessed.
            try:
                settled = self._dispense.recover()
            except OutcomeUnknown as exc:
                log.warning("open vends not settled yet: %s", exc)
                return
            if settled:
                log.warning("settled %d open vends after the controller came back", len(settled))

    def _check_lanes(self) -> None:
        """Out of service rather than inviting a finger when no lane can serve anyone."""
        if stock_repo.any_lane_can_dispense(self._store):
            self._clear(Fault.NO_READY_LANE)
        else:
            self._fault(Fault.NO_READY_LANE, "every lane is jammed, empty, faulty or unassigned")

    def _check_sensor(self) -> None:
        try:
            self._sensor.info()
        except SensorError as exc:
            self._fault(Fault.SENSOR, exc.message)
            return
        self._clear(Fault.SENSOR)

    def _fault(self, fault: Fault, detail: str) -> None:
        if fault not in self._faults:
            log.error("out of service: %s (%s)", fault.value, detail)
        self._faults.add(fault)
        self._details[fault.value] = detail

    def _clear(self, fault: Fault) -> None:
        if fault in DEVICE_LOGGERS and fault in self._faults:
            log.info("%s answers again", fault.value, extra=recovers(DEVICE_LOGGERS[fault]))
        elif fault in self._faults:
            log.info("%s cleared", fault.value)
        self._faults.discard(fault)
        self._details.pop(fault.value, None)

    def lanes_view(self) -> list[tuple[int, str | None, LaneStatus]]:
        """(lane, medication or None when none is assigned, state). No stock figures:
        restocking starts with a blind count."""
        names = {m.id: f"{m.name} {m.strength}" for m in self._store.medications()}
        return [
            (
                lane.lane,
                names.get(lane.medication_id) if lane.medication_id is not None else None,
                lane.state,
            )
            for lane in self._store.lanes()
        ]

    def selftest(self, actor: str) -> list[SelfTestRow]:
        """The hardware page's self-test: each device, the database, the clock (audited)."""
        rows: list[SelfTestRow] = []
        try:
            info = self._sensor.info()
            detail = (
                f"{info.template_count}/{info.capacity} templates, "
                f"security level {info.security_level}"
            )
            rows.append(SelfTestRow(SelfTestPart.SENSOR, True, detail, sensor=info))
        except SensorError as exc:
            rows.append(SelfTestRow(SelfTestPart.SENSOR, False, exc.message))
        try:
            ping = self._controller.ping()
            status = self._controller.status()
            lanes = tuple(LANE_STATES[s] for s in status.lanes)
            door = "open" if status.door_open else "closed"
            detail = f"firmware {ping.firmware}; door {door}; lanes {', '.join(lanes)}"
            rows.append(
                SelfTestRow(
                    SelfTestPart.CONTROLLER,
                    True,
                    detail,
                    firmware=str(ping.firmware),
                    door_open=status.door_open,
                    lanes=lanes,
                )
            )
        except ControllerError as exc:
            rows.append(SelfTestRow(SelfTestPart.CONTROLLER, False, exc.message))
        problem = integrity_check_quick(self._store)
        rows.append(
            SelfTestRow(
                SelfTestPart.DATABASE, not problem, problem or "integrity and recent audit chain ok"
            )
        )
        trusted = clock_is_trusted(self._clock.now(), self._store.latest_recorded_time())
        rows.append(
            SelfTestRow(
                SelfTestPart.CLOCK, trusted, "trusted" if trusted else "behind the last record"
            )
        )
        self._store.note(
            self._clock.now(),
            actor,
            "machine.selftest",
            "machine",
            {row.part.value: row.ok for row in rows},
        )
        return rows

    # ------------------------------------------------------------ staff

    def confirm_secure(self, pin: str) -> int:
        """Staff of a role the site allows (``lockout.roles``; by default technician,
        pharmacist, admin) confirm the machine is closed and secure. Raises ``NotSecure``, or
        ``PinLocked`` while this PIN entry is locked."""
        staff = self._staff_for(pin)
        if staff is None:
            raise NotSecure(SecureRefusal.PIN_NOT_ACCEPTED)
        self.clear_lockout(f"staff:{staff}")
        log.info("staff %d confirmed the machine secure", staff)
        return staff

    def clear_lockout(self, actor: str) -> None:
        """Lift the door and tamper lockouts once STATUS shows the machine closed: after a PIN
        (``confirm_secure``) or a remote approval (``actor`` then names both people). Raises
        ``NotSecure`` when the door is open, the switch tripped or the controller silent."""
        now = self._clock.now()
        # Door and tamper events queued before the STATUS below are superseded by it: left
        # in the queue, an old "tripped" would latch the machine again right after staff
        # cleared it (seen on a loaded machine, where events wait longer).
        self._reboot_seen = self._drain_events() or self._reboot_seen
        try:
            status = self._controller.status()
        except ControllerError as exc:
            raise NotSecure(SecureRefusal.CONTROLLER_SILENT, exc.message) from exc
        if status.door_open:
            raise NotSecure(SecureRefusal.DOOR_OPEN)
        if status.tamper:
            raise NotSecure(SecureRefusal.TAMPER)
        names: list[str] = [f.value for f in LATCHED if f.value in self._store.flags()]
        alerts = tuple(FLAG_ALERTS[fault] for fault in LATCHED)
        self._store.clear_flags(names, now, actor, alerts)
        for fault in LATCHED:
            self._clear(fault)

    def _staff_for(self, pin: str) -> int | None:
        # The gate keeps its counts in the store, so this gate locks and audits exactly
        # like the one the other PIN entries use.
        gate = PinGate(self._store, self._clock)
        try:
            return gate.check(EntryPoint.CONFIRM_SECURE, pin, roles=self.lockout.roles).staff_id
        except WrongPin:
            return None


def integrity_check_quick(store: Store) -> str:
    """'' when the database and the recent audit chain look right, else the first problem."""
    problems = integrity_check(store.conn, quick=True)
    if problems:
        return problems[0]
    report = audit.verify_chain(store.conn, tail=BOOT_AUDIT_TAIL)
    return "" if report.ok else f"audit chain broken at entry {report.first_bad_seq}"
