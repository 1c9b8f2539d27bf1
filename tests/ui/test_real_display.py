"""The kiosk on a real display: Qt's xcb platform on an X server (Xvfb, no window manager, as
docs/INSTALL.md allows) at the two kiosk sizes.

Each size gets its own Xvfb and a subprocess (a process's Qt platform is fixed once its
QApplication exists) running ``tools/display_walk.py``: every participant screen in every
language, the staff PIN pad, every admin page for every role in English and French, the idle
screen after each logout, and the setup wizard, each checked for a window that is not the
screen, widgets past their parent or the screen, clipped or elided text, small touch targets
and contrast measured from the rendered pixels (see that module). ``make screenshots`` runs
the same walk and keeps the pictures.

Without Xvfb this skips on a workstation, and fails on CI (``CI=true``): ``.ci/run`` installs
Xvfb and the libraries of Qt's xcb plugin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.xvfb import xcb_environment, xvfb

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1080, 1920), (1920, 1080)]
WALK_SECONDS = 600  # about 15 s on an idle machine; CI's machine is shared
# Participant states x languages, PIN pads, admin pages x roles x 2 languages, wizard pages.
AT_LEAST_SCREENS = 150


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def need_xvfb() -> None:
    if shutil.which("Xvfb") is None:
        if on_ci():
            pytest.fail("Xvfb is not installed on CI: .ci/run installs xvfb and the xcb libraries")
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb); CI runs this test")


@pytest.mark.slow
@pytest.mark.timeout(WALK_SECONDS + 60)
@pytest.mark.parametrize("size", SIZES, ids=["portrait", "landscape"])
def test_every_screen_fits_reads_and_can_be_touched_on_a_real_display(
    size: tuple[int, int], tmp_path: Path
) -> None:
    need_xvfb()
    report = tmp_path / "walk.json"
    with xvfb(*size) as display:
        walk = subprocess.run(
            [sys.executable, "-m", "tools.display_walk", "--report", str(report)],
            cwd=ROOT,
            env=xcb_environment(display),
            capture_output=True,
            text=True,
            timeout=WALK_SECONDS,
            check=False,
        )
    if "Could not load the Qt platform plugin" in walk.stderr and not on_ci():
        pytest.skip(f"Qt's xcb plugin cannot load here (see .ci/run): {walk.stderr[-400:]}")
    assert report.exists(), f"no report (exit {walk.returncode}):\n{walk.stderr[-3000:]}"
    found = json.loads(report.read_text())
    assert found["size"] == f"{size[0]}x{size[1]} xcb"
    assert found["problems"] == [], "\n".join(found["problems"])
    assert found["pages"] >= AT_LEAST_SCREENS
    assert walk.returncode == 0, walk.stderr[-3000:]
