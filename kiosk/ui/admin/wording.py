"""Staff-facing words for service errors (translated)."""

from __future__ import annotations

from hardware.ports import DeviceError
from kiosk.i18n import N_, _
from kiosk.services.errors import InvalidInput, NotPermitted
from kiosk.services.pin_gate import PinLocked
from kiosk.ui.texts import pin_locked_text

INPUT_CODES = {
    "pin_short": N_("A PIN has at least 6 digits."),
    "pin_trivial": N_("That PIN is too easy to guess."),
    "pin_taken": N_("That PIN cannot be used. Choose another."),
    "second_signature": N_("A second, different staff member must sign with their PIN."),
    "reason": N_("Please give a reason."),
    "name": N_("Please enter a name."),
    "role": N_("Choose a role."),
    "self": N_("You cannot do that to your own account."),
    "units_per_dose": N_("Units per dose must be between 1 and 20."),
    "daily_max_units": N_("The daily maximum must be at least one dose."),
    "end_date": N_("The end date is before the start date."),
    "windows": N_("Add at least one dose window (or choose an interval)."),
    "interval_minutes": N_("Choose either windows or an interval."),
    "max_doses_per_day": N_("Doses per day must be at least 1."),
    "missed_dose_limit": N_("Missed-dose days must be between 1 and 60."),
    "folder": N_("That folder cannot be written. Check the USB stick."),
    "step": N_("Finish the steps in order."),
    "code_taken": N_("That participant code is already used."),
    "code": N_("Enter a participant code like P-0001."),
    "language": N_("That language is not offered."),
    "finger": N_("Choose a finger."),
    "participant": N_("That participant is not active."),
    "not_on_hold": N_("That prescription is not on hold."),
    "sensor_full": N_("The fingerprint sensor is full."),
    "lane": N_("Choose a lane that exists."),
    "lane_not_empty": N_("Empty the lane before it holds another medication."),
    "counted": N_("Enter the count you found."),
    "added": N_("Enter how many units you add."),
    "units": N_("Enter a number of units."),
    "discrepancy": N_("That discrepancy does not exist."),
    "resolved": N_("That discrepancy is already resolved."),
    "seconds": N_("Choose between 1 and 60 seconds."),
    "medication": N_("Enter the medication name, strength and form."),
}


def error_text(exc: BaseException) -> str:
    if isinstance(exc, PinLocked):
        return pin_locked_text(exc.seconds_left)
    if isinstance(exc, NotPermitted):
        return _("Your role may not do that.")
    if isinstance(exc, InvalidInput):
        return _(INPUT_CODES.get(exc.code, N_("That entry cannot be accepted.")))
    if isinstance(exc, DeviceError):
        return _("The device did not answer: {device}.").format(device=exc.device)
    return _("Something went wrong. It was logged; please try again.")
