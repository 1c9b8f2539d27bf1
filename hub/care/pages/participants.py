"""Participants: search (code, name, machine, site; live results with htmx, a plain GET form
without JavaScript; paginated) and a profile with the kiosk's own decision explanation.

Participant is one row per machine: the same code at several machines of the program is the
same person here, so the profile gathers those rows (at the user's sites only).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.timezone import now
from django.views.decorators.http import require_GET
from fleet.models import Participant, Prescription

from care import kiosk_rules
from care.models import PrescriptionDraft
from care.pages.prescriptions import terms_rows
from care.permissions import Action, can, in_sites, requires

PAGE_SIZE = 25


@requires(Action.VIEW_PARTICIPANTS)
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    rows = in_sites(Participant.objects.select_related("machine__site"), request)
    if query:
        rows = rows.filter(
            Q(code__icontains=query)
            | Q(display_name__icontains=query)
            | Q(machine__name__icontains=query)
            | Q(machine__site__name__icontains=query)
        )
    rows = rows.order_by("code", "machine__site__name", "machine__name")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "q": query}
    # htmx asks for the results only, as the person types.
    template = (
        "care/participants/results.html"
        if request.headers.get("HX-Request")
        else ("care/participants/search.html")
    )
    return render(request, template, context)


@requires(Action.VIEW_PARTICIPANTS)
@require_GET
def profile(request: HttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(
        in_sites(Participant.objects.select_related("machine__site"), request), pk=pk
    )
    prescriptions = Prescription.objects.order_by("-status", "pk")
    # The same person's rows at every machine the user may see, with their prescriptions.
    enrolments = list(
        in_sites(Participant.objects.filter(code=participant.code), request)
        .select_related("machine__site")
        .prefetch_related(Prefetch("prescriptions", queryset=prescriptions))
        .order_by("machine__site__name", "machine__name")
    )
    at = now()
    machines = []
    for row in enrolments:
        rxs = list(row.prescriptions.all())
        explanation = kiosk_rules.explain(row, rxs, at)
        machines.append(
            {
                "participant": row,
                "prescriptions": [
                    {"rx": rx, "terms": terms_rows(rx)} for rx in rxs if rx.status != "cancelled"
                ],
                "explanation": explanation,
                "can_write": can(request.user, Action.WRITE_PRESCRIPTION, row.machine.site),
            }
        )
    open_drafts = (
        in_sites(PrescriptionDraft.objects.filter(participant__in=enrolments), request)
        .filter(status__in=("draft", "submitted", "returned"))
        .select_related("author", "participant__machine")
        .order_by("-created_at")[:20]
    )
    context = {"participant": participant, "machines": machines, "open_drafts": open_drafts}
    return render(request, "care/participants/profile.html", context)
