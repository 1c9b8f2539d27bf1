"""Diagnostics for remote support: useful, and free of personal data."""

from __future__ import annotations

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
            lambda: [{"part": n, "ok": ok, "detail": d} for n, ok, d in rows],
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
