"""The words on each participant screen: few, plain, never blaming, all translated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.assisted_id import AssistRefusal, AssistState, AssistStep
from kiosk.domain.dosing import TIMED_REASONS, RefusalReason
from kiosk.domain.flow import DoseLine, ErrorKind, FlowState, Screen
from kiosk.domain.model import SiteClock, SiteContact
from kiosk.domain.remote_approval import ApprovalState, ApprovalStep
from kiosk.domain.remote_witness import RemoteWitness, Stage
from kiosk.domain.schedule import dosing_day
from kiosk.domain.told import (
    AlertRecord,
    NoticeRole,
    ParticipantMessage,
    Told,
    participant_message,
)
from kiosk.i18n import _, format_local_day, format_local_time, format_wait, ngettext


class Icon:
    """Names of the drawn icons (``kiosk.ui.icons``): shapes carry meaning with colour."""

    FINGER = "finger"
    WAIT = "wait"
    OK = "ok"
    INFO = "info"
    STOP = "attention"


@dataclass(frozen=True)
class ScreenText:
    icon: str
    headline: str
    detail: str = ""
    tone: str = "neutral"  # neutral | good | attention
    note: str = ""  # what comes next: the next dose, where and when to find staff


def medication_phrase(line: DoseLine, count: int) -> str:
    if line.form == "capsule":
        return ngettext(
            "{count} capsule of {medication}", "{count} capsules of {medication}", count
        ).format(count=count, medication=line.name)
    return ngettext(
        "{count} tablet of {medication}", "{count} tablets of {medication}", count
    ).format(count=count, medication=line.name)


def _when(instant: datetime, now: datetime, site: SiteClock) -> str:
    clock = format_local_time(instant, site.timezone)
    if dosing_day(instant, site) == dosing_day(now, site):
        return _("Your next dose is available at {time}").format(time=clock)
    return _("Your next dose is available on {day} at {time}").format(
        day=format_local_day(instant, site.timezone), time=clock
    )


def where_and_when(contact: SiteContact) -> list[str]:
    """Where staff are and when, in the site's words, when the site has said."""
    lines = []
    if contact.staff_location:
        lines.append(_("Where to find staff: {place}").format(place=contact.staff_location))
    if contact.staff_hours:
        lines.append(_("Staff hours: {hours}").format(hours=contact.staff_hours))
    return lines


def unavailable_text(line: DoseLine) -> str:
    return _("{medication} is not available here right now.").format(medication=line.name)


def _role_told(role: NoticeRole, clock: str) -> str:
    """Roles only: a participant never reads a staff member's name."""
    sentences = {
        NoticeRole.NURSE: _("A nurse has been told at {time}."),
        NoticeRole.PHARMACIST: _("A pharmacist has been told at {time}."),
        NoticeRole.PRESCRIBER: _("A prescriber has been told at {time}."),
        NoticeRole.PROGRAM_MANAGER: _("A program manager has been told at {time}."),
        NoticeRole.TECHNICIAN: _("A technician has been told at {time}."),
    }
    return sentences.get(role, _("A staff member has been told at {time}.")).format(time=clock)


def told_text(
    told: Told | None, contact: SiteContact, timezone: str, *, see_staff_said: bool = False
) -> str:
    """Whether staff have been told, only as far as it is true (kiosk.domain.told): the
    alert is recorded, and the hub says whom it told. ``see_staff_said``: the screen already
    sends the participant to staff, so "Please see staff" is not said twice."""
    message = participant_message(told, bool(contact.on_call))
    if message is ParticipantMessage.ROLE_TOLD_AT:
        assert told is not None and told.role is not None and told.at is not None
        return _role_told(told.role, format_local_time(told.at, timezone))
    if message is ParticipantMessage.STAFF_TOLD:
        return _("Staff have been told.")
    if message is ParticipantMessage.CALL_ON_CALL:
        return _("Please see staff, or call {on_call}.").format(on_call=contact.on_call)
    return "" if see_staff_said else _("Please see staff.")


def _note(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def texts_for(
    state: FlowState, now: datetime, site: SiteClock, contact: SiteContact | None = None
) -> ScreenText:
    screen = state.screen
    contact = contact or SiteContact()
    staff = where_and_when(contact)
    told = told_text(state.told, contact, site.timezone, see_staff_said=True)
    if screen is Screen.IDLE:
        return ScreenText(Icon.FINGER, _("Place your finger on the sensor"))
    if screen is Screen.IDENTIFYING:
        return ScreenText(Icon.WAIT, _("Reading your fingerprint"), _("Keep your finger still."))
    if screen is Screen.NOTICE and state.notices:
        # Staff's own words, as written (in the participant's language when staff wrote it).
        text, _language = state.notices[0].text_for(state.locale, state.site_locale)
        return ScreenText(
            Icon.INFO, _("A message for you"), text, note=_("Press OK when you have read it.")
        )
    if screen is Screen.DECIDING:
        return ScreenText(Icon.WAIT, _("One moment"), _("Checking your prescription."))
    if screen is Screen.WITNESS:
        return _witness(state)
    if screen is Screen.REMOTE_WITNESS and state.remote is not None:
        return _remote_witness(state.remote)
    if screen is Screen.ASSISTED and state.assist is not None:
        return assist_text(state.assist)
    if screen is Screen.HELP:
        return help_text(state, contact, site.timezone, staff)
    if screen is Screen.DISPENSING:
        parts = [medication_phrase(line, line.units) for line in state.lines]
        return ScreenText(
            Icon.WAIT,
            _("Dispensing {what}").format(what=_(" and ").join(parts)),
            _("Please wait. Your medication drops into the tray."),
            note=_note(
                *(unavailable_text(line) for line in state.unavailable),
                told if state.unavailable else "",
            ),
        )
    if screen is Screen.DONE:
        return _done(state, now, site, staff, told)
    if screen is Screen.UNAVAILABLE:
        return ScreenText(
            Icon.INFO,
            _("Your dose cannot be given here right now"),
            _note(*(unavailable_text(line) for line in state.unavailable), told),
            "attention",
            _note(_("Please see staff for your dose."), *staff),
        )
    if screen is Screen.REFUSED and state.refusal is not None:
        refusal = state.refusal
        if refusal.reason is RefusalReason.CLOCK_UNTRUSTED:
            return _out_of_service(_("Out of service"), staff, told)
        if refusal.reason is RefusalReason.DOSES_ELSEWHERE:
            return ScreenText(
                Icon.INFO,
                _("Today's doses are at another site"),
                _("Please see staff if this is not right."),
                "attention",
                _note(*staff),
            )
        if refusal.reason in TIMED_REASONS and refusal.next_eligible is not None:
            return ScreenText(
                Icon.INFO,
                _when(refusal.next_eligible, now, site),
                _("Nothing is wrong. Please come back then."),
            )
        return ScreenText(
            Icon.INFO,
            _("Please see staff"),
            _("Staff can help you with your prescription."),
            "attention",
            _note(*staff),
        )
    if screen is Screen.NOT_RECOGNISED:
        return ScreenText(
            Icon.INFO,
            _("This finger was not recognised"),
            _("Please try again, or see staff."),
            "attention",
            _note(*staff),
        )
    if screen is Screen.OUT_OF_SERVICE:
        return _out_of_service(_("Temporarily out of service"), staff, told)
    if state.error is ErrorKind.POOR_IMAGE:
        return ScreenText(
            Icon.FINGER,
            _("Please try again"),
            _("Place your finger flat on the sensor and keep it still."),
        )
    if state.error is ErrorKind.OUT_OF_SERVICE:
        return _out_of_service(_("Temporarily out of service"), staff, told)
    if state.error is ErrorKind.NO_WITNESS:
        return ScreenText(
            Icon.INFO,
            _("Your dose was not given"),
            _("A nurse or pharmacist must witness it."),
            "attention",
            _note(_("Please ask staff, then place your finger again."), *staff),
        )
    return ScreenText(
        Icon.INFO, _("Please see staff"), _("Staff can help you."), "attention", _note(*staff)
    )


def help_button_text() -> str:
    return _("I need help")


def back_text() -> str:
    return _("Back")


def help_text(
    state: FlowState, contact: SiteContact, timezone: str, staff: list[str]
) -> ScreenText:
    """ "I need help": staff were told only when it is true (kiosk.services.help), and
    someone is coming once staff acknowledged it."""
    if state.help_coming:
        return ScreenText(
            Icon.OK, _("Someone is coming"), _("Please stay here."), "good", _note(*staff)
        )
    told = state.help_told
    if told is None or told.record is AlertRecord.NONE:
        # Asked, not yet known to have reached anyone: never "staff have been told".
        return ScreenText(
            Icon.WAIT, _("Asking staff to come"), _("Please stay here."), note=_note(*staff)
        )
    if told.record is AlertRecord.NOT_RECORDED:
        return ScreenText(
            Icon.INFO,
            _("Please see staff"),
            told_text(told, contact, timezone),
            "attention",
            _note(*staff),
        )
    return ScreenText(
        Icon.INFO,
        told_text(told, contact, timezone),
        _("Please stay here."),
        note=_note(*staff),
    )


def assist_entry_text() -> str:
    """The discreet staff entry on the idle and "not recognised" screens."""
    return _("Staff: identify by code")


def assist_letters_text() -> str:
    """The field under the code pad, for a code with letters (typed on the keyboard)."""
    return _("A code with letters? Touch here to type it")


def assist_answer_texts() -> tuple[str, str]:
    """The confirmation step's answers: yes, no."""
    return _("Yes, this is me"), _("No, this is not me")


def assist_text(assist: AssistState) -> ScreenText:
    """Each step of the staff-assisted identification (kiosk.domain.assisted_id)."""
    if assist.refusal is AssistRefusal.FORBIDDEN:
        return ScreenText(
            Icon.INFO,
            _("Staff identification is not used at this site"),
            _("Please try your finger again, or see staff."),
            "attention",
        )
    if assist.step is AssistStep.CHECKING:
        return ScreenText(Icon.WAIT, _("One moment"))
    if assist.step is AssistStep.CONFIRM:
        return ScreenText(Icon.INFO, _("Is this you?"), _("This is the picture you chose."))
    refusals = {
        AssistRefusal.PIN_NOT_ACCEPTED: _("That PIN was not accepted. Please try again."),
        AssistRefusal.LOCKED: pin_locked_text(assist.locked_seconds),
        AssistRefusal.UNKNOWN_CODE: _("No participant has this code. Check it and try again."),
        AssistRefusal.NOT_CONFIRMED: _("Not this person. Check the code and try again."),
    }
    refusal = refusals.get(assist.refusal, "") if assist.refusal is not None else ""
    if assist.step is AssistStep.CODE:
        return ScreenText(
            Icon.INFO,
            _("Enter the participant's code"),
            refusal or _("Only the number: for P-0012, enter 12."),
            "attention" if refusal else "neutral",
        )
    return ScreenText(
        Icon.INFO,
        _("Staff: enter your PIN"),
        refusal or _("To identify someone whose finger does not read."),
        "attention" if refusal else "neutral",
    )


def _witness(state: FlowState) -> ScreenText:
    if state.pin_locked_seconds:
        detail = pin_locked_text(state.pin_locked_seconds)
    elif state.witness_attempts:
        detail = _("That PIN was not accepted. Please try again.")
    else:
        detail = _("Staff: please enter your PIN.")
    countdown = _("Time left: {wait}").format(wait=format_wait(state.seconds_left))
    return ScreenText(
        Icon.INFO, _("A nurse or pharmacist will witness this dose"), detail, note=countdown
    )


def _remote_witness(remote: RemoteWitness) -> ScreenText:
    """For the participant: what is happening, and to wait. For staff (the note): the next
    thing to do; no blame either way."""
    if remote.stage is Stage.WHO:
        if remote.pin_locked_seconds:
            note = pin_locked_text(remote.pin_locked_seconds)
        elif remote.pin_attempts:
            note = _("That PIN was not accepted. Please try again.")
        else:
            note = _("Staff: enter your PIN to ask the on-call clinician.")
        return ScreenText(Icon.INFO, _("A nurse or pharmacist will witness this dose"), note=note)
    note = remote_witness_note(remote.approval) if remote.approval is not None else ""
    return ScreenText(
        Icon.WAIT,
        _("Asking a nurse or pharmacist to witness from afar"),
        _("Please wait here. This can take a few minutes."),
        note=note,
    )


def remote_witness_note(approval: ApprovalState) -> str:
    """Staff's next step while the on-call clinician is asked."""
    if approval.step is ApprovalStep.LOCKED:
        return _("Too many wrong codes. Please wait a moment.")
    if approval.step in (ApprovalStep.WAITING, ApprovalStep.TIMED_OUT):
        return _("Staff: the on-call clinician has the request. No answer? Phone them.")
    if approval.step is not ApprovalStep.CHALLENGE:
        return _("One moment")
    if approval.by_app:
        step = _("Staff: type the 6-digit code from the clinician's app, then press OK.")
    else:
        digits = f"{approval.challenge[:4]} {approval.challenge[4:]}"
        step = _(
            "Staff: read the challenge {challenge} to the clinician, then type their "
            "response and press OK."
        ).format(challenge=digits)
    if approval.problem is not None:
        return _note(_("That code was not accepted."), step)
    return step


def _done(
    state: FlowState, now: datetime, site: SiteClock, staff: list[str], told: str
) -> ScreenText:
    unavailable = [unavailable_text(line) for line in state.unavailable]
    if state.partial and not any(line.dropped for line in state.lines):
        return ScreenText(
            Icon.INFO,
            _("The machine could not give your dose"),
            _note(told, _("Please see staff for your dose.")),
            "attention",
            _note(*unavailable, *staff),
        )
    if state.partial:
        got = [medication_phrase(line, line.dropped) for line in state.lines if line.dropped]
        return ScreenText(
            Icon.INFO,
            _("You received {what}").format(what=_(" and ").join(got)),
            _note(
                _("The machine could not give the rest."),
                told,
                _("Please see staff for the rest."),
            ),
            "attention",
            _note(*unavailable, *staff),
        )
    next_dose = _when(state.next_dose, now, site) if state.next_dose is not None else ""
    take_it = _note(_("Please take it from the tray."), next_dose)
    if unavailable:
        see_staff = ngettext(
            "Please see staff for it.", "Please see staff for them.", len(unavailable)
        )
        return ScreenText(
            Icon.OK,
            _("Your dose is ready"),
            take_it,
            "good",
            _note(*unavailable, told, see_staff, *staff),
        )
    return ScreenText(Icon.OK, _("Your dose is ready"), take_it, "good")


def _out_of_service(headline: str, staff: list[str], told: str) -> ScreenText:
    return ScreenText(
        Icon.STOP,
        headline,
        told,
        "attention",
        _note(_("Please come back later, or see staff."), *staff),
    )


def site_notice_texts(state: FlowState) -> list[str]:
    """The site's notices of the day at idle, each in the reader's language when written."""
    return [n.text_for(state.locale, state.site_locale)[0] for n in state.site_notices]


def fault_text(fault: str) -> str:
    """Why the machine is out of service, for staff (no personal data)."""
    return {
        "sensor": _("The fingerprint sensor does not answer."),
        "controller": _("The dispenser does not answer."),
        "door_opened": _("The service door was opened outside a staff session."),
        "tamper": _("The tamper switch was tripped."),
        "clock": _("The clock is behind the last recorded event."),
        "database": _("The database check failed."),
        "cannot_record": _("Records cannot be written (full disk or storage fault)."),
        "storage_low": _("The data folder is nearly full."),
        "vend_unsettled": _("A dispense is not settled yet: waiting for the dispenser."),
        "records_missing": _(
            "Records are missing from the database: a technician must check the machine."
        ),
        "health_check": _("The machine check did not finish."),
        "no_ready_lane": _(
            "No lane can dispense: every lane is jammed, empty, faulty or unassigned."
        ),
    }.get(fault, _("Self-test failed: {fault}").format(fault=fault))


def pin_locked_text(seconds: int) -> str:
    """Every staff PIN entry words its lockout the same way (the admin panel's too)."""
    return _("Too many wrong PINs. Try again in {wait}.").format(wait=format_wait(seconds))


def progress_text(line: DoseLine) -> str:
    """One medication's progress, labelled: "hydromorphone 8 mg: 1 of 2"."""
    return _("{medication}: {dropped} of {count}").format(
        medication=line.name, dropped=line.dropped, count=line.units
    )
