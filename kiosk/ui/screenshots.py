"""The participant flow states that ``make screenshots`` and the real-display walk
(``tools/display_walk.py``) render, at a fixed time and site."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from kiosk.domain import assisted_id, flow
from kiosk.domain import remote_approval as ra
from kiosk.domain import remote_witness as rw
from kiosk.domain.assisted_id import AssistRefusal, Match, Picture
from kiosk.domain.dosing import RefusalReason, Refused
from kiosk.domain.flow import DoseLine, ErrorKind
from kiosk.domain.model import SiteClock, SiteContact
from kiosk.domain.notices import Notice, NoticeOrigin, NoticeScope
from kiosk.domain.told import AlertRecord, NoticeRole, Told

SITE = SiteClock("America/Vancouver", 4)
NOW = datetime(2026, 6, 10, 18, 30, tzinfo=UTC)  # 11:30 in Vancouver
LINE = DoseLine("hydromorphone", "8 mg", "tablet", 2, prescription_id=1)
CAPSULE = DoseLine("slow-release oral morphine", "200 mg", "capsule", 1, prescription_id=2)
# Long site text (the schema allows 60 characters) so the screens are checked at their fullest.
CONTACT = SiteContact(
    "the front desk, ground floor, by the main entrance", "every day, 8:00 to 22:00"
)


# The hub told a nurse at 11:12 in Vancouver (the alert is in the store).
NURSE_TOLD = Told(AlertRecord.RECORDED, NoticeRole.NURSE, NOW - timedelta(minutes=18))
RECORDED = Told(AlertRecord.RECORDED)


# Staff's notices as a site writes them (their own words, one text per language).
NURSE_NOTICE = Notice(
    "00000000-0000-4000-8000-000000000001",
    NoticeScope.PARTICIPANT,
    "P-0001",
    date(2026, 6, 8),
    date(2026, 6, 30),
    {
        "en": "The nurse is here Tuesdays 2–4 pm. Please see her about your other medications.",
        "fr_CA": "L'infirmière est ici le mardi de 14 h à 16 h. Voyez-la au sujet de vos"
        " autres médicaments.",
        "es": "La enfermera está aquí los martes de 2 a 4 pm. Hable con ella sobre sus otros"
        " medicamentos.",
        "zh_Hant": "護士逢星期二下午2時至4時在這裡。請向她查詢您的其他藥物。",
        "pa": "ਨਰਸ ਮੰਗਲਵਾਰ ਦੁਪਹਿਰ 2 ਤੋਂ 4 ਵਜੇ ਇੱਥੇ ਹੁੰਦੀ ਹੈ। ਆਪਣੀਆਂ ਹੋਰ ਦਵਾਈਆਂ ਬਾਰੇ ਉਸ ਨਾਲ ਗੱਲ ਕਰੋ।",
    },
    None,
    NoticeOrigin.HUB,
)
SITE_NOTICE = Notice(
    "00000000-0000-4000-8000-000000000002",
    NoticeScope.SITE,
    None,
    date(2026, 6, 10),
    date(2026, 6, 12),
    {"en": "This machine is serviced on Friday from 9 to 11 am. Staff give doses at the desk."},
    "en",
    NoticeOrigin.KIOSK,
)


def states() -> dict[str, flow.FlowState]:
    idle = flow.initial("en")
    deciding = flow.step(flow.step(idle, flow.FingerDetected()), flow.Identified(1))
    dispensing = flow.step(deciding, flow.DoseAllowed((LINE,)))
    witness = flow.step(deciding, flow.DoseAllowed((LINE,), witness=True))
    return {**_main(idle, deciding, dispensing, witness), **remote_witness_states(deciding)}


def remote_witness_states(deciding: flow.FlowState) -> dict[str, flow.FlowState]:
    """Witnessing from afar (kiosk.domain.remote_witness): the offer, the staff PIN, the
    wait for the hub, the challenge, the app's code."""
    offer = rw.RemoteOffer(rw.witness_subject(1, (41,)), app_codes=True)
    offered = flow.step(deciding, flow.DoseAllowed((LINE,), witness=True, remote=offer))
    who = flow.step(offered, flow.AskRemoteWitness())
    asked = flow.step(
        flow.step(who, rw.RequesterAccepted(3, NOW)),
        rw.Approval(ra.Requested("r-1", "04815162", NOW), NOW),
    )
    challenge = flow.step(asked, rw.Approval(ra.UsePhone(), NOW))
    return {
        "witness_from_afar": flow.step(offered, flow.Countdown(75)),
        "remote_witness_pin": who,
        "remote_witness_waiting": asked,
        "remote_witness_challenge": challenge,
        "remote_witness_app_code": flow.step(asked, rw.Approval(ra.UseApp(), NOW)),
    }


def _main(
    idle: flow.FlowState,
    deciding: flow.FlowState,
    dispensing: flow.FlowState,
    witness: flow.FlowState,
) -> dict[str, flow.FlowState]:
    too_early = Refused(
        1, RefusalReason.TOO_EARLY, next_eligible=NOW + timedelta(hours=2, minutes=30)
    )
    next_dose = NOW + timedelta(hours=4, minutes=30)  # 16:00 in Vancouver
    two = flow.step(deciding, flow.DoseAllowed((LINE, CAPSULE)))
    one_of_two = flow.step(
        deciding, flow.DoseAllowed((LINE,), unavailable=(CAPSULE,), told=RECORDED)
    )
    not_recognised = flow.step(flow.step(idle, flow.FingerDetected()), flow.NotRecognised())
    assist_pin = flow.step(not_recognised, flow.AssistStart())
    assist_code = _steps(assist_pin, assisted_id.StaffPin("123456"), assisted_id.StaffAccepted(3))
    looking = flow.step(assist_code, assisted_id.CodeTyped("12"))
    asked = flow.step(not_recognised, flow.HelpAsked())
    return {
        "idle": idle,
        "identifying": flow.step(idle, flow.FingerDetected()),
        "witness": flow.step(witness, flow.Countdown(75)),
        "no_witness": flow.step(witness, flow.Timeout()),
        "dispensing": flow.step(dispensing, flow.UnitDropped(0, 1)),
        "dispensing_two": flow.step(two, flow.UnitDropped(0, 1)),
        "dispensing_one_unavailable": one_of_two,
        "done": flow.step(dispensing, flow.DispenseFinished((2,), next_dose)),
        "done_one_unavailable": flow.step(one_of_two, flow.DispenseFinished((2,), next_dose)),
        "partial": flow.step(dispensing, flow.DispenseFinished((1,), next_dose, RECORDED)),
        "nothing_given": flow.step(dispensing, flow.DispenseFinished((0,))),
        "unavailable": flow.step(
            deciding, flow.DoseAllowed((), unavailable=(LINE, CAPSULE), told=NURSE_TOLD)
        ),
        "unavailable_not_recorded": flow.step(deciding, flow.DoseAllowed((), unavailable=(LINE,))),
        "too_early": flow.step(deciding, flow.DoseRefused(too_early)),
        "see_staff": flow.step(deciding, flow.DoseRefused(Refused(1, RefusalReason.ON_HOLD))),
        "not_recognised": flow.step(flow.step(idle, flow.FingerDetected()), flow.NotRecognised()),
        "error_out_of_service": flow.step(idle, flow.Fault(ErrorKind.OUT_OF_SERVICE)),
        "out_of_service": flow.step(
            idle, flow.ServiceLost(("controller", "sensor"), told=NURSE_TOLD)
        ),
        "out_of_service_door": flow.step(idle, flow.ServiceLost(("door_opened",), True)),
        "out_of_service_lanes": flow.step(idle, flow.ServiceLost(("no_ready_lane",))),
        "assist_pin": assist_pin,
        "assist_pin_locked": _steps(
            assist_pin,
            assisted_id.StaffPin("000000"),
            assisted_id.StaffRefused(AssistRefusal.LOCKED, 30),
        ),
        "assist_code": assist_code,
        "assist_unknown_code": flow.step(looking, assisted_id.CodeUnknown()),
        "assist_confirm": flow.step(
            looking, assisted_id.CodeFound(Match(12, Picture.FLOWER, "AL"))
        ),
        "assist_confirm_initials": flow.step(
            looking, assisted_id.CodeFound(Match(12, Picture.INITIALS, "AL"))
        ),
        "assist_forbidden": flow.step(not_recognised, flow.AssistStart(allowed=False)),
        "help_asking": asked,
        "help_told": flow.step(asked, flow.HelpNews(RECORDED)),
        "help_nurse_told": flow.step(asked, flow.HelpNews(NURSE_TOLD)),
        "help_coming": flow.step(asked, flow.HelpNews(RECORDED, coming=True)),
        "notice": flow.step(
            flow.step(idle, flow.FingerDetected()), flow.Identified(1, None, (NURSE_NOTICE,))
        ),
        "idle_site_notice": flow.step(idle, flow.SiteNotices((SITE_NOTICE,))),
    }


def _steps(state: flow.FlowState, *events: flow.Event) -> flow.FlowState:
    for event in events:
        state = flow.step(state, event)
    return state
