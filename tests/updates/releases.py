"""Releases the update tests build: a onedir-like folder (a copy of our packages under
``_internal/`` like PyInstaller's, a ``kiosk`` start script, and a large library that stands in
for Qt and never changes), signed with tools/release.py."""

from __future__ import annotations

import os
import random
import shutil
import stat
import sys
from pathlib import Path

from kiosk.services.updates.install import stage
from kiosk.services.updates.layout import ReleaseLayout
from kiosk.services.updates.sources import folder_updater

ROOT = Path(__file__).resolve().parents[2]
QT_STAND_IN_BYTES = 3 * 1024 * 1024
HEALTH_MARK = "    problems: list[str] = []\n"


def build_bundle(where: Path, version: str, *, unhealthy: bool = False) -> Path:
    """A runnable release folder of ``version``. ``unhealthy``: its boot self-test fails (a
    bug in the new code, as a real broken release would have)."""
    bundle = where / f"bundle-{version}"
    internal = bundle / "_internal"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_build.txt")
    for package in ("kiosk", "hardware"):
        shutil.copytree(ROOT / package, internal / package, ignore=ignore)
    init = internal / "kiosk" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', f'__version__ = "{version}"'))
    if unhealthy:
        health = internal / "kiosk" / "services" / "updates" / "health.py"
        text = health.read_text()
        assert HEALTH_MARK in text
        health.write_text(text.replace(HEALTH_MARK, '    problems = ["selftest: injected"]\n'))
    # The same bytes in every release: what a code-only release must not send again.
    qt = internal / "libQt6Standin.so"
    qt.write_bytes(random.Random(6).randbytes(QT_STAND_IN_BYTES))
    start = bundle / "kiosk"
    start.write_text(
        "#!/bin/sh\n"
        'here=$(cd "$(dirname "$0")" && pwd)\n'
        f'PYTHONPATH="$here/_internal" exec {sys.executable} -P -m kiosk "$@"\n'
    )
    start.chmod(start.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bundle


def install_first(layout: ReleaseLayout, repo: Path, version: str) -> None:
    """What the factory image holds: the trusted root, and ``version`` as current."""
    layout.tuf_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "metadata" / "1.root.json", layout.tuf_dir / "root.json")
    stage(folder_updater(layout, repo), version, layout, layout.root / "none")
    link = layout.root / "current"
    link.unlink(missing_ok=True)
    os.symlink(version, link)
