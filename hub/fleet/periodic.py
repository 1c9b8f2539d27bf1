"""The loop the hub's periodic services share (``run_escalations``, ``run_rollouts`` with
``--every``): one pass every N seconds until SIGTERM or SIGINT, a fresh database connection
for each pass, and a failed pass written as one line (its kind, never its values) instead of
ending the service: a database restart must not stop the on-call or rollout engine."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TextIO

from django.core.management.base import CommandError
from django.db import close_old_connections


def run_every(seconds: float, one_pass: Callable[[], None], name: str, stderr: TextIO) -> None:
    if seconds <= 0:
        raise CommandError("--every needs a positive number of seconds")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        close_old_connections()
        try:
            one_pass()
        except Exception as exc:  # a database restart must not end the service
            stderr.write(f"{name}: pass failed: {type(exc).__name__}")
        stop.wait(seconds)
