"""The periodic services' loop (fleet.periodic.run_every): a failed pass is one line naming
its kind and the loop goes on; SIGTERM ends it after the pass under way."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator

import pytest
from django.core.management.base import CommandError
from fleet.periodic import run_every


@pytest.fixture(autouse=True)
def keep_signal_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_failed_pass_is_one_line_and_sigterm_ends_the_loop() -> None:
    passes: list[int] = []
    err = io.StringIO()

    def one_pass() -> None:
        passes.append(1)
        if len(passes) == 1:
            raise ConnectionError("the database at 10.0.0.5 went away (a value never logged)")
        os.kill(os.getpid(), signal.SIGTERM)

    run_every(0.01, one_pass, "rollouts", err)
    assert len(passes) == 2
    assert err.getvalue() == "rollouts: pass failed: ConnectionError"


def test_a_period_that_is_not_positive_is_refused() -> None:
    with pytest.raises(CommandError, match="positive"):
        run_every(0, lambda: None, "escalations", io.StringIO())
