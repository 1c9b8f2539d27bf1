"""Codes from a clinician's authenticator app (kiosk/domain/app_codes.py) and the approval
step's "Code from the clinician's app" (kiosk/domain/remote_approval.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain import app_codes
from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import (
    ApprovalAction,
    ApprovalPolicy,
    ApprovalProblem,
    ApprovalStep,
    ApproverSeed,
    Verdict,
)

T0 = datetime(2026, 12, 1, 3, 2, 10, tzinfo=UTC)
APP = base64.b32encode(b"the nurse's app seed").decode()
OTHER_APP = base64.b32encode(b"a clinician elsewhere").decode()
ALL = frozenset(ApprovalAction)
NURSE = ApproverSeed(7, "nurse", "Maria L.", "AAAAAAAAAAAAAAAA", ALL, APP)
PRESCRIBER = ApproverSeed(8, "prescriber", "Sam P.", "AAAAAAAAAAAAAAAA", ALL, OTHER_APP)
ACTION = ApprovalAction.CLEAR_DOOR_LOCKOUT


def verify(code: str, **changes: object) -> ra.Verification:
    used: set[tuple[int, int]] = changes.pop("used", set())  # type: ignore[assignment]
    args: dict[str, object] = {
        "seeds": [NURSE],
        "policy": ra.default_policy(),
        "action": ACTION,
        "issued_at": T0,
        "now": T0 + timedelta(minutes=1),
        "request_open": True,
        "clock_trusted": True,
        "step_used": lambda user, step: (user, step) in used,
    }
    args.update(changes)
    return app_codes.verify_app_code(code, **args)  # type: ignore[arg-type]


def app_now(at: datetime, seed: str = APP) -> str:
    """What the clinician's phone shows at ``at`` (pyotp, as any authenticator app)."""
    return pyotp.TOTP(seed).at(at)


def test_the_code_is_what_a_standard_authenticator_app_shows() -> None:
    at = T0 + timedelta(minutes=1)
    assert app_codes.app_code(APP, app_codes.app_step(at)) == pyotp.TOTP(APP).at(at)
    found = verify(app_now(at))
    assert found == ra.Verification(Verdict.ACCEPTED, NURSE, app_codes.app_step(at))


def test_one_step_either_side_is_accepted_and_two_are_not() -> None:
    now = T0 + timedelta(minutes=2)
    for seconds, verdict in ((-30, Verdict.ACCEPTED), (30, Verdict.ACCEPTED)):
        assert verify(app_now(now + timedelta(seconds=seconds)), now=now).verdict is verdict
    assert verify(app_now(now - timedelta(seconds=60)), now=now).verdict is Verdict.WRONG
    assert verify(app_now(now + timedelta(seconds=60)), now=now).verdict is Verdict.WRONG


def test_a_code_from_before_the_request_is_worthless() -> None:
    """Seen over a shoulder a minute before the request was made: refused."""
    earlier = app_now(T0 - timedelta(minutes=1))
    assert verify(earlier, now=T0).verdict is Verdict.WRONG


def test_a_used_step_is_replayed_not_accepted() -> None:
    now = T0 + timedelta(minutes=1)
    step = app_codes.app_step(now)
    assert verify(app_now(now), used={(7, step)}).verdict is Verdict.REPLAYED
    # Another clinician's use of that step does not spend this one's.
    assert verify(app_now(now), used={(8, step)}).verdict is Verdict.ACCEPTED


def test_roles_actions_and_the_site_decide() -> None:
    now = T0 + timedelta(minutes=1)
    seeds = [NURSE, PRESCRIBER]
    # Prescribers may not clear a door lockout by default: their app code is wrong there.
    assert verify(app_now(now, OTHER_APP), seeds=seeds).verdict is Verdict.WRONG
    hold = ApprovalAction.RELEASE_HOLD
    found = verify(app_now(now, OTHER_APP), seeds=seeds, action=hold)
    assert found.verdict is Verdict.ACCEPTED and found.approver == PRESCRIBER
    # A clinician of another site: their seed is not on this machine, so nothing matches.
    assert verify(app_now(now, OTHER_APP), seeds=[NURSE]).verdict is Verdict.WRONG
    # A seed without the action listed, or without an app, approves nothing.
    narrow = ApproverSeed(7, "nurse", "Maria L.", "AAAAAAAAAAAAAAAA", frozenset(), APP)
    assert verify(app_now(now), seeds=[narrow]).verdict is Verdict.WRONG
    no_app = ApproverSeed(7, "nurse", "Maria L.", "AAAAAAAAAAAAAAAA", ALL, None)
    assert verify(app_now(now), seeds=[no_app]).verdict is Verdict.WRONG
    off = ApprovalPolicy(dict(ra.DEFAULT_POLICY), app_codes=False)
    assert verify(app_now(now), policy=off).verdict is Verdict.NOT_ALLOWED
    witness = ApprovalAction.WITNESS_DOSE  # nobody, by default
    assert verify(app_now(now), action=witness).verdict is Verdict.NOT_ALLOWED


def test_no_decision_on_an_untrusted_clock_an_old_or_a_used_request() -> None:
    now = T0 + timedelta(minutes=1)
    code = app_now(now)
    assert verify(code, clock_trusted=False).verdict is Verdict.CLOCK_UNTRUSTED
    assert verify(code, request_open=False).verdict is Verdict.USED
    late = T0 + ra.VALIDITY + timedelta(seconds=1)
    assert verify(app_now(late), now=late).verdict is Verdict.EXPIRED
    for bad in ("", "12345", "1234567", "12a456", "١٢٣٤٥٦"):
        assert verify(bad).verdict is Verdict.WRONG


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.floats(min_value=-2, max_value=12),
    shift=st.integers(min_value=-40, max_value=40),
    clock_trusted=st.booleans(),
    open_=st.booleans(),
)
def test_nothing_outside_the_window_the_request_or_a_trusted_clock_is_accepted(
    minutes: float, shift: int, clock_trusted: bool, open_: bool
) -> None:
    """Safety property: an accepted code is always from a step within one of now, not before
    the request's step less one, on a trusted clock, for an open request of < 10 minutes."""
    now = T0 + timedelta(minutes=minutes)
    shown_at = now + timedelta(seconds=30 * shift)
    found = verify(app_now(shown_at), now=now, clock_trusted=clock_trusted, request_open=open_)
    if found.verdict is Verdict.ACCEPTED:
        assert found.step is not None and clock_trusted and open_
        assert abs(found.step - app_codes.app_step(now)) <= 1
        assert found.step >= app_codes.app_step(T0) - 1
        assert now <= T0 + ra.VALIDITY
    elif clock_trusted and open_ and abs(shift) <= 1 and T0 <= now <= T0 + ra.VALIDITY:
        assert found.verdict is Verdict.ACCEPTED


# ---------------------------------------------------------------- the step


def waiting(app: bool = True) -> ra.ApprovalState:
    state = ra.start(ra.default_policy(), (ACTION,), app_seeds=app)
    state = ra.step(state, ra.Choose(ACTION, "machine"), T0)
    return ra.step(state, ra.Requested("r-1", "04815162", T0), T0)


def test_staff_may_switch_to_the_app_and_back() -> None:
    state = waiting()
    assert state.can_use_app
    state = ra.step(state, ra.UseApp(), T0)
    assert (state.step, state.by_app, state.code_digits) == (ApprovalStep.CHALLENGE, True, 6)
    checking = ra.step(state, ra.CodeEntered("123456"), T0)
    assert checking.effects == (ra.CheckAppCode("r-1", "123456"),)
    back = ra.step(state, ra.UseApp(by_app=False), T0)
    assert (back.by_app, back.code_digits) == (False, 8)
    assert ra.step(back, ra.CodeEntered("12345678"), T0).effects == (
        ra.CheckCode("r-1", "12345678"),
    )


def test_the_app_is_not_offered_without_seeds_or_when_the_site_says_no() -> None:
    assert not waiting(app=False).can_use_app
    assert ra.step(waiting(app=False), ra.UseApp(), T0).step is ApprovalStep.WAITING
    off = ApprovalPolicy(dict(ra.DEFAULT_POLICY), app_codes=False)
    assert not ra.start(off, (ACTION,), app_seeds=True).app_codes


def test_app_verdicts_render_as_problems() -> None:
    state = ra.step(waiting(), ra.UseApp(), T0)
    checking = ra.step(state, ra.CodeEntered("123456"), T0)
    replayed = ra.step(checking, ra.CodeChecked(Verdict.REPLAYED, attempts_left=3), T0)
    assert (replayed.step, replayed.problem, replayed.by_app) == (
        ApprovalStep.CHALLENGE,
        ApprovalProblem.REPLAYED,
        True,
    )
    clock = ra.step(checking, ra.CodeChecked(Verdict.CLOCK_UNTRUSTED), T0)
    assert (clock.step, clock.problem) == (ApprovalStep.CHALLENGE, ApprovalProblem.CLOCK)
    locked = ra.step(checking, ra.CodeChecked(Verdict.REPLAYED, locked_seconds=30), T0)
    assert locked.step is ApprovalStep.LOCKED
    assert ra.step(locked, ra.Tick(), T0 + timedelta(seconds=31)).by_app


def test_the_policy_carries_the_app_setting_over_the_wire() -> None:
    off = ApprovalPolicy(dict(ra.DEFAULT_POLICY), app_codes=False)
    assert ra.policy_from_wire(off.as_wire()) == off
    assert ra.policy_from_wire(ra.default_policy().as_wire()).app_codes
    old_hub = {a.value: ["nurse"] for a in ApprovalAction}
    assert ra.policy_from_wire(old_hub).app_codes  # the default when the hub says nothing
    assert not ra.policy_from_wire({**old_hub, "app_codes": "yes"}).app_codes
