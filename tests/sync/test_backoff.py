"""Full-jitter exponential backoff capped at 5 minutes; Retry-After honoured."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from kiosk.services.sync import backoff_ceiling, backoff_delay
from kiosk.services.sync.backoff import BASE_SECONDS, CAP_SECONDS
from kiosk.services.sync.client import parse_retry_after


@pytest.mark.parametrize("attempt", range(25))
def test_every_delay_is_within_zero_and_the_capped_exponential(attempt: int) -> None:
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2**attempt)
    assert backoff_ceiling(attempt) == ceiling
    rng = random.Random(attempt)
    for _ in range(200):
        assert 0.0 <= backoff_delay(attempt, rand=rng.random) <= ceiling
    assert backoff_delay(attempt, rand=lambda: 0.0) == 0.0
    assert backoff_delay(attempt, rand=lambda: 1.0) == ceiling


def test_the_cap_is_five_minutes_and_the_jitter_is_full() -> None:
    assert CAP_SECONDS == 300.0
    assert backoff_ceiling(1000) == 300.0
    rng = random.Random(1)
    delays = [backoff_delay(10, rand=rng.random) for _ in range(2000)]
    assert min(delays) < 30 and max(delays) > 270  # spread over the whole range


def test_retry_after_is_a_floor() -> None:
    assert backoff_delay(0, 120.0, rand=lambda: 0.5) == 120.0
    assert backoff_delay(10, 5.0, rand=lambda: 1.0) == 300.0  # the jitter was longer anyway
    assert backoff_delay(0, 10**9, rand=lambda: 0.0) == 3600.0  # not believed past an hour


def test_retry_after_header_forms() -> None:
    now = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
