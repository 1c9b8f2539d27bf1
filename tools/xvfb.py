"""A private X server (Xvfb, no window manager) of a given size, for Qt's xcb platform.

    python -m tools.xvfb 1080x1920 -- python -m tools.display_walk --out docs/screenshots

runs the command with ``DISPLAY`` set to a fresh Xvfb and ``QT_QPA_PLATFORM=xcb``, then stops
the server. Xvfb picks a free display number itself (``-displayfd``) and says it once it
accepts connections, so nothing waits on a guess.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

READY_SECONDS = 60.0  # a loaded CI machine


class XvfbMissing(RuntimeError):
    pass


def parse_size(text: str) -> tuple[int, int]:
    width, _x, height = text.lower().partition("x")
    return int(width), int(height)


@contextmanager
def xvfb(width: int, height: int, depth: int = 24) -> Iterator[str]:
    """Yield the DISPLAY of a running Xvfb of ``width`` x ``height``."""
    executable = shutil.which("Xvfb")
    if executable is None:
        raise XvfbMissing("Xvfb is not installed (Debian: apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [
            executable,
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{width}x{height}x{depth}",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    try:
        number = b""
        while not number.endswith(b"\n"):
            ready, _w, _x = select.select([read_fd], [], [], READY_SECONDS)
            chunk = os.read(read_fd, 16) if ready else b""
            if not chunk:
                server.kill()
                _out, err = server.communicate()
                raise XvfbMissing(f"Xvfb did not start: {err.decode(errors='replace').strip()}")
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(read_fd)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.stderr is not None:
            server.stderr.close()


def xcb_environment(display: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    env.pop("WAYLAND_DISPLAY", None)
    return env


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m tools.xvfb WIDTHxHEIGHT -- command ...", file=sys.stderr)
        return 2
    width, height = parse_size(argv[0])
    with xvfb(width, height) as display:
        return subprocess.call(argv[2:], env=xcb_environment(display))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
