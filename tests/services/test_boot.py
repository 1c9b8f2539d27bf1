"""The boot self-test: a damaged audit chain or a latched lockout keeps the kiosk out of
service after a restart, with the reason for staff."""

from __future__ import annotations

import time
from pathlib import Path

from kiosk.app import start_demo
from kiosk.services.health import Fault
from kiosk.store.db import connect, transaction
from kiosk.store.keyfile import read_key_file


def test_a_broken_audit_chain_fails_the_boot_self_test(tmp_path: Path) -> None:
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    assert runtime.health.boot().ok
    runtime.close()
    conn = connect(tmp_path / "demo" / "kiosk.db", read_key_file(tmp_path / "demo" / "db.key"))
    with transaction(conn):
        conn.execute(
            "UPDATE audit_log SET actor = 'someone' WHERE seq = (SELECT max(seq) - 3"
            " FROM audit_log)"
        )
    conn.close()
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    try:
        report = runtime.health.boot()
        assert Fault.DATABASE in report.faults
        assert "audit chain broken" in report.details["database"]
    finally:
        runtime.close()


def test_a_tamper_lockout_survives_a_restart(tmp_path: Path) -> None:
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    runtime.emulators[1].trip_tamper()
    runtime.emulators[1].clear_tamper()  # switched back: still latched until staff confirm
    deadline = time.monotonic() + 5
    while Fault.TAMPER not in runtime.health.check().faults:  # the event comes asynchronously
        assert time.monotonic() < deadline, "the tamper event never arrived"
    runtime.close()
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    try:
        assert Fault.TAMPER in runtime.health.boot().faults
    finally:
        runtime.close()
