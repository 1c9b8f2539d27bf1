"""Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"): after the n-th consecutive failure (n = 0 first) wait a uniform random time in
``[0, min(cap, base * 2**n)]``; a ``Retry-After`` from the hub is a floor."""

from __future__ import annotations

import random
from collections.abc import Callable

BASE_SECONDS = 2.0
CAP_SECONDS = 300.0  # 5 minutes
RETRY_AFTER_LIMIT = 3600.0  # a hub asking for more than an hour is not believed


def backoff_ceiling(attempt: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> float:
    if attempt < 0:
        raise ValueError("attempt counts from 0")
    # 2**attempt overflows nothing here: past the cap the exponent stops mattering.
    return float(min(cap, base * 2.0 ** min(attempt, 64)))


def backoff_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = BASE_SECONDS,
    cap: float = CAP_SECONDS,
    rand: Callable[[], float] = random.random,
) -> float:
    delay = rand() * backoff_ceiling(attempt, base, cap)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_LIMIT))
    return delay
