"""Prescriptions: the prescriber's start page, writing a draft (new, change, renewal), a
draft's page (send, verify, return), the pharmacist's queue, a prescription's page (pause,
resume, end). The lifecycle's rules are in care/drafts.py; the form's in prescription_form.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.utils.timezone import localdate
from django.views.decorators.http import require_GET, require_POST
from fleet.models import Participant, Prescription

from care import drafts
from care.models import CareAudit, PrescriptionDraft
from care.permissions import Action, can, forbidden, in_sites, requires, sites_for
from care.prescription_form import PrescriptionForm, initial_from
from care.sites import site_of

RENEWAL_DAYS = 7  # a prescription ending within this many days is due for renewal
ENDED_SHOWN_DAYS = 30  # ended ones stay on the renewal list this long
LABELS = {
    "medication_name": "Medication",
    "medication_strength": "Strength",
    "medication_form": "Form",
    "units_per_dose": "Units per dose",
    "windows": "Dose windows",
    "daily_max_units": "Most units a day",
    "start_date": "First day",
    "end_date": "Last day",
    "interval_minutes": "Minutes between doses",
    "max_doses_per_day": "Most doses a day",
    "accumulate": "Missed windows picked up",
    "witnessed": "Witnessed",
    "missed_dose_limit": "Days without pickup before review",
}


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "windows":
        return ", ".join(f"{a}–{b}" for a, b in value) or "—"
    return str(value)


def terms_rows(new: Any, old: Any | None = None) -> list[dict[str, Any]]:
    """Each term with its value (and the active prescription's when it differs)."""
    rows = []
    for name, label in LABELS.items():
        value = _shown(name, getattr(new, name))
        before = _shown(name, getattr(old, name)) if old is not None else None
        rows.append(
            {
                "label": label,
                "value": value,
                "before": before,
                "changed": before not in (None, value),
            }
        )
    return rows


def _drafts(request: HttpRequest) -> QuerySet[PrescriptionDraft]:
    return in_sites(
        PrescriptionDraft.objects.select_related(
            "participant__machine__site", "author", "replaces", "reviewed_by"
        ),
        request,
    )


def renewals_due(request: HttpRequest) -> QuerySet[Prescription]:
    today = localdate()
    due = Q(status__in=("active", "on_hold"), end_date__lte=today + timedelta(days=RENEWAL_DAYS))
    ended = Q(status="ended", end_date__gte=today - timedelta(days=ENDED_SHOWN_DAYS))
    return in_sites(
        Prescription.objects.filter(due | ended).select_related("participant__machine__site"),
        request,
    ).order_by("end_date", "pk")


@requires(Action.VIEW_PRESCRIPTIONS)
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """The prescriber's start page: my drafts, returned ones with reasons, renewals due."""
    mine = _drafts(request).filter(author=request.user)
    context = {
        "open_drafts": mine.filter(status__in=("draft", "submitted")).order_by("-created_at")[:50],
        "returned": mine.filter(status="returned").order_by("-reviewed_at")[:50],
        "renewals": Paginator(renewals_due(request), 25).get_page(request.GET.get("page")),
        "can_write": can(request.user, Action.WRITE_PRESCRIPTION),
    }
    return render(request, "care/rx/start.html", context)


def _participant_for_writing(request: HttpRequest, participant_id: Any) -> Participant:
    try:
        pk = int(participant_id)
    except (TypeError, ValueError):
        raise Http404 from None
    return get_object_or_404(
        in_sites(Participant.objects.select_related("machine__site"), request), pk=pk
    )


@requires(Action.WRITE_PRESCRIPTION)
def new(request: HttpRequest) -> HttpResponse:
    """A new prescription (``?participant=``), a change (``&replaces=``) or a renewal
    (``&renew=``: a change of the ended one, starting again), or ``&from_draft=`` to write a
    returned draft again. Saved as a draft, or sent for verification."""
    source = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and not source.get("participant"):
        # Who for? A prescription starts from a participant: find them first.
        return render(request, "care/rx/choose.html")
    participant = _participant_for_writing(request, source.get("participant"))
    if not can(request.user, Action.WRITE_PRESCRIPTION, site_of(participant)):
        return forbidden(request, Action.WRITE_PRESCRIPTION)
    replaces = None
    initial: dict[str, Any] = {"start_date": localdate()}
    base_id = source.get("replaces") or source.get("renew")
    if base_id:
        replaces = get_object_or_404(Prescription, pk=_int(base_id), participant=participant)
        initial = initial_from(replaces)
        if source.get("renew"):
            initial["start_date"] = localdate()
            initial["end_date"] = None
    from_draft = source.get("from_draft")
    if from_draft and request.method == "GET":
        draft = get_object_or_404(_drafts(request), pk=_int(from_draft), participant=participant)
        initial, replaces = initial_from(draft), draft.replaces
    if request.method == "POST":
        form = PrescriptionForm(request.POST)
        if form.is_valid():
            send = "submit" in request.POST
            draft = drafts.save_draft(request, participant, form.terms(), replaces, send)
            messages.success(
                request,
                "Sent to a pharmacist for verification."
                if send
                else "Draft saved. It is not sent yet.",
            )
            return redirect("care:draft", draft.pk)
    else:
        form = PrescriptionForm(initial=initial)
    context = {"form": form, "participant": participant, "replaces": replaces}
    return render(request, "care/rx/new.html", context)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


@requires(Action.VIEW_PRESCRIPTIONS)
@require_GET
def draft_page(request: HttpRequest, pk: int) -> HttpResponse:
    draft = get_object_or_404(_drafts(request), pk=pk)
    may_verify = can(request.user, Action.VERIFY_PRESCRIPTION, site_of(draft))
    context = {
        "draft": draft,
        "terms": terms_rows(draft, draft.replaces),
        "is_author": draft.author_id == request.user.pk,
        "may_verify": may_verify and draft.author_id != request.user.pk,
        "own_draft_pharmacist": may_verify and draft.author_id == request.user.pk,
    }
    return render(request, "care/rx/draft.html", context)


def _draft_write(request: HttpRequest, pk: int, action: Action) -> PrescriptionDraft | HttpResponse:
    draft = get_object_or_404(_drafts(request), pk=pk)
    if not can(request.user, action, site_of(draft)):
        return forbidden(request, action)
    return draft


@requires(Action.WRITE_PRESCRIPTION)
@require_POST
def draft_submit(request: HttpRequest, pk: int) -> HttpResponse:
    found = _draft_write(request, pk, Action.WRITE_PRESCRIPTION)
    if isinstance(found, HttpResponse):
        return found
    try:
        drafts.submit(request, pk)
        messages.success(request, "Sent to a pharmacist for verification.")
    except drafts.Refused as refused:
        messages.error(request, str(refused))
    return redirect("care:draft", pk)


@requires(Action.VERIFY_PRESCRIPTION)
@require_POST
def draft_verify(request: HttpRequest, pk: int) -> HttpResponse:
    found = _draft_write(request, pk, Action.VERIFY_PRESCRIPTION)
    if isinstance(found, HttpResponse):
        return found
    if found.author_id == request.user.pk:
        return forbidden(request, Action.VERIFY_PRESCRIPTION)
    try:
        rx = drafts.verify(request, pk)
    except drafts.Refused as refused:
        messages.error(request, str(refused))
        return redirect("care:draft", pk)
    messages.success(request, "Verified. The machine gets it at its next sync.")
    return redirect("care:prescription", rx.pk)


@requires(Action.VERIFY_PRESCRIPTION)
@require_POST
def draft_return(request: HttpRequest, pk: int) -> HttpResponse:
    found = _draft_write(request, pk, Action.VERIFY_PRESCRIPTION)
    if isinstance(found, HttpResponse):
        return found
    if found.author_id == request.user.pk:
        return forbidden(request, Action.VERIFY_PRESCRIPTION)
    try:
        drafts.return_draft(request, pk, request.POST.get("reason", ""))
    except drafts.Refused as refused:
        messages.error(request, str(refused))
        return redirect("care:draft", pk)
    messages.success(request, "Returned to the prescriber with your reason.")
    return redirect("care:verify")


@requires(Action.VERIFY_PRESCRIPTION)
@require_GET
def verify_queue(request: HttpRequest) -> HttpResponse:
    """Submitted drafts, oldest first, each with what it changes. Only sites where this user
    verifies; their own drafts are listed but marked (another pharmacist must verify)."""
    queue = (
        PrescriptionDraft.objects.filter(
            status="submitted",
            participant__machine__site__in=sites_for(request.user, Action.VERIFY_PRESCRIPTION),
        )
        .select_related("participant__machine__site", "author", "replaces")
        .order_by("submitted_at", "pk")
    )
    page = Paginator(queue, 20).get_page(request.GET.get("page"))
    rows = [
        {
            "draft": d,
            "changes": [t for t in terms_rows(d, d.replaces) if t["changed"]],
            "mine": d.author_id == request.user.pk,
        }
        for d in page
    ]
    return render(request, "care/rx/verify.html", {"page": page, "rows": rows})


@requires(Action.VIEW_PRESCRIPTIONS)
@require_GET
def prescription_page(request: HttpRequest, pk: int) -> HttpResponse:
    rx = get_object_or_404(
        in_sites(Prescription.objects.select_related("participant__machine__site"), request), pk=pk
    )
    site = site_of(rx)
    history = (
        PrescriptionDraft.objects.filter(Q(replaces=rx) | Q(result=rx))
        .select_related("author", "reviewed_by")
        .order_by("-created_at")[:50]
    )
    audit_rows = CareAudit.objects.filter(
        object_type="fleet.prescription", object_id=str(rx.pk)
    ).select_related("user")[:50]
    context = {
        "rx": rx,
        "terms": terms_rows(rx),
        "history": history,
        "audit_rows": audit_rows,
        "can_write": can(request.user, Action.WRITE_PRESCRIPTION, site),
        "can_pause": can(request.user, Action.PAUSE_PRESCRIPTION, site),
        "today": localdate(),
    }
    return render(request, "care/rx/prescription.html", context)


def _rx_write(request: HttpRequest, pk: int, action: Action) -> Prescription | HttpResponse:
    rx = get_object_or_404(
        in_sites(Prescription.objects.select_related("participant__machine__site"), request), pk=pk
    )
    if not can(request.user, action, site_of(rx)):
        return forbidden(request, action)
    return rx


def _status_change(
    request: HttpRequest, pk: int, action: Action, change: Any, done: str
) -> HttpResponse:
    found = _rx_write(request, pk, action)
    if isinstance(found, HttpResponse):
        return found
    try:
        change()
        messages.success(request, done)
    except drafts.Refused as refused:
        messages.error(request, str(refused))
    return redirect("care:prescription", pk)


@requires(Action.PAUSE_PRESCRIPTION)
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _status_change(
        request,
        pk,
        Action.PAUSE_PRESCRIPTION,
        lambda: drafts.pause(request, pk, reason),
        "Paused. The machine stops dosing at its next sync.",
    )


@requires(Action.WRITE_PRESCRIPTION)
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _status_change(
        request,
        pk,
        Action.WRITE_PRESCRIPTION,
        lambda: drafts.resume(request, pk, reason),
        "Resumed. The machine doses again after its next sync.",
    )


@requires(Action.WRITE_PRESCRIPTION)
@require_POST
def end(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    try:
        last_day = parse_date(request.POST.get("last_day", ""))
    except ValueError:  # well formed, but no such day (2026-02-31)
        last_day = None

    def change() -> None:
        if last_day is None:
            raise drafts.Refused("Give the last day as a date.")
        drafts.end(request, pk, last_day, reason)

    return _status_change(request, pk, Action.WRITE_PRESCRIPTION, change, "Ended.")
