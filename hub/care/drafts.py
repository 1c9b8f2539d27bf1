"""A prescription's lifecycle: a prescriber's draft, a pharmacist's verification (never the
author's own), then the fleet.Prescription the machines sync; pause, resume and end.

Each function is one transaction with its audit row; the pages call them after ``can(...)``.
A refusal is ``Refused`` with a sentence for the page (never a 500).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.timezone import now
from fleet.models import Participant, Prescription

from care import audit
from care.models import AuditAction, PrescriptionDraft
from care.permissions import Action, can
from care.sites import site_of


class Refused(Exception):
    """The rule said no; the message is for the person."""


def save_draft(
    request: HttpRequest,
    participant: Participant,
    terms: dict[str, Any],
    replaces: Prescription | None,
    submit: bool,
) -> PrescriptionDraft:
    with transaction.atomic():
        draft = PrescriptionDraft(
            author=request.user, participant=participant, replaces=replaces, **terms
        )
        if submit:
            draft.status = PrescriptionDraft.Status.SUBMITTED
            draft.submitted_at = now()
        draft.save()
        action = AuditAction.DRAFT_SUBMITTED if submit else AuditAction.DRAFT_SAVED
        audit.record(
            request,
            action,
            obj=draft,
            participant=participant.code,
            replaces=replaces.pk if replaces else None,
        )
    return draft


def submit(request: HttpRequest, draft_id: int) -> PrescriptionDraft:
    with transaction.atomic():
        draft = PrescriptionDraft.objects.select_for_update().get(pk=draft_id)
        if draft.author_id != request.user.pk:
            raise Refused("Only the prescriber who wrote this draft can send it.")
        if draft.status != PrescriptionDraft.Status.DRAFT:
            raise Refused("This draft was already sent.")
        draft.status = PrescriptionDraft.Status.SUBMITTED
        draft.submitted_at = now()
        draft.save(update_fields=["status", "submitted_at"])
        audit.record(request, AuditAction.DRAFT_SUBMITTED, obj=draft)
    return draft


def _review(request: HttpRequest, draft_id: int) -> PrescriptionDraft:
    """The submitted draft, locked, if this user may review it: a pharmacist at its site who
    is not its author (two people for every prescription, even one holding both roles)."""
    draft = (
        PrescriptionDraft.objects.select_for_update(of=("self",))
        .select_related("participant__machine__site")
        .get(pk=draft_id)
    )
    if not can(request.user, Action.VERIFY_PRESCRIPTION, site_of(draft)):
        raise Refused("Only a pharmacist at this site can verify or return prescriptions.")
    if draft.author_id == request.user.pk:
        raise Refused("You wrote this prescription: another pharmacist must verify it.")
    if draft.status != PrescriptionDraft.Status.SUBMITTED:
        raise Refused("This prescription is not waiting for verification any more.")
    return draft


def verify(request: HttpRequest, draft_id: int) -> Prescription:
    """Write the prescription the machines will receive (its save() writes the change log)."""
    with transaction.atomic():
        draft = _review(request, draft_id)
        rx = draft.replaces
        if rx is not None:
            rx = Prescription.objects.select_for_update().get(pk=rx.pk)
            if rx.updated_at > draft.created_at:
                # Two changes of one prescription verified in the wrong order, or a hold the
                # draft's author never saw: applying this draft would silently undo the newer
                # state. The prescriber writes it again against what is in force now.
                raise Refused(
                    "This prescription changed after the draft was written: return it so the"
                    " prescriber can write it again against the terms in force now."
                )
            if rx.status in ("ended", "cancelled"):  # a renewal: dosing starts again
                rx.status, rx.hold_kind, rx.hold_reason = "active", "", ""
        else:
            rx = Prescription(participant=draft.participant)
        for name in PrescriptionDraft.TERMS:
            setattr(rx, name, getattr(draft, name))
        rx.full_clean(exclude=["participant"])  # the hub's own field rules, last line
        rx.save()
        draft.status = PrescriptionDraft.Status.VERIFIED
        draft.reviewed_by = request.user
        draft.reviewed_at = now()
        draft.result = rx
        draft.save(update_fields=["status", "reviewed_by", "reviewed_at", "result"])
        audit.record(
            request,
            AuditAction.PRESCRIPTION_VERIFIED,
            obj=rx,
            draft=draft.pk,
            author=draft.author_id,
            verifier=request.user.pk,
            participant=draft.participant.code,
            change=draft.replaces_id is not None,
        )
    return rx


def return_draft(request: HttpRequest, draft_id: int, reason: str) -> PrescriptionDraft:
    reason = reason.strip()
    if len(reason) < 3:
        raise Refused("Say why you are returning it, so the prescriber can fix it.")
    with transaction.atomic():
        draft = _review(request, draft_id)
        draft.status = PrescriptionDraft.Status.RETURNED
        draft.reviewed_by = request.user
        draft.reviewed_at = now()
        draft.return_reason = reason
        draft.save(update_fields=["status", "reviewed_by", "reviewed_at", "return_reason"])
        audit.record(
            request, AuditAction.DRAFT_RETURNED, obj=draft, reason=reason, author=draft.author_id
        )
    return draft


def _locked(rx_id: int) -> Prescription:
    return Prescription.objects.select_for_update().get(pk=rx_id)


def pause(request: HttpRequest, rx_id: int, reason: str) -> Prescription:
    reason = reason.strip()
    if len(reason) < 3:
        raise Refused("Say why the prescription is paused.")
    with transaction.atomic():
        rx = _locked(rx_id)
        if rx.status != "active":
            raise Refused("Only an active prescription can be paused.")
        rx.status, rx.hold_kind, rx.hold_reason = "on_hold", "staff", reason[:200]
        rx.save()
        audit.record(request, AuditAction.PRESCRIPTION_PAUSED, obj=rx, reason=reason)
    return rx


def resume(request: HttpRequest, rx_id: int, reason: str) -> Prescription:
    reason = reason.strip()
    if len(reason) < 3:
        raise Refused("Say why dosing can start again.")
    with transaction.atomic():
        rx = _locked(rx_id)
        if rx.status != "on_hold":
            raise Refused("Only a paused prescription can be resumed.")
        rx.status, rx.hold_kind, rx.hold_reason = "active", "", ""
        rx.save()
        audit.record(request, AuditAction.PRESCRIPTION_RESUMED, obj=rx, reason=reason)
    return rx


def end(request: HttpRequest, rx_id: int, last_day: date, reason: str) -> Prescription:
    reason = reason.strip()
    if len(reason) < 3:
        raise Refused("Say why the prescription ends.")
    with transaction.atomic():
        rx = _locked(rx_id)
        if rx.status in ("ended", "cancelled"):
            raise Refused("This prescription has already ended.")
        if last_day < rx.start_date:
            raise Refused("The last day cannot be before the first day.")
        rx.end_date = last_day
        # Ended today or earlier: no more doses at all (the kiosk cancels it). A later last
        # day keeps it active until then, like an end date written on the prescription.
        if last_day <= rx.participant.machine.site.dosing_day():
            rx.status = "ended"
        rx.save()
        audit.record(
            request, AuditAction.PRESCRIPTION_ENDED, obj=rx, reason=reason, last_day=str(last_day)
        )
    return rx
