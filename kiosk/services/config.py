"""The kiosk configuration: one TOML file, read with ``tomllib``, described by one schema.

Each key is declared once, as a field of ``Config`` made by ``setting()`` (or ``optional()``,
``computed()``): its section, name, kind (the TOML type with its range or choices), default and
help. Reading, writing, checking, ``kiosk config keys`` and deploy/kiosk.toml.example all come
from those declarations (``SCHEMA``), so no key can be read but not written, or documented but
not checked. Nothing is coerced: ``"false"`` is not a boolean and ``1.9`` is not an integer.
"""

from __future__ import annotations

import difflib
import json
import textwrap
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from enum import Enum, StrEnum, auto
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import platformdirs

from kiosk.domain.model import SiteClock, SiteContact
from kiosk.domain.permissions import Permission, Role, roles_with
from kiosk.i18n import PARTICIPANT_LOCALES
from kiosk.store.files import write_private

APP_NAME = "dispensing-kiosk"

# What a key holds once read; Path is a TOML string that names a file or folder; a tuple of
# roles is a TOML array of role names.
Value = bool | int | str | Path | tuple[Role, ...]
T = TypeVar("T", bound=Value)
T_co = TypeVar("T_co", bound=Value, covariant=True)


# ------------------------------------------------------------------ problems


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a configuration, worded for the person who edits the file."""

    file: str  # the file as named to the kiosk; "" for a Config built in code
    key: str  # "section.name", a section, or "" for the whole file
    message: str  # what is expected: "expected an integer from 0 to 23"
    got: str = ""  # what was found, when showing it helps: '1.9 (float)'

    def __str__(self) -> str:
        text = f"{self.message}, got {self.got}" if self.got else self.message
        return ": ".join([part for part in (self.file, self.key) if part] + [text])


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason, not just the first."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


# ------------------------------------------------------------------ kinds of value


class Kind(ABC, Generic[T_co]):
    """What a key's TOML value must be: its type and, where it has one, its range or choices."""

    @abstractmethod
    def accept(self, raw: object) -> T_co | None:
        """The value ``raw`` (as tomllib read it) stands for, or None when it is not one."""

    @abstractmethod
    def expected(self) -> str:
        """What is acceptable, for a person: "an integer from 0 to 23"."""


@dataclass(frozen=True)
class Boolean(Kind[bool]):
    def accept(self, raw: object) -> bool | None:
        return raw if isinstance(raw, bool) else None

    def expected(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Integer(Kind[int]):
    low: int
    high: int

    def accept(self, raw: object) -> int | None:
        # type() and not isinstance(): a TOML true is a Python int, and must not pass as 1.
        return raw if type(raw) is int and self.low <= raw <= self.high else None

    def expected(self) -> str:
        return f"an integer from {self.low} to {self.high}"


@dataclass(frozen=True)
class Text(Kind[str]):
    def accept(self, raw: object) -> str | None:
        return raw if isinstance(raw, str) and raw.strip() else None

    def expected(self) -> str:
        return "a non-empty string"


@dataclass(frozen=True)
class ShortText(Kind[str]):
    """One line a participant reads on screen, as written: short enough to fit."""

    max_chars: int

    def accept(self, raw: object) -> str | None:
        if not isinstance(raw, str) or not raw.strip() or len(raw) > self.max_chars:
            return None
        return raw if raw.isprintable() else None  # no line breaks or control characters

    def expected(self) -> str:
        return f"one line of text, at most {self.max_chars} characters"


@dataclass(frozen=True)
class Choice(Kind[str]):
    choices: tuple[str, ...]

    def accept(self, raw: object) -> str | None:
        return raw if isinstance(raw, str) and raw in self.choices else None

    def expected(self) -> str:
        return "one of " + ", ".join(f'"{choice}"' for choice in self.choices)


@dataclass(frozen=True)
class Roles(Kind[tuple[Role, ...]]):
    """A TOML array of distinct role names (kiosk/domain/permissions.py), at least one."""

    def accept(self, raw: object) -> tuple[Role, ...] | None:
        names = {role.value: role for role in Role}
        if not isinstance(raw, list) or not raw:
            return None
        if not all(isinstance(name, str) and name in names for name in raw):
            return None
        if len(set(raw)) != len(raw):
            return None
        return tuple(names[name] for name in raw)

    def expected(self) -> str:
        return "an array of distinct role names from " + ", ".join(
            f'"{role.value}"' for role in Role
        )


@cache
def _known_zones() -> frozenset[str]:
    # "localtime" is the machine's own setting, not a zone: the site's days must not move
    # when someone changes the operating system's clock settings.
    return frozenset(available_timezones() - {"localtime"})


@dataclass(frozen=True)
class TimeZone(Kind[str]):
    def accept(self, raw: object) -> str | None:
        if not isinstance(raw, str) or raw not in _known_zones():
            return None
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return None
        return raw

    def expected(self) -> str:
        return "an IANA time zone such as America/Vancouver"


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class HubUrl(Kind[str]):
    """https only: the hub holds participants' records. Plain http is for a hub on this very
    machine (tests, a local demo), where nothing crosses a network."""

    def accept(self, raw: object) -> str | None:
        if not isinstance(raw, str):
            return None
        parts = urlsplit(raw)
        loopback = parts.hostname in LOOPBACK_HOSTS
        if parts.hostname and (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
            return raw
        return None

    def expected(self) -> str:
        return "an https:// URL, or http:// on loopback only"


@dataclass(frozen=True)
class FilePath(Kind[Path]):
    def accept(self, raw: object) -> Path | None:
        # Path("") is ".", the current folder: an empty string must not quietly mean that.
        return Path(raw) if isinstance(raw, str) and raw.strip() else None

    def expected(self) -> str:
        return "a non-empty path"


# ------------------------------------------------------------------ the schema


class Section(StrEnum):
    SITE = "site"
    DEVICES = "devices"
    STORAGE = "storage"
    DISPENSING = "dispensing"
    HUB = "hub"
    UPDATES = "updates"


class Write(Enum):
    """When ``to_toml`` writes a key (a key that is not set is never written)."""

    ALWAYS = auto()  # so that the file shows it
    CHANGED = auto()  # only when it is not the default
    NEVER = auto()  # a one-time secret: read, never written back


@dataclass(frozen=True)
class Key:
    """One configuration key: where it lives in the file, what it holds, what it is for."""

    section: Section
    name: str
    kind: Kind[Value]
    help: str
    write: Write = Write.ALWAYS
    needed_by_run: bool = False  # `kiosk run` refuses to start without it
    example: Value | None = None  # deploy/kiosk.toml.example shows this instead of the default
    example_commented: bool = False  # ... as a comment: most kiosks leave it out
    default_doc: str = ""  # the default in words, where it depends on the machine
    config_field: str = ""  # the Config field it fills (set from the dataclass)

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"


_KEY = "kiosk.config.key"  # where a Config field's metadata holds its Key


def setting(
    section: Section,
    name: str,
    kind: Kind[T],
    *,
    default: T,
    help: str,
    write: Write = Write.ALWAYS,
    example: T | None = None,
) -> T:
    """A key with a default (``example``: what deploy/kiosk.toml.example shows instead)."""
    key = Key(section, name, kind, help, write, example=example)
    return field(default=default, metadata={_KEY: key})


def optional(
    section: Section,
    name: str,
    kind: Kind[T],
    *,
    help: str,
    example: T,
    example_commented: bool = False,
    write: Write = Write.ALWAYS,
    needed_by_run: bool = False,
) -> T | None:
    """A key that may be left out (None); it needs an example for the example file."""
    key = Key(section, name, kind, help, write, needed_by_run, example, example_commented)
    return field(default=None, metadata={_KEY: key})


def computed(
    section: Section,
    name: str,
    kind: Kind[T],
    *,
    factory: Callable[[], T],
    default_doc: str,
    help: str,
    example: T,
) -> T:
    """A key whose default depends on the machine (``default_doc`` says it in words)."""
    key = Key(section, name, kind, help, example=example, default_doc=default_doc)
    return field(default_factory=factory, metadata={_KEY: key})


# Site text on the participant screens: one line that fits at the kiosk's type size.
SITE_TEXT_CHARS = 60


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


@dataclass(frozen=True)
class Config:
    site_name: str = setting(
        Section.SITE,
        "name",
        Text(),
        default="Dispensing kiosk",
        help="The site's name, as staff see it.",
        example="Example housing site",
    )
    timezone: str = setting(
        Section.SITE,
        "timezone",
        TimeZone(),
        default="America/Vancouver",
        help="The site's time zone: dosing days and windows are in local time.",
    )
    day_start_hour: int = setting(
        Section.SITE,
        "day_start_hour",
        Integer(0, 23),
        default=4,
        help="The local hour a dosing day starts: with 4, a 02:00 pickup belongs to the "
        "previous dosing day.",
    )
    missed_dose_days: int = setting(
        Section.SITE,
        "missed_dose_days",
        Integer(1, 60),
        default=3,
        help="Dosing days without a pickup before a participant is held for review.",
    )
    language: str = setting(
        Section.SITE,
        "language",
        Choice(PARTICIPANT_LOCALES),
        default="en",
        help="The language the screens start in (participants can pick another on the idle "
        "screen).",
    )
    sound_cues: bool = setting(
        Section.SITE,
        "sound_cues",
        Boolean(),
        default=False,
        help="A gentle sound on a successful dose and on a refusal.",
    )
    door_clear_roles: tuple[Role, ...] = setting(
        Section.SITE,
        "door_clear_roles",
        Roles(),
        default=tuple(Role(name) for name in roles_with(Permission.CONFIRM_SECURE)),
        help="The staff roles whose PIN clears a service-door or tamper lockout on the "
        'out-of-service screen (once the machine is closed). Add "staff" where night '
        "workers must be able to put the kiosk back in service alone.",
    )
    on_call: str | None = optional(
        Section.SITE,
        "on_call",
        Text(),
        help="Who to call when nobody on site may clear a lockout, shown with the refusal on "
        "the out-of-service screen (the site's own words and language).",
        example="Call the on-call nurse: 604-555-0100",
    )
    # Shown, as written, on the screens that send a participant to staff.
    staff_location: str | None = optional(
        Section.SITE,
        "staff_location",
        ShortText(SITE_TEXT_CHARS),
        help="Where participants find staff, in the site's own words, shown as written on "
        'every screen that sends them to staff ("Where to find staff: ...").',
        example="the front desk, ground floor",
    )
    staff_hours: str | None = optional(
        Section.SITE,
        "staff_hours",
        ShortText(SITE_TEXT_CHARS),
        help="When staff are there, in the site's own words, shown as written beside "
        'staff_location ("Staff hours: ...").',
        example="every day, 8:00 to 22:00",
    )
    sensor_port: str | None = optional(
        Section.DEVICES,
        "sensor_port",
        Text(),
        help="The fingerprint sensor's serial port (stable names come from "
        "deploy/99-kiosk-serial.rules); --sensor-port overrides it.",
        example="/dev/kiosk-sensor",
        needed_by_run=True,
    )
    controller_port: str | None = optional(
        Section.DEVICES,
        "controller_port",
        Text(),
        help="The dispenser controller's serial port; --controller-port overrides it.",
        example="/dev/kiosk-controller",
        needed_by_run=True,
    )
    data_dir: Path = computed(
        Section.STORAGE,
        "data_dir",
        FilePath(),
        factory=_default_data_dir,
        default_doc=f"the user data folder, e.g. ~/.local/share/{APP_NAME}",
        help="The folder of the database, its logs and the hub credentials.",
        example=Path("/var/lib/kiosk"),
    )
    key_file: Path | None = optional(
        Section.STORAGE,
        "key_file",
        FilePath(),
        help="The database key. When left out: systemd's $CREDENTIALS_DIRECTORY/db-key when "
        "present, else <data_dir>/db.key (created 0600 on the first run).",
        example=Path("/etc/kiosk/db.key"),
        example_commented=True,
    )
    min_free_mb: int = setting(
        Section.STORAGE,
        "min_free_mb",
        Integer(1, 100_000),
        default=64,
        help="Free space (MB) the data folder must have for a vend to start: a dose is never "
        "begun that could not be recorded.",
    )
    log_max_mb: int = setting(
        Section.STORAGE,
        "log_max_mb",
        Integer(1, 1000),
        default=10,
        help="The size (MB) a log file reaches before it is rotated.",
    )
    log_files: int = setting(
        Section.STORAGE,
        "log_files",
        Integer(1, 100),
        default=5,
        help="How many rotated log files are kept.",
    )
    assisted_id: bool = setting(
        Section.SITE,
        "assisted_id",
        Boolean(),
        default=True,
        help="Staff may identify a participant whose finger will not read (staff PIN, the "
        "participant's code, their picture confirmed on screen). A hub setting "
        "assisted_id overrides this.",
    )
    reenrol_after: int = setting(
        Section.SITE,
        "reenrol_after",
        Integer(1, 50),
        default=3,
        help="Staff-assisted identifications of one participant within 7 days above which "
        "staff are alerted that it is time to re-enrol a finger.",
    )
    retry_remainder: bool = setting(
        Section.DISPENSING,
        "retry_remainder",
        Boolean(),
        default=False,
        help="Give the rest of a jammed dose from another lane with the same medication "
        "(the rules permitting).",
    )
    # [hub] (docs/SYNC.md): no url, no sync.
    hub_url: str | None = optional(
        Section.HUB,
        "url",
        HubUrl(),
        help="The sync hub (docs/SYNC.md). Left out: this kiosk works offline, no sync.",
        example="https://hub.example.org",
    )
    hub_enrollment_code: str | None = optional(
        Section.HUB,
        "enrollment_code",
        Text(),
        help="The hub's one-time code, for the first start only: it provisions "
        "<data_dir>/hub-credentials.json, works once and is never written back.",
        example="ABCD-EFGH-JKLM",
        example_commented=True,
        write=Write.NEVER,
    )
    hub_interval_seconds: int = setting(
        Section.HUB,
        "interval_seconds",
        Integer(5, 86400),
        default=60,
        help="Seconds between two syncs with the hub.",
        # Without a url the [hub] section means nothing: do not write one for the interval.
        write=Write.CHANGED,
    )

    # [updates] (docs/UPDATES.md): no releases_dir, no software updates.
    releases_dir: Path | None = optional(
        Section.UPDATES,
        "releases_dir",
        FilePath(),
        help="The folder of installed releases that deploy/kiosk-launcher runs from "
        "(its `current` link). Left out: this kiosk does not install updates.",
        example=Path("/opt/kiosk/releases"),
        example_commented=True,
    )
    update_kib_per_second: int = setting(
        Section.UPDATES,
        "download_kib_per_second",
        Integer(0, 1_000_000),
        default=0,
        help="Bandwidth cap (KiB/s) of update downloads, so a cellular link stays free for "
        "sync; 0: no cap.",
        write=Write.CHANGED,
    )
    update_health_seconds: int = setting(
        Section.UPDATES,
        "health_seconds",
        Integer(30, 3600),
        default=180,
        help="Seconds a new version has to reach healthy idle after a switch; past them the "
        "launcher goes back to the previous version.",
        write=Write.CHANGED,
    )
    update_max_starts: int = setting(
        Section.UPDATES,
        "max_starts",
        Integer(1, 10),
        default=3,
        help="Starts a new version may take without reaching healthy idle before the launcher "
        "goes back to the previous version.",
        write=Write.CHANGED,
    )

    @property
    def site(self) -> SiteClock:
        return SiteClock(self.timezone, self.day_start_hour, self.missed_dose_days)

    @property
    def contact(self) -> SiteContact:
        return SiteContact(self.staff_location, self.staff_hours, self.on_call)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kiosk.db"


def _schema() -> tuple[Key, ...]:
    keys = []
    for config_field in fields(Config):
        key = config_field.metadata[_KEY]
        assert isinstance(key, Key), config_field.name
        keys.append(replace(key, config_field=config_field.name))
    # Section by section, in the order of Section (the order of the file and of the docs).
    return tuple(sorted(keys, key=lambda key: list(Section).index(key.section)))


SCHEMA: tuple[Key, ...] = _schema()
_BY_NAME = {(key.section, key.name): key for key in SCHEMA}

# Config(**values) with values of the Value union: the kinds have checked each value's type,
# which mypy cannot follow through a dict.
_build_config: Callable[..., Config] = Config


def keys_of(section: Section) -> tuple[Key, ...]:
    return tuple(key for key in SCHEMA if key.section == section)


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "kiosk.toml"


# ------------------------------------------------------------------ reading


_TOML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (dict, "table"),
    (list, "array"),
    (datetime, "datetime"),  # before date: a datetime is a date
    (date, "date"),
    (time, "time"),
)
_SHOWN_CHARS = 60


def _toml_type(raw: object) -> str:
    return next((name for kind, name in _TOML_TYPES if isinstance(raw, kind)), "value")


def _shown(raw: object) -> str:
    """What was found, short: '1.9 (float)', '"false" (string)', 'a table'."""
    if isinstance(raw, list) and raw and all(isinstance(i, (bool, int, str)) for i in raw):
        text = "[" + ", ".join(_literal(item) for item in raw) + "]"  # an array of role names
    elif isinstance(raw, (dict, list)):
        return "an array" if isinstance(raw, list) else "a table"
    else:
        text = _literal(raw) if isinstance(raw, (bool, int, str)) else str(raw)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 1] + "…"
    return f"{text} ({_toml_type(raw)})"


def _nearest(name: str, keys: Sequence[Key]) -> Key | None:
    close = difflib.get_close_matches(name, [key.name for key in keys], n=1)
    return next((key for key in keys if key.name == close[0]), None) if close else None


def _did_you_mean(suggestion: str) -> str:
    return f" (did you mean {suggestion}?)" if suggestion else ""


def _unknown_key(file: str, section: Section, name: str) -> ConfigProblem:
    near = _nearest(name, keys_of(section))
    if near is not None:
        hint = near.name
    else:  # perhaps the right name in the wrong section: [site] retry_remainder
        elsewhere = _nearest(name, SCHEMA)
        hint = elsewhere.dotted if elsewhere is not None else ""
    return ConfigProblem(file, f"{section}.{name}", f"unknown key{_did_you_mean(hint)}")


def _unknown_section(file: str, name: str, body: object) -> ConfigProblem:
    if not isinstance(body, dict):  # a key above every [section]
        near = _nearest(name, SCHEMA)
        hint = near.dotted if near is not None else ""
        return ConfigProblem(file, name, f"a key outside any [section]{_did_you_mean(hint)}")
    close = difflib.get_close_matches(name, list(Section), n=1)
    hint = close[0] if close else ""
    return ConfigProblem(file, f"[{name}]", f"unknown section{_did_you_mean(hint)}")


def _wrong_value(file: str, key: Key, raw: object) -> ConfigProblem:
    return ConfigProblem(file, key.dotted, f"expected {key.kind.expected()}", _shown(raw))


_SECTIONS = {str(section): section for section in Section}


def _read_document(path: Path) -> dict[str, object]:
    """The parsed file; a ConfigError of one problem when it cannot be read or is not TOML."""
    file = str(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        problem = ConfigProblem(file, "", f"cannot be read: {exc.strerror or exc}")
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with where: "(at line 3, column 18)".
        problem = ConfigProblem(file, "", f"not valid TOML: {exc}")
    except UnicodeDecodeError as exc:
        problem = ConfigProblem(file, "", f"not valid TOML: not UTF-8 text (byte {exc.start})")
    raise ConfigError([problem])


def _read_values(
    document: dict[str, object], file: str
) -> tuple[dict[Key, Value], list[ConfigProblem]]:
    """Every acceptable value the document sets, and a problem for each other entry."""
    values: dict[Key, Value] = {}
    problems: list[ConfigProblem] = []
    for section_name, body in document.items():
        section = _SECTIONS.get(section_name)
        if section is None:
            problems.append(_unknown_section(file, section_name, body))
            continue
        if not isinstance(body, dict):
            problems.append(ConfigProblem(file, section, "expected a table", _shown(body)))
            continue
        for name, raw in body.items():
            key = _BY_NAME.get((section, name))
            if key is None:
                problems.append(_unknown_key(file, section, name))
            elif (value := key.kind.accept(raw)) is None:
                problems.append(_wrong_value(file, key, raw))
            else:
                values[key] = value
    return values, problems


@dataclass(frozen=True)
class ConfigReport:
    """What a configuration file says and everything wrong with it."""

    file: str
    config: Config  # the acceptable values, the defaults for the rest
    keys: tuple[str, ...]  # the keys the file sets acceptably, as "section.name"
    problems: tuple[ConfigProblem, ...]


def inspect_config(path: Path, *, for_run: bool = False) -> ConfigReport:
    """Every problem at once, never raising; ``for_run`` adds what `kiosk run` needs too."""
    file = str(path)
    try:
        document = _read_document(path)
    except ConfigError as exc:
        return ConfigReport(file, Config(), (), exc.problems)
    values, problems = _read_values(document, file)
    config = _build_config(**{key.config_field: value for key, value in values.items()})
    if for_run:
        # A port given but refused is one problem, not also a missing one.
        refused = {problem.key for problem in problems}
        problems += [p for p in problems_for_run(config, file) if p.key not in refused]
    return ConfigReport(file, config, tuple(key.dotted for key in values), tuple(problems))


def load_config(path: Path) -> Config:
    """The configuration in ``path``; ConfigError with every problem when it has any."""
    report = inspect_config(path)
    if report.problems:
        raise ConfigError(report.problems)
    return report.config


def check_config(config: Config, file: str = "") -> list[ConfigProblem]:
    """A Config built in code (the setup wizard's) held to the same rules as a file."""
    problems = []
    for key in SCHEMA:
        value: Value | None = getattr(config, key.config_field)
        if value is None:
            continue
        if key.kind.accept(_raw(value)) is None:
            problems.append(_wrong_value(file, key, _raw(value)))
    return problems


def _raw(value: Value) -> object:
    """``value`` as tomllib would read it from the file."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [role.value for role in value]
    return value


def validate(config: Config) -> None:
    if problems := check_config(config):
        raise ConfigError(problems)


_BY_FIELD = {key.config_field: key for key in SCHEMA}


def problems_for_run(config: Config, file: str = "") -> list[ConfigProblem]:
    """What stops `kiosk run`: the schema's rules, and both device ports, which the schema
    leaves optional for the demo and the setup wizard."""
    problems = check_config(config, file)
    problems += [
        ConfigProblem(file, key.dotted, "missing: `kiosk run` needs both device ports")
        for key in SCHEMA
        if key.needed_by_run and getattr(config, key.config_field) is None
    ]
    if config.sensor_port is not None and config.sensor_port == config.controller_port:
        sensor, controller = _BY_FIELD["sensor_port"], _BY_FIELD["controller_port"]
        problems.append(
            ConfigProblem(file, controller.dotted, f"expected a port other than {sensor.dotted}")
        )
    return problems


def config_for_data_dir(data_dir: Path) -> Config:
    """The configuration that goes with a data directory (a demo writes one there)."""
    for candidate in (data_dir / "kiosk.toml", default_config_path()):
        if candidate.exists():
            return replace(load_config(candidate), data_dir=data_dir)
    return Config(data_dir=data_dir)


# ------------------------------------------------------------------ writing


def _literal(value: Value) -> str:
    """``value`` as a TOML literal."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_literal(role.value) for role in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    # A JSON string is a TOML basic string, except that TOML wants DEL escaped too.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _written(config: Config, key: Key) -> Value | None:
    """The value ``to_toml`` writes for ``key``, or None when it writes none."""
    value: Value | None = getattr(config, key.config_field)
    if key.write is Write.NEVER:
        return None
    if key.write is Write.CHANGED and value == getattr(Config(), key.config_field):
        return None
    return value


def to_toml(config: Config) -> str:
    lines: list[str] = []
    for section in Section:
        entries = [
            f"{key.name} = {_literal(value)}"
            for key in keys_of(section)
            if (value := _written(config, key)) is not None
        ]
        if entries:
            lines += [f"[{section}]", *entries, ""]
    return "\n".join(lines)


def write_config(config: Config, path: Path) -> None:
    """Write atomically (a half-written configuration must never be read at boot), with mode
    0600 from the first byte: the file may hold an enrollment code."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, to_toml(config).encode("utf-8"))


# ------------------------------------------------------------------ documentation

_WIDTH = 96


def _default_text(key: Key) -> str:
    if key.default_doc:
        return key.default_doc
    value: Value | None = getattr(Config(), key.config_field)
    return "not set" if value is None else _literal(value)


def _notes(key: Key) -> str:
    notes = [key.kind.expected(), f"default: {_default_text(key)}"]
    if key.needed_by_run:
        notes.append("needed by `kiosk run`")
    if key.write is Write.NEVER:
        notes.append("never written back")
    return "; ".join(notes)


def describe_keys() -> str:
    """Every key with its type, range, default and help (`kiosk config keys`)."""
    blocks = [
        f"{key.dotted}  ({_notes(key)})\n"
        + textwrap.fill(
            key.help,
            _WIDTH,
            initial_indent="    ",
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
        for key in SCHEMA
    ]
    return "\n".join(blocks) + "\n"


EXAMPLE_HEADER = """\
# kiosk.toml: every key, with what it holds and its default. Generated from the schema in
# kiosk/services/config.py by `kiosk config example`: do not edit by hand.
# `kiosk config keys` lists the keys; `kiosk config check --config FILE` checks a file.
# The setup wizard writes /etc/kiosk/kiosk.toml (mode 0600).
"""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _example_entry(key: Key) -> list[str]:
    comment = [
        *textwrap.wrap(key.help, _WIDTH - 2, break_on_hyphens=False),
        *textwrap.wrap(_sentence(_notes(key)), _WIDTH - 2, break_on_hyphens=False),
    ]
    value = key.example if key.example is not None else getattr(Config(), key.config_field)
    prefix = "# " if key.example_commented else ""
    return [*(f"# {line}" for line in comment), f"{prefix}{key.name} = {_literal(value)}"]


def example_toml() -> str:
    """deploy/kiosk.toml.example: a production kiosk's file, each key explained."""
    lines = [EXAMPLE_HEADER]
    for section in Section:
        lines.append(f"[{section}]")
        for key in keys_of(section):
            lines += _example_entry(key)
        lines.append("")
    return "\n".join(lines)
