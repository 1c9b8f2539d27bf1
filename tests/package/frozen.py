"""Frozen builds of the kiosk that differ only in our code (its version), for the frozen update
test (``make package-test``) and ``make bench``: a copy of the sources, the version set, the
real build_kiosk.spec run by PyInstaller."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("kiosk", "hardware", "translations", "assets", "build_kiosk.spec")


def build_frozen(where: Path, version: str) -> Path:
    """dist/kiosk of a copy of the source tree whose version is ``version``."""
    source = where / f"src-{version}"
    source.mkdir(parents=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "_build.txt")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy(ROOT / name, source / name)
    init_file = source / "kiosk" / "__init__.py"
    text = init_file.read_text()
    assert '__version__ = "' in text
    init_file.write_text(
        "\n".join(
            f'__version__ = "{version}"' if line.startswith("__version__ = ") else line
            for line in text.splitlines()
        )
        + "\n"
    )
    pyinstaller = Path(sys.executable).parent / "pyinstaller"
    build = subprocess.run(
        [
            str(pyinstaller),
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(where / f"dist-{version}"),
            "--workpath",
            str(where / f"work-{version}"),
            str(source / "build_kiosk.spec"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=source,
        # PYTHONHASHSEED=0 as `make package`: the same sources give the same files.
        env={**os.environ, "KIOSK_BUILD_ID": f"build {version}", "PYTHONHASHSEED": "0"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    shutil.rmtree(where / f"work-{version}", ignore_errors=True)
    return where / f"dist-{version}" / "kiosk"
