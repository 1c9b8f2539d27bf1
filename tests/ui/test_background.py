"""The backend helper: work off the GUI thread, results and progress back on it.

The stress test guards against a PySide6 regression (6.12.0 crashed the interpreter when
signals carried Python objects from a Python thread): it would kill the test run.
"""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from kiosk.ui.background import Backend


def test_results_come_back_on_the_gui_thread(qtbot: QtBot) -> None:
    backend = Backend()
    gui = threading.get_ident()
    seen: list[tuple[int, int]] = []
    backend.submit(threading.get_ident, lambda worker: seen.append((worker, threading.get_ident())))
    qtbot.waitUntil(lambda: bool(seen), timeout=15000)
    worker, callback_thread = seen[0]
    assert worker != gui
    assert callback_thread == gui
    backend.shutdown()


def test_a_failing_job_reaches_its_error_handler(qtbot: QtBot) -> None:
    backend = Backend()
    errors: list[BaseException] = []

    def boom() -> None:
        raise ValueError("bad frame")

    backend.submit(boom, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=15000)
    assert isinstance(errors[0], ValueError)
    assert not backend.busy
    backend.shutdown()


def test_many_progress_posts_from_the_worker_arrive_in_order(qtbot: QtBot) -> None:
    backend = Backend()
    received: list[int] = []
    count = 30_000

    def flood() -> None:
        for i in range(count):
            backend.post(lambda i=i: received.append(i))

    backend.submit(flood)
    qtbot.waitUntil(lambda: len(received) == count, timeout=30_000)
    assert received == list(range(count))
    backend.shutdown()
