"""The kiosk configuration: one TOML file, read with ``tomllib``."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from kiosk.domain.model import SiteClock

APP_NAME = "dispensing-kiosk"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    site_name: str = "Dispensing kiosk"
    timezone: str = "America/Vancouver"
    day_start_hour: int = 4
    missed_dose_days: int = 3
    language: str = "en"
    sensor_port: str | None = None
    controller_port: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    key_file: Path | None = None
    retry_remainder: bool = False  # give the rest of a jammed dose from another lane
    sound_cues: bool = False  # a gentle sound on success and refusal
    # [hub] (docs/SYNC.md): no url, no sync. The enrollment code is needed on the first run
    # only (it provisions <data_dir>/hub-credentials.json); it works once.
    hub_url: str | None = None
    hub_enrollment_code: str | None = None
    hub_interval_seconds: int = 60

    @property
    def site(self) -> SiteClock:
        return SiteClock(self.timezone, self.day_start_hour, self.missed_dose_days)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kiosk.db"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "kiosk.toml"


def load_config(path: Path) -> Config:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"no configuration file at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the configuration file {path} is not valid TOML: {exc}") from exc
    site = raw.get("site", {})
    devices = raw.get("devices", {})
    storage = raw.get("storage", {})
    dispensing = raw.get("dispensing", {})
    hub = raw.get("hub", {})
    base = Config()
    config = Config(
        site_name=str(site.get("name", base.site_name)),
        timezone=str(site.get("timezone", base.timezone)),
        day_start_hour=int(site.get("day_start_hour", base.day_start_hour)),
        missed_dose_days=int(site.get("missed_dose_days", base.missed_dose_days)),
        language=str(site.get("language", base.language)),
        sensor_port=devices.get("sensor_port"),
        controller_port=devices.get("controller_port"),
        data_dir=Path(storage["data_dir"]) if "data_dir" in storage else base.data_dir,
        key_file=Path(storage["key_file"]) if "key_file" in storage else None,
        retry_remainder=bool(dispensing.get("retry_remainder", False)),
        sound_cues=bool(site.get("sound_cues", False)),
        hub_url=str(hub["url"]) if hub.get("url") else None,
        hub_enrollment_code=str(hub["enrollment_code"]) if hub.get("enrollment_code") else None,
        hub_interval_seconds=int(hub.get("interval_seconds", base.hub_interval_seconds)),
    )
    validate(config)
    return config


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def to_toml(config: Config) -> str:
    sections: dict[str, dict[str, object]] = {
        "site": {
            "name": config.site_name,
            "timezone": config.timezone,
            "day_start_hour": config.day_start_hour,
            "missed_dose_days": config.missed_dose_days,
            "language": config.language,
            "sound_cues": config.sound_cues,
        },
        "devices": {"sensor_port": config.sensor_port, "controller_port": config.controller_port},
        "storage": {"data_dir": config.data_dir, "key_file": config.key_file},
        "dispensing": {"retry_remainder": config.retry_remainder},
        # The enrollment code is not written back: it is spent on the first run.
        "hub": {"url": config.hub_url, "interval_seconds": config.hub_interval_seconds}
        if config.hub_url
        else {},
    }
    lines = []
    for name, values in sections.items():
        if not values:
            continue
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
        lines.append("")
    return "\n".join(lines)


def write_config(config: Config, path: Path) -> None:
    """Write atomically: a half-written configuration must never be read at boot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(to_toml(config), encoding="utf-8")
    temporary.replace(path)


def config_for_data_dir(data_dir: Path) -> Config:
    """The configuration that goes with a data directory (a demo writes one there)."""
    for candidate in (data_dir / "kiosk.toml", default_config_path()):
        if candidate.exists():
            return replace(load_config(candidate), data_dir=data_dir)
    return Config(data_dir=data_dir)


def validate(config: Config) -> None:
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {config.timezone!r}") from exc
    if not 0 <= config.day_start_hour <= 23:
        raise ConfigError("day_start_hour must be between 0 and 23")
    if not 1 <= config.missed_dose_days <= 60:
        raise ConfigError("missed_dose_days must be between 1 and 60")
    if config.hub_url is not None:
        parts = urlsplit(config.hub_url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and loopback)
        ):
            raise ConfigError("the hub url must be https:// (plain http:// only on loopback)")
    if not 5 <= config.hub_interval_seconds <= 86400:
        raise ConfigError("hub interval_seconds must be between 5 and 86400")
