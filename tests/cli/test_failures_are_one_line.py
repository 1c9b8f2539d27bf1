"""Every CLI command fails with one line, never a traceback (issue 11)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk import cli
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.repository import Store


def seeded(folder: Path) -> Path:
    folder.mkdir()
    key = create_key_file(folder / "db.key")
    conn = connect(folder / "kiosk.db", key)
    store = Store(conn)
    now = datetime(2026, 6, 10, tzinfo=UTC)
    for n in range(200):  # enough rows to span many pages
        store.add_participant(f"P-{n:04d}", f"Name {n}", None, now, "test")
    conn.close()
    return folder


def corrupt_a_page(database: Path, page_number: int = 5) -> None:
    data = bytearray(database.read_bytes())
    start = page_number * 4096 + 200
    for offset in range(start, start + 64):
        data[offset] ^= 0xFF
    database.write_bytes(bytes(data))


def test_an_unexpected_error_is_one_line_with_its_own_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def broken(_args: object) -> int:
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(cli, "cmd_db_verify", broken)
    code = cli.main(["db", "verify", "--data-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == cli.EXIT_UNEXPECTED
    assert captured.err.strip().splitlines() == [
        "kiosk db: unexpected error (RuntimeError); details are in the kiosk log"
    ]
    assert "Traceback" not in captured.out + captured.err


def test_the_traceback_goes_to_the_log_file_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from kiosk.logsetup import setup_logging

    def broken(_args: object) -> int:
        setup_logging(tmp_path)
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "cmd_db_verify", broken)
    try:
        assert cli.main(["db", "verify", "--data-dir", str(tmp_path)]) == cli.EXIT_UNEXPECTED
    finally:
        for handler in list(logging.getLogger().handlers):
            handler.close()
            logging.getLogger().removeHandler(handler)
    assert "Traceback" not in capsys.readouterr().err
    assert "Traceback" in (tmp_path / "logs" / "kiosk.log").read_text()


def test_db_verify_on_a_corrupt_page_is_one_fail_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = seeded(tmp_path / "data")
    corrupt_a_page(data / "kiosk.db")
    code = cli.main(["db", "verify", "--data-dir", str(data)])
    out = capsys.readouterr()
    assert code == 1
    lines = out.out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FAIL ")
    assert "Traceback" not in out.out + out.err


def test_db_verify_with_a_wrong_key_is_one_fail_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = seeded(tmp_path / "data")
    (data / "db.key").write_text("11" * 32 + "\n")
    assert cli.main(["db", "verify", "--data-dir", str(data)]) == 2
    out = capsys.readouterr().out.strip()
    assert out.startswith("FAIL the database cannot be read with this key")
