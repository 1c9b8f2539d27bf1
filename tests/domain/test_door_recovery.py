"""Clearing a door or tamper lockout, as a pure state machine (and inside the flow)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain import door_recovery as dr
from kiosk.domain import flow
from kiosk.domain.door_recovery import Latch, LockoutPolicy, SecureRefusal, SecureStep
from kiosk.domain.flow import Screen
from kiosk.domain.permissions import Role

POLICY = LockoutPolicy((Role.STAFF, Role.TECHNICIAN), "Call the on-call nurse: 604-555-0100")


def run(state: dr.SecureState, *events: dr.SecureEvent) -> dr.SecureState:
    for event in events:
        state = dr.step(state, event)
    return state


def test_close_up_then_pin_then_cleared() -> None:
    state = dr.start(("door_opened", "sensor"), POLICY)
    assert (state.step, state.latches, state.policy) == (
        SecureStep.CLOSE_UP,
        frozenset({Latch.DOOR}),
        POLICY,
    )
    assert not state.pin_pad
    assert dr.step(state, dr.PinEntered("123456")) == state  # no PIN before closing up
    state = dr.step(state, dr.MachineClosed())
    assert state.step is SecureStep.ENTER_PIN and state.pin_pad
    state = dr.step(state, dr.PinEntered("123456"))
    assert state.step is SecureStep.CHECKING
    assert state.effects == (dr.ConfirmSecure("123456"),)
    assert dr.step(state, dr.PinEntered("654321")).effects == ()  # one check at a time
    assert dr.step(state, dr.Confirmed()).step is SecureStep.CLEARED


def test_each_refusal_sends_staff_to_the_step_that_fixes_it() -> None:
    checking = run(dr.start(("tamper",), POLICY), dr.MachineClosed(), dr.PinEntered("111111"))
    expected = {
        SecureRefusal.PIN_NOT_ACCEPTED: SecureStep.ENTER_PIN,
        SecureRefusal.LOCKED: SecureStep.ENTER_PIN,
        SecureRefusal.DOOR_OPEN: SecureStep.CLOSE_UP,
        SecureRefusal.TAMPER: SecureStep.CLOSE_UP,
        SecureRefusal.CONTROLLER_SILENT: SecureStep.ENTER_PIN,
        SecureRefusal.ERROR: SecureStep.ENTER_PIN,
    }
    assert set(expected) == set(SecureRefusal)
    for reason, step in expected.items():
        refused = dr.step(checking, dr.Refused(reason, 30))
        assert (refused.step, refused.refusal) == (step, reason)
        assert refused.locked_seconds == (30 if reason is SecureRefusal.LOCKED else 0)
        assert refused.policy == POLICY  # the screen names the roles and the on-call contact
    locked = dr.step(checking, dr.Refused(SecureRefusal.LOCKED, 60))
    again = run(locked, dr.PinEntered("222222"))
    assert (again.step, again.refusal, again.locked_seconds) == (SecureStep.CHECKING, None, 0)


def test_back_returns_to_closing_up_and_forgets_the_refusal() -> None:
    state = run(
        dr.start(("door_opened",), POLICY),
        dr.MachineClosed(),
        dr.PinEntered("111111"),
        dr.Refused(SecureRefusal.PIN_NOT_ACCEPTED),
        dr.Back(),
    )
    assert (state.step, state.refusal) == (SecureStep.CLOSE_UP, None)
    checking = run(state, dr.MachineClosed(), dr.PinEntered("111111"))
    assert dr.step(checking, dr.Back()).step is SecureStep.CHECKING  # the answer is owed


def test_a_changed_report_keeps_staff_where_they_are_unless_it_was_cleared() -> None:
    state = run(dr.start(("door_opened",), POLICY), dr.MachineClosed())
    both = dr.relatched(state, ("door_opened", "tamper"), POLICY)
    assert (both.step, both.latches) == (SecureStep.ENTER_PIN, frozenset(Latch))
    cleared = run(both, dr.PinEntered("1"), dr.Confirmed())
    assert dr.relatched(cleared, ("tamper",), POLICY) == dr.start(("tamper",), POLICY)
    assert dr.relatched(None, ("tamper",), POLICY).step is SecureStep.CLOSE_UP


def test_the_default_policy_is_the_permission_table() -> None:
    assert set(dr.default_policy().roles) == {Role.TECHNICIAN, Role.PHARMACIST, Role.ADMIN}
    assert dr.default_policy().on_call is None


EVENTS = st.one_of(
    st.just(dr.MachineClosed()),
    st.builds(dr.PinEntered, st.sampled_from(["", "123456"])),
    st.just(dr.Confirmed()),
    st.builds(dr.Refused, st.sampled_from(list(SecureRefusal)), st.integers(0, 90)),
    st.just(dr.Back()),
)


@given(st.lists(EVENTS, max_size=30))
def test_only_a_checked_pin_clears_a_lockout(events: list[dr.SecureEvent]) -> None:
    """Random sequences never reach CLEARED without a PIN checked (ConfirmSecure) and the
    check's own Confirmed answer; no PIN is checked before staff said the machine is closed."""
    state = dr.start(("door_opened",), POLICY)
    closed, asked = False, False
    for event in events:
        before = state
        state = dr.step(state, event)
        if isinstance(event, dr.MachineClosed) and before.step is SecureStep.CLOSE_UP:
            closed = True
        if state.effects:
            assert closed and state.step is SecureStep.CHECKING
            asked = True
        if state.step is SecureStep.CLEARED and before.step is not SecureStep.CLEARED:
            assert asked and isinstance(event, dr.Confirmed)
            assert before.step is SecureStep.CHECKING


# ---------------------------------------------------------------- inside the participant flow


def lost(*faults: str, clearable: bool = True) -> flow.FlowState:
    return flow.step(flow.initial("en"), flow.ServiceLost(faults, clearable, POLICY))


def test_the_flow_holds_the_lockout_steps_while_out_of_service() -> None:
    state = lost("door_opened")
    assert (state.screen, state.staff_can_clear) == (Screen.OUT_OF_SERVICE, True)
    assert state.secure == dr.start(("door_opened",), POLICY)
    state = flow.step(state, dr.MachineClosed())
    state = flow.step(state, dr.PinEntered("123456"))
    assert state.effects == (dr.ConfirmSecure("123456"),)
    assert state.secure is not None and state.secure.effects == ()
    state = flow.step(state, dr.Confirmed())
    assert state.secure is not None and state.secure.step is SecureStep.CLEARED
    assert flow.step(state, flow.ServiceRestored()).screen is Screen.IDLE


def test_lockout_events_do_nothing_without_a_lockout() -> None:
    state = lost("controller", clearable=False)
    assert state.secure is None and not state.staff_can_clear
    assert flow.step(state, dr.MachineClosed()) == state
    assert flow.step(flow.initial("en"), dr.PinEntered("123456")).effects == ()


def test_a_report_without_the_lockout_drops_the_steps_and_a_new_one_starts_over() -> None:
    state = flow.step(lost("door_opened"), dr.MachineClosed())
    still = flow.step(state, flow.ServiceLost(("door_opened", "sensor"), True, POLICY))
    assert still.secure is not None and still.secure.step is SecureStep.ENTER_PIN
    gone = flow.step(state, flow.ServiceLost(("sensor",), False, POLICY))
    assert gone.screen is Screen.OUT_OF_SERVICE and gone.secure is None
    again = flow.step(gone, flow.ServiceLost(("tamper",), True, POLICY))
    assert again.secure == dr.start(("tamper",), POLICY)
