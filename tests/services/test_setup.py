"""First-run setup against the emulators: what it creates, what it refuses, what it hides."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hardware.emulators.controller import ControllerEmulator
from hardware.emulators.fingerprint import FingerprintEmulator
from kiosk.services.clock import FixedClock
from kiosk.services.config import Config, load_config
from kiosk.services.setup import (
    SetupAnswers,
    SetupError,
    SetupService,
    check_data_dir,
    default_data_dir,
    timezones,
)
from kiosk.services.staff import StaffService
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file
from kiosk.store.repository import Store

PIN = "482915"
CODE = "ENROLL-SECRET-7731"
SECRET = "5ec2e7" * 8


@pytest.fixture
def devices() -> Iterator[tuple[FingerprintEmulator, ControllerEmulator]]:
    sensor, controller = FingerprintEmulator(), ControllerEmulator(lanes=6)
    sensor.start()
    controller.start()
    yield sensor, controller
    sensor.stop()
    controller.stop()


@pytest.fixture
def silent_port() -> Iterator[str]:
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(slave)
    os.close(master)


def answers_for(
    tmp_path: Path, devices: tuple[FingerprintEmulator, ControllerEmulator]
) -> SetupAnswers:
    sensor, controller = devices
    return SetupAnswers(
        language="fr_CA",
        site_name="Clinique du Nord",
        timezone="America/Toronto",
        day_start_hour=5,
        sensor_port=sensor.port,
        controller_port=controller.port,
        lanes=6,
        admin_name="Ada Admin",
        admin_pin=PIN,
        admin_pin_again=PIN,
        data_dir=tmp_path / "data",
        config_path=tmp_path / "etc" / "kiosk.toml",
    )


def test_timezones_put_canada_first() -> None:
    zones = timezones()
    assert zones[0] == "America/Vancouver"
    assert "America/St_Johns" in zones[:10]
    assert "Europe/Paris" in zones


def test_finish_creates_everything(
    tmp_path: Path, devices: tuple[FingerprintEmulator, ControllerEmulator], clock: FixedClock
) -> None:
    service = SetupService(clock=clock)
    answers = answers_for(tmp_path, devices)
    config = service.finish(answers)
    assert service.hub_problem is None

    assert answers.config_path is not None
    assert load_config(answers.config_path) == config
    assert answers.config_path.stat().st_mode & 0o777 == 0o600
    assert config.site_name == "Clinique du Nord"
    assert config.timezone == "America/Toronto"
    assert config.day_start_hour == 5
    assert config.language == "fr_CA"
    assert config.sensor_port == devices[0].port
    assert config.hub_url is None

    key_path = config.data_dir / "db.key"
    assert key_path.stat().st_mode & 0o777 == 0o600
    key = read_key_file(key_path)
    assert not (config.database_path.read_bytes()[:16]).startswith(b"SQLite format 3")
    conn = connect(config.database_path, key, migrate=False)
    try:
        store = Store(conn)
        lanes = store.lanes()
        assert [lane.lane for lane in lanes] == [1, 2, 3, 4, 5, 6]
        assert all(lane.medication_id is None and lane.stock == 0 for lane in lanes)
        session = StaffService(store, clock).login(PIN)
        assert (session.name, session.role) == ("Ada Admin", "admin")
    finally:
        conn.close()

    text = answers.config_path.read_text()
    assert PIN not in text
    assert key.hex() not in text


def test_finish_refuses_to_overwrite(
    tmp_path: Path, devices: tuple[FingerprintEmulator, ControllerEmulator], clock: FixedClock
) -> None:
    answers = answers_for(tmp_path, devices)
    SetupService(clock=clock).finish(answers)
    with pytest.raises(SetupError) as raised:
        SetupService(clock=clock).finish(answers)
    assert raised.value.code == "config_exists"


def test_failed_provisioning_keeps_the_rest(
    tmp_path: Path, devices: tuple[FingerprintEmulator, ControllerEmulator], clock: FixedClock
) -> None:
    service = SetupService(clock=clock)
    answers = replace(
        answers_for(tmp_path, devices),
        hub_url="http://127.0.0.1:9",  # discard port: nobody answers
        hub_enrollment_code=CODE,
    )
    config = service.finish(answers)
    assert service.hub_problem is not None
    assert CODE not in service.hub_problem
    assert config.hub_url == "http://127.0.0.1:9"
    assert answers.config_path is not None
    text = answers.config_path.read_text()
    assert CODE not in text and PIN not in text
    assert load_config(answers.config_path).hub_enrollment_code is None
    assert not (config.data_dir / "hub-credentials.json").exists()
    assert config.database_path.exists()


def test_successful_provisioning_writes_credentials_0600(
    tmp_path: Path, devices: tuple[FingerprintEmulator, ControllerEmulator], clock: FixedClock
) -> None:
    import httpx

    seen: list[bytes] = []

    def hub(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={"device_id": "dev-42", "secret": SECRET})

    service = SetupService(clock=clock, hub_transport=httpx.MockTransport(hub))
    answers = replace(
        answers_for(tmp_path, devices),
        hub_url="https://hub.example.org",
        hub_enrollment_code=CODE,
    )
    config = service.finish(answers)
    assert service.hub_problem is None
    assert CODE.encode() in seen[0]
    credentials = config.data_dir / "hub-credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert answers.config_path is not None
    text = answers.config_path.read_text()
    assert "hub.example.org" in text
    assert CODE not in text and SECRET not in text and PIN not in text


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"day_start_hour": 24}, "day_start_hour"),
        ({"language": "de"}, "language"),
        ({"sensor_port": ""}, "sensor_port"),
        ({"controller_port": ""}, "controller_port"),
        ({"admin_name": "  "}, "admin_name"),
        ({"admin_pin": "12345", "admin_pin_again": "12345"}, "pin_short"),
        ({"admin_pin": "123456", "admin_pin_again": "123456"}, "pin_trivial"),
        ({"admin_pin": "777777", "admin_pin_again": "777777"}, "pin_trivial"),
        ({"admin_pin_again": "482916"}, "pin_mismatch"),
        ({"lanes": 0}, "lanes"),
        ({"hub_url": "http://hub.example.org", "hub_enrollment_code": CODE}, "hub_url"),
        ({"hub_url": "https://hub.example.org"}, "hub_code"),
    ],
)
def test_bad_answers_are_refused_before_anything_is_made(
    tmp_path: Path,
    devices: tuple[FingerprintEmulator, ControllerEmulator],
    clock: FixedClock,
    change: dict[str, object],
    code: str,
) -> None:
    answers = replace(answers_for(tmp_path, devices), **change)  # type: ignore[arg-type]
    with pytest.raises(SetupError) as raised:
        SetupService(clock=clock).finish(answers)
    assert raised.value.code == code
    assert PIN not in str(raised.value)
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "etc").exists()


def test_device_tests_pass_against_the_emulators(
    devices: tuple[FingerprintEmulator, ControllerEmulator],
) -> None:
    sensor, controller = devices
    service = SetupService(extra_ports=[sensor.port, controller.port])
    listed = [device for device, _ in service.ports()]
    assert sensor.port in listed and controller.port in listed
    result = service.test_sensor(sensor.port)
    assert result.ok, result.message
    assert result.facts["capacity"] == 300
    result = service.test_controller(controller.port)
    assert result.ok, result.message
    assert result.facts["lanes"] == 6
    assert service.lanes(controller.port) == 6


def test_device_tests_fail_in_bounded_time_on_a_silent_port(silent_port: str) -> None:
    service = SetupService(extra_ports=[silent_port])
    for test in (service.test_sensor, service.test_controller):
        started = time.monotonic()
        result = test(silent_port)
        assert not result.ok
        assert time.monotonic() - started < 10
    started = time.monotonic()
    assert service.lanes(silent_port) is None
    assert time.monotonic() - started < 10


def test_device_tests_fail_for_a_missing_port(tmp_path: Path) -> None:
    result = SetupService().test_controller(str(tmp_path / "no-such-port"))
    assert not result.ok
    assert "cannot open" in result.message


def test_the_data_folder_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.services import setup

    assert check_data_dir(tmp_path / "new" / "folder") > 0  # made at finish
    for bad, code in (
        ("", "data_dir"),
        ("relative/path", "data_dir"),
        (str(tmp_path / "file"), "data_dir_file"),
    ):
        (tmp_path / "file").write_text("")
        with pytest.raises(SetupError) as raised:
            check_data_dir(bad)
        assert raised.value.code == code
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "kiosk.db").write_bytes(b"")
    with pytest.raises(SetupError) as raised:
        check_data_dir(tmp_path / "old")
    assert raised.value.code == "data_exists"
    monkeypatch.setattr(setup.os, "access", lambda path, mode: False)
    with pytest.raises(SetupError) as raised:
        check_data_dir(tmp_path / "new")
    assert raised.value.code == "data_dir_writable"
    monkeypatch.undo()
    free = shutil.disk_usage(tmp_path).free
    monkeypatch.setattr(setup, "MIN_FREE_MB", free // (1024 * 1024) + 1)
    with pytest.raises(SetupError) as raised:
        check_data_dir(tmp_path / "new")
    assert raised.value.code == "data_dir_space"


def test_the_default_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.services import setup

    assert default_data_dir(is_root=True) == Path("/var/lib/kiosk")
    # Not root: the system folder when it was prepared for this user (docs/INSTALL.md)...
    monkeypatch.setattr(setup, "SYSTEM_DATA_DIR", tmp_path)
    assert default_data_dir(is_root=False) == tmp_path
    # ...else the user's data folder (a developer's machine).
    monkeypatch.setattr(setup, "SYSTEM_DATA_DIR", tmp_path / "absent")
    assert default_data_dir(is_root=False) == Config().data_dir


def test_finish_refuses_a_data_folder_it_cannot_use(
    tmp_path: Path, devices: tuple[FingerprintEmulator, ControllerEmulator], clock: FixedClock
) -> None:
    answers = replace(answers_for(tmp_path, devices), data_dir=Path("relative"))
    with pytest.raises(SetupError) as raised:
        SetupService(clock=clock).finish(answers)
    assert raised.value.code == "data_dir"
    assert answers.config_path is not None and not answers.config_path.exists()


def test_the_first_admin_can_load_the_lanes_of_a_fresh_kiosk(
    tmp_path: Path, devices: tuple[FingerprintEmulator, ControllerEmulator], clock: FixedClock
) -> None:
    """The only account of a fresh install: it adds a colleague (a restock needs a second
    PIN) and a pharmacist (medications), assigns a lane and restocks it."""
    from kiosk.domain.permissions import Permission
    from kiosk.services.prescriptions import PrescriptionService
    from kiosk.services.stock import StockService

    service = SetupService(clock=clock)
    config = service.finish(answers_for(tmp_path, devices))
    assert service.key_path == config.data_dir / "db.key"
    conn = connect(config.database_path, read_key_file(config.data_dir / "db.key"))
    try:
        store = Store(conn)
        staff = StaffService(store, clock)
        admin = staff.login(PIN)
        assert admin.can(Permission.ASSIGN_LANE) and admin.can(Permission.RESTOCK)
        staff.add(admin, "Paul Pharmacist", "pharmacist", "739164")
        staff.add(admin, "Wanda Worker", "staff", "815273")
        pharmacist = staff.login("739164")
        medication = PrescriptionService(store, clock, staff).add_medication(
            pharmacist, "hydromorphone", "8 mg", "tablet"
        )
        stock = StockService(store, clock, staff)
        stock.assign(admin, 1, medication, None, "first load")
        result = stock.restock(admin, 1, 0, 40, "815273")
        assert result.matches and result.stock == 40
    finally:
        conn.close()
