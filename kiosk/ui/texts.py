"""The words on each participant screen: few, plain, never blaming, all translated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.dosing import TIMED_REASONS, RefusalReason
from kiosk.domain.flow import DoseLine, ErrorKind, FlowState, Screen
from kiosk.domain.model import SiteClock
from kiosk.domain.schedule import dosing_day
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


def medication_phrase(line: DoseLine, count: int) -> str:
    name = f"{line.medication} {line.strength}"
    if line.form == "capsule":
        return ngettext(
            "{count} capsule of {medication}", "{count} capsules of {medication}", count
        ).format(count=count, medication=name)
    return ngettext(
        "{count} tablet of {medication}", "{count} tablets of {medication}", count
    ).format(count=count, medication=name)


def _when(instant: datetime, now: datetime, site: SiteClock) -> str:
    clock = format_local_time(instant, site.timezone)
    if dosing_day(instant, site) == dosing_day(now, site):
        return _("Your next dose is available at {time}").format(time=clock)
    return _("Your next dose is available on {day} at {time}").format(
        day=format_local_day(instant, site.timezone), time=clock
    )


def texts_for(state: FlowState, now: datetime, site: SiteClock) -> ScreenText:
    screen = state.screen
    if screen is Screen.IDLE:
        return ScreenText(Icon.FINGER, _("Place your finger on the sensor"))
    if screen is Screen.IDENTIFYING:
        return ScreenText(Icon.WAIT, _("Reading your fingerprint"), _("Keep your finger still."))
    if screen is Screen.DECIDING:
        return ScreenText(Icon.WAIT, _("One moment"), _("Checking your prescription."))
    if screen is Screen.WITNESS:
        if state.pin_locked_seconds:
            detail = pin_locked_text(state.pin_locked_seconds)
        elif state.witness_attempts:
            detail = _("That PIN was not accepted. Please try again.")
        else:
            detail = _("Staff: please enter your PIN.")
        return ScreenText(Icon.INFO, _("A nurse or pharmacist will witness this dose"), detail)
    if screen is Screen.DISPENSING:
        parts = [medication_phrase(line, line.units) for line in state.lines]
        return ScreenText(
            Icon.WAIT,
            _("Dispensing {what}").format(what=_(" and ").join(parts)),
            _("Please wait. Your medication drops into the tray."),
        )
    if screen is Screen.DONE:
        if state.partial and not any(line.dropped for line in state.lines):
            return ScreenText(
                Icon.INFO,
                _("The machine could not give your dose"),
                _("Staff have been told and will help you."),
                "attention",
            )
        if state.partial:
            got = [medication_phrase(line, line.dropped) for line in state.lines if line.dropped]
            return ScreenText(
                Icon.INFO,
                _("You received {what}").format(what=_(" and ").join(got)),
                _("The machine could not give the rest. Staff have been told and will help you."),
                "attention",
            )
        return ScreenText(
            Icon.OK, _("Your dose is ready"), _("Please take it from the tray."), "good"
        )
    if screen is Screen.REFUSED and state.refusal is not None:
        refusal = state.refusal
        if refusal.reason is RefusalReason.CLOCK_UNTRUSTED:
            return ScreenText(
                Icon.STOP, _("Out of service"), _("Staff have been alerted."), "attention"
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
        )
    if screen is Screen.NOT_RECOGNISED:
        return ScreenText(
            Icon.INFO,
            _("This finger was not recognised"),
            _("Please try again, or see staff."),
            "attention",
        )
    if screen is Screen.OUT_OF_SERVICE:
        return ScreenText(
            Icon.STOP, _("Temporarily out of service"), _("Staff have been alerted."), "attention"
        )
    if state.error is ErrorKind.POOR_IMAGE:
        return ScreenText(
            Icon.FINGER,
            _("Please try again"),
            _("Place your finger flat on the sensor and keep it still."),
        )
    if state.error is ErrorKind.OUT_OF_SERVICE:
        return ScreenText(
            Icon.STOP, _("Temporarily out of service"), _("Staff have been alerted."), "attention"
        )
    return ScreenText(Icon.INFO, _("Please see staff"), _("Staff can help you."), "attention")


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
    }.get(fault, _("Self-test failed: {fault}").format(fault=fault))


def pin_locked_text(seconds: int) -> str:
    """Every staff PIN entry words its lockout the same way (the admin panel's too)."""
    return _("Too many wrong PINs. Try again in {wait}.").format(wait=format_wait(seconds))


def staff_refusal_text(code: str, locked_seconds: int = 0) -> str:
    if not code:
        return ""
    if code == "locked":
        return pin_locked_text(locked_seconds)
    return {
        "pin": _("That PIN is not accepted for this task."),
        "door_open": _("Close the service door first."),
        "tamper": _("The tamper switch is still tripped."),
        "controller": _("The dispenser does not answer."),
    }.get(code, _("Not confirmed. Please try again."))


def progress_text(line: DoseLine) -> str:
    return _("{dropped} of {count}").format(dropped=line.dropped, count=line.units)
