"""Fault injection: the real kiosk process, killed with SIGKILL at random points of
dispense cycles, restarted, and checked after every cut.

The emulators live in this (the harness) process, so they outlive every kiosk they serve,
as the real devices outlive a crashed computer. After each restart the kiosk settles its
open intents with VEND_QUERY; the harness then checks, against what physically happened:

- every vend the controller started has an intent in the database (no unrecorded dispense);
- no vend id was started twice (no double dispense);
- for every vend id the units recorded equal the units that dropped;
- stock in the database and in the machine equals initial stock minus what dropped;
- the audit chain verifies.

`make soak` runs 1,000 cuts and prints the counts; the test suite runs 50.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hardware.emulators.controller import ControllerEmulator
from hardware.emulators.fingerprint import FingerprintEmulator, characteristics_for
from hardware.ports import ProtocolVersion
from kiosk.services.config import Config, write_config
from kiosk.store import audit
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file, read_key_file
from kiosk.store.repository import Store

FINGER = "P-SOAK/right-index"
LANES = (1, 2)
INITIAL_STOCK = 100_000
UNITS_PER_DOSE = 3
READY_TIMEOUT = 30.0
SETTLE_TIMEOUT = 20.0


@dataclass
class Report:
    cuts: int = 0
    cuts_during_vend: int = 0
    controller_power_cuts: int = 0
    vends: int = 0
    units_dropped: int = 0
    units_recorded: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.cuts} cuts ({self.cuts_during_vend} during a vend, "
            f"{self.controller_power_cuts} with a controller power cut too): "
            f"{self.vends} vends, {self.units_dropped} units dropped, "
            f"{self.units_recorded} recorded, {len(self.problems)} problems"
        )


def seed(data_dir: Path, sensor: FingerprintEmulator) -> None:
    """One participant whose prescription allows a dose at every scan, two stocked lanes."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = create_key_file(data_dir / "db.key")
    conn = connect(data_dir / "kiosk.db", key)
    store = Store(conn)
    now = datetime.now(UTC)
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    for lane in LANES:
        store.set_lane(lane, med, INITIAL_STOCK, now, "soak")
    pid = store.add_participant("P-SOAK", "Soak", "en", now, "soak")
    store.add_template(pid, "right-index", 0, characteristics_for(FINGER), now, "soak")
    store.add_prescription(
        pid,
        med,
        UNITS_PER_DOSE,
        (),
        10**6,
        (now - timedelta(days=1)).date(),
        None,
        now,
        "soak",
        interval_minutes=0,
    )
    conn.close()
    sensor.enroll(FINGER, 0)


class KioskProcess:
    """`kiosk run` in its own process, offscreen; its log lines are read on a thread."""

    def __init__(self, config_path: Path) -> None:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "run", "--config", str(config_path), "--windowed"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip())

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if text in self.lines.get(timeout=0.1):
                    return True
            except queue.Empty:
                if self.process.poll() is not None:
                    return False
        return False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def check(data_dir: Path, controller: ControllerEmulator, report: Report) -> None:
    """Compare the database with what physically happened. Waits for open intents."""
    key = read_key_file(data_dir / "db.key")
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        conn = connect(data_dir / "kiosk.db", key, migrate=False)
        open_intents = conn.execute(
            "SELECT count(*) FROM dispense_intents i LEFT JOIN dispense_results r"
            " USING (vend_id) WHERE r.vend_id IS NULL"
        ).fetchone()[0]
        if open_intents == 0 or time.monotonic() > deadline:
            break
        conn.close()
        time.sleep(0.1)
    try:
        if open_intents:
            report.problems.append(f"{open_intents} intents still open after restart")
        recorded = dict(
            conn.execute(
                "SELECT i.vend_id, r.dropped FROM dispense_intents i"
                " JOIN dispense_results r USING (vend_id)"
            ).fetchall()
        )
        intents = {row[0] for row in conn.execute("SELECT vend_id FROM dispense_intents")}
        started = Counter(record.vend_id for record in controller.log)
        for vend_id, count in started.items():
            if count > 1:
                report.problems.append(f"vend {vend_id} started {count} times")
            if vend_id not in intents:
                report.problems.append(f"vend {vend_id} dropped units with no intent recorded")
        for vend_id, dropped in recorded.items():
            physical = controller.dropped_total(vend_id)
            if dropped != physical:
                report.problems.append(f"vend {vend_id}: {dropped} recorded, {physical} dropped")
        physical_total = sum(controller.dropped_total(v) for v in started)
        db_stock = dict(conn.execute("SELECT lane, stock FROM lanes").fetchall())
        for lane in LANES:
            lane_physical = sum(
                controller.dropped_total(r.vend_id) for r in controller.log if r.lane == lane
            )
            expected = INITIAL_STOCK - lane_physical
            if controller.stock(lane) != expected or db_stock[lane] != expected:
                report.problems.append(
                    f"lane {lane}: machine {controller.stock(lane)}, database {db_stock[lane]},"
                    f" expected {expected}"
                )
        chain = audit.verify_chain(conn)
        if not chain.ok:
            report.problems.append(f"audit chain broken at {chain.first_bad_seq}")
        report.vends = len(started)
        report.units_dropped = physical_total
        report.units_recorded = sum(recorded.values())
    finally:
        conn.close()


def run(cuts: int, workdir: Path, seed_value: int = 1, verbose: bool = False) -> Report:
    rng = random.Random(seed_value)
    sensor = FingerprintEmulator()
    controller = ControllerEmulator(
        lanes=len(LANES),
        # Firmware 1.1: every restart also checks the books against the controller's log.
        proto=ProtocolVersion.V1_1,
        unit_seconds=0.12,
        jam_seconds=0.5,
        stock=INITIAL_STOCK,
        nvram_path=workdir / "nvram.json",
        boot_seconds=0.05,
    )
    sensor.start()
    controller.start()
    data_dir = workdir / "data"
    seed(data_dir, sensor)
    config_path = workdir / "kiosk.toml"
    write_config(
        Config(
            site_name="soak",
            data_dir=data_dir,
            sensor_port=sensor.port,
            controller_port=controller.port,
        ),
        config_path,
    )
    report = Report()
    kiosk = KioskProcess(config_path)
    try:
        for cut in range(cuts):
            if not kiosk.wait_for("kiosk ready", READY_TIMEOUT):
                report.problems.append(f"cut {cut}: the kiosk did not start")
                break
            vends_before = len(controller.log)
            sensor.place_finger(FINGER)
            # Anywhere from before the scan to after the last unit of a 3-unit vend.
            time.sleep(rng.uniform(0.0, 0.8))
            kiosk.kill()
            sensor.lift_finger()
            report.cuts += 1
            log = controller.log
            if len(log) > vends_before and log[-1].outcome.value == 0:
                report.cuts_during_vend += 1
            if rng.random() < 0.2:
                controller.power_cut()  # the controller loses power too (nvram must hold)
                report.controller_power_cuts += 1
            kiosk = KioskProcess(config_path)
            if not kiosk.wait_for("kiosk ready", READY_TIMEOUT):
                report.problems.append(f"cut {cut}: the kiosk did not restart")
                break
            kiosk.lines.put("kiosk ready")  # consumed by the next cycle's wait
            check(data_dir, controller, report)
            if verbose and (cut + 1) % 50 == 0:
                print(f"... {report.line()}", flush=True)
            if report.problems:
                break
    finally:
        kiosk.stop()
        sensor.stop()
        controller.stop()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description="SIGKILL the kiosk during dispenses")
    parser.add_argument("--cuts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as tmp:
        started = time.monotonic()
        report = run(args.cuts, Path(tmp), args.seed, verbose=True)
        print(report.line())
        print(f"took {time.monotonic() - started:.0f} s")
        for problem in report.problems:
            print(f"PROBLEM: {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
