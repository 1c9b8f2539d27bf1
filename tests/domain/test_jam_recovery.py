"""Jam recovery as a pure state machine, without Qt: every step, every failure, cancel,
the countdown, lane preselection, and random event sequences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain import jam_recovery as jr
from kiosk.domain.jam_recovery import (
    JamAction,
    JamEnd,
    JamFailure,
    LaneChoice,
    LaneCondition,
    RecoveryStep,
)

LANES = (
    LaneChoice(1, "hydromorphone 8 mg tablet", LaneCondition.READY),
    LaneChoice(2, "hydromorphone 8 mg tablet", LaneCondition.JAMMED),
    LaneChoice(3, "methadone 10 mg tablet", LaneCondition.JAMMED),
    LaneChoice(4, None, LaneCondition.READY),
)


def send(state: jr.JamState, *events: jr.Event, now: float = 0.0) -> jr.JamState:
    for event in events:
        state = jr.step(state, event, now)
    return state


def loaded(alerts: tuple[str, ...] = ()) -> jr.JamState:
    state = jr.initial()
    assert state.effects == (jr.LoadLanes(),) and state.busy
    return send(state, jr.LanesLoaded(LANES, alerts))


def at_clearing(now: float = 100.0) -> jr.JamState:
    state = send(loaded(("lane:2",)), jr.Start(), jr.Begun(), jr.Unlock())
    return jr.step(state, jr.Unlocked(30), now)


def test_the_whole_recovery_one_step_at_a_time() -> None:
    state = loaded(("lane:2",))
    assert (state.step, state.lane, jr.actions(state)) == (
        RecoveryStep.CHOOSE_LANE,
        2,
        {JamAction.START},
    )
    state = send(state, jr.Start())
    assert state.effects == (jr.BeginRecovery(2),) and jr.actions(state) == frozenset()
    state = send(state, jr.Begun())
    assert (state.step, jr.actions(state)) == (
        RecoveryStep.UNLOCK_DOOR,
        {JamAction.UNLOCK, JamAction.CANCEL},
    )
    state = send(state, jr.Unlock())
    assert state.effects == (jr.UnlockDoor(jr.UNLOCK_SECONDS),)
    state = jr.step(state, jr.Unlocked(30), 100.0)
    assert (state.step, state.seconds_left, state.door_deadline) == (
        RecoveryStep.CLEAR_JAM,
        30,
        130.0,
    )
    assert jr.actions(state) == {JamAction.CLEARED, JamAction.CANCEL}
    state = jr.step(state, jr.Tick(), 104.2)
    assert state.seconds_left == 26  # rounded up: never "0 s" while it still holds
    state = send(state, jr.JamCleared(), jr.JamNoted(), now=110.0)
    assert (state.step, state.seconds_left, state.door_deadline) == (RecoveryStep.COUNT, 0, None)
    assert jr.step(state, jr.Tick(), 500.0) == state  # no countdown after clearing
    state = send(state, jr.CountEntered(18, 1))
    assert state.effects == (jr.RecordCount(18, 1),)
    state = send(state, jr.Counted(matches=True))
    assert state.step is RecoveryStep.RESET_LANE
    state = send(state, jr.Reset())
    assert state.effects == (jr.ResetLane(),)
    state = send(state, jr.LaneWasReset(discrepancy=False))
    assert (state.step, jr.actions(state)) == (RecoveryStep.CLOSE_DOOR, {JamAction.DOOR_CLOSED})
    state = send(state, jr.DoorClosed())
    assert state.effects == (jr.FinishRecovery(),)
    state = send(state, jr.Finished())
    assert (state.step, state.ended, jr.actions(state)) == (
        RecoveryStep.DONE,
        JamEnd.BACK_IN_SERVICE,
        {JamAction.AGAIN},
    )
    again = send(state, jr.Again())
    assert (again.step, again.effects) == (RecoveryStep.CHOOSE_LANE, (jr.LoadLanes(),))


def test_the_lane_comes_from_the_alert_then_the_open_jam_alerts_then_the_jammed_lanes() -> None:
    assert jr.lane_from_subject("lane:2") == 2
    assert jr.lane_from_subject("machine") is None
    assert jr.lane_from_subject("lane:x") is None
    assert loaded(("lane:3", "lane:2")).lane == 3  # the newest open jam alert
    assert loaded(("lane:9",)).lane == 2  # no such lane: the first jammed one
    assert loaded(()).lane == 2
    # Staff came from the alert about lane 3: that lane, whatever else is jammed.
    state = send(loaded(("lane:2",)), jr.FromAlert("lane:3"))
    assert state.effects == (jr.LoadLanes(),)
    assert send(state, jr.LanesLoaded(LANES, ("lane:2",))).lane == 3
    # ... also when the alert arrives before the lanes did.
    early = send(jr.initial(), jr.FromAlert("lane:3"), jr.LanesLoaded(LANES, ("lane:2",)))
    assert early.lane == 3
    nothing = send(jr.initial(), jr.LanesLoaded((LANES[0],), ()))
    assert (nothing.lane, jr.actions(nothing)) == (None, frozenset())
    unread = send(jr.initial(), jr.FromAlert("lane:3"), jr.Failed(JamFailure.ERROR))
    assert jr.actions(unread) == {JamAction.AGAIN}  # the lanes could not be read: try again
    assert send(unread, jr.Again(), jr.LanesLoaded(LANES)).lane == 3
    chosen = send(nothing, jr.ChooseLane(1))
    assert (chosen.lane, jr.actions(chosen)) == (1, {JamAction.START})
    assert send(chosen, jr.ChooseLane(7)).lane == 1  # no such lane


def test_an_alert_does_not_disturb_a_recovery_under_way() -> None:
    state = at_clearing()
    assert send(state, jr.FromAlert("lane:3")) == state
    assert send(state, jr.ChooseLane(3)).lane == 2


def test_the_door_not_opened_before_the_countdown_ends_means_unlocking_again() -> None:
    state = at_clearing(now=100.0)
    state = jr.step(state, jr.Tick(), 129.5)
    assert state.seconds_left == 1 and not state.busy
    state = jr.step(state, jr.Tick(), 130.0)
    assert state.effects == (jr.CheckDoor(),) and state.seconds_left == 0
    assert jr.actions(state) == frozenset()  # nothing until the door is checked
    closed = send(state, jr.DoorChecked(door_open=False))
    assert (closed.step, closed.failure) == (RecoveryStep.UNLOCK_DOOR, JamFailure.DOOR_NOT_OPENED)
    assert jr.actions(closed) == {JamAction.UNLOCK, JamAction.CANCEL}
    opened = send(state, jr.DoorChecked(door_open=True))
    assert (opened.step, opened.failure, opened.door_deadline) == (
        RecoveryStep.CLEAR_JAM,
        None,
        None,
    )


def test_a_countdown_that_ends_while_the_service_works_is_checked_after() -> None:
    state = send(at_clearing(now=100.0), jr.JamCleared())
    assert jr.step(state, jr.Tick(), 200.0).effects == ()
    failed = jr.step(state, jr.Failed(JamFailure.CONTROLLER_SILENT), 200.0)
    assert (failed.step, failed.failure) == (RecoveryStep.CLEAR_JAM, JamFailure.CONTROLLER_SILENT)
    assert jr.step(failed, jr.Tick(), 201.0).effects == (jr.CheckDoor(),)


def test_a_reset_refused_as_still_blocked_goes_back_to_clearing() -> None:
    state = send(
        at_clearing(), jr.JamCleared(), jr.JamNoted(), jr.CountEntered(19), jr.Counted(False)
    )
    state = send(state, jr.Reset(), jr.Failed(JamFailure.STILL_BLOCKED))
    assert (state.step, state.failure) == (RecoveryStep.CLEAR_JAM, JamFailure.STILL_BLOCKED)
    assert state.seconds_left == 0  # the door is open already: no countdown
    state = send(state, jr.JamCleared(), jr.JamNoted(), jr.CountEntered(20), jr.Counted(True))
    state = send(state, jr.Reset(), jr.LaneWasReset(discrepancy=True))
    state = send(state, jr.DoorClosed(), jr.Finished())
    assert state.ended is JamEnd.AWAITS_PHARMACIST  # an open discrepancy holds the lane


def test_other_failures_keep_the_step_for_another_try() -> None:
    reset = send(
        at_clearing(), jr.JamCleared(), jr.JamNoted(), jr.CountEntered(20), jr.Counted(True)
    )
    for failure in (JamFailure.RESET_REFUSED, JamFailure.CONTROLLER_SILENT, JamFailure.ERROR):
        state = send(reset, jr.Reset(), jr.Failed(failure))
        assert (state.step, state.failure) == (RecoveryStep.RESET_LANE, failure)
        assert jr.actions(state) == {JamAction.RESET, JamAction.CANCEL}
    closing = send(reset, jr.Reset(), jr.LaneWasReset(False), jr.DoorClosed())
    still_open = send(closing, jr.Failed(JamFailure.DOOR_STILL_OPEN))
    assert (still_open.step, still_open.failure) == (
        RecoveryStep.CLOSE_DOOR,
        JamFailure.DOOR_STILL_OPEN,
    )
    assert send(still_open, jr.DoorClosed()).effects == (jr.FinishRecovery(),)
    unlock = send(
        loaded(), jr.Start(), jr.Begun(), jr.Unlock(), jr.Failed(JamFailure.CONTROLLER_SILENT)
    )
    assert (unlock.step, unlock.failure) == (RecoveryStep.UNLOCK_DOOR, JamFailure.CONTROLLER_SILENT)
    begin = send(loaded(), jr.Start(), jr.Failed(JamFailure.NOT_ACCEPTED))
    assert (begin.step, begin.failure, jr.next_action(begin)) == (
        RecoveryStep.CHOOSE_LANE,
        JamFailure.NOT_ACCEPTED,
        JamAction.START,
    )


def test_cancel_stops_with_the_door_closed_or_asks_to_close_it_first() -> None:
    for events in (
        (jr.Start(), jr.Begun()),
        (jr.Start(), jr.Begun(), jr.Unlock(), jr.Unlocked(30)),
        (jr.Start(), jr.Begun(), jr.Unlock(), jr.Unlocked(30), jr.JamCleared(), jr.JamNoted()),
    ):
        state = send(loaded(), *events, jr.Cancel())
        assert state.effects == (jr.StopRecovery(),) and state.cancelling
        assert state.seconds_left == 0 and state.door_deadline is None
        stopped = send(state, jr.Stopped())
        assert (stopped.step, stopped.ended) == (RecoveryStep.DONE, JamEnd.STOPPED)
        door_open = send(state, jr.Failed(JamFailure.DOOR_STILL_OPEN))
        assert (door_open.step, door_open.cancelling) == (RecoveryStep.CLOSE_DOOR, True)
        assert jr.actions(door_open) == {JamAction.DOOR_CLOSED}
        closing = send(door_open, jr.DoorClosed())
        assert closing.effects == (jr.StopRecovery(),)
        silent = send(closing, jr.Failed(JamFailure.CONTROLLER_SILENT))
        assert (silent.step, silent.cancelling) == (RecoveryStep.CLOSE_DOOR, True)
        assert send(closing, jr.Stopped()).ended is JamEnd.STOPPED
    not_yet = send(loaded(), jr.Cancel())
    assert not_yet == loaded()  # nothing started: nothing to cancel
    silent = send(
        loaded(), jr.Start(), jr.Begun(), jr.Cancel(), jr.Failed(JamFailure.CONTROLLER_SILENT)
    )
    assert (silent.step, silent.cancelling) == (RecoveryStep.UNLOCK_DOOR, False)
    assert JamAction.CANCEL in jr.actions(silent)


def test_answers_to_actions_not_asked_and_actions_not_offered_are_ignored() -> None:
    state = loaded()
    for event in (jr.Begun(), jr.Finished(), jr.LaneWasReset(False), jr.Failed(JamFailure.ERROR)):
        assert send(state, event) == state
    assert send(state, jr.Reset()) == state
    assert send(state, jr.DoorClosed()) == state
    busy = send(state, jr.Start())
    assert send(busy, jr.Start()).effects == ()  # one action at a time
    assert send(busy, jr.Unlocked(30)) == busy  # not the answer to BeginRecovery
    assert send(busy, jr.CountEntered(-1)).effects == ()
    counting = send(at_clearing(), jr.JamCleared(), jr.JamNoted())
    assert send(counting, jr.CountEntered(-1)) == counting


# ---------------------------------------------------------------- property


STAFF = st.sampled_from(
    [
        jr.Start(),
        jr.Unlock(),
        jr.JamCleared(),
        jr.CountEntered(5, 1),
        jr.Reset(),
        jr.DoorClosed(),
        jr.Cancel(),
        jr.Again(),
        jr.Tick(),
        jr.ChooseLane(3),
        jr.FromAlert("lane:2"),
    ]
)
ANSWERS = st.sampled_from(
    [
        jr.LanesLoaded(LANES, ("lane:2",)),
        jr.Begun(),
        jr.Unlocked(30),
        jr.DoorChecked(True),
        jr.DoorChecked(False),
        jr.JamNoted(),
        jr.Counted(True),
        jr.Counted(False),
        jr.LaneWasReset(False),
        jr.LaneWasReset(True),
        jr.Finished(),
        jr.Stopped(),
        *(jr.Failed(failure) for failure in JamFailure),
    ]
)


@settings(max_examples=400)
@given(st.lists(st.tuples(st.one_of(STAFF, ANSWERS), st.floats(0, 5)), max_size=60))
def test_random_sequences_never_finish_without_a_reset_and_a_closed_door(
    events: list[tuple[jr.Event, float]],
) -> None:
    """Whatever staff press and whatever the service answers, in any order: a recovery ends
    'back in service' only after the service answered a LANE_RESET with success and then
    confirmed the door closed (FinishRecovery answered Finished) — never otherwise."""
    state, now = jr.initial(), 0.0
    reset_done = False
    for event, elapsed in events:
        now += elapsed
        before = state
        state = jr.step(state, event, now)
        assert state.seconds_left >= 0
        assert len(state.effects) <= 1
        if state.effects:
            assert state.pending == state.effects[0]
        if JamAction.START in jr.actions(state):  # only ever for a lane that exists
            assert state.lane in {c.lane for c in state.lanes}
        if isinstance(before.pending, jr.ResetLane) and isinstance(event, jr.LaneWasReset):
            reset_done = True
        if state.step is RecoveryStep.DONE and before.step is not RecoveryStep.DONE:
            if state.ended is JamEnd.STOPPED:
                assert isinstance(before.pending, jr.StopRecovery)
                assert isinstance(event, jr.Stopped)
            else:
                assert reset_done
                assert isinstance(before.pending, jr.FinishRecovery)
                assert isinstance(event, jr.Finished)
            reset_done = False
        if state.step is RecoveryStep.CHOOSE_LANE:
            reset_done = False
