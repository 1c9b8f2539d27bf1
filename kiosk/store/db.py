"""Opening the encrypted database: raw key, WAL, foreign keys, numbered migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlcipher3

log = logging.getLogger("kiosk.store")

Connection = Any  # sqlcipher3 ships no type stubs
DatabaseError = sqlcipher3.DatabaseError


class StoreError(Exception):
    """The database cannot be opened or used (wrong key, corrupt file, full disk)."""


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("kiosk.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    return max(number for number, _ in _migrations())


def connect(path: Path, key: bytes, *, migrate: bool = True) -> Connection:
    """Open (and create or upgrade) the database. Raises StoreError on a wrong key."""
    if len(key) != 32:
        raise StoreError("the database key must be 256 bits")
    try:
        conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    except sqlcipher3.Error as exc:
        raise StoreError(f"cannot open the database at {path}: {exc}") from exc
    try:
        # SQLCipher would print its own lines on stderr for a damaged page; the caller
        # reports it once, in words (a CLI line, the out-of-service screen, the journal).
        conn.execute("PRAGMA cipher_log_level = NONE")
        # Raw key: no KDF on every open (DESIGN "Data"); the key itself is random.
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        # Page HMACs stay on (tampering is detected); SHA-256 instead of the default SHA-512
        # keeps a dispense transaction within 1.3x plain SQLite (see `make bench`).
        conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA256")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            "the database cannot be read with this key (wrong key or not ours)"
        ) from exc
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA synchronous = FULL")  # a power cut must not lose a committed intent
    newest = latest_version()
    if schema_version(conn) > newest:
        # A newer release migrated this store, then the launcher went back to this one. The
        # store holds every dispense since; it is never replaced by the pre-switch backup
        # (docs/UPDATES.md) and this older software does not write into a schema it does not
        # know: out of service until staff install the newer release again.
        found = schema_version(conn)
        conn.close()
        raise StoreError(
            f"the database was upgraded by newer kiosk software (schema {found}, this software "
            f"knows up to {newest}); it is kept as it is: reinstall the newer release"
        )
    if migrate:
        apply_migrations(conn)
    return conn


def schema_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(conn: Connection) -> None:
    current = schema_version(conn)
    for number, sql in _migrations():
        if number <= current:
            continue
        log.info("applying migration %04d", number)
        # One script, one transaction: a migration applies whole or not at all.
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\n;PRAGMA user_version = {number};\nCOMMIT;"
            )
        except sqlcipher3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """One atomic unit: BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # Also when COMMIT itself fails (a full disk): SQLite then leaves the transaction
        # open, and every later BEGIN on this connection would fail. Nothing was written.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def integrity_check(conn: Connection, *, quick: bool = False) -> list[str]:
    rows = conn.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
    problems = [str(row[0]) for row in rows]
    return [] if problems == ["ok"] else problems
