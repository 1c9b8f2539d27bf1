"""Alerts resolve themselves when their cause clears, and the history keeps them: the real
health, dispense and store services, the real controller driver on the wire-level emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import DeviceState, SensorError, SensorInfo
from kiosk.domain.alerts import AlertKind
from kiosk.domain.model import Prescription, SiteClock, Window
from kiosk.services.clock import FixedClock
from kiosk.services.decide import DecideService
from kiosk.services.dispense import DispenseService
from kiosk.services.events import ControllerEvents
from kiosk.services.health import Fault, HealthService
from kiosk.services.participants import ParticipantService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.services.doubles import controller_on_emulator

PHARMACIST_PIN = "246813"
SITE = SiteClock("America/Vancouver", 4, 3)


class Sensor:
    """A fingerprint sensor that can stop answering."""

    state = DeviceState.READY

    def __init__(self) -> None:
        self.silent = False

    def info(self) -> SensorInfo:
        if self.silent:
            raise SensorError("no answer within 2 s")
        return SensorInfo(200, 3, 0, 128)


@dataclass
class Machine:
    store: Store
    clock: FixedClock
    emulator: ControllerEmulator
    controller: SerialController
    sensor: Sensor
    dispense: DispenseService
    health: HealthService
    pharmacist: StaffSession
    prescription: Prescription


@pytest.fixture
def machine(store: Store, clock: FixedClock, tmp_path: Path) -> Iterator[Machine]:
    now = clock.now()
    staff_id = store.add_staff("Pharmacist", "pharmacist", hash_pin(PHARMACIST_PIN), now, "test")
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 10, now, "test")
    store.set_lane(2, None, 0, now, "test")
    pid = store.add_participant("P-0001", "Alex Example", None, now, "test")
    store.add_prescription(
        pid, med, 2, (Window(time(0), time(23, 59)),), 20, date(2026, 1, 1), None, now, "test"
    )
    with controller_on_emulator(tmp_path / "controller") as (emulator, controller):
        events = ControllerEvents(controller)
        sensor = Sensor()
        dispense = DispenseService(store, controller, clock, events=events)
        health = HealthService(store, sensor, controller, clock, dispense, events)  # type: ignore[arg-type]
        yield Machine(
            store,
            clock,
            emulator,
            controller,
            sensor,
            dispense,
            health,
            StaffSession(staff_id, "Pharmacist", "pharmacist", now),
            store.prescriptions(pid)[0],
        )


def alerts(store: Store) -> list[tuple[str, str, bool, bool]]:
    """(kind, subject, acknowledged, resolved) of every alert, oldest first."""
    rows = store.conn.execute(
        "SELECT kind, subject, acknowledged_at IS NOT NULL, resolved_at IS NOT NULL"
        " FROM alerts ORDER BY id"
    ).fetchall()
    return [(str(k), str(s), bool(a), bool(r)) for k, s, a, r in rows]


def resolved_in_audit(store: Store) -> list[tuple[str, str]]:
    rows = store.conn.execute(
        "SELECT actor, subject FROM audit_log WHERE action = 'alert.resolved' ORDER BY seq"
    ).fetchall()
    return [(str(a), str(s)) for a, s in rows]


def test_a_jammed_lane_alert_resolves_once_the_lane_is_ready_again(machine: Machine) -> None:
    m = machine
    m.emulator.force_jam(1)
    m.dispense.vend(m.prescription.participant_id, m.prescription, 2)
    m.health.check()  # reads the lane states
    assert ("lane_jammed", "lane:1", False, False) in alerts(m.store)
    m.emulator.clear_jam(1)
    m.controller.lane_reset(1)  # a technician resets it at the controller, not in the wizard
    m.health.check()  # STATUS: ready again
    assert m.store.lanes()[0].state == "ready"
    assert ("lane_jammed", "lane:1", False, True) in alerts(m.store)
    # What the participant did not get is an incident: it stays until staff acknowledge it.
    assert [kind for _i, kind, _s, _m in m.store.open_alerts()] == ["partial_dispense"]
    (alert_id,) = m.store.conn.execute("SELECT id FROM alerts WHERE kind = 'lane_jammed'")
    assert resolved_in_audit(m.store) == [("system", f"alert:{alert_id[0]}")]


def test_an_empty_lane_alert_resolves_when_the_lane_is_refilled(machine: Machine) -> None:
    m = machine
    m.emulator.set_stock(1, 1)
    m.dispense.vend(m.prescription.participant_id, m.prescription, 2)
    m.health.check()
    assert ("lane_empty", "lane:1", False, False) in alerts(m.store)
    m.emulator.set_stock(1, 10)  # refilled
    m.health.check()
    assert ("lane_empty", "lane:1", False, True) in alerts(m.store)


def test_device_alerts_open_while_the_device_is_silent_and_resolve_when_it_answers(
    machine: Machine,
) -> None:
    m = machine
    m.sensor.silent = True
    m.health.report_sensor_failure(SensorError("no answer within 2 s"))  # a scan failed
    m.emulator.set_silent(True)
    report = m.health.check()
    assert {Fault.SENSOR, Fault.CONTROLLER} <= report.faults
    m.health.check()  # still silent: no second alert
    assert [(k, r) for k, _s, _a, r in alerts(m.store)] == [
        ("sensor", False),
        ("controller", False),
    ]
    m.sensor.silent = False
    m.emulator.set_silent(False)
    assert m.health.check().ok
    assert [(k, r) for k, _s, _a, r in alerts(m.store)] == [("sensor", True), ("controller", True)]
    # It happens again: a new alert, the old one stays in the history.
    m.sensor.silent = True
    m.health.report_sensor_failure(SensorError("no answer within 2 s"))
    m.health.check()
    assert [(k, r) for k, _s, _a, r in alerts(m.store)] == [
        ("sensor", True),
        ("controller", True),
        ("sensor", False),
    ]


def test_a_clock_alert_resolves_once_the_clock_is_trusted(machine: Machine) -> None:
    m = machine
    m.store.note(m.clock.now() + timedelta(hours=1), "test", "test.later", "x")  # a later record
    assert Fault.CLOCK in m.health.check().faults
    DecideService(m.store, m.clock, SITE).decide(m.prescription.participant_id)  # alerts
    m.health.check()
    assert alerts(m.store)[-1] == ("clock", "machine", False, False)
    m.clock.at += timedelta(hours=1)  # the time is set right
    assert m.health.check().ok
    assert alerts(m.store)[-1] == ("clock", "machine", False, True)


def test_a_no_lane_alert_resolves_when_a_lane_holds_the_medication_again(
    machine: Machine,
) -> None:
    m = machine
    medication = m.prescription.medication.id
    m.store.raise_alert(
        AlertKind.NO_LANE, f"medication:{medication}", "No ready lane.", m.clock.now()
    )
    m.emulator.set_stock(1, 0)
    m.health.check()  # lane 1 is empty: no ready lane holds it
    assert alerts(m.store)[-1] == ("no_lane", f"medication:{medication}", False, False)
    m.emulator.set_stock(1, 10)
    m.health.check()  # the controller says ready; the store still has stock
    assert ("no_lane", f"medication:{medication}", False, True) in alerts(m.store)


def test_a_door_alert_resolves_with_the_lockout_and_a_new_opening_alerts_again(
    machine: Machine,
) -> None:
    m = machine
    m.emulator.open_door()
    m.health.check()  # the DOOR event (or STATUS) latches the lockout
    m.health.check()
    assert ("door", "machine", False, False) in alerts(m.store)
    m.emulator.close_door()
    m.health.confirm_secure(PHARMACIST_PIN)
    assert ("door", "machine", False, True) in alerts(m.store)
    last = m.store.conn.execute("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")
    assert last.fetchone()[0] == "machine.flags_cleared"  # resolved inside that change


def test_a_missed_dose_alert_resolves_when_the_prescription_is_released(
    machine: Machine,
) -> None:
    m = machine
    m.store.hold_prescription(
        m.prescription.id, "needs prescriber review", "missed_doses", m.clock.now(), "system"
    )
    m.store.raise_alert(
        AlertKind.MISSED_DOSES,
        f"prescription:{m.prescription.id}",
        "Prescription on hold after missed doses: needs prescriber review.",
        m.clock.now(),
    )
    m.health.check()
    assert alerts(m.store)[-1][3] is False  # still on hold
    participants = ParticipantService(m.store, m.sensor, m.clock, StaffService(m.store, m.clock))  # type: ignore[arg-type]
    participants.release(m.pharmacist, m.prescription.id, "reviewed with the prescriber")
    m.health.check()
    assert alerts(m.store)[-1] == ("missed_doses", f"prescription:{m.prescription.id}", False, True)
