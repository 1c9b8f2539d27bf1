"""The store is really encrypted: no plain sqlite3 read, no wrong key, key file 0600."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from kiosk.store.db import StoreError, connect, latest_version, schema_version
from kiosk.store.keyfile import KeyError_, create_key_file, read_key_file, resolve_key_path


def make_db(tmp_path: Path, key: bytes) -> Path:
    path = tmp_path / "kiosk.db"
    conn = connect(path, key)
    conn.execute(
        "INSERT INTO participants (code, display_name, created_at) VALUES ('P-1', 'Secret', 'x')"
    )
    conn.close()
    return path


def test_plain_sqlite_cannot_read_the_file(tmp_path: Path, key: bytes) -> None:
    path = make_db(tmp_path, key)
    plain = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT * FROM sqlite_master").fetchall()
    plain.close()
    assert b"Secret" not in path.read_bytes()
    assert b"SQLite format 3" not in path.read_bytes()[:16]


def test_a_wrong_key_is_refused(tmp_path: Path, key: bytes) -> None:
    path = make_db(tmp_path, key)
    with pytest.raises(StoreError):
        connect(path, bytes(32))


def test_the_right_key_reads_it_back(tmp_path: Path, key: bytes) -> None:
    path = make_db(tmp_path, key)
    conn = connect(path, key)
    assert conn.execute("SELECT display_name FROM participants").fetchone()[0] == "Secret"
    assert schema_version(conn) == latest_version()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_key_file_is_created_0600_and_random(tmp_path: Path) -> None:
    first = create_key_file(tmp_path / "a.key")
    second = create_key_file(tmp_path / "b.key")
    assert first != second
    assert len(first) == 32
    assert stat.S_IMODE((tmp_path / "a.key").stat().st_mode) == 0o600
    assert read_key_file(tmp_path / "a.key") == first


def test_an_open_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.key"
    create_key_file(path)
    path.chmod(0o644)
    with pytest.raises(KeyError_, match="readable by others"):
        read_key_file(path)


def test_the_service_manager_key_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    create_key_file(creds / "db-key")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert resolve_key_path(tmp_path, tmp_path / "configured.key") == creds / "db-key"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert resolve_key_path(tmp_path, tmp_path / "configured.key") == tmp_path / "configured.key"
    assert resolve_key_path(tmp_path) == tmp_path / "db.key"
