"""The participant flow as a pure state machine, without Qt."""

from __future__ import annotations

from kiosk.domain import flow
from kiosk.domain.dosing import RefusalReason, Refused
from kiosk.domain.flow import DoseLine, ErrorKind, Screen

LINE = DoseLine("hydromorphone", "8 mg", "tablet", 2)


def run(*events: flow.Event) -> flow.FlowState:
    state = flow.initial("en")
    for event in events:
        state = flow.step(state, event)
    return state


def test_happy_path_idle_to_done_and_back() -> None:
    state = run(flow.FingerDetected())
    assert state.screen is Screen.IDENTIFYING
    state = flow.step(state, flow.Identified(12))
    assert state.screen is Screen.DECIDING
    assert state.effects == (flow.Decide(12),)
    state = flow.step(state, flow.DoseAllowed((LINE,)))
    assert state.screen is Screen.DISPENSING
    assert state.effects == (flow.Dispense(12),)
    state = flow.step(state, flow.UnitDropped(0, 1))
    assert state.lines[0].dropped == 1
    state = flow.step(state, flow.DispenseFinished((2,)))
    assert state.screen is Screen.DONE
    assert not state.partial
    state = flow.step(state, flow.Timeout())
    assert state.screen is Screen.IDLE
    assert state.participant_id is None


def test_partial_dispense_is_flagged() -> None:
    state = run(
        flow.FingerDetected(),
        flow.Identified(1),
        flow.DoseAllowed((LINE,)),
        flow.DispenseFinished((1,)),
    )
    assert state.screen is Screen.DONE
    assert state.partial


def test_refused_and_unknown_and_poor_image() -> None:
    refusal = Refused(1, RefusalReason.TOO_EARLY)
    state = run(flow.FingerDetected(), flow.Identified(1), flow.DoseRefused(refusal))
    assert state.screen is Screen.REFUSED
    assert state.refusal == refusal
    assert run(flow.FingerDetected(), flow.NotRecognised()).screen is Screen.NOT_RECOGNISED
    poor = run(flow.FingerDetected(), flow.PoorImage())
    assert (poor.screen, poor.error) == (Screen.ERROR, ErrorKind.POOR_IMAGE)


def test_dispensing_never_times_out_to_idle() -> None:
    state = run(flow.FingerDetected(), flow.Identified(1), flow.DoseAllowed((LINE,)))
    assert state.timeout_seconds is None
    assert flow.step(state, flow.Timeout()).screen is Screen.DISPENSING


def test_events_that_do_not_fit_are_ignored() -> None:
    assert run(flow.DoseAllowed((LINE,))).screen is Screen.IDLE
    assert run(flow.UnitDropped(0, 1)).screen is Screen.IDLE
    state = run(flow.FingerDetected(), flow.Identified(1), flow.DoseAllowed((LINE,)))
    assert flow.step(state, flow.UnitDropped(5, 1)).lines == state.lines


def test_language_choice_and_reset_at_idle() -> None:
    state = run(flow.LanguageChosen("fr_CA"))
    assert state.locale == "fr_CA"
    assert state.effects == (flow.ApplyLanguage("fr_CA"),)
    state = flow.step(state, flow.FingerDetected())
    state = flow.step(state, flow.Identified(1, language="en"))
    assert state.locale == "fr_CA"  # the participant's own choice wins over the saved one
    state = flow.step(state, flow.Fault(ErrorKind.SEE_STAFF))
    state = flow.step(state, flow.Timeout())
    assert state.locale == "en"
    assert state.effects == (flow.ApplyLanguage("en"),)


def test_saved_language_applies_after_identification() -> None:
    state = run(flow.FingerDetected(), flow.Identified(1, language="fr_CA"))
    assert state.locale == "fr_CA"
    assert flow.ApplyLanguage("fr_CA") in state.effects


def test_a_fault_during_any_screen_shows_an_error_that_times_out() -> None:
    for screen_events in ([], [flow.FingerDetected()], [flow.FingerDetected(), flow.Identified(1)]):
        state = run(*screen_events, flow.Fault(ErrorKind.OUT_OF_SERVICE))
        assert state.screen is Screen.ERROR
        assert state.timeout_seconds is not None


def test_a_locked_pin_pad_says_how_long_and_is_not_an_attempt() -> None:
    state = run(flow.FingerDetected(), flow.Identified(5), flow.DoseAllowed((LINE,), witness=True))
    state = flow.step(state, flow.WitnessRejected())
    state = flow.step(state, flow.WitnessLocked(30))
    assert (state.screen, state.witness_attempts, state.pin_locked_seconds) == (
        Screen.WITNESS,
        1,
        30,
    )
    assert flow.step(state, flow.WitnessRejected()).pin_locked_seconds == 0
