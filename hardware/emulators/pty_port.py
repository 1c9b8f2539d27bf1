"""A pseudo-terminal pair standing in for a serial cable.

The emulator keeps the master end; a driver opens the slave path like any serial port.
"""

from __future__ import annotations

import contextlib
import os
import threading
import tty

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
