"""Optional sound cues on success and refusal (site setting, off by default).

Played by an external player (ALSA's ``aplay``) in its own process, so a missing or busy
sound device never blocks or breaks the screen.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("kiosk.sound")

SUCCESS = "success"
ATTENTION = "attention"


def sounds_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    base = Path(frozen) if frozen else Path(__file__).resolve().parents[2]
    return base / "assets" / "sounds"


class SoundCues:
    def __init__(self, enabled: bool, player: Sequence[str] | None = None) -> None:
        self.enabled = enabled
        if player is None:
            found = shutil.which("aplay")
            player = (found, "-q") if found else ()
        self._player = tuple(player)
        self._warned = False
        self._running: list[subprocess.Popen[bytes]] = []

    def play(self, cue: str) -> None:
        if not self.enabled:
            return
        if not self._player:
            if not self._warned:
                log.warning("sound cues are on but no player (aplay) is installed")
                self._warned = True
            return
        path = sounds_dir() / f"{cue}.wav"
        self._running = [p for p in self._running if p.poll() is None]  # reap finished ones
        try:
            process = subprocess.Popen(
                [*self._player, str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            log.warning("sound cue failed: %s", exc.strerror)
            return
        self._running.append(process)

    def close(self, timeout: float = 5.0) -> None:
        for process in self._running:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._running = []
