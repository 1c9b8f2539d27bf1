"""Logging: stderr (journald under systemd) plus a rotating file in the data directory.

Log lines carry internal ids only: never names, PINs, keys or biometric data.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REPEAT_WINDOW_S = 300.0  # a repeated warning is said again, with its count, at most this often
RECOVERS = "recovers"


def recovers(*loggers: str) -> dict[str, tuple[str, ...]]:
    """``extra`` for a log line that says these loggers' trouble is over (RepeatLimiter)."""
    return {RECOVERS: loggers}


@dataclass
class _Held:
    since: float  # when this kind of warning last went through
    count: int = 0  # repeats held back since then
    last: str = ""  # the last of them, as it would have read


class RepeatLimiter(logging.Filter):
    """Rate-limits repeated warnings (an unplugged sensor fails its probe every second).

    A kind of warning is its logger and message template (``"%s failed: %s"``), whatever
    the arguments. The first WARNING or worse of a kind goes through; the same kind again
    within ``window`` seconds is held back and counted; the first one after that goes
    through carrying the count. The next INFO line of the same logger, or one logged with
    ``extra=recovers("hardware.sensor")`` (health: "sensor answers again"), carries the
    counts of what those loggers had held back, so the recovery says how loud the outage
    was. Set on every handler: each record is decided once.
    """

    def __init__(
        self, window: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._held: dict[tuple[str, int, str], _Held] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, "_repeat_limited", None)
        if decided is not None:  # a second handler: the same answer
            return bool(decided)
        with self._lock:
            keep = self._decide(record)
        record._repeat_limited = keep
        return keep

    def _decide(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        if record.levelno < logging.WARNING:
            self._report_recovery(record)
            return True
        key = (record.name, record.levelno, str(record.msg))
        held = self._held.get(key)
        if held is None or now - held.since >= self.window:
            if held is not None and held.count:
                _append(
                    record, f"[{held.count} more like it in the last {_span(now - held.since)}]"
                )
            self._held[key] = _Held(now)
            return True
        held.count += 1
        held.last = record.getMessage()
        return False

    def _report_recovery(self, record: logging.LogRecord) -> None:
        names = {record.name, *getattr(record, RECOVERS, ())}
        mine = [key for key in self._held if key[0] in names]
        counts = [
            f'{self._held[key].count} more like "{self._held[key].last}"'
            for key in mine
            if self._held[key].count
        ]
        for key in mine:
            del self._held[key]
        if counts:
            _append(record, f"[held back before this: {'; '.join(counts)}]")


def _append(record: logging.LogRecord, note: str) -> None:
    record.msg = f"{record.getMessage()} {note}"
    record.args = None


def _span(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


class LogFile(logging.handlers.RotatingFileHandler):
    """Rotates by size and keeps a capped number of files. A log write that fails (a full
    disk) is said once on stderr, in one line, not as a traceback per record."""

    failing = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.failing:
            self.failing = True
            error = sys.exc_info()[1]
            sys.stderr.write(f"kiosk: cannot write the log file ({error})\n")


def setup_logging(
    data_dir: Path | None,
    level: int = logging.INFO,
    *,
    max_mb: int = 10,
    files: int = 5,
) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    repeats = RepeatLimiter()
    stderr = logging.StreamHandler()
    stderr.setFormatter(logging.Formatter(FORMAT))
    stderr.addFilter(repeats)
    root.addHandler(stderr)
    if data_dir is not None:
        try:
            (data_dir / "logs").mkdir(parents=True, exist_ok=True)
            rotating = LogFile(
                data_dir / "logs" / "kiosk.log",
                maxBytes=max_mb * 1024 * 1024,
                backupCount=files,
                encoding="utf-8",
            )
        except OSError as exc:
            logging.getLogger("kiosk").error("no log file: %s (logging to stderr only)", exc)
            return
        rotating.setFormatter(logging.Formatter(FORMAT))
        rotating.addFilter(repeats)
        root.addHandler(rotating)


def record_traceback(message: str) -> None:
    """Log the exception being handled with its traceback to the log files only: the
    terminal and the journal get one line from the caller, never a traceback."""
    record = logging.getLogger("kiosk").makeRecord(
        "kiosk", logging.ERROR, __file__, 0, message, (), sys.exc_info()
    )
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
