"""Staff wording of a decision: the verdict and every rule that led to it.

Used by ``kiosk explain`` (a prescriber on the phone) and the admin panel. Fuller than the
participant's one sentence, and translated like every other string a person reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiosk.domain.decision import DecisionView
from kiosk.domain.dosing import (
    MISSED_DOSES_HOLD_REASON,
    Allowed,
    Check,
    Decision,
    RefusalReason,
    Refused,
    Rule,
)
from kiosk.domain.model import Prescription, PrescriptionStatus, SiteClock
from kiosk.i18n import _, format_local_day, format_local_time, ngettext


def _when(text: str | int | None, site: SiteClock) -> str:
    if not isinstance(text, str):
        return "—"
    instant = datetime.fromisoformat(text)
    day = format_local_day(instant, site.timezone, "medium")
    return f"{day} {format_local_time(instant, site.timezone)}"


def reason_text(reason: RefusalReason) -> str:
    return {
        RefusalReason.TOO_EARLY: _("not inside a dose window, or too soon after the last dose"),
        RefusalReason.ALREADY_DOSED: _("this window's dose was already given"),
        RefusalReason.DAILY_MAXIMUM: _("the daily maximum is reached"),
        RefusalReason.DOSES_PER_DAY: _("the doses allowed today are used"),
        RefusalReason.NOT_STARTED: _("the prescription has not started"),
        RefusalReason.ENDED: _("the prescription has ended"),
        RefusalReason.ON_HOLD: _("the prescription is on hold"),
        RefusalReason.MISSED_DOSES: _("on hold after missed doses: needs prescriber review"),
        RefusalReason.CANCELLED: _("the prescription is cancelled"),
        RefusalReason.CLOCK_UNTRUSTED: _("the machine's clock cannot be trusted"),
        RefusalReason.NO_PRESCRIPTION: _("no active prescription"),
        RefusalReason.DOSES_ELSEWHERE: _("today's doses are at another site"),
    }[reason]


def status_text(status: PrescriptionStatus | str | None) -> str:
    """A prescription's status in words ("on hold", never "on_hold")."""
    value = status.value if isinstance(status, PrescriptionStatus) else status
    return {
        PrescriptionStatus.ACTIVE.value: _("active"),
        PrescriptionStatus.ON_HOLD.value: _("on hold"),
        PrescriptionStatus.CANCELLED.value: _("cancelled"),
    }.get(value or "", "—")


def hold_reason_text(reason: str | None) -> str:
    """Why a prescription is held: the rules' own reason translated, a staff member's as
    they wrote it."""
    if not reason:
        return "—"
    return _("needs prescriber review") if reason == MISSED_DOSES_HOLD_REASON else reason


def check_text(check: Check, site: SiteClock) -> str:
    f = check.facts
    match check.rule:
        case Rule.STATUS:
            if check.passed:
                return _("The prescription is active.")
            status, reason = f.get("status"), f.get("hold_reason")
            return _("The prescription is {status}: {reason}.").format(
                status=status_text(status if isinstance(status, str) else None),
                reason=hold_reason_text(reason if isinstance(reason, str) else None),
            )
        case Rule.GUEST_ELSEWHERE:
            if check.passed:
                return _("Today's doses are given here.")
            return _("Today's doses are at another site (a guest pass); none here today.")
        case Rule.START_DATE:
            return _("Start date {start}; today is dosing day {today}.").format(
                start=f.get("start_date"), today=f.get("today")
            )
        case Rule.END_DATE:
            if f.get("end_date") is None:
                return _("No end date.")
            return _("End date {end}; today is dosing day {today}.").format(
                end=f.get("end_date"), today=f.get("today")
            )
        case Rule.MISSED_DOSES:
            return _("{missed} dosing days in a row without a pickup (hold at {limit}).").format(
                missed=f.get("missed_days"), limit=f.get("limit")
            )
        case Rule.WINDOW:
            if check.passed:
                return _("Inside the dose window {start} to {end}.").format(
                    start=_when(f.get("window_start"), site), end=_when(f.get("window_end"), site)
                )
            return _("Outside every dose window ({count} windows today).").format(
                count=f.get("windows_today")
            )
        case Rule.ONE_DOSE_PER_WINDOW:
            if check.passed:
                return _("No dose given yet in this window.")
            return _("A dose was already given in this window.")
        case Rule.ACCUMULATION:
            return _(
                "Accumulation: {opened} windows opened today, {taken} doses taken, {owed} owed."
            ).format(
                opened=f.get("windows_opened"), taken=f.get("doses_taken"), owed=f.get("doses_owed")
            )
        case Rule.INTERVAL:
            if f.get("last_dose") is None:
                return _("No earlier dose: the interval does not apply.")
            return _("Last dose {last}; {minutes} minutes apart: allowed from {eligible}.").format(
                last=_when(f.get("last_dose"), site),
                minutes=f.get("interval_minutes"),
                eligible=_when(f.get("eligible_from"), site),
            )
        case Rule.DOSES_PER_DAY:
            return _("{doses} of {limit} doses given today.").format(
                doses=f.get("doses_today"), limit=f.get("max_doses_per_day")
            )
        case Rule.DAILY_MAXIMUM:
            return _(
                "{used} of {limit} units given today, {left} left ({per_dose} per dose)."
            ).format(
                used=f.get("used_today"),
                limit=f.get("daily_max_units"),
                left=f.get("left_today"),
                per_dose=f.get("units_per_dose"),
            )
    return check.rule.value


def verdict_text(decision: Decision, site: SiteClock) -> str:
    if isinstance(decision, Allowed):
        return ngettext(
            "Allowed now: {units} unit.", "Allowed now: {units} units.", decision.units
        ).format(units=decision.units)
    text = _("Refused: {reason}.").format(reason=reason_text(decision.reason))
    if decision.next_eligible is not None:
        text += " " + _("Next eligible: {when}.").format(
            when=_when(decision.next_eligible.isoformat(), site)
        )
    return text


def medication_title(rx: Prescription) -> str:
    m = rx.medication
    return f"#{rx.id} {m.name} {m.strength} {m.form}"


def explain_text(view: DecisionView, site: SiteClock) -> str:
    lines = [_("Decision at {when}").format(when=_when(view.at.isoformat(), site))]
    if not view.decisions and view.refusal is not None:
        lines.append("  " + verdict_text(view.refusal, site))
    for rx, decision in view.decisions:
        lines.append("")
        lines.append(medication_title(rx))
        lines.append("  " + verdict_text(decision, site))
        for check in decision.checks:
            mark = "✓" if check.passed else "✗"
            lines.append(f"    {mark} {check_text(check, site)}")
    return "\n".join(lines)


def explain_json(view: DecisionView, site: SiteClock) -> dict[str, Any]:
    def one(rx: Prescription, decision: Decision) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prescription_id": rx.id,
            "medication": medication_title(rx),
            "allowed_units": decision.units if isinstance(decision, Allowed) else 0,
            "verdict": verdict_text(decision, site),
            "checks": [
                {
                    "rule": c.rule.value,
                    "passed": c.passed,
                    "facts": dict(c.facts),
                    "text": check_text(c, site),
                }
                for c in decision.checks
            ],
        }
        if isinstance(decision, Refused):
            body["reason"] = decision.reason.value
            body["next_eligible"] = (
                decision.next_eligible.isoformat() if decision.next_eligible else None
            )
            body["units_left_today"] = decision.units_left_today
            body["hold_reason"] = decision.hold_reason or None
        return body

    result: dict[str, Any] = {
        "at": view.at.isoformat(),
        "timezone": site.timezone,
        "prescriptions": [one(rx, d) for rx, d in view.decisions],
    }
    if view.refusal is not None and not view.decisions:
        result["reason"] = view.refusal.reason.value
    return result
