"""First-run setup: check the answers, create the data, write the configuration.

No Qt here: the setup wizard (kiosk/ui/setup_wizard.py) asks, this module does. Nothing a
person types as a secret (a PIN, the enrollment code) nor the database key or hub secret
is ever logged or written to the configuration file.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from kiosk.domain.permissions import Role
from kiosk.domain.text import clean_text
from kiosk.i18n import PARTICIPANT_LOCALES
from kiosk.services.clock import Clock, SystemClock
from kiosk.services.config import (
    Config,
    ConfigError,
    default_config_path,
    validate,
    write_config,
)
from kiosk.services.pin_gate import MIN_PIN_DIGITS
from kiosk.services.selftest import DeviceCheck, bounded, check_controller, check_sensor
from kiosk.store.db import StoreError, connect
from kiosk.store.keyfile import CREDENTIAL_NAME, create_key_file, read_key_file, resolve_key_path
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store

log = logging.getLogger("kiosk.setup")

# A device test never holds the wizard longer than this (the selftest's own bound).
DEVICE_BUDGET_S = 6.0
MAX_LANES = 64
SETUP_ACTOR = "setup"
# The system's data folder: docs/INSTALL.md prepares it, systemd's StateDirectory=kiosk too.
SYSTEM_DATA_DIR = Path("/var/lib/kiosk")
# Free space a new data folder needs: the database's first years, ten rotated logs of 10 MB,
# a diagnostics zip, and the storage guard's own floor ([storage] min_free_mb, 64) on top.
MIN_FREE_MB = 256

# Canadian zones first in the wizard's list (zoneinfo does not say which country a zone is in).
CANADIAN_ZONES = (
    "America/Vancouver",
    "America/Edmonton",
    "America/Regina",
    "America/Winnipeg",
    "America/Toronto",
    "America/Halifax",
    "America/St_Johns",
    "America/Moncton",
    "America/Whitehorse",
    "America/Yellowknife",
    "America/Iqaluit",
    "America/Dawson_Creek",
    "America/Fort_Nelson",
    "America/Creston",
    "America/Swift_Current",
    "America/Glace_Bay",
    "America/Goose_Bay",
    "America/Atikokan",
    "America/Blanc-Sablon",
    "America/Cambridge_Bay",
    "America/Dawson",
    "America/Inuvik",
    "America/Rankin_Inlet",
    "America/Resolute",
)


class SetupError(Exception):
    """An answer cannot be accepted or the setup could not be completed; ``code`` names why
    for the wizard's wording. The message never holds a PIN, code, key or secret."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass
class SetupAnswers:
    language: str = "en"
    site_name: str = ""
    timezone: str = "America/Vancouver"
    day_start_hour: int = 4
    sensor_port: str = ""
    controller_port: str = ""
    lanes: int = 0
    admin_name: str = ""
    admin_pin: str = field(default="", repr=False)
    admin_pin_again: str = field(default="", repr=False)
    hub_url: str = ""  # empty: this kiosk stays offline
    hub_enrollment_code: str = field(default="", repr=False)
    data_dir: Path | None = None  # None: default_data_dir()
    config_path: Path | None = None  # None: default_config_path()

    def forget_secrets(self) -> None:
        self.admin_pin = ""
        self.admin_pin_again = ""
        self.hub_enrollment_code = ""


def timezones() -> list[str]:
    """Every zone zoneinfo knows, the Canadian ones first, the rest sorted."""
    known = available_timezones()
    first = [zone for zone in CANADIAN_ZONES if zone in known]
    rest = sorted(zone for zone in known if zone not in first and "/" in zone)
    return first + rest


# ------------------------------------------------------------------ checks (one per page)


def check_language(language: str) -> None:
    if language not in PARTICIPANT_LOCALES:
        raise SetupError("language", language)


def check_site(site_name: str) -> None:
    if not clean_text(site_name):
        raise SetupError("site_name")


def check_time(timezone: str, day_start_hour: int) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SetupError("timezone", timezone) from exc
    if not 0 <= day_start_hour <= 23:
        raise SetupError("day_start_hour", str(day_start_hour))


def check_ports(sensor_port: str, controller_port: str) -> None:
    if not sensor_port.strip():
        raise SetupError("sensor_port")
    if not controller_port.strip():
        raise SetupError("controller_port")
    if sensor_port.strip() == controller_port.strip():
        raise SetupError("same_port")


def check_lanes(lanes: int) -> None:
    if not 1 <= lanes <= MAX_LANES:
        raise SetupError("lanes", str(lanes))


def check_hub(url: str, code: str) -> None:
    """Both empty (offline) or both given, and the URL acceptable to the configuration."""
    if not url.strip() and not code.strip():
        return
    if not url.strip():
        raise SetupError("hub_url")
    if not code.strip():
        raise SetupError("hub_code")
    try:
        validate(Config(hub_url=url.strip()))
    except ConfigError as exc:
        raise SetupError("hub_url", str(exc)) from exc


def default_data_dir(*, is_root: bool | None = None) -> Path:
    """Where the wizard proposes to keep the data: the system folder when run as root or when
    that folder was prepared for this user (it exists and is writable), else the user's data
    folder (a developer's machine)."""
    root = os.geteuid() == 0 if is_root is None else is_root
    if root or os.access(SYSTEM_DATA_DIR, os.W_OK | os.X_OK):
        return SYSTEM_DATA_DIR
    return Config().data_dir  # the configuration's own default: the user data folder


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or "/")


def check_data_dir(path: Path | str) -> int:
    """The data folder: an absolute path to a folder (existing or to be made) that this user
    can write, on a disk with at least MIN_FREE_MB free, holding no database yet. Returns the
    free space in MB."""
    text = str(path).strip()
    if not text:
        raise SetupError("data_dir")
    folder = Path(text).expanduser()
    if not folder.is_absolute():
        raise SetupError("data_dir", text)
    if folder.exists() and not folder.is_dir():
        raise SetupError("data_dir_file", text)
    existing = _nearest_existing(folder)
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise SetupError("data_dir_writable", str(existing))
    if (folder / "kiosk.db").exists():
        raise SetupError("data_exists", str(folder / "kiosk.db"))
    free_mb = shutil.disk_usage(existing).free // (1024 * 1024)
    if free_mb < MIN_FREE_MB:
        raise SetupError("data_dir_space", f"{free_mb} MB free")
    return int(free_mb)


def check_admin(name: str, pin: str, pin_again: str) -> None:
    """The rules of StaffService._check_new_pin (there is nobody yet to collide with)."""
    if not clean_text(name):
        raise SetupError("admin_name")
    if not (pin.isdigit() and len(pin) >= MIN_PIN_DIGITS):
        raise SetupError("pin_short")
    if len(set(pin)) == 1 or pin in "01234567890" or pin in "98765432109":
        raise SetupError("pin_trivial")
    if pin != pin_again:
        raise SetupError("pin_mismatch")


def check_all(answers: SetupAnswers) -> None:
    check_language(answers.language)
    check_site(answers.site_name)
    check_time(answers.timezone, answers.day_start_hour)
    check_ports(answers.sensor_port, answers.controller_port)
    check_lanes(answers.lanes)
    check_hub(answers.hub_url, answers.hub_enrollment_code)
    check_data_dir(answers.data_dir or default_data_dir())
    check_admin(answers.admin_name, answers.admin_pin, answers.admin_pin_again)


# ------------------------------------------------------------------ the service


@dataclass(frozen=True)
class DeviceResult:
    ok: bool
    message: str  # one line, English from the device layer (the wizard words the verdict)
    facts: dict[str, Any]


def _list_serial_ports() -> list[tuple[str, str]]:
    from serial.tools import list_ports

    return [(port.device, port.description or "") for port in sorted(list_ports.comports())]


class SetupService:
    def __init__(
        self,
        *,
        extra_ports: Iterable[str] = (),
        clock: Clock | None = None,
        sensor_factory: Callable[[str], Any] | None = None,
        controller_factory: Callable[[str], Any] | None = None,
        hub_transport: Any = None,
        device_budget: float = DEVICE_BUDGET_S,
    ) -> None:
        from hardware.controller.driver import SerialController
        from hardware.sensor.driver import ZfmSensor

        self._extra = list(extra_ports)
        self._clock = clock or SystemClock()
        self._sensor_factory = sensor_factory or ZfmSensor
        self._controller_factory = controller_factory or SerialController
        self._hub_transport = hub_transport
        self._budget = device_budget
        # Set by finish(): staff wording of why provisioning with the hub failed, or None.
        self.hub_problem: str | None = None
        # Set by finish(): the database key file made (or the service manager's credential).
        self.key_path: Path | None = None

    # ------------------------------------------------------------ devices

    def ports(self) -> list[tuple[str, str]]:
        """(device path, description) of the serial ports, then the extra candidates."""
        found = _list_serial_ports()
        seen = {device for device, _ in found}
        for extra in self._extra:
            if extra not in seen:
                found.append((extra, ""))
                seen.add(extra)
        return found

    def _run(self, name: str, check: Callable[[], DeviceCheck]) -> DeviceResult:
        outcome = bounded(name, check, self._budget)
        return DeviceResult(outcome.ok, outcome.detail, dict(outcome.facts))

    def test_sensor(self, port: str) -> DeviceResult:
        return self._run("fingerprint sensor", lambda: check_sensor(self._sensor_factory(port)))

    def test_controller(self, port: str) -> DeviceResult:
        return self._run(
            "dispenser controller", lambda: check_controller(self._controller_factory(port))
        )

    def lanes(self, port: str) -> int | None:
        """The lane count the controller reports to PING; None when it does not answer."""

        def ping() -> DeviceCheck:
            controller = self._controller_factory(port)
            controller.open()
            try:
                info = controller.ping()
            finally:
                controller.close()
            return DeviceCheck("dispenser controller", True, "answers", {"lanes": info.lanes})

        result = self._run("dispenser controller", ping)
        lanes = result.facts.get("lanes")
        return int(lanes) if result.ok and isinstance(lanes, int) else None

    # ------------------------------------------------------------ finish

    def finish(self, answers: SetupAnswers) -> Config:
        """Check everything, create the data and the first admin, provision with the hub
        (optional), write the configuration. Raises SetupError; a failed provisioning does
        not: it is kept in ``hub_problem`` and the kiosk is set up offline-ready."""
        self.hub_problem = None
        config_path = answers.config_path or default_config_path()
        if config_path.exists():
            raise SetupError("config_exists", str(config_path))
        check_all(answers)
        data_dir = (answers.data_dir or default_data_dir()).expanduser()
        hub_url = answers.hub_url.strip() or None
        config = Config(
            site_name=clean_text(answers.site_name),
            timezone=answers.timezone,
            day_start_hour=answers.day_start_hour,
            language=answers.language,
            sensor_port=answers.sensor_port.strip(),
            controller_port=answers.controller_port.strip(),
            data_dir=data_dir,
            hub_url=hub_url,
        )
        try:
            validate(config)
        except ConfigError as exc:
            raise SetupError("config", str(exc)) from exc
        if config.database_path.exists():
            raise SetupError("data_exists", str(config.database_path))

        created = self._create_data(config, answers)
        if hub_url:
            self._provision(hub_url, answers.hub_enrollment_code.strip(), data_dir)
        try:
            write_config(config, config_path)
        except OSError as exc:
            raise SetupError("write_config", f"{config_path}: {exc.strerror}") from exc
        log.info(
            "setup finished: %d lanes, config at %s, data in %s", created, config_path, data_dir
        )
        return config

    def _create_data(self, config: Config, answers: SetupAnswers) -> int:
        data_dir = config.data_dir
        made: list[Path] = []
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            key_path = resolve_key_path(data_dir, config.key_file)
            self.key_path = key_path
            given = os.environ.get("CREDENTIALS_DIRECTORY")
            from_service_manager = given is not None and key_path == Path(given) / CREDENTIAL_NAME
            if from_service_manager:
                key = read_key_file(key_path)
            elif key_path.exists():
                raise SetupError("key_exists", str(key_path))
            else:
                key = create_key_file(key_path)
                made.append(key_path)
            database = config.database_path
            made += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            conn = connect(database, key)  # creates it and runs the migrations
            try:
                store = Store(conn)
                now = self._clock.now()
                for lane in range(1, answers.lanes + 1):
                    store.set_lane(lane, None, 0, now, SETUP_ACTOR)
                store.add_staff(
                    clean_text(answers.admin_name),
                    Role.ADMIN.value,
                    hash_pin(answers.admin_pin),
                    now,
                    SETUP_ACTOR,
                )
            finally:
                conn.close()
        except Exception as exc:
            if isinstance(exc, SetupError):
                raise
            # Leave nothing half made: the next run starts the setup again from scratch.
            for path in made:
                path.unlink(missing_ok=True)
            log.error("setup could not create the data: %s", type(exc).__name__)
            detail = str(exc) if isinstance(exc, (OSError, StoreError)) else type(exc).__name__
            raise SetupError("data", detail) from exc
        return answers.lanes

    def _provision(self, url: str, code: str, data_dir: Path) -> None:
        from kiosk.services.sync import HubError, provision
        from kiosk.services.sync.credentials import CredentialsError

        try:
            credentials = provision(url, code, data_dir, transport=self._hub_transport)
        except (HubError, CredentialsError) as exc:
            self.hub_problem = str(exc)
        except (OSError, ValueError) as exc:  # FileExistsError: already provisioned
            self.hub_problem = f"{type(exc).__name__}: {exc}"
        else:
            log.info("setup provisioned this kiosk as hub device %s", credentials.device_id)
            return
        log.warning("setup could not provision with the hub: %s", self.hub_problem)
