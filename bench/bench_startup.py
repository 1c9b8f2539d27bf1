"""Cold start to the idle screen, from source and from the PyInstaller package.

Runs ``kiosk smoke`` (demo mode, fast emulators, offscreen) five times each way and prints
the medians of the figure smoke itself reports (command start -> idle screen shown) and of
the process wall clock (exec -> exit, interpreter and bundle loading included), then the
package size. The package is built first into build/bench-startup/ unless --dist names an
existing dist/kiosk folder.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.bench_startup [--dist dist/kiosk]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
FIGURE = re.compile(r"smoke ok: idle screen shown in ([0-9.]+) s")


def _time(command: list[str]) -> tuple[float, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    started = time.perf_counter()
    result = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )
    wall = time.perf_counter() - started
    found = FIGURE.search(result.stdout)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
    return float(found.group(1)), wall


def _report(label: str, command: list[str]) -> None:
    _time(command)  # warm the page cache once: "cold" here means a fresh process
    runs = [_time(command) for _ in range(RUNS)]
    smoke = statistics.median(r[0] for r in runs)
    wall = statistics.median(r[1] for r in runs)
    print(f"{label:<8} idle screen {smoke:5.2f} s (smoke figure)  {wall:5.2f} s (process wall)")


def _build(base: Path) -> Path:
    pyinstaller = shutil.which("pyinstaller", path=str(Path(sys.executable).parent))
    if pyinstaller is None:
        raise SystemExit("pyinstaller is not installed")
    subprocess.run(
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
        check=True,
        cwd=ROOT,
    )
    return base / "dist" / "kiosk"


def _size(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return f"{total / 1e6:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, help="an existing dist/kiosk folder")
    args = parser.parse_args()
    dist = args.dist or _build(ROOT / "build" / "bench-startup")
    print(f"median of {RUNS} runs each")
    _report("source", [sys.executable, "-m", "kiosk", "smoke"])
    _report("package", [str(dist / "kiosk"), "smoke"])
    du = subprocess.run(["du", "-sh", str(dist)], check=False, capture_output=True, text=True)
    print(f"package size {du.stdout.split()[0] if du.stdout else '?'} (du -sh), {_size(dist)}")


if __name__ == "__main__":
    main()
