"""The version and the build a running kiosk reports (``kiosk --version``).

``make package`` writes ``kiosk/_build.txt`` (git short hash and UTC date) before PyInstaller
bundles it; a source checkout has no such file and reports the build as ``source``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk import __version__

BUILD_FILE = "_build.txt"


def _read_build() -> str:
    frozen = getattr(sys, "_MEIPASS", None)
    folder = Path(frozen) / "kiosk" if frozen else Path(__file__).resolve().parent
    try:
        text = (folder / BUILD_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return "source"
    return text or "source"


BUILD = _read_build()


def version_line() -> str:
    return f"kiosk {__version__} ({BUILD})"


__all__ = ["BUILD", "__version__", "version_line"]
