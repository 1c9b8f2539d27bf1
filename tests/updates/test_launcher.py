"""deploy/kiosk-launcher on its own, with releases that are one-line scripts: the health
deadline, the count of failed starts, a confirmed release, and a stop from systemd."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kiosk.services.updates import ReleaseLayout
from tests.updates.releases import ROOT

LAUNCHER = ROOT / "deploy" / "kiosk-launcher"


def release(root: Path, version: str, body: str) -> None:
    folder = root / version
    folder.mkdir(parents=True)
    script = folder / "kiosk"
    script.write_text(f'#!/bin/sh\nR="$KIOSK_RELEASES"\n{body}\n')
    script.chmod(0o755)


def switched(root: Path, old: str, new: str, limit: int, starts: int) -> ReleaseLayout:
    os.symlink(old, root / "current")
    layout = ReleaseLayout(root)
    layout.switch(new, limit, starts)
    return layout


def run(root: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LAUNCHER)],
        env={**os.environ, "KIOSK_RELEASES": str(root)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_release_that_never_reaches_healthy_idle_is_stopped_and_undone(tmp_path: Path) -> None:
    release(tmp_path, "1.0.0", 'echo "1.0.0" >> "$R/ran"; exit 0')
    release(tmp_path, "2.0.0", 'echo "2.0.0" >> "$R/ran"; exec sleep 60')
    layout = switched(tmp_path, "1.0.0", "2.0.0", limit=2, starts=3)
    started = time.monotonic()
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    assert layout.current_version() == "1.0.0" and layout.pending() is None
    record = layout.rollback_record()
    assert record is not None
    assert (record.failed, record.restored, record.reason) == (
        "2.0.0",
        "1.0.0",
        "no_healthy_idle_in_2s",
    )
    assert (tmp_path / "ran").read_text().split() == ["2.0.0", "1.0.0"]


def test_a_release_that_keeps_failing_is_undone_after_max_starts(tmp_path: Path) -> None:
    release(tmp_path, "1.0.0", 'echo "1.0.0" >> "$R/ran"; exit 0')
    release(tmp_path, "2.0.0", 'echo "2.0.0" >> "$R/ran"; exit 1')
    layout = switched(tmp_path, "1.0.0", "2.0.0", limit=60, starts=2)
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ran").read_text().split() == ["2.0.0", "2.0.0", "1.0.0"]
    record = layout.rollback_record()
    assert record is not None and record.reason == "failed_2_starts"
    assert layout.current_version() == "1.0.0"


def test_a_confirmed_release_stays(tmp_path: Path) -> None:
    release(tmp_path, "1.0.0", "exit 0")
    release(tmp_path, "2.0.0", 'rm -f "$R/pending" "$R/pending-starts"; exit 0')
    layout = switched(tmp_path, "1.0.0", "2.0.0", limit=60, starts=2)
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert layout.current_version() == "2.0.0" and layout.previous_version() == "1.0.0"
    assert layout.rollback_record() is None and layout.pending() is None


def test_without_a_previous_release_it_says_so_and_does_not_loop(tmp_path: Path) -> None:
    release(tmp_path, "2.0.0", "exit 1")
    os.symlink("2.0.0", tmp_path / "current")
    (tmp_path / "pending").write_text("2.0.0 60 1\n")
    result = run(tmp_path)
    assert "no previous release" in result.stderr
    assert result.returncode == 1  # the failure is passed on to systemd
    assert ReleaseLayout(tmp_path).current_version() == "2.0.0"


@pytest.mark.timeout(60)
def test_a_stop_from_systemd_stops_the_kiosk_too(tmp_path: Path) -> None:
    release(tmp_path, "1.0.0", 'echo $$ > "$R/pid"; exec sleep 60')
    os.symlink("1.0.0", tmp_path / "current")
    launcher = subprocess.Popen(
        [str(LAUNCHER)], env={**os.environ, "KIOSK_RELEASES": str(tmp_path)}
    )
    pid_file = tmp_path / "pid"
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the kiosk did not start"
        time.sleep(0.05)
    kiosk_pid = int(pid_file.read_text())
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=20) == 143
    deadline = time.monotonic() + 20
    while True:
        try:
            os.kill(kiosk_pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the kiosk outlived the launcher"
        time.sleep(0.05)


def test_prune_keeps_current_previous_and_the_newest_backups(tmp_path: Path) -> None:
    for version in ("0.1.0", "0.2.0", "0.3.0"):
        release(tmp_path, version, "exit 0")
    layout = switched(tmp_path, "0.2.0", "0.3.0", limit=60, starts=2)
    layout.backups.mkdir()
    for n in range(5):
        backup = layout.backups / f"kiosk-0.2.0-{n}.db"
        backup.write_bytes(b"x")
        os.utime(backup, (1_000_000 + n, 1_000_000 + n))
    assert layout.prune() == ["0.1.0"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink()) == [
        "0.2.0",
        "0.3.0",
        "backups",
    ]
    assert sorted(p.name for p in layout.backups.iterdir()) == [
        "kiosk-0.2.0-2.db",
        "kiosk-0.2.0-3.db",
        "kiosk-0.2.0-4.db",
    ]
