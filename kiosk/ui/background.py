"""Run blocking work off the GUI thread and call back on it (Anki's CollectionOp model).

One backend worker thread runs device I/O and the database work of an interaction, in
order. Results and progress come back to the GUI thread through a queued Qt signal.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from kiosk.services.errors import Refusal

log = logging.getLogger("kiosk.backend")

T = TypeVar("T")
# A queued job: run on the backend thread, it returns what to run next on the GUI thread.
Job = Callable[[], Callable[[], None]]


def log_failure(exc: BaseException, what: str = "backend job") -> None:
    """An expected refusal is a line at INFO; anything else is an ERROR with its traceback."""
    if isinstance(exc, Refusal):
        log.info("%s refused: %s: %s", what, type(exc).__name__, exc)
    else:
        log.error("%s failed", what, exc_info=exc)


class Backend(QObject):
    _deliver = Signal(object)  # a zero-argument callable, run on the GUI thread
    idle = Signal()

    def __init__(self, on_unhandled: Callable[[BaseException], None] | None = None) -> None:
        super().__init__()
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._pending = 0
        self._on_unhandled = on_unhandled or (lambda exc: None)
        self._deliver.connect(self._run_on_gui)
        self._thread = threading.Thread(target=self._loop, name="kiosk-backend", daemon=True)
        self._thread.start()

    def set_fallback(self, handler: Callable[[BaseException], None]) -> None:
        """Where failures go when a job gave no ``on_error`` (and GUI callback errors)."""
        self._on_unhandled = handler

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def submit(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Queue ``work`` for the backend thread; ``on_done``/``on_error`` run on the GUI."""
        failed = on_error or self._fallback

        def job() -> Callable[[], None]:
            try:
                result = work()
            except BaseException as exc:
                log_failure(exc)
                return partial(self._finish, partial(failed, exc))
            return partial(self._finish, None if on_done is None else partial(on_done, result))

        self._pending += 1
        self._jobs.put(job)

    def post(self, callback: Callable[[], None]) -> None:
        """From any thread: run ``callback`` on the GUI thread."""
        self._deliver.emit(callback)

    def shutdown(self, timeout: float = 10.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self.post(job())

    def _finish(self, callback: Callable[[], None] | None) -> None:
        self._pending -= 1
        try:
            if callback is not None:
                callback()
        finally:
            if self._pending == 0:
                self.idle.emit()

    def _fallback(self, exc: BaseException) -> None:
        self._on_unhandled(exc)

    def _run_on_gui(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception as exc:
            log.exception("GUI callback failed")
            self._on_unhandled(exc)
