"""The hub's two keys: Django's SECRET_KEY (sessions, CSRF, password resets) and the wrap key
that seals every machine's HMAC secret at rest (fleet.sealing).

Each is read from the environment first, then from the secrets file (HUB_SECRETS_FILE, default
hub/secrets.toml; /etc/kiosk-hub/secrets.toml in the systemd unit), a TOML file::

    secret_key = "..."
    secret_key_fallbacks = []      # older SECRET_KEYs still accepted (rotation)
    wrap_key = "..."
    wrap_key_fallbacks = []        # older wrap keys still unsealing until rotate_wrap_key ran

With DEBUG off a missing key stops the hub (``MissingKeys``): a constant default would let a
database dump unseal every machine's secret. ``manage.py init_secrets`` writes the file once
(0600, never over an existing one); ``manage.py init_secrets --rotate secret_key|wrap_key``
moves the current key to the fallbacks and puts a new one in its place. This module uses only
the standard library: manage.py runs init_secrets before Django loads the settings.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

HUB_DIR = Path(__file__).resolve().parent.parent
DEFAULT_FILE = HUB_DIR / "secrets.toml"
KEY_NAMES = ("secret_key", "wrap_key")
_ENV = {"secret_key": "HUB_SECRET_KEY", "wrap_key": "HUB_SECRET_WRAP_KEY"}

# Only for DEBUG on (`make hub`, a developer's machine): never accepted with DEBUG off.
_DEV_KEYS = {
    "secret_key": "dev-only-insecure-hub-key-change-me-in-production",
    "wrap_key": "dev-only-insecure-wrap-key-change-me-in-production",
}


class MissingKeys(ImproperlyConfigured):
    """The hub cannot start: a key is missing or the secrets file is unreadable."""


@dataclass
class Keys:
    secret_key: str
    wrap_key: str
    secret_key_fallbacks: list[str] = field(default_factory=list)
    wrap_key_fallbacks: list[str] = field(default_factory=list)


def secrets_file() -> Path:
    return Path(os.environ.get("HUB_SECRETS_FILE") or DEFAULT_FILE)


def _message(missing: list[str], path: Path, problem: str = "") -> str:
    names = " and ".join(_ENV[name] for name in missing)
    return (
        f"The hub has no {names} (DEBUG is off, so it will not run on a built-in key: a"
        f" database dump would then unseal every machine's secret). {problem}Set"
        f" {names} in its environment, or create the secrets file {path} once with"
        f" `python hub/manage.py init_secrets` (HUB_SECRETS_FILE names another path; see"
        f" docs/HUB.md, 'Secrets'). For a development demo only, HUB_DEBUG=1 runs on"
        f" built-in keys."
    )


def _read_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MissingKeys(f"The secrets file {path} cannot be read: {exc}") from None


def _list(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # the environment's form: comma-separated
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise MissingKeys(f"{what}: a list of keys expected")


def load(debug: bool) -> Keys:
    """The keys, environment first, then the secrets file; MissingKeys when DEBUG is off and
    one is missing."""
    path = secrets_file()
    stored = _read_file(path)
    found: dict[str, str] = {}
    for name in KEY_NAMES:
        value = os.environ.get(_ENV[name], "").strip() or stored.get(name)
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise MissingKeys(f"The secrets file {path}: {name} must be a non-empty string")
        if value:
            found[name] = value.strip()
    missing = [name for name in KEY_NAMES if name not in found]
    if missing and not debug:
        raise MissingKeys(_message(missing, path))
    keys = Keys(
        secret_key=found.get("secret_key", _DEV_KEYS["secret_key"]),
        wrap_key=found.get("wrap_key", _DEV_KEYS["wrap_key"]),
    )
    for name in KEY_NAMES:
        env = os.environ.get(f"{_ENV[name]}_FALLBACKS")
        fallbacks = _list(env if env is not None else stored.get(f"{name}_fallbacks"), name)
        setattr(keys, f"{name}_fallbacks", fallbacks)
    if keys.wrap_key == keys.secret_key and not debug:
        # One leaked SECRET_KEY (a settings dump, a traceback page) must not unseal machines.
        raise MissingKeys(_message(["wrap_key"], path, "It equals HUB_SECRET_KEY. "))
    return keys


def new_key() -> str:
    return secrets.token_urlsafe(48)


def _toml(keys: Keys) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["# The hub's keys (docs/HUB.md, 'Secrets'). Keep this file 0600; back it up apart"]
    lines.append("# from the database: a dump and this file together unseal every machine.")
    for name in KEY_NAMES:
        lines.append(f"{name} = {quoted(getattr(keys, name))}")
        fallbacks = ", ".join(quoted(v) for v in getattr(keys, f"{name}_fallbacks"))
        lines.append(f"{name}_fallbacks = [{fallbacks}]")
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Written to a 0600 temporary file in the same folder, flushed, then linked in (never
    over an existing file) or renamed over the old one (a rotation): never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".secrets-", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # FileExistsError: someone else's file stays as it is
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def init_file(path: Path) -> None:
    _write_private(path, _toml(Keys(new_key(), new_key())), replace=False)


def _stored_keys(path: Path) -> Keys:
    stored = _read_file(path)
    if not stored:
        raise MissingKeys(f"The secrets file {path} does not exist")
    return Keys(
        secret_key=str(stored["secret_key"]),
        wrap_key=str(stored["wrap_key"]),
        secret_key_fallbacks=_list(stored.get("secret_key_fallbacks"), "secret_key"),
        wrap_key_fallbacks=_list(stored.get("wrap_key_fallbacks"), "wrap_key"),
    )


def rotate_in_file(path: Path, name: str) -> None:
    """A new key; the current one heads the fallbacks (still accepted until dropped)."""
    keys = _stored_keys(path)
    getattr(keys, f"{name}_fallbacks").insert(0, getattr(keys, name))
    setattr(keys, name, new_key())
    _write_private(path, _toml(keys), replace=True)


def forget_fallbacks(path: Path, name: str) -> None:
    keys = _stored_keys(path)
    setattr(keys, f"{name}_fallbacks", [])
    _write_private(path, _toml(keys), replace=True)


def main(argv: list[str]) -> int:
    """``manage.py init_secrets [--rotate KEY | --forget-fallbacks KEY]`` (no Django needed)."""
    parser = argparse.ArgumentParser(
        prog="manage.py init_secrets",
        description=f"Create the hub's secrets file (HUB_SECRETS_FILE, default {DEFAULT_FILE})"
        " once, 0600; or rotate one of its keys.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--rotate", choices=KEY_NAMES, help="new key; the old one -> fallbacks")
    action.add_argument("--forget-fallbacks", choices=KEY_NAMES, help="drop a key's fallbacks")
    options = parser.parse_args(argv)
    path = secrets_file()
    try:
        if options.rotate:
            rotate_in_file(path, options.rotate)
            print(f"{path}: new {options.rotate}; the previous one is a fallback", file=sys.stderr)
        elif options.forget_fallbacks:
            forget_fallbacks(path, options.forget_fallbacks)
            print(f"{path}: {options.forget_fallbacks} fallbacks dropped", file=sys.stderr)
        else:
            init_file(path)
            print(f"{path}: created (0600)", file=sys.stderr)
    except FileExistsError:
        print(f"{path} exists already: left as it is (never overwritten)", file=sys.stderr)
        return 1
    except (MissingKeys, OSError, KeyError) as exc:
        print(f"init_secrets: {exc}", file=sys.stderr)
        return 1
    return 0
