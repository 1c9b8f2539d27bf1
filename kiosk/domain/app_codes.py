"""Approval by a code from the clinician's authenticator app (RFC 6238 TOTP, via pyotp).

The challenge and response (kiosk.domain.remote_approval) binds the clinician's code to the
machine, the action and the challenge. A standard authenticator app cannot be bound so: it
shows a 6-digit code that depends only on its seed and the time. So an app code is held to
the request instead, here on the machine that made it:

- it is checked only against the pending request staff are looking at (not used, not
  withdrawn, less than ``VALIDITY`` old), and no code from a time step before that request
  was made is accepted (one seen earlier, over a shoulder, is worthless);
- the seeds tried are those of clinicians whose role the site's policy allows for that
  action (and only their sites' kiosks hold their seeds), when the site allows app codes;
- within the current 30-s step or the one either side (``valid_window=1``);
- once: a clinician's code for a time step approves one request (the service remembers the
  used steps in the store), a replay is refused and counted as a wrong code;
- only on a trusted clock: a TOTP is the time, so a clock that went back would let an old
  code through (DESIGN invariant 3).

The verdicts are remote_approval's (``Verdict``): WRONG and REPLAYED count as failures in the
lockout policy; EXPIRED, USED, NOT_ALLOWED and CLOCK_UNTRUSTED do not (nothing was guessed).
Pure: the time, the used steps and the clock's trust are arguments.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import pyotp

from kiosk.domain.remote_approval import (
    APP_CODE_DIGITS,
    VALIDITY,
    ApprovalAction,
    ApprovalPolicy,
    ApproverSeed,
    Verdict,
    Verification,
    seed_bytes,
)

APP_STEP_SECONDS = 30  # what every authenticator app uses
VALID_WINDOW = 1  # the step either side of now: a code read out as it rolled over, clock skew


def app_step(at: datetime) -> int:
    return int(at.timestamp()) // APP_STEP_SECONDS


def app_code(seed: str, step: int) -> str:
    """The code the clinician's app shows during ``step`` (what pyotp's ``TOTP.now`` gives)."""
    return pyotp.TOTP(seed, digits=APP_CODE_DIGITS, interval=APP_STEP_SECONDS).generate_otp(step)


def candidate_steps(issued_at: datetime, now: datetime) -> range:
    """The steps an app code may come from now, for a request made at ``issued_at``: now's
    step ± ``VALID_WINDOW``, none before the request's own step less the window."""
    current = app_step(now)
    first = max(current - VALID_WINDOW, app_step(issued_at) - VALID_WINDOW)
    return range(first, current + VALID_WINDOW + 1)


def verify_app_code(
    code: str,
    *,
    seeds: Iterable[ApproverSeed],
    policy: ApprovalPolicy,
    action: ApprovalAction,
    issued_at: datetime,
    now: datetime,
    request_open: bool,
    clock_trusted: bool,
    step_used: Callable[[int, int], bool],
) -> Verification:
    """Whether ``code`` from a clinician's app approves this pending request, from whom and
    for which step (see the module's rules). ``step_used(user_id, step)``: already used."""
    if not policy.allows(action) or not policy.app_codes:
        return Verification(Verdict.NOT_ALLOWED)
    if not clock_trusted:
        return Verification(Verdict.CLOCK_UNTRUSTED)
    if not request_open:
        return Verification(Verdict.USED)
    if not issued_at - timedelta(seconds=APP_STEP_SECONDS) <= now <= issued_at + VALIDITY:
        return Verification(Verdict.EXPIRED)
    code = code.strip()
    if len(code) != APP_CODE_DIGITS or not code.isascii() or not code.isdigit():
        return Verification(Verdict.WRONG)
    replayed = False
    for seed in seeds:
        if seed.totp is None or action not in seed.actions:
            continue
        if not policy.allows_role(action, seed.role):
            continue
        try:
            seed_bytes(seed.totp)  # a damaged seed approves nothing
        except ValueError:
            continue
        for step in candidate_steps(issued_at, now):
            if hmac.compare_digest(code, app_code(seed.totp, step)):
                if step_used(seed.user_id, step):
                    replayed = True
                    continue
                return Verification(Verdict.ACCEPTED, seed, step)
    return Verification(Verdict.REPLAYED if replayed else Verdict.WRONG)
