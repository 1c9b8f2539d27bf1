"""The review queues' writes: each one checks the user's right at the item's site, re-reads the
item locked inside the transaction (two nurses pressing at once: the second is told, nothing is
applied twice), writes, and audits in the same transaction.

Each function returns a short sentence for the person, or raises ``NotApplied`` with one.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.timezone import now
from fleet.models import Event, Prescription, QuarantinedEvent, Site, SyncException

from care import audit
from care.models import AuditAction, OutreachContact, QueueReview
from care.pages import queue_lists
from care.permissions import Action, can


class NotApplied(Exception):
    """The item changed under the person (someone else acted first): nothing was written."""


def _allowed(user: Any, site: Site) -> None:
    # A site the user cannot act at is a 404 (like an item that does not exist), never a hint.
    if not can(user, Action.REVIEW_QUEUES, site):
        raise Http404


def check_item(request: Any, what: str, item_id: int) -> None:
    """404 unless the item exists at a site where the user may work the queues: checked before
    a form's errors are shown, so another site's ids tell nothing."""
    if what == "hold":
        site_id = (
            Prescription.objects.filter(pk=item_id)
            .values_list("participant__machine__site", flat=True)
            .first()
        )
    else:
        site_id = (
            _REVIEWABLE[what][0]
            .objects.filter(pk=item_id)
            .values_list("machine__site", flat=True)
            .first()
        )
    if site_id is None or not can(request.user, Action.REVIEW_QUEUES, site_id):
        raise Http404


# ---------------------------------------------------------------- missed-dose holds

RELEASE, END = "release", "end"


def decide_hold(request: Any, prescription_id: int, decision: str, reason: str) -> str:
    """Release the hold (active again, the kiosk's missed-dose count restarts) or end the
    prescription. The change reaches the machine through the change log (Prescription.save)."""
    with transaction.atomic():
        rx = (
            Prescription.objects.select_for_update(of=("self",))
            .select_related("participant__machine__site")
            .filter(pk=prescription_id)
            .first()
        )
        if rx is None:
            raise Http404
        site = rx.participant.machine.site
        _allowed(request.user, site)
        if rx.status != "on_hold" or rx.hold_kind != "missed_doses":
            raise NotApplied(
                f"Prescription #{rx.pk} for {rx.participant.code} is no longer on a missed-dose"
                " hold (someone else decided it already). Nothing was changed."
            )
        held_reason = rx.hold_reason
        rx.hold_reason = ""
        rx.hold_kind = ""
        if decision == RELEASE:
            rx.status = "active"
            rx.released_at = now()
            action = AuditAction.HOLD_RELEASED
            done = "released: the kiosk resumes doses after its next sync"
        else:
            rx.status = "ended"
            action = AuditAction.HOLD_PRESCRIPTION_ENDED
            done = "ended: no more doses will be given for it"
        rx.save()
        audit.record(
            request,
            action,
            obj=rx,
            site=site,
            reason=reason,
            prescription=rx.pk,
            participant=rx.participant.code,
            machine=rx.participant.machine_id,
            hold_reason=held_reason,
        )
    return f"Prescription #{rx.pk} for {rx.participant.code} {done}."


# ---------------------------------------------------------------- absences


def note_contact(request: Any, site_id: int, code: str, until_pickup: bool, note: str) -> str:
    """Record outreach; the person leaves the list for today or until their next pickup."""
    site = Site.objects.filter(pk=site_id).first()
    if site is None:
        raise Http404
    _allowed(request.user, site)
    if not Prescription.objects.filter(
        participant__machine__site=site, participant__code=code
    ).exists():
        raise Http404
    with transaction.atomic():
        contact = OutreachContact.objects.create(
            site=site,
            participant_code=code,
            until_pickup=until_pickup,
            note=note,
            user=request.user,
        )
        audit.record(
            request,
            AuditAction.OUTREACH_CONTACTED,
            obj=contact,
            site=site,
            reason=note,
            participant=code,
            until_pickup=until_pickup,
        )
    when = "until their next pickup" if until_pickup else "for the rest of today"
    return f"Outreach to {code} noted. They are off this list {when}."


# ---------------------------------------------------------------- reviewed items

_REVIEWABLE: dict[str, tuple[Any, QueueReview.Kind, AuditAction]] = {
    "count": (Event, QueueReview.Kind.STOCK_COUNT, AuditAction.STOCK_COUNT_REVIEWED),
    "exception": (
        SyncException,
        QueueReview.Kind.SYNC_EXCEPTION,
        AuditAction.SYNC_EXCEPTION_REVIEWED,
    ),
    "quarantined": (
        QuarantinedEvent,
        QueueReview.Kind.QUARANTINED_EVENT,
        AuditAction.QUARANTINED_EVENT_REVIEWED,
    ),
}
REVIEWABLE_KINDS = tuple(_REVIEWABLE)


def mark_reviewed(request: Any, what: str, item_id: int, note: str) -> str:
    """A stock count, sync exception or set-aside event reviewed, with a note. A second review
    of the same item is refused (unique row; SyncException also locked and marked resolved)."""
    model, kind, action = _REVIEWABLE[what]
    with transaction.atomic():
        item = (
            model.objects.select_for_update(of=("self",))
            .select_related("machine__site")
            .filter(pk=item_id)
        )
        if model is Event:
            item = item.filter(type__in=queue_lists.COUNT_EVENTS)
        item = item.first()
        if item is None:
            raise Http404
        site = item.machine.site
        _allowed(request.user, site)
        if isinstance(item, SyncException):
            if item.resolved:
                raise NotApplied(_already(item_id))
            item.resolved = True
            item.save(update_fields=["resolved"])
        try:
            with transaction.atomic():
                QueueReview.objects.create(
                    kind=kind, object_id=item.pk, site=site, user=request.user, note=note
                )
        except IntegrityError:
            raise NotApplied(_already(item_id)) from None
        audit.record(
            request,
            action,
            obj=item,
            site=site,
            reason=note,
            machine=item.machine_id,
            seq=getattr(item, "seq", None),
        )
    return f"Item {item_id} marked as reviewed. Thank you."


def _already(item_id: int) -> str:
    return f"Item {item_id} was already reviewed by someone else. Nothing was changed."
