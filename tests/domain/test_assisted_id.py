"""Staff-assisted identification and "I need help" in the pure participant flow."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain import assisted_id as aid
from kiosk.domain import flow
from kiosk.domain.assisted_id import AssistRefusal, AssistStep, Match, Picture
from kiosk.domain.flow import DoseLine, Screen
from kiosk.domain.told import AlertRecord, Told

LINE = DoseLine("hydromorphone", "8 mg", "tablet", 2, prescription_id=7)
MATCH = Match(12, Picture.STAR, "ML", "fr_CA")


def run(*events: flow.Event, state: flow.FlowState | None = None) -> flow.FlowState:
    state = state or flow.initial("en")
    for event in events:
        state = flow.step(state, event)
    return state


def test_initials_and_codes() -> None:
    assert aid.initials("maria  lopez garcia") == "ML"
    assert aid.initials("") == ""
    assert aid.normalise_code("12") == "P-0012"
    assert aid.normalise_code(" p-0012 ") == "P-0012"
    assert aid.normalise_code("12345") == "P-12345"  # past P-9999 (next_code)
    assert aid.normalise_code(" ab-7 ") == "AB-7"  # letters: typed on the keyboard
    assert aid.code_candidates("12") == ("P-0012", "12")  # a digits-only code too
    assert aid.code_candidates("p-0012") == ("P-0012",)
    assert aid.code_candidates("AB-7") == ("AB-7",)
    assert aid.parse_picture("nonsense") is Picture.INITIALS
    assert aid.parse_picture(None) is Picture.INITIALS
    assert aid.parse_picture("fish") is Picture.FISH


def test_staff_pin_then_code_then_yes_hands_over_to_the_decision() -> None:
    started = run(flow.AssistStart())
    assert started.screen is Screen.ASSISTED and started.assist is not None
    checking = flow.step(started, aid.StaffPin("123456"))
    assert checking.effects == (aid.CheckStaffPin("123456"),)
    code = flow.step(checking, aid.StaffAccepted(3))
    assert code.assist is not None and code.assist.step is AssistStep.CODE
    looking = flow.step(code, aid.CodeTyped("12"))
    assert looking.effects == (aid.LookUpCode("12", 3),)
    confirm = flow.step(looking, aid.CodeFound(MATCH))
    assert confirm.assist is not None and confirm.assist.step is AssistStep.CONFIRM
    yes = flow.step(confirm, aid.ThisIsMe())
    assert yes.screen is Screen.DECIDING
    assert (yes.participant_id, yes.identified_by, yes.locale) == (12, 3, "fr_CA")
    # Recorded before the decision: nothing can be given that is not counted.
    assert yes.effects == (
        flow.ApplyLanguage("fr_CA"),
        flow.RecordAssisted(12, 3),
        flow.Decide(12),
    )
    dispensing = flow.step(yes, flow.DoseAllowed((LINE,)))
    assert dispensing.effects == (flow.Dispense(12, None, (7,), identified_by=3),)


def test_a_witnessed_dose_keeps_who_identified_the_participant() -> None:
    state = run(
        flow.AssistStart(),
        aid.StaffPin("123456"),
        aid.StaffAccepted(3),
        aid.CodeTyped("12"),
        aid.CodeFound(MATCH),
        aid.ThisIsMe(),
        flow.DoseAllowed((LINE,), witness=True),
        flow.WitnessAccepted(9),
    )
    assert state.effects == (flow.Dispense(12, 9, (7,), identified_by=3),)


def test_refusals_stay_on_the_step_that_fixes_them() -> None:
    wrong = run(
        flow.AssistStart(), aid.StaffPin("1"), aid.StaffRefused(AssistRefusal.PIN_NOT_ACCEPTED)
    )
    assert wrong.assist is not None
    assert (wrong.assist.step, wrong.assist.refusal) == (
        AssistStep.STAFF_PIN,
        AssistRefusal.PIN_NOT_ACCEPTED,
    )
    locked = flow.step(
        flow.step(wrong, aid.StaffPin("2")), aid.StaffRefused(AssistRefusal.LOCKED, 30)
    )
    assert locked.assist is not None and locked.assist.locked_seconds == 30
    unknown = run(
        aid.StaffPin("1"),
        aid.StaffAccepted(3),
        aid.CodeTyped("99"),
        aid.CodeUnknown(),
        state=run(flow.AssistStart()),
    )
    assert unknown.assist is not None
    assert (unknown.assist.step, unknown.assist.refusal) == (
        AssistStep.CODE,
        AssistRefusal.UNKNOWN_CODE,
    )
    not_me = run(aid.CodeTyped("12"), aid.CodeFound(MATCH), aid.NotMe(), state=unknown)
    assert not_me.assist is not None
    assert (not_me.assist.step, not_me.assist.match) == (AssistStep.CODE, None)
    assert flow.step(not_me, aid.ThisIsMe()).screen is Screen.ASSISTED  # nobody to confirm


def test_a_forbidding_site_checks_nothing() -> None:
    forbidden = run(flow.AssistStart(allowed=False))
    assert forbidden.assist is not None and forbidden.assist.refusal is AssistRefusal.FORBIDDEN
    after = run(aid.StaffPin("123456"), aid.StaffAccepted(3), state=forbidden)
    assert after.effects == () and after.assist == forbidden.assist
    assert flow.step(forbidden, flow.Cancel()).screen is Screen.IDLE
    # Forbidden while under way (the hub's setting arrived): the steps stop there.
    midway = run(
        flow.AssistStart(), aid.StaffPin("123456"), aid.StaffRefused(AssistRefusal.FORBIDDEN)
    )
    assert midway.assist is not None and midway.assist.refusal is AssistRefusal.FORBIDDEN


def test_assisted_identification_starts_only_where_a_finger_was_not_read() -> None:
    assert run(flow.NotRecognised(), flow.AssistStart()).screen is Screen.ASSISTED
    assert run(flow.PoorImage(), flow.AssistStart()).screen is Screen.ASSISTED
    dispensing = run(flow.Identified(1), flow.DoseAllowed((LINE,)))
    assert flow.step(dispensing, flow.AssistStart()).screen is Screen.DISPENSING
    down = run(flow.ServiceLost(("sensor",)))
    assert flow.step(down, flow.AssistStart()).screen is Screen.OUT_OF_SERVICE
    assert run(flow.AssistStart(), flow.Timeout()).screen is Screen.IDLE


# ---------------------------------------------------------------- the safety rule

STAFF_EVENTS = st.sampled_from(
    [
        flow.AssistStart(),
        aid.StaffPin("123456"),
        aid.StaffAccepted(3),
        aid.StaffRefused(AssistRefusal.PIN_NOT_ACCEPTED),
        aid.CodeTyped("12"),
        aid.CodeFound(MATCH),
        aid.CodeUnknown(),
        aid.ThisIsMe(),
        aid.NotMe(),
        flow.DoseAllowed((LINE,)),
        flow.DoseAllowed((LINE,), witness=True),
        flow.WitnessAccepted(9),
        flow.UnitDropped(0, 1),
        flow.DispenseFinished((2,)),
        flow.Cancel(),
        flow.Timeout(),
        flow.FingerDetected(),
        flow.HelpAsked(),
        flow.Fault(flow.ErrorKind.SEE_STAFF),
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(STAFF_EVENTS, max_size=40))
def test_an_assisted_identification_never_dispenses_twice_nor_unrecorded(
    events: list[flow.Event],
) -> None:
    """Each Dispense follows its own identification; one after a staff-assisted one comes
    after that identification was recorded and names the staff member."""
    state = flow.initial("en")
    recorded: tuple[int, int] | None = None  # (participant, staff) of this interaction
    dispensed = False
    for event in events:
        before = state
        state = flow.step(state, event)
        if state.screen is Screen.IDLE or (
            before.screen is not Screen.IDENTIFYING and state.screen is Screen.IDENTIFYING
        ):
            recorded, dispensed = None, False  # a new interaction
        for effect in state.effects:
            if isinstance(effect, flow.RecordAssisted):
                recorded, dispensed = (effect.participant_id, effect.staff_id), False
            if isinstance(effect, flow.Dispense):
                assert not dispensed, "two dispenses for one identification"
                dispensed = True
                if effect.identified_by is not None:
                    assert recorded == (effect.participant_id, effect.identified_by)
                else:
                    assert recorded is None


# ---------------------------------------------------------------- "I need help"


def test_every_result_screen_offers_help_and_the_help_screen_follows_the_news() -> None:
    for state in (
        run(flow.NotRecognised()),
        run(flow.PoorImage()),
        run(flow.Identified(1), flow.DoseAllowed((LINE,)), flow.DispenseFinished((2,))),
        run(flow.ServiceLost(("sensor",))),
    ):
        assert state.offers_help
        asked = flow.step(state, flow.HelpAsked())
        assert asked.screen is Screen.HELP
        assert asked.effects == (flow.RaiseHelp(state.participant_id),)
    assert not run().offers_help and not run(flow.FingerDetected()).offers_help
    asked = run(flow.Identified(4), flow.Fault(flow.ErrorKind.SEE_STAFF), flow.HelpAsked())
    assert asked.effects == (flow.RaiseHelp(4),)
    told = flow.step(asked, flow.HelpNews(Told(AlertRecord.RECORDED)))
    assert told.help_told == Told(AlertRecord.RECORDED) and not told.help_coming
    coming = flow.step(told, flow.HelpNews(Told(AlertRecord.RECORDED), coming=True))
    assert coming.help_coming
    # Once someone is coming, a later read never takes it back.
    assert flow.step(coming, flow.HelpNews(Told(AlertRecord.RECORDED))).help_coming
    assert flow.step(coming, flow.HelpAsked()).effects == ()  # no second request from here
    assert flow.step(coming, flow.Timeout()).screen is Screen.IDLE
    # Out of service: back to out of service.
    down = run(flow.ServiceLost(("sensor",)), flow.HelpAsked(), flow.Cancel())
    assert down.screen is Screen.OUT_OF_SERVICE


def test_after_this_is_me_the_notices_come_before_the_decision() -> None:
    from tests.domain.test_notices import notice

    match = Match(12, Picture.STAR, "ML", None, (notice("a"),))
    confirm = run(flow.AssistStart(), aid.StaffPin("1"), aid.StaffAccepted(3), aid.CodeTyped("12"))
    yes = flow.step(flow.step(confirm, aid.CodeFound(match)), aid.ThisIsMe())
    assert yes.screen is Screen.NOTICE and yes.notices == match.notices
    assert yes.effects == (flow.RecordAssisted(12, 3),)  # recorded; nothing decided yet
    read = flow.step(yes, flow.NoticeAcknowledged())
    assert read.effects == (flow.AcknowledgeNotice("a"), flow.Decide(12))
    assert (read.screen, read.identified_by) == (Screen.DECIDING, 3)


def test_the_staff_button_setting_stays_across_people() -> None:
    forbidden = run(flow.AssistAvailability(False))
    assert forbidden.assist_allowed is False
    after = run(flow.FingerDetected(), flow.NotRecognised(), flow.Timeout(), state=forbidden)
    assert after.screen is Screen.IDLE and after.assist_allowed is False
    assert run(flow.AssistAvailability(True), state=after).assist_allowed is True
