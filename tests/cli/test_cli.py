"""The `kiosk` command as an installer runs it: real processes, emulators started by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import __version__
from kiosk.services.clock import FixedClock
from kiosk.store.db import connect, transaction
from kiosk.store.keyfile import create_key_file, read_key_file
from kiosk.store.repository import Store
from kiosk.version import BUILD

PYTHON = sys.executable


def kiosk(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "kiosk", *args], check=False, capture_output=True, text=True, timeout=timeout
    )


class Emulator:
    """An emulator in its own process, as a person starts it: it prints the port to use."""

    def __init__(self, module: str) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "-m", f"hardware.emulators.{module}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        assert line.startswith("PORT "), line
        self.port = line.split(" ", 1)[1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def emulators() -> Iterator[tuple[Emulator, Emulator]]:
    sensor, controller = Emulator("fingerprint"), Emulator("controller")
    yield sensor, controller
    sensor.stop()
    controller.stop()


def test_version() -> None:
    result = kiosk("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"kiosk {__version__} ({BUILD})"


def test_selftest_passes_against_both_emulators(emulators: tuple[Emulator, Emulator]) -> None:
    sensor, controller = emulators
    result = kiosk("selftest", "--sensor-port", sensor.port, "--controller-port", controller.port)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("OK   fingerprint sensor: answers (password=ok, capacity=")
    assert lines[1].startswith("OK   dispenser controller: answers (firmware=")
    report = json.loads(
        kiosk(
            "selftest", "--sensor-port", sensor.port, "--controller-port", controller.port, "--json"
        ).stdout
    )
    assert report["ok"] is True
    assert report["devices"][1]["facts"]["lanes"] == 4


def test_selftest_fails_clearly_and_quickly_when_a_device_is_gone(
    emulators: tuple[Emulator, Emulator],
) -> None:
    sensor, controller = emulators
    controller.stop()
    started = time.monotonic()
    result = kiosk("selftest", "--sensor-port", sensor.port, "--controller-port", controller.port)
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    failing = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1
    assert failing[0].startswith("FAIL dispenser controller:")


def test_selftest_on_a_silent_port_fails_within_ten_seconds(
    emulators: tuple[Emulator, Emulator], tmp_path: Path
) -> None:
    # A pty nobody answers on: the sensor "is there" but says nothing.
    master, slave = os.openpty()
    try:
        started = time.monotonic()
        result = kiosk(
            "selftest",
            "--sensor-port",
            os.ttyname(slave),
            "--controller-port",
            emulators[1].port,
        )
        elapsed = time.monotonic() - started
    finally:
        os.close(master)
        os.close(slave)
    assert elapsed < 10
    assert result.returncode == 1
    assert "FAIL fingerprint sensor:" in result.stdout
    assert "OK   dispenser controller" in result.stdout


def test_db_verify_passes_then_names_the_first_bad_entry(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    key = create_key_file(tmp_path / "db.key")
    conn = connect(tmp_path / "kiosk.db", key)
    store = Store(conn)
    now = FixedClock(datetime(2026, 6, 10, tzinfo=UTC)).now()
    for code in ("P-1", "P-2", "P-3"):
        store.add_participant(code, "Name", None, now, "test")
    conn.close()

    ok = kiosk("db", "verify", "--data-dir", str(tmp_path))
    assert ok.returncode == 0, ok.stdout
    assert "audit chain of 3 entries verified" in ok.stdout

    conn = connect(tmp_path / "kiosk.db", read_key_file(tmp_path / "db.key"))
    with transaction(conn):
        conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
    conn.close()
    broken = kiosk("db", "verify", "--data-dir", str(tmp_path))
    assert broken.returncode == 1
    assert "audit chain broken at entry 2" in broken.stdout


def test_db_verify_refuses_a_wrong_key(tmp_path: Path) -> None:
    key = create_key_file(tmp_path / "db.key")
    connect(tmp_path / "kiosk.db", key).close()
    create_key_file(tmp_path / "other.key")
    result = kiosk(
        "db", "verify", "--data-dir", str(tmp_path), "--key-file", str(tmp_path / "other.key")
    )
    assert result.returncode == 2
    assert "cannot be read with this key" in result.stdout


def test_db_verify_finds_the_key_a_demo_created(tmp_path: Path) -> None:
    from kiosk.app import start_demo

    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    runtime.close()
    result = kiosk("db", "verify", "--data-dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stdout
    assert "integrity ok" in result.stdout


def test_explain_prints_the_decision_and_every_rule(tmp_path: Path) -> None:
    from kiosk.app import start_demo

    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    runtime.close()
    text = kiosk("explain", "--data-dir", str(tmp_path / "demo"), "--participant", "P-0002")
    assert text.returncode == 0, text.stderr
    assert "Refused: this window's dose was already given. Next eligible:" in text.stdout
    assert "✗ A dose was already given in this window." in text.stdout
    later = kiosk(
        "explain",
        "--data-dir",
        str(tmp_path / "demo"),
        "--participant",
        "P-0001",
        "--at",
        "2030-01-01T09:00",
        "--json",
    )
    body = json.loads(later.stdout)
    assert body["participant"] == "P-0001"
    [rx] = body["prescriptions"]
    assert rx["reason"] == "missed_doses"
    assert [c["rule"] for c in rx["checks"]][-1] == "missed_doses"
    missing = kiosk("explain", "--data-dir", str(tmp_path / "demo"), "--participant", "P-9999")
    assert missing.returncode == 2
    assert "no participant P-9999" in missing.stderr
