"""The stdin console both emulators share when run on their own (`python -m ...`).

First stdout line: ``PORT <path>``; then exactly one flushed answer line per command read on
stdin. When stdin closes (run in the background) the emulator serves on until a signal.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Protocol


class _Servable(Protocol):
    @property
    def port(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


def serve_console(emulator: _Servable, console: Callable[[list[str]], str], help_text: str) -> int:
    # SIGTERM (a supervisor, a harness) ends it like ^C: the link is removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    emulator.start()
    try:
        print(f"PORT {emulator.port}", flush=True)
        print(help_text, file=sys.stderr, flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            print(console(words), flush=True)
            if words == ["quit"]:
                return 0
        threading.Event().wait()  # stdin closed (run in the background): serve until ^C
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0
