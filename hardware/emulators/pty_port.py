"""A pseudo-terminal pair standing in for a serial cable.

The emulator keeps the master end; a driver opens the slave path like any serial port,
or a stable symlink to it (``point_link``), as the kiosk opens ``/dev/serial/by-id/...``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import tty
from pathlib import Path

# The slave fd of each pair stays open here, because on Linux a pty whose slave has no
# open fd makes the master permanently readable with EIO (a busy loop for the emulator)
# until a driver opens the port. Holding it costs one fd and keeps the line "plugged in".
_held_slaves: dict[int, int] = {}
_held_lock = threading.Lock()


def open_pty_pair() -> tuple[int, str]:
    """Open a raw pty pair: return (master fd, slave path such as ``/dev/pts/7``).

    Both ends are put in raw mode so no byte is translated (0x0A to CR LF, ^C, echo...).
    Close it with ``close_pty(master_fd)``.
    """
    master, slave = os.openpty()
    try:
        tty.setraw(master)
        tty.setraw(slave)
        path = os.ttyname(slave)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    with _held_lock:
        _held_slaves[master] = slave
    return master, path


def close_pty(master_fd: int) -> None:
    """Close the master (the driver then sees the port vanish) and the held slave fd."""
    with _held_lock:
        slave = _held_slaves.pop(master_fd, None)
    for fd in (master_fd, slave):
        if fd is not None:
            with contextlib.suppress(OSError):  # already closed
                os.close(fd)


def point_link(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target``, atomically: a temporary symlink is made in the
    same folder and renamed over ``link``, so a driver opening ``link`` at any instant finds
    the old target, the new one, or (before the first call) nothing, never half of each.

    This is what udev does with ``/dev/serial/by-id/...`` when an adapter is plugged in.
    A ``link`` that exists and is not a symlink is refused (``FileExistsError``) rather
    than replaced: it is somebody's file, not our stable name.
    """
    link = Path(link)
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} exists and is not a symlink")
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_link(link: Path) -> None:
    """Remove the symlink ``link`` (the adapter is unplugged). Missing is fine; a ``link``
    that is not a symlink is left alone."""
    link = Path(link)
    if link.is_symlink():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(link)
