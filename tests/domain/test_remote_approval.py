"""Remote approval codes and the "request approval" step (kiosk/domain/remote_approval.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import (
    ApprovalAction,
    ApprovalPolicy,
    ApprovalStep,
    ApproverSeed,
    Verdict,
)

T0 = datetime(2026, 12, 1, 3, 2, 10, tzinfo=UTC)
SEED = base64.b32encode(b"0123456789abcdefghij").decode()
OTHER_SEED = base64.b32encode(b"another clinician...").decode()
MACHINE = "dev-0001"
ALL = frozenset(ApprovalAction)
NURSE = ApproverSeed(7, "nurse", "Maria L.", SEED, ALL)
POLICY = ra.default_policy()


def verify(code: str, **changes: object) -> ra.Verification:
    args: dict[str, object] = {
        "seeds": [NURSE],
        "policy": POLICY,
        "machine_device_id": MACHINE,
        "action": ApprovalAction.CLEAR_DOOR_LOCKOUT,
        "challenge": "04815162",
        "issued_at": T0,
        "now": T0 + timedelta(minutes=1),
        "used": False,
    }
    args.update(changes)
    return ra.verify_response(code, **args)  # type: ignore[arg-type]


def code_at(at: datetime, **changes: object) -> str:
    args: dict[str, object] = {
        "seed": SEED,
        "machine_device_id": MACHINE,
        "action": ApprovalAction.CLEAR_DOOR_LOCKOUT,
        "challenge": "04815162",
        "step": ra.time_step(at),
    }
    args.update(changes)
    return ra.response_code(**args)  # type: ignore[arg-type]


def test_the_code_is_rfc4226_truncation_of_hmac_sha256_over_the_binding() -> None:
    step = ra.time_step(T0)
    message = f"kiosk-approval-v1|{MACHINE}|clear_door_lockout|04815162|{step}".encode()
    digest = hmac.new(base64.b32decode(SEED), message, hashlib.sha256).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    assert code_at(T0) == f"{number % 10**8:08d}"
    assert len(code_at(T0)) == 8 and code_at(T0).isdigit()


def test_the_right_code_is_accepted_and_names_its_approver() -> None:
    verdict = verify(code_at(T0 + timedelta(seconds=30)))
    assert verdict.verdict is Verdict.ACCEPTED
    assert verdict.approver == NURSE


def test_forged_replayed_expired_wrong_machine_action_role_are_refused() -> None:
    good = code_at(T0)
    assert verify("12345678").verdict is Verdict.WRONG  # forged
    assert verify(good, used=True).verdict is Verdict.USED  # replayed
    assert verify(good, now=T0 + timedelta(minutes=10, seconds=1)).verdict is Verdict.EXPIRED
    assert verify(good, machine_device_id="dev-0002").verdict is Verdict.WRONG
    assert verify(good, action=ApprovalAction.CLEAR_TAMPER_LOCKOUT).verdict is Verdict.WRONG
    assert verify(good, challenge="04815163").verdict is Verdict.WRONG
    viewer = ApproverSeed(7, "program_manager", "Maria L.", SEED, ALL)
    assert verify(good, seeds=[viewer]).verdict is Verdict.WRONG  # role not allowed
    narrow = ApproverSeed(7, "nurse", "Maria L.", SEED, frozenset())
    assert verify(good, seeds=[narrow]).verdict is Verdict.WRONG  # the seed's actions
    other = ApproverSeed(8, "nurse", "Ann B.", OTHER_SEED, ALL)
    assert verify(good, seeds=[other]).verdict is Verdict.WRONG  # another clinician's key
    release = code_at(T0, action=ApprovalAction.RELEASE_HOLD)
    # A nurse may not release a hold by default policy, even with a right code.
    assert verify(release, action=ApprovalAction.RELEASE_HOLD).verdict is Verdict.WRONG
    assert (
        verify("1234567").verdict is Verdict.WRONG and verify("abcdefgh").verdict is Verdict.WRONG
    )


def test_an_action_the_site_does_not_allow_is_never_accepted() -> None:
    good = code_at(T0, action=ApprovalAction.WITNESS_DOSE)
    verdict = verify(good, action=ApprovalAction.WITNESS_DOSE)
    assert verdict.verdict is Verdict.NOT_ALLOWED  # witnessing remotely is off by default
    allowed = ApprovalPolicy({**ra.DEFAULT_POLICY, ApprovalAction.WITNESS_DOSE: ("nurse",)})
    verdict = verify(good, action=ApprovalAction.WITNESS_DOSE, policy=allowed)
    assert verdict.verdict is Verdict.ACCEPTED


def test_a_code_computed_any_time_within_ten_minutes_is_accepted_never_after() -> None:
    for minute in range(0, 10):
        computed = T0 + timedelta(minutes=minute, seconds=50)
        assert verify(code_at(computed), now=computed).verdict is Verdict.ACCEPTED, minute
    late = T0 + timedelta(minutes=10, seconds=1)
    assert verify(code_at(late), now=late).verdict is Verdict.EXPIRED
    # A code from a step before the challenge (an old code) is refused.
    assert verify(code_at(T0 - timedelta(minutes=10))).verdict is Verdict.WRONG


def test_policy_from_the_wire_never_widens() -> None:
    policy = ra.policy_from_wire({"clear_door_lockout": ["nurse", "admin", 3]})
    assert policy.roles[ApprovalAction.CLEAR_DOOR_LOCKOUT] == ("nurse",)
    assert not policy.allows(ApprovalAction.RELEASE_HOLD)
    assert ra.policy_from_wire(None) == ra.default_policy()
    assert ra.policy_from_wire(policy.as_wire()) == policy


def test_challenges_are_eight_digits() -> None:
    assert ra.new_challenge(lambda n: 42) == "00000042"
    assert all(len(ra.new_challenge()) == 8 for _ in range(50))


machines = st.sampled_from(["dev-0001", "dev-0002", "dev-a"])
actions = st.sampled_from([a for a in ApprovalAction if a is not ApprovalAction.WITNESS_DOSE])
challenges = st.integers(0, 10**8 - 1).map(lambda n: f"{n:08d}")
offsets = st.integers(-15 * 60, 25 * 60)


@settings(max_examples=300, deadline=None)
@given(
    machine=machines,
    action=actions,
    challenge=challenges,
    other_machine=machines,
    other_action=actions,
    other_challenge=challenges,
    computed_after=st.integers(0, 12 * 60),
    checked_after=offsets,
    used=st.booleans(),
)
def test_a_response_is_accepted_only_for_its_machine_action_challenge_in_time_once(
    machine: str,
    action: ApprovalAction,
    challenge: str,
    other_machine: str,
    other_action: ApprovalAction,
    other_challenge: str,
    computed_after: int,
    checked_after: int,
    used: bool,
) -> None:
    """The clinician computes a response for (machine, action, challenge) at some time; the
    kiosk checks it for (other_machine, other_action, other_challenge) later."""
    everyone = ApproverSeed(1, "pharmacist", "A. B.", SEED, ALL)
    computed = T0 + timedelta(seconds=computed_after)
    code = ra.response_code(SEED, machine, action, challenge, ra.time_step(computed))
    now = computed + timedelta(seconds=max(0, checked_after))
    verdict = ra.verify_response(
        code,
        seeds=[everyone],
        policy=POLICY,
        machine_device_id=other_machine,
        action=other_action,
        challenge=other_challenge,
        issued_at=T0,
        now=now,
        used=used,
    )
    same = (machine, action, challenge) == (other_machine, other_action, other_challenge)
    in_time = now <= T0 + ra.VALIDITY
    if verdict.verdict is Verdict.ACCEPTED:
        assert same and in_time and not used
    if same and in_time and not used and computed <= now:
        assert verdict.verdict is Verdict.ACCEPTED
    if not in_time and not used:
        assert verdict.verdict is Verdict.EXPIRED


# ---------------------------------------------------------------- the step


def test_online_request_approved() -> None:
    state = ra.start(POLICY, [ApprovalAction.CLEAR_DOOR_LOCKOUT])
    assert state.step is ApprovalStep.CHOOSE_ACTION
    state = ra.step(state, ra.Choose(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine"), T0)
    assert state.effects == (ra.SendRequest(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine"),)
    state = ra.step(state, ra.Requested("r-1", "04815162", T0), T0)
    assert state.step is ApprovalStep.WAITING and state.challenge == "04815162"
    state = ra.step(state, ra.Decided(True, "Maria L."), T0)
    assert state.step is ApprovalStep.CHECKING
    assert state.effects == (ra.ActOnline("r-1"),)
    state = ra.step(state, ra.Performed(True), T0)
    assert state.step is ApprovalStep.APPROVED and state.approver_label == "Maria L."


def test_online_refused_shows_the_reason() -> None:
    state = _waiting()
    state = ra.step(state, ra.Decided(False, "Maria L.", "call the pharmacy"), T0)
    assert (state.step, state.reason) == (ApprovalStep.REFUSED, "call the pharmacy")


def test_no_decision_in_time_offers_the_phone_then_expires() -> None:
    state = _waiting()
    state = ra.step(state, ra.Tick(), T0 + ra.ONLINE_WAIT)
    assert state.step is ApprovalStep.TIMED_OUT
    state = ra.step(state, ra.UsePhone(), T0 + ra.ONLINE_WAIT)
    assert state.step is ApprovalStep.CHALLENGE and state.keypad
    assert state.seconds_left(T0 + ra.ONLINE_WAIT) == 7 * 60
    state = ra.step(state, ra.Tick(), T0 + ra.VALIDITY + timedelta(seconds=1))
    assert state.step is ApprovalStep.EXPIRED


def test_offline_wrong_then_locked_then_verified() -> None:
    state = ra.step(_waiting(), ra.UsePhone(), T0)
    state = ra.step(state, ra.CodeEntered("11111111"), T0)
    assert state.effects == (ra.CheckCode("r-1", "11111111"),)
    state = ra.step(state, ra.CodeChecked(Verdict.WRONG, attempts_left=3), T0)
    assert (state.step, state.problem, state.attempts_left) == (
        ApprovalStep.CHALLENGE,
        ra.ApprovalProblem.WRONG,
        3,
    )
    state = ra.step(state, ra.CodeEntered("22222222"), T0)
    state = ra.step(state, ra.CodeChecked(Verdict.WRONG, locked_seconds=30), T0)
    assert state.step is ApprovalStep.LOCKED and not state.keypad
    assert ra.step(state, ra.CodeEntered("3"), T0).step is ApprovalStep.LOCKED
    assert ra.step(state, ra.Tick(), T0 + timedelta(seconds=29)).step is ApprovalStep.LOCKED
    state = ra.step(state, ra.Tick(), T0 + timedelta(seconds=30))
    assert state.step is ApprovalStep.CHALLENGE
    state = ra.step(state, ra.CodeEntered("33333333"), T0)
    state = ra.step(state, ra.CodeChecked(Verdict.ACCEPTED, "Maria L."), T0)
    assert state.step is ApprovalStep.CHECKING
    state = ra.step(state, ra.Performed(False, "door open"), T0)
    assert state.step is ApprovalStep.REFUSED and state.problem is ra.ApprovalProblem.ACTION_FAILED


def test_expired_used_and_not_allowed_verdicts() -> None:
    state = ra.step(_waiting(), ra.UsePhone(), T0)
    checking = ra.step(state, ra.CodeEntered("1"), T0)
    assert ra.step(checking, ra.CodeChecked(Verdict.EXPIRED), T0).step is ApprovalStep.EXPIRED
    used = ra.step(checking, ra.CodeChecked(Verdict.USED), T0)
    assert used.step is ApprovalStep.EXPIRED and used.problem is ra.ApprovalProblem.USED
    denied = ra.step(checking, ra.CodeChecked(Verdict.NOT_ALLOWED), T0)
    assert denied.step is ApprovalStep.NOT_ALLOWED


def test_the_policy_decides_what_is_offered() -> None:
    assert ra.start(POLICY, [ApprovalAction.WITNESS_DOSE]).step is ApprovalStep.NOT_ALLOWED
    state = ra.start(POLICY)
    assert ApprovalAction.WITNESS_DOSE not in state.offered
    # A choice the policy does not offer is ignored.
    assert ra.step(state, ra.Choose(ApprovalAction.WITNESS_DOSE, "x"), T0) == state


def test_cancel_withdraws_a_pending_request() -> None:
    state = ra.step(_waiting(), ra.Cancel(), T0)
    assert state.step is ApprovalStep.CHOOSE_ACTION
    assert state.effects == (ra.Withdraw("r-1"),)
    assert ra.step(ra.start(POLICY), ra.Cancel(), T0).effects == ()


def _waiting() -> ra.ApprovalState:
    state = ra.start(POLICY)
    state = ra.step(state, ra.Choose(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine"), T0)
    return ra.step(state, ra.Requested("r-1", "04815162", T0), T0)
