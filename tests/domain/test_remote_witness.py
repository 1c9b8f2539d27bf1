"""Witnessing a dose from afar in the participant flow (kiosk/domain/remote_witness.py and
its place in kiosk/domain/flow.py): pure states, no Qt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain import flow
from kiosk.domain import remote_approval as ra
from kiosk.domain import remote_witness as rw
from kiosk.domain.flow import DoseLine, ErrorKind, Screen
from kiosk.domain.remote_approval import ApprovalAction, ApprovalStep, Verdict
from kiosk.domain.remote_witness import RemoteOffer, Stage

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
LINE = DoseLine("hydromorphone", "8 mg", "tablet", 2, prescription_id=7)
OFFER = RemoteOffer(rw.witness_subject(5, (41,)), app_codes=True)


def run(*events: flow.Event, offer: RemoteOffer | None = OFFER) -> flow.FlowState:
    state = flow.initial("en")
    for event in (
        flow.FingerDetected(),
        flow.Identified(5),
        flow.DoseAllowed((LINE,), witness=True, remote=offer),
        *events,
    ):
        state = flow.step(state, event)
    return state


def asking(*events: flow.Event) -> flow.FlowState:
    return run(
        flow.AskRemoteWitness(),
        rw.RequesterPin("1234"),
        rw.RequesterAccepted(3, T0),
        rw.Approval(ra.Requested("r-1", "04815162", T0), T0),
        *events,
    )


def test_the_subject_names_ids_only() -> None:
    assert OFFER.subject == "participant:5/prescription:41"
    assert rw.witness_subject(5) == "participant:5"
    assert rw.subject_participant(OFFER.subject) == 5
    assert rw.subject_participant("prescription:41") is None
    assert rw.subject_participant("participant:x") is None


def test_witness_from_afar_is_offered_only_when_the_site_allows_it() -> None:
    without = run(flow.AskRemoteWitness(), offer=None)
    assert without.screen is Screen.WITNESS
    with_offer = run(flow.AskRemoteWitness())
    assert with_offer.screen is Screen.REMOTE_WITNESS
    assert with_offer.remote is not None and with_offer.remote.stage is Stage.WHO


def test_staff_pin_then_the_request_then_an_online_approval_dispenses_once() -> None:
    state = run(flow.AskRemoteWitness(), rw.RequesterPin("1234"))
    assert state.effects == (rw.VerifyRequester("1234"),)
    state = flow.step(state, rw.RequesterAccepted(3, T0))
    assert state.effects == (
        ra.SendRequest(ApprovalAction.WITNESS_DOSE, "participant:5/prescription:41"),
    )
    assert state.remote is not None and state.remote.staff_id == 3
    state = flow.step(state, rw.Approval(ra.Requested("r-1", "04815162", T0), T0))
    assert state.remote is not None and state.remote.approval is not None
    assert state.remote.approval.step is ApprovalStep.WAITING
    state = flow.step(state, rw.Approval(ra.Decided(True, "Maria L."), T0))
    assert state.effects == (ra.ActOnline("r-1"),)
    state = flow.step(state, rw.Approval(ra.Performed(True), T0))
    assert state.screen is Screen.DISPENSING
    assert state.effects == (flow.Dispense(5, None, (7,), remote_witness="r-1"),)
    # Nothing more brings a second dispense.
    again = flow.step(state, rw.Approval(ra.Performed(True), T0))
    assert again.effects == () and again.screen is Screen.DISPENSING


def test_an_offline_code_witnesses_too() -> None:
    state = asking(rw.Approval(ra.UseApp(), T0), rw.Approval(ra.CodeEntered("123456"), T0))
    assert state.effects == (ra.CheckAppCode("r-1", "123456"),)
    state = flow.step(state, rw.Approval(ra.CodeChecked(Verdict.ACCEPTED, "Maria L."), T0))
    state = flow.step(state, rw.Approval(ra.Performed(True), T0))
    assert state.effects == (flow.Dispense(5, None, (7,), remote_witness="r-1"),)


def test_refusal_or_expiry_is_the_no_witness_outcome() -> None:
    refused = asking(rw.Approval(ra.Decided(False, "Maria L.", "call me"), T0))
    assert (refused.screen, refused.error) == (Screen.ERROR, ErrorKind.NO_WITNESS)
    assert not any(isinstance(e, flow.Dispense) for e in refused.effects)
    late = T0 + ra.VALIDITY + timedelta(seconds=1)
    expired = asking(rw.Approval(ra.Tick(), late))
    assert (expired.screen, expired.error) == (Screen.ERROR, ErrorKind.NO_WITNESS)
    timed_out = asking(flow.Timeout())
    assert (timed_out.screen, timed_out.error) == (Screen.ERROR, ErrorKind.NO_WITNESS)
    assert timed_out.effects == (ra.Withdraw("r-1"),)


def test_wrong_staff_pins_end_it_and_cancel_goes_back_to_the_witness_screen() -> None:
    state = run(flow.AskRemoteWitness())
    for _ in range(rw.MAX_PIN_ATTEMPTS):
        state = flow.step(state, rw.RequesterRejected())
    assert (state.screen, state.error) == (Screen.ERROR, ErrorKind.NO_WITNESS)
    locked = flow.step(run(flow.AskRemoteWitness()), rw.RequesterLocked(30))
    assert locked.remote is not None and locked.remote.pin_locked_seconds == 30
    back = asking(flow.Cancel())
    assert back.screen is Screen.WITNESS
    assert back.remote is not None and back.remote.stage is Stage.CANCELLED
    assert back.effects == (ra.Withdraw("r-1"),)
    assert run(flow.AskRemoteWitness(), flow.Cancel()).screen is Screen.WITNESS


EVENTS = st.sampled_from(
    [
        flow.AskRemoteWitness(),
        flow.Cancel(),
        flow.Timeout(),
        rw.RequesterPin("1234"),
        rw.RequesterAccepted(3, T0),
        rw.RequesterRejected(),
        rw.Approval(ra.Requested("r-1", "04815162", T0), T0),
        rw.Approval(ra.Decided(True, "Maria L."), T0),
        rw.Approval(ra.Decided(False, "Maria L.", "no"), T0),
        rw.Approval(ra.UsePhone(), T0),
        rw.Approval(ra.UseApp(), T0),
        rw.Approval(ra.CodeEntered("123456"), T0),
        rw.Approval(ra.CodeChecked(Verdict.ACCEPTED, "Maria L."), T0),
        rw.Approval(ra.CodeChecked(Verdict.WRONG, attempts_left=2), T0),
        rw.Approval(ra.Performed(True), T0),
        rw.Approval(ra.Performed(False, "no"), T0),
        rw.Approval(ra.Tick(), T0 + timedelta(minutes=11)),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, max_size=30))
def test_at_most_one_dispense_and_only_after_a_witness(events: list[flow.Event]) -> None:
    """Safety: whatever staff, the hub and the clock do, a witnessed plan is dispensed at
    most once, and only after the request was recorded as used (Performed ok)."""
    state = run()
    dispenses = []
    performed = False
    for event in events:
        before = state
        state = flow.step(state, event)
        if (
            before.screen is Screen.REMOTE_WITNESS
            and isinstance(event, rw.Approval)
            and event.event == ra.Performed(True)
        ):
            performed = True
        for effect in state.effects:
            if isinstance(effect, flow.Dispense):
                dispenses.append(effect)
                assert performed and effect.remote_witness == "r-1"
    assert len(dispenses) <= 1
