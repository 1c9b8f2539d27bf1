"""UI fixtures: a kiosk on emulated hardware, and a check that no timer is left running."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from hardware.emulators.controller import ControllerEmulator
from hardware.emulators.fingerprint import FingerprintEmulator
from kiosk.app import Gui, Runtime, assemble_gui, start_demo
from kiosk.services.clock import FixedClock
from kiosk.ui.background import Backend
from kiosk.ui.flow_driver import FlowDriver
from kiosk.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def no_leftover_timers(qapp: object) -> Iterator[None]:
    """Fail a test that leaves a QTimer running (napari's conftest model)."""
    started: list[weakref.ref[QTimer]] = []
    original = QTimer.start

    def tracking_start(self: QTimer, *args: object) -> None:
        started.append(weakref.ref(self))
        original(self, *args)  # type: ignore[arg-type]

    QTimer.start = tracking_start  # type: ignore[method-assign]
    try:
        yield
    finally:
        QTimer.start = original  # type: ignore[method-assign]
    leftover = []
    for ref in started:
        timer = ref()
        try:
            if timer is not None and timer.isActive():
                leftover.append(timer)
        except RuntimeError:  # the C++ object is already gone
            continue
    assert not leftover, f"{len(leftover)} QTimer(s) still running after the test"


@dataclass
class Kiosk:
    runtime: Runtime
    gui: Gui

    @property
    def driver(self) -> FlowDriver:
        return self.gui.driver

    @property
    def window(self) -> MainWindow:
        return self.gui.window

    @property
    def backend(self) -> Backend:
        return self.gui.backend

    @property
    def sensor(self) -> FingerprintEmulator:
        assert self.runtime.demo is not None
        return self.runtime.demo.sensor

    @property
    def controller(self) -> ControllerEmulator:
        assert self.runtime.demo is not None
        return self.runtime.demo.controller


@pytest.fixture
def site_toml() -> str:
    """The demo's kiosk.toml ('': the demo writes its own); a test module overrides it."""
    return ""


@pytest.fixture
def kiosk(qtbot: QtBot, tmp_path: Path, clock: FixedClock, site_toml: str) -> Iterator[Kiosk]:
    if site_toml:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "kiosk.toml").write_text(site_toml, encoding="utf-8")
    runtime = start_demo(
        tmp_path / "data", clock, realistic_timing=False, link_dir=tmp_path / "by-id"
    )
    gui = assemble_gui(runtime, title="test", sound_cues=False)
    qtbot.addWidget(gui.window)
    gui.window.show()
    gui.start()
    yield Kiosk(runtime, gui)
    gui.shutdown()
    runtime.close()
