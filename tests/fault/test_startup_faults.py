"""Start-up never exits on a fault it can wait out (issue 11, findings 2 and 5).

The real `kiosk run` process, offscreen, against the wire-level emulators. Before these
fixes a silent controller with an open intent made it exit with a traceback after 1.5 s
(a crash loop under Restart=always), and a corrupt page or a missing key did the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hardware.emulators.controller import ControllerEmulator
from hardware.emulators.fingerprint import FingerprintEmulator
from kiosk.services.config import Config, write_config
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file
from kiosk.store.repository import Intent, Store
from tests.fault.harness import KioskProcess, seed

STARTED = 60.0  # generous: a loaded CI machine starts Python and Qt slowly
ALIVE_FOR = 4.0  # the old crash came after 1.5 s


class Machine:
    def __init__(self, workdir: Path) -> None:
        self.sensor = FingerprintEmulator()
        self.controller = ControllerEmulator(
            lanes=2, unit_seconds=0.02, nvram_path=workdir / "nvram.json", stock=100
        )
        self.sensor.start()
        self.controller.start()
        self.data = workdir / "data"
        seed(self.data, self.sensor)
        self.config = workdir / "kiosk.toml"
        write_config(
            Config(
                site_name="faults",
                data_dir=self.data,
                sensor_port=self.sensor.port,
                controller_port=self.controller.port,
            ),
            self.config,
        )
        self.kiosk: KioskProcess | None = None

    def start(self) -> KioskProcess:
        self.kiosk = KioskProcess(self.config)
        return self.kiosk

    def query(self, sql: str) -> list[tuple[object, ...]]:
        conn = connect(self.data / "kiosk.db", read_key_file(self.data / "db.key"))
        try:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
        finally:
            conn.close()

    def stop(self) -> None:
        if self.kiosk is not None:
            self.kiosk.stop()
        self.sensor.stop()
        self.controller.stop()


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    m = Machine(tmp_path)
    yield m
    m.stop()


def stays_up(kiosk: KioskProcess) -> bool:
    deadline = time.monotonic() + ALIVE_FOR
    while time.monotonic() < deadline:
        if kiosk.process.poll() is not None:
            return False
        time.sleep(0.1)
    return True


def open_intent(data: Path) -> int:
    conn = connect(data / "kiosk.db", read_key_file(data / "db.key"))
    store = Store(conn)
    participant = store.participant_by_code("P-SOAK")
    assert participant is not None
    rx = store.prescriptions(participant.id)[0]
    vend_id = store.new_vend_id()
    store.record_intent(Intent(vend_id, participant.id, rx.id, 1, 3, datetime.now(UTC)))
    conn.close()
    return vend_id


@pytest.mark.timeout(180)
def test_a_silent_controller_and_an_open_intent_start_out_of_service_then_settle(
    machine: Machine,
) -> None:
    vend_id = open_intent(machine.data)
    machine.controller.set_silent(True)
    kiosk = machine.start()
    assert kiosk.wait_for("out of service: controller", STARTED)
    assert kiosk.wait_for("kiosk ready", STARTED)
    assert stays_up(kiosk), "the kiosk exited instead of waiting for the controller"
    machine.controller.set_silent(False)
    assert kiosk.wait_for("settled 1 open vends", STARTED)
    assert machine.query(f"SELECT outcome FROM dispense_results WHERE vend_id = {vend_id}") == [
        ("not_started",)
    ]
    assert kiosk.process.poll() is None


@pytest.mark.timeout(180)
def test_a_missing_key_starts_out_of_service_and_comes_back_when_it_returns(
    machine: Machine,
) -> None:
    key = machine.data / "db.key"
    kept = machine.data.parent / "db.key.kept"
    key.rename(kept)
    kiosk = machine.start()
    assert kiosk.wait_for("the database cannot be opened", STARTED)
    assert stays_up(kiosk)
    assert not key.exists(), "a new key must never be made for an existing database"
    kept.rename(key)
    assert kiosk.wait_for("kiosk ready", STARTED), "it did not come back by itself"
    assert kiosk.process.poll() is None


@pytest.mark.timeout(180)
def test_a_wrong_key_starts_out_of_service(machine: Machine) -> None:
    (machine.data / "db.key").write_text("00" * 32 + "\n")
    kiosk = machine.start()
    assert kiosk.wait_for("cannot be read with this key", STARTED)
    assert stays_up(kiosk)


def corrupt_a_page(database: Path) -> None:
    """Flip bytes in the middle of a page that holds records (not the first page)."""
    data = bytearray(database.read_bytes())
    page = 4096
    assert len(data) >= 4 * page
    for offset in range(2 * page + 100, 2 * page + 200):
        data[offset] ^= 0xFF
    database.write_bytes(bytes(data))


@pytest.mark.timeout(180)
def test_a_corrupt_page_starts_out_of_service_not_a_traceback(machine: Machine) -> None:
    corrupt_a_page(machine.data / "kiosk.db")
    kiosk = machine.start()
    assert kiosk.wait_for("database check failed at boot", STARTED)
    assert kiosk.wait_for("kiosk ready", STARTED)
    assert stays_up(kiosk)
    lines = []
    while not kiosk.lines.empty():
        lines.append(kiosk.lines.get())
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
