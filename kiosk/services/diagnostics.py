"""`kiosk diagnostics`: one zip for remote support, with no personal data in it.

Versions, the configuration without secrets, the self-test, recent logs, lane states, sync
status and database checks. Participants appear only as internal ids: log lines are written
that way, and every text in the zip is scrubbed of participant codes and names as well
(``kiosk.services.redact``). Templates, keys, PINs, hub secrets and enrollment codes are
never read into it. The zip is readable by its owner only (0600): it goes on USB sticks.
"""

from __future__ import annotations

import io
import json
import logging
import platform
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from kiosk import __version__
from kiosk.services.clock import Clock
from kiosk.services.config import Config, to_toml
from kiosk.services.health import SelfTestRow
from kiosk.services.redact import Redactor
from kiosk.store import audit, sync_repo
from kiosk.store.db import Connection, integrity_check, schema_version
from kiosk.store.files import write_private
from kiosk.store.repository import OPEN_ALERT

log = logging.getLogger("kiosk.diagnostics")

LOG_LINES = 2000


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(conn: Connection | None) -> dict[str, Any]:
    from kiosk.version import BUILD

    found: dict[str, Any] = {
        "kiosk": __version__,
        "build": BUILD,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
    }
    for package in (
        "PySide6-Essentials",
        "sqlcipher3",
        "pyfingerprint",
        "pyserial",
        "babel",
        "httpx",
        "tzdata",
    ):
        found[package] = _package_version(package)
    if conn is not None:
        found["sqlcipher"] = str(conn.execute("PRAGMA cipher_version").fetchone()[0])
        found["schema"] = schema_version(conn)
    return found


def safe_config(config: Config) -> str:
    """The configuration TOML; it never holds a secret (codes and keys live elsewhere)."""
    return to_toml(config)


def recent_logs(data_dir: Path) -> str:
    folder = data_dir / "logs"
    lines: list[str] = []
    for path in sorted(folder.glob("kiosk.log*"), reverse=True):  # oldest rotation first
        try:
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
    return "\n".join(lines[-LOG_LINES:]) + "\n"


def database_report(conn: Connection) -> dict[str, Any]:
    chain = audit.verify_chain(conn)
    lanes = [
        {"lane": lane, "medication": med, "stock": stock, "state": state}
        for lane, med, stock, state in conn.execute(
            "SELECT l.lane, coalesce(m.name || ' ' || m.strength, ''), l.stock, l.state"
            " FROM lanes l LEFT JOIN medications m ON m.id = l.medication_id ORDER BY l.lane"
        )
    ]
    report: dict[str, Any] = {
        "integrity": integrity_check(conn, quick=True) or "ok",
        "audit_chain": {
            "entries": chain.entries,
            "ok": chain.ok,
            "first_bad_seq": chain.first_bad_seq,
        },
        "lanes": lanes,
        "open_alerts": [
            {"kind": kind, "subject": subject if not subject.startswith("participant") else "-"}
            for kind, subject in conn.execute(
                f"SELECT kind, subject FROM alerts WHERE {OPEN_ALERT} ORDER BY id"
            )
        ],
        "counts": {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("participants", "prescriptions", "dispense_intents", "outbox")
        },
    }
    try:
        state = sync_repo.read_state(conn)
        report["sync"] = {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(state).items()
        }
    except Exception as exc:
        report["sync"] = {"error": type(exc).__name__}
    return report


def write_zip(
    out: Path,
    config: Config,
    conn: Connection | None,
    selftest: Callable[[], list[dict[str, Any]]] | None,
) -> Path:
    """Write the zip (0600, atomically); returns its path. ``selftest`` runs the device
    checks. Every part is scrubbed of the participants' codes and names."""
    out.parent.mkdir(parents=True, exist_ok=True)
    parts: dict[str, str] = {
        "versions.json": json.dumps(versions(conn), indent=2),
        "config.toml": safe_config(config),
        "logs.txt": recent_logs(config.data_dir),
    }
    if conn is not None:
        parts["database.json"] = json.dumps(database_report(conn), indent=2)
    if selftest is not None:
        try:
            parts["selftest.json"] = json.dumps(selftest(), indent=2)
        except Exception as exc:
            parts["selftest.json"] = json.dumps({"error": type(exc).__name__})
    parts["README.txt"] = (
        f"Kiosk diagnostics written {datetime.now(UTC).isoformat()} UTC.\n"
        "No participant names, codes, fingerprint templates, PINs, keys or secrets are included:\n"
        "participants appear as internal ids, and any code or name found in a text is replaced\n"
        "by [participant] or [name].\n"
    )
    redact = Redactor.for_store(conn)
    _write_private_zip(out, {name: redact(text) for name, text in parts.items()})
    log.info("diagnostics written (%d parts)", len(parts))
    return out


def _write_private_zip(out: Path, parts: dict[str, str]) -> None:
    """Owner-only and complete or absent (kiosk/store/files.py); built in memory first (the
    parts are small: bounded log tails, reports)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    write_private(out, buffer.getvalue())


class SelfTesting(Protocol):
    def selftest(self, actor: str) -> list[SelfTestRow]: ...


class DiagnosticsService:
    """The Hardware page's "Write diagnostics": the zip into a folder (a USB stick), with the
    self-test run for it under the staff member's name in the audit log."""

    def __init__(self, config: Config, conn: Connection, health: SelfTesting, clock: Clock):
        self._config = config
        self._conn = conn
        self._health = health
        self._clock = clock

    def write(self, actor: str, folder: Path) -> Path:
        stamp = self._clock.now().strftime("%Y%m%d-%H%M%S")

        def selftest() -> list[dict[str, Any]]:
            rows = self._health.selftest(actor)
            return [{"part": r.part.value, "ok": r.ok, "detail": r.detail} for r in rows]

        return write_zip(
            folder / f"kiosk-diagnostics-{stamp}.zip", self._config, self._conn, selftest
        )
