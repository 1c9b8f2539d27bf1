"""Logging: stderr (journald under systemd) plus a rotating file in the data directory.

Log lines carry internal ids only: never names, PINs, keys or biometric data.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
    stderr = logging.StreamHandler()
    stderr.setFormatter(logging.Formatter(FORMAT))
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
