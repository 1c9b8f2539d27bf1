"""The first-run wizard end to end on the emulators: test buttons, lanes, finish, files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hardware.emulators.controller import ControllerEmulator
from hardware.emulators.fingerprint import FingerprintEmulator
from kiosk.services.clock import FixedClock
from kiosk.services.config import Config, load_config
from kiosk.services.setup import SetupService
from kiosk.services.staff import StaffService
from kiosk.store.db import connect
from kiosk.store.keyfile import read_key_file
from kiosk.store.repository import Store
from kiosk.ui.background import Backend
from kiosk.ui.setup_wizard import SetupWizard

PIN = "602718"


@pytest.fixture
def devices() -> Iterator[tuple[FingerprintEmulator, ControllerEmulator]]:
    sensor, controller = FingerprintEmulator(), ControllerEmulator(lanes=5)
    sensor.start()
    controller.start()
    yield sensor, controller
    sensor.stop()
    controller.stop()


@pytest.fixture
def wizard(
    qtbot: QtBot,
    tmp_path: Path,
    clock: FixedClock,
    devices: tuple[FingerprintEmulator, ControllerEmulator],
) -> Iterator[SetupWizard]:
    backend = Backend()
    service = SetupService(extra_ports=[device.port for device in devices], clock=clock)
    window = SetupWizard(
        service, backend, config_path=tmp_path / "kiosk.toml", data_dir=tmp_path / "data"
    )
    qtbot.addWidget(window)
    window.show()
    yield window
    qtbot.waitUntil(lambda: not backend.busy, timeout=15000)
    backend.shutdown()


def press_next(qtbot: QtBot, wizard: SetupWizard, page: int) -> None:
    wizard.next_button.click()
    qtbot.waitUntil(lambda: wizard.stack.currentIndex() == page)


def test_wizard_sets_up_the_kiosk(
    qtbot: QtBot,
    tmp_path: Path,
    clock: FixedClock,
    wizard: SetupWizard,
    devices: tuple[FingerprintEmulator, ControllerEmulator],
) -> None:
    sensor, controller = devices
    wizard.language_buttons["fr_CA"].click()
    press_next(qtbot, wizard, 1)

    wizard.next_button.click()  # no site name yet
    assert wizard.stack.currentIndex() == 1
    assert wizard.message.text()
    wizard.site_name.setText("Clinique Est")
    press_next(qtbot, wizard, 2)

    wizard.timezone.setEditText("Europe/Nowhere")
    wizard.next_button.click()
    assert wizard.stack.currentIndex() == 2
    wizard.timezone.setCurrentIndex(wizard.timezone.findText("America/Halifax"))
    assert wizard.day_start.value() == 4
    press_next(qtbot, wizard, 3)

    wizard.sensor_row.select(sensor.port)
    wizard.controller_row.select(controller.port)
    wizard.sensor_row.test_button.click()
    wizard.controller_row.test_button.click()
    qtbot.waitUntil(lambda: wizard.sensor_row.result.text().startswith("OK"), timeout=20000)
    qtbot.waitUntil(lambda: wizard.controller_row.result.text().startswith("OK"), timeout=20000)
    press_next(qtbot, wizard, 4)

    qtbot.waitUntil(lambda: "5" in wizard.lanes_note.text(), timeout=20000)
    assert wizard.lane_count.value() == 5
    assert not wizard.lane_count.isEnabled()
    press_next(qtbot, wizard, 5)

    assert wizard.offline_choice.isChecked()
    press_next(qtbot, wizard, 6)

    # The data folder: shown (here the one given on the command line), checked, changeable.
    assert wizard.data_folder.text() == str(tmp_path / "data")
    assert "Free space there" in wizard.data_note.text()
    wizard.data_folder.setText("relative/folder")
    wizard.next_button.click()
    assert wizard.stack.currentIndex() == 6
    assert "starting with /" in wizard.message.text()
    (tmp_path / "a-file").write_text("")
    wizard.data_folder.setText(str(tmp_path / "a-file"))
    wizard.next_button.click()
    assert "is a file" in wizard.message.text()
    wizard.data_folder.setText(str(tmp_path / "kiosk-data"))
    press_next(qtbot, wizard, 7)

    wizard.admin_name.setText("Grace Admin")
    wizard.admin_pin.setText("123456")
    wizard.admin_pin_again.setText("123456")
    wizard.next_button.click()
    assert wizard.stack.currentIndex() == 7
    assert "guess" in wizard.message.text()
    wizard.admin_pin.setText(PIN)
    wizard.admin_pin_again.setText(PIN)
    press_next(qtbot, wizard, 8)
    assert PIN not in wizard.summary.text()
    assert "America/Halifax" in wizard.summary.text()
    assert str(tmp_path / "kiosk-data") in wizard.summary.text()

    # Finished: the next steps, each with its place in the staff panel, before the kiosk starts.
    wizard.finish_button.click()
    qtbot.waitUntil(lambda: wizard.stack.currentWidget() is wizard.next_steps_page, timeout=20000)
    steps = wizard.next_steps.text()
    for where in ("Staff accounts page", "Lanes and stock page", "Participants page", "Sync"):
        assert where in steps
    assert "top-right corner" in steps
    assert str(tmp_path / "kiosk-data" / "db.key") in steps
    assert wizard.continue_button.isVisible() and not wizard.back_button.isEnabled()
    with qtbot.waitSignal(wizard.finished_setup, timeout=5000) as signal:
        wizard.continue_button.click()
    config = signal.args[0]
    assert isinstance(config, Config)
    assert wizard.admin_pin.text() == "" and wizard.admin_pin_again.text() == ""

    assert load_config(tmp_path / "kiosk.toml") == config
    assert (tmp_path / "kiosk.toml").stat().st_mode & 0o777 == 0o600
    assert config.language == "fr_CA"
    assert config.timezone == "America/Halifax"
    assert config.sensor_port == sensor.port
    assert config.controller_port == controller.port
    assert PIN not in (tmp_path / "kiosk.toml").read_text()
    assert config.data_dir == tmp_path / "kiosk-data"
    key_path = tmp_path / "kiosk-data" / "db.key"
    assert key_path.stat().st_mode & 0o777 == 0o600
    conn = connect(config.database_path, read_key_file(key_path), migrate=False)
    try:
        store = Store(conn)
        assert len(store.lanes()) == 5
        assert StaffService(store, clock).login(PIN).name == "Grace Admin"
    finally:
        conn.close()


def test_a_finish_error_is_worded_on_the_page(
    qtbot: QtBot, tmp_path: Path, wizard: SetupWizard
) -> None:
    (tmp_path / "kiosk.toml").write_text("")  # somebody set it up meanwhile
    wizard.site_name.setText("Site")
    wizard.sensor_row.select("/dev/a")
    wizard.controller_row.select("/dev/b")
    wizard.lane_count.setValue(2)
    wizard.admin_name.setText("Admin")
    wizard.admin_pin.setText(PIN)
    wizard.admin_pin_again.setText(PIN)
    wizard.stack.setCurrentIndex(8)
    wizard.finish_button.click()
    qtbot.waitUntil(lambda: "already set up" in wizard.message.text(), timeout=20000)
    assert wizard.finish_button.isEnabled()
