"""The kiosk configuration: one TOML file, read with ``tomllib``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
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
    language: str = "en"
    sensor_port: str | None = None
    controller_port: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    key_file: Path | None = None

    @property
    def site(self) -> SiteClock:
        return SiteClock(self.timezone, self.day_start_hour)

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
    base = Config()
    config = Config(
        site_name=str(site.get("name", base.site_name)),
        timezone=str(site.get("timezone", base.timezone)),
        day_start_hour=int(site.get("day_start_hour", base.day_start_hour)),
        language=str(site.get("language", base.language)),
        sensor_port=devices.get("sensor_port"),
        controller_port=devices.get("controller_port"),
        data_dir=Path(storage["data_dir"]) if "data_dir" in storage else base.data_dir,
        key_file=Path(storage["key_file"]) if "key_file" in storage else None,
    )
    validate(config)
    return config


def validate(config: Config) -> None:
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {config.timezone!r}") from exc
    if not 0 <= config.day_start_hour <= 23:
        raise ConfigError("day_start_hour must be between 0 and 23")
