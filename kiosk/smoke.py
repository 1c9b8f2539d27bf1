"""``kiosk smoke``: the demo kiosk starts and shows its idle screen, then exits.

A packaging check (the frozen binary has its Qt plugins, translations, migrations and
sounds) and a cold-start figure: the printed time runs from the start of this command to the
first moment the participant view is visible at the idle screen with the first health check
answered. Fast emulators, a throw-away data directory, no simulator window. Timers only (no
sleeps): the Qt event loop keeps running while it waits.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("kiosk.smoke")

POLL_MS = 20


def run_smoke(seconds: float = 30.0, started: float | None = None) -> int:
    """0 once the idle screen is shown; 1 with a one-line reason on failure or timeout."""
    started = time.monotonic() if started is None else started
    data_dir = Path(tempfile.mkdtemp(prefix="kiosk-smoke-"))
    try:
        return _run(seconds, started, data_dir)
    except Exception as exc:  # any failure is one line, never a traceback
        print(f"smoke failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _run(seconds: float, started: float, data_dir: Path) -> int:
    from PySide6.QtCore import QTimer

    from kiosk.app import Gui, assemble_gui, start_demo
    from kiosk.domain.flow import Screen
    from kiosk.ui import theme
    from kiosk.ui.keyboard import KeyboardProbe

    app = theme.application(sys.argv[:1], keyboard=True)  # as `kiosk run` has it
    runtime = start_demo(data_dir, realistic_timing=False)
    gui: Gui | None = None
    outcome: dict[str, int | str] = {"rc": 1, "reason": "the event loop ended early"}
    try:
        gui = assemble_gui(runtime, sound_cues=False)
        window, driver = gui.window, gui.driver
        window.show_on_screen(fullscreen=False)
        gui.start()
        deadline = started + seconds

        def idle_shown() -> bool:
            return (
                window.isVisible()
                and window.pages.currentWidget() is window.view
                and window.view.isVisible()
                and window.view.currentWidget() is window.view.idle
                and window.view.idle.isVisible()
                and driver.state.screen is Screen.IDLE
                and not driver._checking  # the first health check has answered
            )

        def finish(rc: int, reason: str) -> None:
            outcome.update(rc=rc, reason=reason)
            app.quit()

        def check() -> None:
            if time.monotonic() >= deadline:
                finish(
                    1,
                    f"smoke failed: no idle screen after {seconds:g} s "
                    f"(screen {driver.state.screen.value}, faults {list(driver.state.faults)})",
                )
            elif idle_shown():
                shown = time.monotonic() - started
                probe = KeyboardProbe(window)  # the keyboard's plugin, QML and libraries
                QTimer.singleShot(0, lambda: keyboard(shown, probe))
            else:
                QTimer.singleShot(POLL_MS, check)

        def keyboard(shown: float, probe: KeyboardProbe) -> None:
            if probe.appeared:
                probe.close()
                finish(0, f"smoke ok: idle screen shown in {shown:.2f} s; keyboard loads")
            elif time.monotonic() >= deadline:
                probe.close()
                finish(1, f"smoke failed: {probe.problem()}")
            else:
                QTimer.singleShot(POLL_MS, lambda: keyboard(shown, probe))

        QTimer.singleShot(0, check)
        app.exec()
    finally:
        if gui is not None:
            gui.shutdown()
            gui.window.close()
        runtime.close()
    stream = sys.stdout if outcome["rc"] == 0 else sys.stderr
    print(outcome["reason"], file=stream, flush=True)
    return int(outcome["rc"])
