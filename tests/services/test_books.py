"""The controller's own vend log as a witness of the books (issue 11, finding 4).

A vend the controller executed that the store has no record of means records are missing:
out of service (latched), an alert, the evidence kept, until a technician acknowledges it.
Real driver, wire-level emulator of firmware 1.1 (and 1.0, which keeps no log).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest

from hardware.controller.driver import SerialController
from hardware.emulators.controller import ControllerEmulator
from hardware.ports import ProtocolVersion
from kiosk.cli import main
from kiosk.domain.model import Window
from kiosk.services.books import acknowledge_loss, check_books
from kiosk.services.clock import FixedClock
from kiosk.services.dispense import DispenseService
from kiosk.services.events import ControllerEvents
from kiosk.services.health import Fault, HealthService
from kiosk.store.anchor import anchor_path
from kiosk.store.db import connect
from kiosk.store.repository import Store
from tests.services.doubles import ReadySensor, controller_on_emulator

FOREIGN_VEND = 4_000_000_000  # an id this database never handed out


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[tuple[ControllerEmulator, SerialController]]:
    with controller_on_emulator(tmp_path / "controller") as pair:
        yield pair


@pytest.fixture
def emulator(machine: tuple[ControllerEmulator, SerialController]) -> ControllerEmulator:
    return machine[0]


@pytest.fixture
def controller(machine: tuple[ControllerEmulator, SerialController]) -> SerialController:
    return machine[1]


@pytest.fixture
def store(data: Path, clock: FixedClock) -> Iterator[Store]:
    key = bytes.fromhex((data / "db.key").read_text().strip())
    conn = connect(data / "kiosk.db", key)
    store = Store(conn, anchor=anchor_path(data / "kiosk.db"))
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 10, now, "test")
    pid = store.add_participant("P-1", "Name", None, now, "test")
    store.add_prescription(
        pid, med, 2, (Window(time(6), time(22)),), 4, date(2026, 6, 10), None, now, "test"
    )
    yield store
    conn.close()


def services(
    store: Store, controller: SerialController, clock: FixedClock
) -> tuple[DispenseService, HealthService]:
    events = ControllerEvents(controller)
    dispense = DispenseService(store, controller, clock, events=events)
    health = HealthService(store, ReadySensor(), controller, clock, dispense, events)  # type: ignore[arg-type]
    return dispense, health


def test_vends_the_store_recorded_are_no_problem(
    store: Store, controller: SerialController, clock: FixedClock
) -> None:
    dispense, _health = services(store, controller, clock)
    rx = store.prescriptions(1)[0]
    dispense.vend(rx.participant_id, rx, 2)
    report = check_books(store, controller)
    assert report.ok, report.problems
    assert report.controller_checked


def test_a_vend_the_store_lost_stops_the_kiosk_until_acknowledged(
    store: Store, controller: SerialController, clock: FixedClock
) -> None:
    dispense, health = services(store, controller, clock)
    rx = store.prescriptions(1)[0]
    dispense.vend(rx.participant_id, rx, 2)
    controller.vend(FOREIGN_VEND, 1, 1)  # what a lost record looks like from here

    report = check_books(store, controller)
    assert len(report.problems) == 1
    assert report.problems[0].startswith(
        f"records missing: the controller ran vend {FOREIGN_VEND} (lane 1, 1 asked, "
    )
    boot = health.boot()
    assert Fault.RECORDS_MISSING in boot.faults
    assert not boot.needs_staff  # a door PIN cannot clear this one
    kinds = [kind for _id, kind, _s, _m in store.open_alerts()]
    assert "records_missing" in kinds
    kept = store.conn.execute("SELECT vend_id, lane, units FROM controller_vends").fetchall()
    assert [tuple(row) for row in kept] == [(FOREIGN_VEND, 1, 1)]
    # Latched: another check, or a restart, does not forget it.
    assert Fault.RECORDS_MISSING in health.check().faults

    summary = acknowledge_loss(store, clock.now(), "stock counted, hub checked")
    assert "1 controller vend" in summary
    assert check_books(store, controller).ok
    assert Fault.RECORDS_MISSING not in health.check().faults
    actions = [row[0] for row in store.conn.execute("SELECT action FROM audit_log")]
    assert "books.unrecorded_vend" in actions and "books.loss_acknowledged" in actions


def test_firmware_1_0_keeps_no_log_and_the_anchor_still_counts(
    tmp_path: Path, store: Store, clock: FixedClock
) -> None:
    with controller_on_emulator(tmp_path / "old", ProtocolVersion.V1) as (_emulator, driver):
        driver.vend(FOREIGN_VEND, 1, 1)
        report = check_books(store, driver)
    assert report.ok
    assert not report.controller_checked


def test_db_verify_asks_the_controller_when_given_its_port(
    store: Store,
    emulator: ControllerEmulator,
    controller: SerialController,
    data: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    controller.vend(FOREIGN_VEND, 2, 1)
    controller.close()  # the kiosk is stopped: db verify opens the port itself
    code = main(["db", "verify", "--data-dir", str(data), "--controller-port", emulator.port])
    out = capsys.readouterr().out.strip()
    assert code == 1
    assert out.startswith(f"FAIL records missing: the controller ran vend {FOREIGN_VEND}")


def test_db_acknowledge_needs_a_reason_and_then_clears_the_latch(
    store: Store, data: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    store.raise_flag("records_missing", "records missing: test", clock.now())
    assert main(["db", "acknowledge", "--data-dir", str(data), "--reason", " "]) == 2
    assert main(["db", "acknowledge", "--data-dir", str(data), "--reason", "checked"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("OK   loss acknowledged")
    assert store.flags() == {}
