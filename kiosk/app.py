"""Composition root: builds the store, devices and services and wires them to the UI."""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from hardware.controller.driver import SerialController
from hardware.ports import DeviceError, DispenserController, FingerprintSensor
from hardware.sensor.driver import ZfmSensor
from kiosk.domain.door_recovery import LockoutPolicy
from kiosk.services.clock import Clock, SystemClock
from kiosk.services.config import Config, load_config, write_config
from kiosk.services.dispense import DispenseService, OutcomeUnknown
from kiosk.services.events import ControllerEvents
from kiosk.services.health import HealthService
from kiosk.services.identify import IdentifyService
from kiosk.services.interaction import InteractionService
from kiosk.services.storage import STORE_FAILURES, StorageGuard
from kiosk.store.anchor import anchor_path
from kiosk.store.db import Connection, DatabaseError, StoreError, connect
from kiosk.store.keyfile import KeyError_, load_or_create_key, resolve_key_path
from kiosk.store.repository import Store

if TYPE_CHECKING:
    from hardware.emulators.controller import ControllerEmulator
    from hardware.emulators.fingerprint import FingerprintEmulator
    from kiosk.services.approvals import ApprovalsService
    from kiosk.services.holds import HoldService
    from kiosk.services.sync.thread import SyncThread
    from kiosk.ui.admin.context import AdminServices
    from kiosk.ui.background import Backend
    from kiosk.ui.flow_driver import FlowDriver
    from kiosk.ui.main_window import MainWindow
    from kiosk.ui.update_watch import UpdateWatch

log = logging.getLogger("kiosk.app")


class StoreUnavailable(Exception):
    """The database cannot be opened: the kiosk starts out of service and retries."""


def open_store(config: Config) -> tuple[Connection, Store]:
    """Open the encrypted store. Raises StoreUnavailable with a sentence for staff."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        key_path = resolve_key_path(config.data_dir, config.key_file)
        if config.database_path.exists() and not key_path.exists():
            # Never make a new key for an existing database: the right one must come back.
            raise StoreUnavailable(f"the database key file {key_path} is missing")
        key = load_or_create_key(key_path)
        conn = connect(config.database_path, key)
    except (KeyError_, StoreError, DatabaseError, OSError) as exc:
        raise StoreUnavailable(str(exc)) from exc
    return conn, Store(conn, anchor=anchor_path(config.database_path))


@dataclass(frozen=True)
class DemoDevices:
    """The wire-level emulators `kiosk demo` (and the tests) run in-process."""

    sensor: FingerprintEmulator
    controller: ControllerEmulator


@dataclass
class Runtime:
    """Everything a running kiosk holds; ``close`` releases it in reverse order."""

    config: Config
    conn: Connection
    store: Store
    sensor: FingerprintSensor
    controller: DispenserController
    clock: Clock
    interaction: InteractionService
    health: HealthService
    demo: DemoDevices | None = None
    sync: SyncThread | None = None  # when [hub] is configured

    @property
    def emulators(self) -> tuple[FingerprintEmulator, ControllerEmulator] | tuple[()]:
        """(sensor, controller) emulators of a demo, else ()."""
        return () if self.demo is None else (self.demo.sensor, self.demo.controller)

    def close(self) -> None:
        if self.sync is not None:
            self.sync.stop()
        for device in (self.sensor, self.controller):
            try:
                device.close()
            except DeviceError as exc:
                log.warning("closing %s", exc)
        if self.demo is not None:
            self.demo.sensor.stop()
            self.demo.controller.stop()
        self.conn.close()


def build_runtime(
    config: Config, clock: Clock | None = None, prepare: Callable[[Store], None] | None = None
) -> Runtime:
    """``prepare`` runs on the store once it is open, before the devices and the boot
    self-test (the demo seeds its data there, so the self-test sees the lanes it serves)."""
    if not config.sensor_port or not config.controller_port:
        raise ValueError("both a sensor port and a controller port are needed")
    clock = clock or SystemClock()
    conn, store = open_store(config)
    if prepare is not None:
        prepare(store)
    sensor = ZfmSensor(config.sensor_port)
    controller = SerialController(config.controller_port)
    for device in (sensor, controller):
        try:
            device.open()
        except DeviceError as exc:
            # The kiosk still starts: its screens say "out of service" until it answers.
            log.error("device not ready at start: %s", exc)
    try:
        # The first exchange is a PING: firmware 1.0 may replay its reply to the last
        # process's SEQ, and only a reply with the wrong TYPE or vend id is known as stale.
        controller.ping()
    except DeviceError as exc:
        log.error("the controller does not answer at start: %s", exc)
    events = ControllerEvents(controller)
    guard = StorageGuard(config.data_dir, config.min_free_mb)
    dispense = DispenseService(store, controller, clock, events=events, guard=guard)
    interaction = InteractionService(
        store,
        clock,
        config.site,
        IdentifyService(store, sensor),
        dispense,
        retry_remainder=config.retry_remainder,
        assisted_id=config.assisted_id,
        reenrol_after=config.reenrol_after,
    )
    lockout = LockoutPolicy(config.door_clear_roles, config.on_call)
    health = HealthService(store, sensor, controller, clock, dispense, events, guard, lockout)
    try:
        settled = dispense.recover()
        if settled:
            log.warning("settled %d vends left open by the last run", len(settled))
    except (DeviceError, OutcomeUnknown) as exc:
        # Out of service until the controller answers; health asks again every second.
        log.error("could not settle open vends yet: %s", exc)
    except STORE_FAILURES as exc:
        guard.failed("start-up", exc)
    health.boot()  # the boot self-test: database, devices, lane states, clock
    runtime = Runtime(config, conn, store, sensor, controller, clock, interaction, health)
    runtime.sync = start_sync(config, clock)
    if runtime.sync is not None:
        # "I need help" goes to the hub at once, and the screen waits for it to get there.
        interaction.help.wake = runtime.sync.sync_now
        interaction.help.hub = True
    return runtime


def start_sync(config: Config, clock: Clock) -> SyncThread | None:
    """Start the sync thread when a hub is configured and the kiosk has credentials or an
    enrollment code (provisioning then happens on the sync thread). None otherwise."""
    from kiosk.services.sync import SyncThread, credentials_path, hub_factory
    from kiosk.services.updates.wiring import after_sync_round
    from kiosk.store.keyfile import read_key_file

    if not config.hub_url:
        return None
    if not credentials_path(config.data_dir).exists() and not config.hub_enrollment_code:
        log.warning("a hub is configured but this kiosk has no credentials nor enrollment code")
        return None
    key = read_key_file(resolve_key_path(config.data_dir, config.key_file))
    database = config.database_path
    thread = SyncThread(
        lambda: connect(database, key, migrate=False),  # its own connection (WAL)
        hub_factory(config.hub_url, config.data_dir, clock, config.hub_enrollment_code),
        clock=clock,
        interval=float(config.hub_interval_seconds),
        after_round=after_sync_round(config, clock),
    )
    thread.start()
    log.info("sync with the hub started")
    return thread


def store_problem(config: Config) -> str:
    """'' when the store opens (then it is closed again), else why not."""
    try:
        conn, _store = open_store(config)
    except StoreUnavailable as exc:
        return str(exc)
    conn.close()
    return ""


def run_store_unavailable(config: Config, reason: str, *, windowed: bool) -> int:
    """Out of service until the store opens; then the kiosk starts afresh (re-exec)."""
    from kiosk.ui import theme
    from kiosk.ui.screen_fit import ScreenFit
    from kiosk.ui.unavailable import StoreUnavailableWindow

    app = theme.application()
    log.error("out of service: the database cannot be opened: %s", reason)
    last = [reason]

    def retry() -> str:
        problem = store_problem(config)
        if problem and problem != last[0]:
            log.error("the database still cannot be opened: %s", problem)
        last[0] = problem
        return problem

    window = StoreUnavailableWindow(reason, retry, contact=config.contact)
    ScreenFit(window, fullscreen=not windowed).show()
    code = int(app.exec())
    if window.recovered:
        log.info("the database opens again: starting the kiosk")
        restart_process()
    return code


def restart_process() -> None:
    """Replace this process with a fresh start of the same command."""
    frozen = getattr(sys, "frozen", False)
    argv = [sys.executable, *sys.argv[1:]] if frozen else list(sys.orig_argv)
    logging.shutdown()
    os.execv(sys.executable, argv)


# ------------------------------------------------------------------ demo mode

# What the demo's screens say about finding staff ([site] staff_location, staff_hours).
DEMO_STAFF_LOCATION = "the front desk"
DEMO_STAFF_HOURS = "every day, 8:00 to 22:00"


def start_demo(
    data_dir: Path | None,
    clock: Clock | None = None,
    *,
    realistic_timing: bool = True,
    link_dir: Path | None = None,
) -> Runtime:
    """Emulators in-process, a seeded encrypted database, the real drivers on ptys.

    With ``realistic_timing`` the emulators take datasheet times (image 0.4 s, search
    0.3 s, one unit 1.0 s) so a person sees each step; tests turn it off.
    """
    from hardware.emulators.controller import ControllerEmulator
    from hardware.emulators.fingerprint import FingerprintEmulator, characteristics_for
    from hardware.ports import ProtocolVersion
    from kiosk.services.seed import seed_demo

    clock = clock or SystemClock()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    timing = (0.4, 0.3, 1.0) if realistic_timing else (0.0, 0.0, 0.02)
    sensor_emu = FingerprintEmulator(
        image_seconds=timing[0],
        search_seconds=timing[1],
        link_path=link_dir / "sensor" if link_dir else None,
    )
    controller_emu = ControllerEmulator(
        lanes=4,
        proto=ProtocolVersion.V1_1,  # firmware 1.1: the boot check reads its vend log
        unit_seconds=timing[2],
        nvram_path=data_dir / "controller-nvram.json",
        link_path=link_dir / "controller" if link_dir else None,
    )
    sensor_emu.start()
    controller_emu.start()
    config = replace(
        Config(
            site_name="Demo site",
            data_dir=data_dir,
            staff_location=DEMO_STAFF_LOCATION,
            staff_hours=DEMO_STAFF_HOURS,
        ),
        sensor_port=sensor_emu.port,
        controller_port=controller_emu.port,
    )
    fresh = not config.database_path.exists()
    if (data_dir / "kiosk.toml").exists():
        config = replace(
            load_config(data_dir / "kiosk.toml"),
            data_dir=data_dir,
            sensor_port=config.sensor_port,
            controller_port=config.controller_port,
        )
    else:
        # Saved beside the data so `kiosk explain --data-dir` reads the same site rules.
        write_config(
            replace(config, sensor_port=None, controller_port=None), data_dir / "kiosk.toml"
        )

    def prepare(store: Store) -> None:
        if fresh:
            seed_demo(store, clock, config.site, characteristics_for)
            log.info("seeded a demo database in %s", data_dir)
        for lane in store.lanes():
            controller_emu.set_stock(lane.lane, lane.stock)  # the emulated lanes hold what we know

    runtime = build_runtime(config, clock, prepare)
    runtime.demo = DemoDevices(sensor_emu, controller_emu)
    reload_sensor(runtime.store, runtime.sensor)
    return runtime


def reload_sensor(store: Store, sensor: FingerprintSensor) -> int:
    """Load every template kept in the store into the sensor (a new or replaced sensor)."""
    from kiosk.services.participants import load_missing_templates

    return load_missing_templates(store, sensor)


# ------------------------------------------------------------------ the GUI


def build_admin_services(runtime: Runtime) -> AdminServices:
    """The use cases behind the staff admin panel."""
    from kiosk.services.diagnostics import DiagnosticsService
    from kiosk.services.holds import HoldService
    from kiosk.services.jam import JamRecovery
    from kiosk.services.logs import LogService
    from kiosk.services.manual_doses import ManualDoseService
    from kiosk.services.participants import ParticipantService
    from kiosk.services.prescriptions import PrescriptionService
    from kiosk.services.reconciliation import ReconciliationService
    from kiosk.services.staff import StaffService
    from kiosk.services.stock import StockService
    from kiosk.services.sync.facade import SyncFacade
    from kiosk.services.updates.facade import SoftwareFacade
    from kiosk.ui.admin.context import AdminServices

    store, clock = runtime.store, runtime.clock
    staff = StaffService(store, clock)
    holds = HoldService(store, clock)
    return AdminServices(
        staff=staff,
        logs=LogService(store, clock, staff),
        prescriptions=PrescriptionService(store, clock, staff),
        health=runtime.health,
        interaction=runtime.interaction,
        holds=holds,
        participants=ParticipantService(store, runtime.sensor, clock, staff),
        stock=StockService(store, clock, staff),
        jam=JamRecovery(store, runtime.controller, clock, staff, runtime.health),
        reconciliation=ReconciliationService(store, clock, staff),
        sync=SyncFacade(store, runtime.sync),
        diagnostics=DiagnosticsService(runtime.config, store.conn, runtime.health, clock),
        approvals=build_approvals(runtime, holds),
        software=SoftwareFacade(runtime.config, store, clock),
        notices=runtime.interaction.notices,
        manual_doses=ManualDoseService(store, clock, staff, site=runtime.interaction.site),
    )


def build_approvals(runtime: Runtime, holds: HoldService) -> ApprovalsService | None:
    """Remote approvals, when the kiosk syncs with a hub (its device id binds the codes)."""
    from kiosk.services.approvals import ApprovalsService, standard_performers
    from kiosk.services.sync.credentials import credentials_path, load_credentials

    if runtime.sync is None:
        return None
    path = credentials_path(runtime.config.data_dir)
    device_id = load_credentials(path).device_id if path.exists() else None
    store, clock = runtime.store, runtime.clock
    performers = standard_performers(store, clock, runtime.health, runtime.controller, holds)
    service = ApprovalsService(
        store, clock, device_id, performers=performers, wake=runtime.sync.sync_now
    )
    # A lockout's "Ask the on-call clinician" is offered only when it can work.
    runtime.health.remote_reach = service.lockout_reach
    return service


@dataclass
class Gui:
    """The kiosk's GUI over a runtime: one backend thread, the flow driver, the main window
    and the staff panel's services. ``kiosk run``/``demo``, ``kiosk smoke`` and the UI tests
    all get theirs from ``assemble_gui``."""

    runtime: Runtime
    backend: Backend
    driver: FlowDriver
    window: MainWindow
    admin: AdminServices

    def start(self) -> None:
        """Start polling the sensor and checking health (show the window first)."""
        self.driver.start()

    def shutdown(self) -> None:
        """Stop the timers and the backend thread; the runtime is the caller's to close."""
        self.window.shutdown()
        self.backend.shutdown()


def assemble_gui(
    runtime: Runtime, *, title: str | None = None, sound_cues: bool | None = None
) -> Gui:
    """Build the GUI for ``runtime`` (a QApplication must exist). ``title`` defaults to the
    site name and ``sound_cues`` to the configuration."""
    from kiosk.ui.background import Backend
    from kiosk.ui.flow_driver import FlowDriver
    from kiosk.ui.main_window import MainWindow
    from kiosk.ui.sound import SoundCues

    config = runtime.config
    backend = Backend()
    driver = FlowDriver(
        runtime.interaction,
        backend,
        config.language,
        runtime.health,
        SoundCues(config.sound_cues if sound_cues is None else sound_cues),
    )
    backend.set_fallback(driver.report_failure)
    admin = build_admin_services(runtime)
    # A witness from afar is asked for on the participant's witness screen (flow_driver.py).
    runtime.interaction.approvals = admin.approvals
    window = MainWindow(
        driver,
        runtime.clock,
        config.site,
        config.site_name if title is None else title,
        admin,
        config.contact,
    )
    return Gui(runtime, backend, driver, window, admin)


def start_update_watch(runtime: Runtime, driver: FlowDriver) -> UpdateWatch | None:
    """Software updates (docs/UPDATES.md): report this start, then confirm health and switch
    at a quiet moment. None when this kiosk does not install updates."""
    from kiosk.services.updates.wiring import make_agent
    from kiosk.store.keyfile import read_key_file
    from kiosk.ui.update_watch import UpdateWatch

    config = runtime.config
    if config.releases_dir is None:
        return None
    # Its own connection (WAL), like the sync thread's: never the backend's.
    key = read_key_file(resolve_key_path(config.data_dir, config.key_file))
    conn = connect(config.database_path, key, migrate=False)
    agent = make_agent(config, Store(conn), runtime.clock)
    assert agent is not None
    agent.at_start()
    watch = UpdateWatch(agent, driver, conn)
    watch.start()
    return watch


def run_gui(runtime: Runtime, *, windowed: bool, demo: bool) -> int:
    from PySide6.QtWidgets import QWidget

    from kiosk.domain import flow
    from kiosk.domain.flow import ErrorKind
    from kiosk.ui import theme

    app = theme.application(keyboard=True)  # palette, style, fonts; the on-screen keyboard
    config = runtime.config
    (config.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    crash_log = (config.data_dir / "logs" / "faulthandler.log").open("a")
    faulthandler.enable(crash_log)  # a hard crash leaves its stacks in the data dir
    gui = assemble_gui(runtime)
    driver, window = gui.driver, gui.window

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        # Never a traceback in front of a participant: log it, show "see staff", go on.
        log.critical("uncaught exception", exc_info=(kind, value, tb))
        driver.send(flow.Fault(ErrorKind.SEE_STAFF))

    sys.excepthook = excepthook
    windows: list[QWidget] = [window]
    if demo and runtime.demo is not None:
        from kiosk.ui.simulator import SimulatorWindow

        simulator = SimulatorWindow(runtime.demo.sensor, runtime.demo.controller)
        simulator.show()
        windows.append(simulator)
    window.show_on_screen(fullscreen=not windowed)
    gui.start()
    watch = start_update_watch(runtime, driver)
    log.info("kiosk ready")
    try:
        return int(app.exec())
    finally:
        if watch is not None:
            watch.stop()
        gui.shutdown()
        runtime.close()
        crash_log.close()
