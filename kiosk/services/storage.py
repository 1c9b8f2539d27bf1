"""Can the kiosk write down what it does? (DESIGN invariants 6 and 8)

A vend starts only when the store accepts writes: no open failure, and enough free space on
the data folder for the intent, the result, the audit entries and the logs. A failed write
latches here until the health check has written again and every open vend is settled.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from kiosk.store.db import DatabaseError, StoreError

log = logging.getLogger("kiosk.storage")

MEGABYTE = 1024 * 1024
# What a failed write can raise: SQLite's own errors (full disk, I/O error, corrupt page)
# and ours (the anchor file could not be written).
STORE_FAILURES: tuple[type[Exception], ...] = (DatabaseError, StoreError)


class CannotRecord(Exception):
    """The store does not accept writes now: no vend may start."""


class StorageGuard:
    """Shared by the dispense service (which reports failures) and health (which clears)."""

    def __init__(
        self,
        folder: Path,
        min_free_mb: int = 64,
        disk_usage: Callable[[Path], tuple[int, int, int]] = shutil.disk_usage,
    ) -> None:
        self._folder = folder
        self._min_free = min_free_mb * MEGABYTE
        self._disk_usage = disk_usage
        self._lock = threading.Lock()
        self._failure = ""

    @property
    def failure(self) -> str:
        """'' when no write has failed since the last successful check, else why."""
        with self._lock:
            return self._failure

    def failed(self, during: str, exc: BaseException) -> None:
        """A write failed: nothing more is dispensed until health clears it."""
        detail = f"{during}: {exc}"
        with self._lock:
            first = not self._failure
            self._failure = detail
        if first:
            log.error("cannot record (%s): dispensing stopped", detail)

    def cleared(self) -> None:
        with self._lock:
            was, self._failure = self._failure, ""
        if was:
            log.info("the store accepts writes again")

    def free_space_problem(self) -> str:
        """'' when the data folder has room, else a sentence for staff and the journal."""
        try:
            free = self._disk_usage(self._folder)[2]
        except OSError as exc:
            return f"cannot read the free space of the data folder ({exc.strerror})"
        if free >= self._min_free:
            return ""
        return (
            f"only {free // MEGABYTE} MB free on the data folder "
            f"(at least {self._min_free // MEGABYTE} MB needed)"
        )

    def require_writable(self) -> None:
        """Raise CannotRecord unless a vend may start now."""
        problem = self.failure or self.free_space_problem()
        if problem:
            raise CannotRecord(problem)
