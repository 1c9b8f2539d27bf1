"""The books' anchor catches what the hash chain alone cannot (issue 11, finding 4).

Each case makes a dispense, then loses or forges records the way a damaged disk or a person
holding the key would, and checks that ``kiosk db verify`` says "records missing" (or
"changed") instead of OK.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.domain.model import Window
from kiosk.services.clock import FixedClock
from kiosk.store import audit
from kiosk.store.anchor import Anchor, anchor_path, chain_head, compare, read_anchor
from kiosk.store.db import connect
from kiosk.store.repository import Intent, Store


@pytest.fixture
def live(data: Path, clock: FixedClock) -> Iterator[Store]:
    """A store with two recorded dispenses, its connection still open (the WAL holds them)."""
    key = bytes.fromhex((data / "db.key").read_text().strip())
    conn = connect(data / "kiosk.db", key)
    conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep the commits in the -wal file
    store = Store(conn, anchor=anchor_path(data / "kiosk.db"))
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 10, now, "test")
    pid = store.add_participant("P-1", "Name", None, now, "test")
    store.add_prescription(
        pid, med, 2, (Window(time(0), time(23, 59)),), 4, date(2026, 1, 1), None, now, "test"
    )
    rx = store.prescriptions(pid)[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the set-up is in the main file
    for minutes in (0, 5):
        at = now + timedelta(minutes=minutes)
        vend_id = store.new_vend_id()
        store.record_intent(Intent(vend_id, pid, rx.id, 1, 2, at))
        store.record_result(vend_id, 2, "complete", None, at)
    yield store
    conn.close()


def verify(data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["db", "verify", "--data-dir", str(data)])
    return code, capsys.readouterr().out.strip()


def copy_without_wal(data: Path, target: Path) -> Path:
    """What a crash followed by a lost ``-wal`` file leaves behind."""
    target.mkdir()
    for name in ("kiosk.db", "kiosk.db.anchor", "db.key"):
        shutil.copy2(data / name, target / name)
    (target / "db.key").chmod(0o600)
    return target


def test_the_anchor_follows_each_recorded_dispense(live: Store) -> None:
    assert live.anchor is not None
    anchor = read_anchor(live.anchor)
    assert anchor == chain_head(live.conn)
    assert compare(live.conn, anchor) == ""
    assert oct(live.anchor.stat().st_mode & 0o777) == "0o600"


def test_a_deleted_wal_is_records_missing(
    live: Store, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (data / "kiosk.db-wal").stat().st_size > 0
    lost = copy_without_wal(data, tmp_path / "lost")
    code, out = verify(lost, capsys)
    assert code == 1
    assert out.startswith("FAIL records missing")


def test_a_bit_flipped_wal_is_records_missing(
    live: Store, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flipped = copy_without_wal(data, tmp_path / "flipped")
    wal = bytearray((data / "kiosk.db-wal").read_bytes())
    wal[len(wal) // 2] ^= 0x01  # SQLite drops this frame and every later one
    (flipped / "kiosk.db-wal").write_bytes(bytes(wal))
    code, out = verify(flipped, capsys)
    assert code == 1
    assert "records missing" in out


def test_deleting_the_newest_rows_with_the_key_is_records_missing(
    live: Store, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = live.conn
    last_vend = conn.execute("SELECT max(vend_id) FROM dispense_intents").fetchone()[0]
    newest = int(conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0])
    conn.execute("DELETE FROM dispense_results WHERE vend_id = ?", (last_vend,))
    conn.execute("DELETE FROM dispense_intents WHERE vend_id = ?", (last_vend,))
    conn.execute("DELETE FROM audit_log WHERE seq > ?", (newest - 2,))  # a clean tail
    assert audit.verify_chain(conn).ok  # the chain alone sees nothing wrong
    code, out = verify(data, capsys)
    assert code == 1
    assert "records missing" in out


def test_re_chained_edits_with_the_key_are_records_changed(
    live: Store, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = live.conn
    first_result = conn.execute(
        "SELECT min(seq) FROM audit_log WHERE action = 'dispense.result'"
    ).fetchone()[0]
    conn.execute(
        "UPDATE audit_log SET details = replace(details, '\"dropped\":2', '\"dropped\":0')"
        " WHERE seq = ?",
        (first_result,),
    )
    rechain(conn)
    assert audit.verify_chain(conn).ok
    code, out = verify(data, capsys)
    assert code == 1
    assert "records changed" in out


def rechain(conn: object) -> None:
    """What someone holding the key can do: recompute every hash after an edit."""
    prev = audit.GENESIS
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT seq, at, actor, action, subject, details FROM audit_log ORDER BY seq"
    ).fetchall()
    for seq, at, actor, action, subject, details in rows:
        digest = audit.entry_hash(prev, seq, at, actor, action, subject, details)
        conn.execute(  # type: ignore[attr-defined]
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq)
        )
        prev = digest


def test_an_intact_database_verifies_against_its_anchor(
    live: Store, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(data, capsys)
    assert code == 0, out
    assert "verified against the anchor file" in out


def test_a_malformed_anchor_is_reported_not_a_traceback(
    live: Store, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data / "kiosk.db.anchor").write_text("{not json")
    code, out = verify(data, capsys)
    assert code == 1
    assert out == "FAIL the anchor file kiosk.db.anchor is malformed"


def test_an_anchor_ahead_by_a_forged_count_is_missing(live: Store) -> None:
    head = chain_head(live.conn)
    assert head is not None
    assert compare(live.conn, Anchor(head.entries + 1, head.head)).startswith("records missing")
