"""The jam recovery wizard against the real controller driver and the emulator on a pty,
with the real dispense and health services and the encrypted store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

import pytest

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from kiosk.domain import jam_recovery as jr
from kiosk.domain.jam_recovery import JamFailure
from kiosk.domain.model import Prescription, Window
from kiosk.services.clock import FixedClock
from kiosk.services.dispense import DispenseService
from kiosk.services.errors import InvalidInput
from kiosk.services.events import ControllerEvents
from kiosk.services.health import Fault, HealthService
from kiosk.services.jam import JamOutcome, JamRecovery, JamStep
from kiosk.services.staff import StaffService, StaffSession
from kiosk.store import audit, stock_repo
from kiosk.store.repository import Store
from tests.services.doubles import ReadySensor


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[ControllerEmulator]:
    emu = ControllerEmulator(
        lanes=2, unit_seconds=0.01, jam_seconds=0.05, nvram_path=tmp_path / "nvram.json"
    )
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def controller(emulator: ControllerEmulator) -> Iterator[SerialController]:
    driver = SerialController(emulator.port)
    driver.open()
    yield driver
    driver.close()


@dataclass
class Machine:
    store: Store
    clock: FixedClock
    emulator: ControllerEmulator
    dispense: DispenseService
    health: HealthService
    jam: JamRecovery
    worker: StaffSession
    prescription: Prescription


@pytest.fixture
def machine(
    store: Store, clock: FixedClock, emulator: ControllerEmulator, controller: SerialController
) -> Machine:
    now = clock.now()
    worker_id = store.add_staff("Worker", "staff", "no-pin", now, "test")
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 20, now, "test")
    pid = store.add_participant("P-0001", "Alex Example", None, now, "test")
    store.add_prescription(
        pid, med, 2, (Window(time(0), time(23, 59)),), 20, date(2026, 1, 1), None, now, "test"
    )
    events = ControllerEvents(controller)
    dispense = DispenseService(store, controller, clock, events=events)
    health = HealthService(store, ReadySensor(), controller, clock, dispense, events)  # type: ignore[arg-type]
    staff = StaffService(store, clock)
    return Machine(
        store,
        clock,
        emulator,
        dispense,
        health,
        JamRecovery(store, controller, clock, staff, health),
        StaffSession(worker_id, "Worker", "staff", now),
        store.prescriptions(pid)[0],
    )


def jam_lane_one(m: Machine) -> None:
    m.emulator.force_jam(1)
    result = m.dispense.vend(m.prescription.participant_id, m.prescription, 2)
    assert (result.lane, result.dropped, result.outcome) == (1, 0, "jam")
    assert m.store.lanes()[0].state == "jammed"
    assert ("lane_jammed", "lane:1") in [(a[1], a[2]) for a in m.store.open_alerts()]


def jam_actions(store: Store) -> list[str]:
    rows = store.conn.execute(
        "SELECT action FROM audit_log WHERE action LIKE 'jam.%' ORDER BY seq"
    ).fetchall()
    return [r[0] for r in rows]


def test_the_wizard_clears_a_jam_end_to_end_without_a_door_lockout(machine: Machine) -> None:
    m = machine
    jam_lane_one(m)
    # Its only lane jammed: nobody can be served (out of service), but nothing is latched.
    assert m.health.check().faults == {Fault.NO_READY_LANE}
    worker = m.worker

    assert m.jam.begin(worker, 1).step is JamStep.BEGUN
    assert m.health.staff_session
    assert m.jam.unlock_door(worker, 30).step is JamStep.DOOR_UNLOCKED
    assert m.emulator.door_open  # the solenoid released and the door swung open
    report = m.health.check()  # the DOOR event and STATUS (door open) during the wizard
    assert Fault.DOOR_OPENED not in report.faults
    assert m.store.flags() == {}

    m.emulator.clear_jam(1)  # staff take the stuck tablet out
    assert m.jam.lane_cleared(worker).step is JamStep.CLEARED
    counted = m.jam.count(worker, 20)
    assert counted.step is JamStep.COUNTED
    assert counted.count is not None and counted.count.matches
    reset = m.jam.reset_lane(worker)
    assert (reset.step, reset.outcome) == (JamStep.RESET, JamOutcome.OK)
    assert m.store.lanes()[0].state == "ready"
    assert "lane_jammed" not in [a[1] for a in m.store.open_alerts()]

    refused = m.jam.finish(worker)  # the door is still open
    assert (refused.step, refused.outcome) == (JamStep.RESET, JamOutcome.DOOR_OPEN)
    assert m.health.staff_session
    m.emulator.close_door()
    done = m.jam.finish(worker)
    assert (done.step, done.outcome) == (JamStep.IDLE, JamOutcome.OK)
    assert not m.health.staff_session
    assert m.health.check().ok  # nothing latched, then or now
    assert m.store.flags() == {}

    again = m.dispense.vend(m.prescription.participant_id, m.prescription, 2)
    assert (again.lane, again.dropped, again.outcome) == (1, 2, "complete")
    assert jam_actions(m.store) == [
        "jam.begun",
        "jam.door_unlocked",
        "jam.lane_cleared",
        "jam.counted",
        "jam.lane_reset",
        "jam.finish_refused",
        "jam.finished",
    ]
    actors = {
        r[0] for r in m.store.conn.execute("SELECT actor FROM audit_log WHERE action LIKE 'jam.%'")
    }
    assert actors == {worker.actor}
    assert audit.verify_chain(m.store.conn).ok


def test_a_door_event_still_queued_at_finish_does_not_latch_a_lockout(machine: Machine) -> None:
    m = machine
    jam_lane_one(m)
    m.jam.begin(m.worker, 1)
    m.jam.unlock_door(m.worker)  # no health check runs while staff work (backend busy)
    m.emulator.clear_jam(1)
    m.jam.lane_cleared(m.worker)
    m.jam.count(m.worker, 20)
    m.jam.reset_lane(m.worker)
    m.emulator.close_door()
    assert m.jam.finish(m.worker).outcome is JamOutcome.OK
    assert m.health.check().ok
    assert m.store.flags() == {}


def test_a_reset_is_refused_while_the_lane_is_still_blocked(machine: Machine) -> None:
    m = machine
    jam_lane_one(m)
    m.jam.begin(m.worker, 1)
    m.jam.unlock_door(m.worker)
    m.emulator.clear_jam(1)
    m.emulator.block_lane(1, True)  # something is still stuck in it
    m.jam.lane_cleared(m.worker)
    counted = m.jam.count(m.worker, 19)  # one tablet was taken out: the record says 20
    assert counted.count is not None and counted.count.discrepancy_id is not None
    blocked = m.jam.reset_lane(m.worker)
    assert (blocked.step, blocked.outcome) == (JamStep.COUNTED, JamOutcome.STILL_BLOCKED)
    assert m.store.lanes()[0].state == "jammed"
    assert "jam.reset_refused" in jam_actions(m.store)

    m.emulator.block_lane(1, False)  # staff look again and free it
    assert m.jam.reset_lane(m.worker).outcome is JamOutcome.OK
    # Reset, but the count disagreed: it stays out of use until a pharmacist resolves it.
    assert m.store.lanes()[0].state == "discrepancy"
    assert stock_repo.lane_for_participant(m.store, m.prescription.medication.id, 1, 2) is None
    m.emulator.close_door()
    assert m.jam.finish(m.worker).outcome is JamOutcome.OK
    assert m.store.flags() == {}
    # The controller's STATUS (read by health) may say 'ready' again; the open discrepancy
    # still keeps the lane out of use.
    assert m.store.lanes()[0].state in ("discrepancy", "ready")
    assert stock_repo.lane_for_participant(m.store, m.prescription.medication.id, 1, 2) is None


def test_steps_out_of_order_are_refused_and_abort_ends_the_staff_session(machine: Machine) -> None:
    m = machine
    with pytest.raises(InvalidInput) as early:
        m.jam.lane_cleared(m.worker)
    assert early.value.code == "step"
    m.jam.begin(m.worker, 1)
    for wrong in (
        lambda: m.jam.count(m.worker, 5),
        lambda: m.jam.reset_lane(m.worker),
        lambda: m.jam.finish(m.worker),
        lambda: m.jam.begin(m.worker, 1),
    ):
        with pytest.raises(InvalidInput) as out_of_order:
            wrong()
        assert out_of_order.value.code == "step"
    with pytest.raises(InvalidInput) as too_long:
        m.jam.unlock_door(m.worker, 61)
    assert too_long.value.code == "seconds"
    m.jam.unlock_door(m.worker, 5)
    aborted = m.jam.abort(m.worker)  # the door is open: the lockout latches, as it must
    assert (aborted.step, aborted.outcome) == (JamStep.IDLE, JamOutcome.DOOR_OPEN)
    assert not m.health.staff_session
    assert Fault.DOOR_OPENED in m.health.check().faults
    with pytest.raises(InvalidInput):
        m.jam.begin(m.worker, 9)  # no such lane


def test_a_late_tamper_event_does_not_latch_the_machine_again_after_staff_cleared_it(
    machine: Machine,
) -> None:
    """On a loaded machine the controller's TAMPER event can wait in the queue until after
    the STATUS that latched the flag; clearing must not be undone by that old event."""
    from hardware.ports import TamperChanged
    from kiosk.services.health import Fault
    from kiosk.store.pins import hash_pin

    m = machine
    m.store.add_staff("Tech", "technician", hash_pin("735194"), m.clock.now(), "test")
    m.emulator.trip_tamper()
    assert Fault.TAMPER in m.health.check().faults
    m.emulator.clear_tamper()
    m.health._inbox.put(TamperChanged(tripped=True))  # the old event, delivered late
    m.health.confirm_secure("735194")
    assert Fault.TAMPER not in m.health.check().faults
    assert m.store.flags() == {}


def test_the_roles_that_may_clear_a_door_lockout_are_the_sites(machine: Machine) -> None:
    """A night worker's PIN is refused by default and accepted where the site allows staff;
    each refusal names its reason (the screen words it), and STATUS is read every time."""
    from kiosk.domain.door_recovery import LockoutPolicy, SecureRefusal
    from kiosk.domain.permissions import Role
    from kiosk.services.health import NotSecure
    from kiosk.store.pins import hash_pin

    m = machine
    m.store.add_staff("Night", "staff", hash_pin("864209"), m.clock.now(), "test")
    m.emulator.open_door()
    assert Fault.DOOR_OPENED in m.health.check().faults

    def refused(pin: str) -> SecureRefusal:
        with pytest.raises(NotSecure) as caught:
            m.health.confirm_secure(pin)
        return caught.value.reason

    assert refused("864209") is SecureRefusal.PIN_NOT_ACCEPTED  # default: not the staff role
    m.health.lockout = LockoutPolicy((Role.STAFF, Role.ADMIN), "Call 604-555-0100")
    assert refused("864209") is SecureRefusal.DOOR_OPEN  # allowed now, but the door is open
    m.emulator.close_door()
    m.emulator.set_silent(True)
    assert refused("864209") is SecureRefusal.CONTROLLER_SILENT
    m.emulator.set_silent(False)
    m.emulator.trip_tamper()
    assert refused("864209") is SecureRefusal.TAMPER
    m.emulator.clear_tamper()
    staff_id = m.health.confirm_secure("864209")
    assert m.store.flags() == {}
    assert m.health.check().ok
    flag_clear = m.store.conn.execute(
        "SELECT actor FROM audit_log WHERE action = 'machine.flags_cleared'"
    ).fetchall()
    assert flag_clear == [(f"staff:{staff_id}",)]


# ---------------------------------------------------------------- the state machine's effects


class Page:
    """What the staff page does: send an event, carry out the effects, send the answers."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.now = 0.0
        self.state = self._settle(jr.initial())

    def _settle(self, state: jr.JamState) -> jr.JamState:
        while state.effects:
            [effect] = state.effects
            state = jr.step(state, self.m.jam.perform(self.m.worker, effect), self.now)
        return state

    def send(self, event: jr.Event, after: float = 0.0) -> jr.JamState:
        self.now += after
        self.state = self._settle(jr.step(self.state, event, self.now))
        return self.state


def test_the_machine_drives_the_service_from_the_alert_to_done(machine: Machine) -> None:
    m = machine
    jam_lane_one(m)
    page = Page(m)
    assert page.state.lane == 1  # the open jam alert names lane 1
    assert page.state.lane_choice == jr.LaneChoice(
        1, "hydromorphone 8 mg tablet", jr.LaneCondition.JAMMED
    )
    page.send(jr.Start())
    assert page.send(jr.Unlock()).step is jr.RecoveryStep.CLEAR_JAM
    assert page.state.seconds_left == jr.UNLOCK_SECONDS and m.emulator.door_open
    page.send(jr.Tick(), after=31)  # the door was opened in time: clearing goes on
    assert (page.state.step, page.state.failure) == (jr.RecoveryStep.CLEAR_JAM, None)
    page.send(jr.JamCleared())  # ... but nothing was taken out of the lane yet
    page.send(jr.CountEntered(20))
    blocked = page.send(jr.Reset())
    assert (blocked.step, blocked.failure) == (jr.RecoveryStep.CLEAR_JAM, JamFailure.STILL_BLOCKED)
    m.emulator.clear_jam(1)  # staff look again and take one tablet out
    page.send(jr.JamCleared())
    assert page.send(jr.CountEntered(19, 1)).step is jr.RecoveryStep.RESET_LANE
    assert m.store.lanes()[0].stock == 19  # the tablet taken out went back to the pharmacy
    assert page.send(jr.Reset()).step is jr.RecoveryStep.CLOSE_DOOR
    still_open = page.send(jr.DoorClosed())
    assert still_open.failure is JamFailure.DOOR_STILL_OPEN
    m.emulator.close_door()
    done = page.send(jr.DoorClosed())
    assert (done.step, done.ended) == (jr.RecoveryStep.DONE, jr.JamEnd.BACK_IN_SERVICE)
    assert m.store.lanes()[0].state == "ready"
    assert not m.health.staff_session and m.health.check().ok
    assert m.store.flags() == {}
    assert jam_actions(m.store) == [
        "jam.begun",
        "jam.door_unlocked",
        "jam.lane_cleared",
        "jam.counted",
        "jam.reset_refused",
        "jam.lane_cleared",
        "jam.counted",
        "jam.taken_out",
        "jam.lane_reset",
        "jam.finish_refused",
        "jam.finished",
    ]
    kinds = m.store.conn.execute("SELECT kind, units FROM stock_movements ORDER BY id").fetchall()
    assert kinds[-1] == ("return", -1)
    assert m.store.conn.execute("SELECT count(*) FROM discrepancies").fetchone() == (0,)


def test_a_door_left_closed_through_the_countdown_means_unlocking_again(
    machine: Machine,
) -> None:
    m = machine
    jam_lane_one(m)
    page = Page(m)
    page.send(jr.Start())
    page.send(jr.Unlock())
    m.emulator.close_door()  # nobody pulled it: the solenoid locks it again
    page.send(jr.Tick(), after=10)
    assert page.state.seconds_left == 20
    relocked = page.send(jr.Tick(), after=25)
    assert (relocked.step, relocked.failure) == (
        jr.RecoveryStep.UNLOCK_DOOR,
        JamFailure.DOOR_NOT_OPENED,
    )
    m.emulator.set_silent(True)
    silent = page.send(jr.Unlock())
    assert (silent.step, silent.failure) == (
        jr.RecoveryStep.UNLOCK_DOOR,
        JamFailure.CONTROLLER_SILENT,
    )
    m.emulator.set_silent(False)
    assert page.send(jr.Unlock()).step is jr.RecoveryStep.CLEAR_JAM


def test_cancel_waits_for_the_door_to_close_and_leaves_the_lane_jammed(machine: Machine) -> None:
    m = machine
    jam_lane_one(m)
    page = Page(m)
    page.send(jr.Start())
    page.send(jr.Unlock())
    asked = page.send(jr.Cancel())  # the door is open: close it first
    assert (asked.step, asked.failure, asked.cancelling) == (
        jr.RecoveryStep.CLOSE_DOOR,
        JamFailure.DOOR_STILL_OPEN,
        True,
    )
    assert m.health.staff_session  # still working on the open machine: no lockout
    m.emulator.close_door()
    stopped = page.send(jr.DoorClosed())
    assert (stopped.step, stopped.ended) == (jr.RecoveryStep.DONE, jr.JamEnd.STOPPED)
    assert not m.health.staff_session
    assert m.store.lanes()[0].state == "jammed"
    # No lockout (it was closed); its only lane still jammed, nobody can be served.
    assert m.health.check().faults == {Fault.NO_READY_LANE} and m.store.flags() == {}
    assert jam_actions(m.store)[-2:] == ["jam.stop_refused", "jam.cancelled"]
    assert m.jam.step is JamStep.IDLE
