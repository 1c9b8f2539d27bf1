"""Diagnostics for remote support: useful, and free of personal data."""

from __future__ import annotations

import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from hardware.emulators.fingerprint import characteristics_for
from kiosk.app import start_demo
from kiosk.services.diagnostics import write_zip
from kiosk.services.seed import DEMO_ADMIN_PIN, DEMO_PARTICIPANTS


def contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def assert_no_personal_data(parts: dict[str, bytes], data_dir: Path) -> None:
    blob = b"\n".join(parts.values())
    key = (data_dir / "db.key").read_text().strip().encode()
    for person in DEMO_PARTICIPANTS:
        assert person.name.encode() not in blob
        assert person.code.encode() not in blob
        template = characteristics_for(person.finger_key)
        assert template[:32] not in blob
        assert template[:32].hex().encode() not in blob
    assert key not in blob
    assert DEMO_ADMIN_PIN.encode() not in blob


def test_the_zip_has_what_support_needs_and_no_personal_data(tmp_path: Path) -> None:
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    try:
        rows = runtime.health.selftest("staff:1")
        out = write_zip(
            tmp_path / "usb" / "diag.zip",
            runtime.config,
            runtime.store.conn,
            lambda: [{"part": r.part.value, "ok": r.ok, "detail": r.detail} for r in rows],
        )
    finally:
        runtime.close()
    parts = contents(out)
    assert {
        "versions.json",
        "config.toml",
        "logs.txt",
        "database.json",
        "selftest.json",
        "README.txt",
    } <= set(parts)
    assert b'"kiosk": "0.1.0"' in parts["versions.json"]
    assert b'"audit_chain"' in parts["database.json"]
    assert b'"lanes"' in parts["database.json"]
    assert b'"sync"' in parts["database.json"]
    assert b'"part": "controller"' in parts["selftest.json"]
    assert_no_personal_data(parts, tmp_path / "demo")


def test_the_command_writes_it_for_a_data_dir(tmp_path: Path) -> None:
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    runtime.close()
    out = tmp_path / "diag.zip"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "diagnostics",
            "--data-dir",
            str(tmp_path / "demo"),
            "--out",
            str(out),
            "--no-devices",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"diagnostics written to {out}" in result.stdout
    parts = contents(out)
    assert "selftest.json" not in parts  # --no-devices: the running kiosk keeps its ports
    assert_no_personal_data(parts, tmp_path / "demo")


def test_the_zip_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    try:
        out = tmp_path / "usb" / "diag.zip"
        out.parent.mkdir()
        out.write_bytes(b"an older export")
        out.chmod(0o644)
        write_zip(out, runtime.config, runtime.store.conn, None)
    finally:
        runtime.close()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["diag.zip"]  # no temporary left behind
    assert "logs.txt" in contents(out)


def test_codes_and_names_that_reach_a_log_are_scrubbed_from_the_zip(tmp_path: Path) -> None:
    runtime = start_demo(tmp_path / "demo", realistic_timing=False)
    try:
        # A participant whose code the hub chose, in no P-#### shape.
        runtime.store.add_participant("ZX-77", "Quinn Privé", None, runtime.clock.now(), "test")
        logs = tmp_path / "demo" / "logs"
        logs.mkdir(exist_ok=True)
        (logs / "kiosk.log.1").write_text("INFO kiosk.old: scan of P-0001 (Alex) at lane 1\n")
        (logs / "kiosk.log").write_text(
            "INFO kiosk.x: participant 3 (P-0003, Jordan) held by staff 1\n"
            "WARNING kiosk.sync: conflict on zx-77 for Quinn Privé; Quinn called; P-12 unknown\n"
            "INFO kiosk.x: lane 2 jammed; P-12x and XP-12 are not codes; key-P-0004/right\n"
        )
        out = write_zip(tmp_path / "diag.zip", runtime.config, runtime.store.conn, None)
    finally:
        runtime.close()
    parts = contents(out)
    assert parts["logs.txt"].decode().splitlines() == [
        "INFO kiosk.old: scan of [participant] ([name]) at lane 1",
        "INFO kiosk.x: participant 3 ([participant], [name]) held by staff 1",
        "WARNING kiosk.sync: conflict on [participant] for [name]; [name] called; "
        "[participant] unknown",
        "INFO kiosk.x: lane 2 jammed; P-12x and XP-12 are not codes; key-[participant]/right",
    ]
    assert_no_personal_data(parts, tmp_path / "demo")
    for secret in (b"ZX-77", b"Quinn", "Privé".encode()):
        assert secret not in b"\n".join(parts.values())
