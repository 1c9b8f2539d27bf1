"""The database key: 32 random bytes, hex in a file created 0600, never logged.

A path given by the service manager wins (systemd ``LoadCredential=db-key:...`` puts it in
``$CREDENTIALS_DIRECTORY/db-key``), then an explicit path from the configuration, then the
default beside the database.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_BYTES = 32
CREDENTIAL_NAME = "db-key"


class KeyError_(Exception):
    """The key file is missing, unreadable, malformed or too open."""


def resolve_key_path(data_dir: Path, configured: Path | None = None) -> Path:
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL_NAME).exists():
        return Path(credentials) / CREDENTIAL_NAME
    if configured is not None:
        return configured
    return data_dir / "db.key"


def create_key_file(path: Path) -> bytes:
    """Write a fresh random key with mode 0600 (created so, never chmod-ed after)."""
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


def read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text().strip()
    except OSError as exc:
        raise KeyError_(f"cannot read the database key file {path}: {exc.strerror}") from exc
    if mode & 0o077 and "CREDENTIALS_DIRECTORY" not in os.environ:
        raise KeyError_(f"the database key file {path} is readable by others (mode {mode:o})")
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise KeyError_(f"the database key file {path} is not hex") from exc
    if len(key) != KEY_BYTES:
        raise KeyError_(f"the database key file {path} does not hold a 256-bit key")
    return key


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return read_key_file(path)
    return create_key_file(path)
