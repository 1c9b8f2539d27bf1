"""The participant flow as a pure state machine, without Qt."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.domain import flow
from kiosk.domain.dosing import RefusalReason, Refused
from kiosk.domain.flow import READS_FINGER, TIMEOUTS, DoseLine, ErrorKind, Screen

LINE = DoseLine("hydromorphone", "8 mg", "tablet", 2, prescription_id=7)
CAPSULE = DoseLine("slow-release oral morphine", "200 mg", "capsule", 1, prescription_id=8)


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
    assert state.effects == (flow.Dispense(12, None, (7,)),)  # the plan shown, nothing else
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


# ---------------------------------------------------------------- a new press is read at once


def outcome_screens() -> dict[str, flow.FlowState]:
    """Every screen that shows an outcome and times out, reached as a participant would."""
    deciding = run(flow.FingerDetected(), flow.Identified(3, language="fr_CA"))
    witness = flow.step(deciding, flow.DoseAllowed((LINE,), witness=True))
    dispensing = flow.step(deciding, flow.DoseAllowed((LINE,)))
    return {
        "done": flow.step(dispensing, flow.DispenseFinished((2,))),
        "refused": flow.step(deciding, flow.DoseRefused(Refused(7, RefusalReason.TOO_EARLY))),
        "unavailable": flow.step(deciding, flow.DoseAllowed((), unavailable=(LINE,))),
        "not_recognised": run(flow.FingerDetected(), flow.NotRecognised()),
        "try_again": run(flow.FingerDetected(), flow.PoorImage()),
        "see_staff": flow.step(deciding, flow.Fault(ErrorKind.SEE_STAFF)),
        "no_witness": flow.step(witness, flow.Timeout()),
    }


@pytest.mark.parametrize("name", list(outcome_screens()))
def test_a_new_press_on_an_outcome_screen_starts_a_new_identification(name: str) -> None:
    state = outcome_screens()[name]
    assert state.timeout_seconds is not None and state.reads_finger
    pressed = flow.step(state, flow.FingerDetected())
    assert pressed.screen is Screen.IDENTIFYING
    # Nothing of the last interaction is carried into the new one.
    fresh = flow.initial("en")
    assert (pressed.participant_id, pressed.lines, pressed.refusal, pressed.error) == (
        fresh.participant_id,
        fresh.lines,
        fresh.refusal,
        fresh.error,
    )
    assert pressed.unavailable == () and pressed.next_dose is None
    identified = flow.step(pressed, flow.Identified(4))
    assert (identified.screen, identified.effects[-1]) == (Screen.DECIDING, flow.Decide(4))


def test_every_timed_screen_but_those_of_a_running_interaction_reads_the_sensor() -> None:
    timed = {screen for screen, seconds in TIMEOUTS.items() if seconds is not None}
    running = {Screen.IDENTIFYING, Screen.DECIDING, Screen.WITNESS, Screen.REMOTE_WITNESS}
    # Staff typing a code, someone waiting for the help they asked for, and a notice being
    # read are not interrupted by a press: no finger is read there.
    running |= {Screen.ASSISTED, Screen.HELP, Screen.NOTICE}
    assert (timed - running) | {Screen.IDLE} == READS_FINGER
    for state in (
        run(flow.FingerDetected()),
        run(flow.FingerDetected(), flow.Identified(1)),
        run(flow.FingerDetected(), flow.Identified(1), flow.DoseAllowed((LINE,), witness=True)),
        run(flow.FingerDetected(), flow.Identified(1), flow.DoseAllowed((LINE,))),
    ):
        assert not state.reads_finger
        assert flow.step(state, flow.FingerDetected()).screen is state.screen


def test_a_retry_keeps_the_language_chosen_but_the_next_person_starts_in_the_sites() -> None:
    chosen = run(flow.LanguageChosen("es"), flow.FingerDetected(), flow.PoorImage())
    retry = flow.step(chosen, flow.FingerDetected())
    assert (retry.screen, retry.locale, retry.effects) == (Screen.IDENTIFYING, "es", ())
    done = outcome_screens()["done"]  # the participant's saved language, French
    assert done.locale == "fr_CA"
    next_person = flow.step(done, flow.FingerDetected())
    assert next_person.locale == "en"
    assert next_person.effects == (flow.ApplyLanguage("en"),)
    # ... so the next person's own saved language applies once identified.
    assert flow.step(next_person, flow.Identified(9, language="pa")).locale == "pa"


def test_a_press_while_the_machine_cannot_serve_is_not_read() -> None:
    done = flow.step(outcome_screens()["done"], flow.ServiceLost(("controller",)))
    assert done.screen is Screen.DONE  # what is on screen finishes first
    assert not done.reads_finger
    pressed = flow.step(done, flow.FingerDetected())
    assert (pressed.screen, pressed.faults) == (Screen.OUT_OF_SERVICE, ("controller",))
    assert not pressed.reads_finger


# ---------------------------------------------------------------- no promise it cannot keep


def test_a_medication_without_a_ready_lane_is_never_announced_nor_planned() -> None:
    state = run(
        flow.FingerDetected(),
        flow.Identified(4),
        flow.DoseAllowed((LINE,), unavailable=(CAPSULE,)),
    )
    assert (state.screen, state.lines, state.unavailable) == (
        Screen.DISPENSING,
        (LINE,),
        (CAPSULE,),
    )
    assert state.effects == (flow.Dispense(4, None, (7,)),)
    done = flow.step(state, flow.DispenseFinished((2,)))
    assert (done.screen, done.unavailable, done.partial) == (Screen.DONE, (CAPSULE,), False)


@pytest.mark.parametrize("witness", [False, True])
def test_nothing_available_tells_so_without_a_witness_or_a_dispense(witness: bool) -> None:
    event = flow.DoseAllowed((), witness, unavailable=(LINE, CAPSULE))
    state = run(flow.FingerDetected(), flow.Identified(5), event)
    assert (state.screen, state.unavailable, state.effects) == (
        Screen.UNAVAILABLE,
        (LINE, CAPSULE),
        (),
    )
    assert state.timeout_seconds is not None
    assert flow.step(state, flow.Timeout()).screen is Screen.IDLE


# ---------------------------------------------------------------- next step, when and where


def test_the_done_screen_knows_the_next_dose_time() -> None:
    at = datetime(2026, 6, 10, 23, 0, tzinfo=UTC)
    state = run(
        flow.FingerDetected(),
        flow.Identified(1),
        flow.DoseAllowed((LINE,)),
        flow.DispenseFinished((2,), next_dose=at),
    )
    assert (state.screen, state.next_dose) == (Screen.DONE, at)
    assert flow.step(state, flow.Timeout()).next_dose is None


def test_the_witness_screen_counts_down_and_ends_with_what_to_do() -> None:
    state = run(flow.FingerDetected(), flow.Identified(5), flow.DoseAllowed((LINE,), witness=True))
    assert state.seconds_left == flow.WITNESS_SECONDS == TIMEOUTS[Screen.WITNESS]
    state = flow.step(state, flow.Countdown(42))
    assert (state.screen, state.seconds_left) == (Screen.WITNESS, 42)
    assert flow.step(state, flow.Countdown(-1)).seconds_left == 0
    assert state.counts_down
    ended = flow.step(state, flow.Timeout())
    # Not idle in silence: a screen that says nothing was given and what to do.
    assert (ended.screen, ended.error, ended.counts_down) == (
        Screen.ERROR,
        ErrorKind.NO_WITNESS,
        False,
    )
    assert ended.effects == ()
    assert ended.timeout_seconds is not None
    assert flow.step(ended, flow.Timeout()).screen is Screen.IDLE
    # Witnessed in time: the dispense follows the plan shown, with the witness.
    accepted = flow.step(state, flow.WitnessAccepted(31))
    assert (accepted.screen, accepted.counts_down) == (Screen.DISPENSING, False)
    assert accepted.effects == (flow.Dispense(5, 31, (7,)),)
    # A countdown anywhere else changes nothing.
    assert flow.step(accepted, flow.Countdown(3)) == accepted
