"""The PyInstaller package as an installer ships it: build it, then run the frozen binary.

The frozen build is slow (~20-40 s to build on 2 cores) but stays in the default suite: a
missing Qt plugin, catalog, migration or lazily imported module only shows in a frozen run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import __version__
from tests.cli.test_cli import Emulator

ROOT = Path(__file__).resolve().parents[2]
BUILD_ID = "testbuild 2000-01-01T00:00Z"


def _offscreen() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def test_smoke_from_source() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "smoke", "--seconds", "30"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=_offscreen(),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("smoke ok: idle screen shown in "), result.stdout


def test_smoke_reports_a_timeout_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "smoke", "--seconds", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=_offscreen(),
        cwd=ROOT,
    )
    assert result.returncode == 1
    [reason] = [line for line in result.stderr.splitlines() if line.startswith("smoke failed")]
    assert "no idle screen after 0 s" in reason


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pyinstaller = shutil.which("pyinstaller", path=str(Path(sys.executable).parent))
    if pyinstaller is None:
        pytest.skip("pyinstaller is not installed in this environment")
    base = tmp_path_factory.mktemp("package")
    build = subprocess.run(
        [
            pyinstaller,
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(base / "dist"),
            "--workpath",
            str(base / "work"),
            str(ROOT / "build_kiosk.spec"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={**os.environ, "KIOSK_BUILD_ID": BUILD_ID},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    binary = base / "dist" / "kiosk" / "kiosk"
    assert binary.exists()
    yield binary
    shutil.rmtree(base, ignore_errors=True)


def _run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=_offscreen(),
        cwd=binary.parent.parent,  # not the source tree: nothing is read from it
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_frozen_version_selftest_and_smoke(frozen: Path) -> None:
    version = _run(frozen, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"kiosk {__version__} ({BUILD_ID})"

    sensor, controller = Emulator("fingerprint"), Emulator("controller")
    try:
        selftest = _run(
            frozen, "selftest", "--sensor-port", sensor.port, "--controller-port", controller.port
        )
    finally:
        sensor.stop()
        controller.stop()
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert selftest.stdout.startswith("OK   fingerprint sensor: answers"), selftest.stdout

    smoke = _run(frozen, "smoke", "--seconds", "30")
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "smoke ok: idle screen shown in " in smoke.stdout
    # The bundle carries what a frozen run reads through sys._MEIPASS / importlib.resources.
    internal = frozen.parent / "_internal"
    assert (internal / "translations" / "fr_CA" / "LC_MESSAGES" / "kiosk.mo").exists()
    assert (internal / "kiosk" / "store" / "migrations").is_dir()
    assert (internal / "assets" / "sounds").is_dir()
    # The How-to texts the staff panel reads beside kiosk/help (kiosk.help.HELP_DIR).
    shipped = {p.name for p in (internal / "kiosk" / "help").glob("*.toml")}
    assert shipped == {p.name for p in (ROOT / "kiosk" / "help").glob("*.toml")}
    platforms = {p.name for p in (internal / "PySide6" / "Qt" / "plugins" / "platforms").iterdir()}
    assert platforms == {"libqxcb.so", "libqwayland.so", "libqeglfs.so", "libqoffscreen.so"}
