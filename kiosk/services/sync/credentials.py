"""The kiosk's hub credentials: ``<data_dir>/hub-credentials.json``, created 0600, never logged.

Written once by provisioning (``POST /v1/provision`` with a one-time enrollment code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.store.files import write_private

CREDENTIALS_NAME = "hub-credentials.json"


class CredentialsError(Exception):
    """The credentials file is missing, malformed or readable by others."""


@dataclass(frozen=True)
class Credentials:
    device_id: str
    secret: str = field(repr=False)  # hex; never in a repr, a log line or an error text


def credentials_path(data_dir: Path) -> Path:
    return data_dir / CREDENTIALS_NAME


def save_credentials(path: Path, credentials: Credentials) -> None:
    """Write atomically with mode 0600 from the start (never chmod-ed after)."""
    try:
        bytes.fromhex(credentials.secret)
    except ValueError as exc:
        raise CredentialsError("the hub sent a secret that is not hex") from exc
    if not credentials.device_id or not credentials.secret:
        raise CredentialsError("the hub sent an empty device id or secret")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"device_id": credentials.device_id, "secret": credentials.secret}
    write_private(path, (json.dumps(body) + "\n").encode("utf-8"))


def load_credentials(path: Path) -> Credentials:
    try:
        mode = path.stat().st_mode & 0o777
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(f"cannot read the hub credentials {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise CredentialsError(f"the hub credentials {path} are not JSON") from exc
    if mode & 0o077:
        raise CredentialsError(f"the hub credentials {path} are readable by others (mode {mode:o})")
    try:
        credentials = Credentials(str(raw["device_id"]), str(raw["secret"]))
        bytes.fromhex(credentials.secret)
    except (KeyError, TypeError, ValueError) as exc:
        raise CredentialsError(f"the hub credentials {path} are malformed") from exc
    return credentials
