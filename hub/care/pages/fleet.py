"""The fleet pages (issue 14, item 6): every machine of the user's sites at a glance
(``/fleet/``, the program manager's start page) and one machine in detail
(``/fleet/<id>/``). Read-only: no role's fleet action writes (care/permissions.py).

The list is grouped by site, filtered and sorted by a GET form (works without JavaScript);
htmx refreshes its table every 60 s. Its queries do not grow with the number of machines
(care/pages/fleet_status.py); the list is paginated.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET
from fleet.anchors import BREAK_KINDS
from fleet.models import (
    Alert,
    Event,
    Machine,
    MachineUpdate,
    Prescription,
    QuarantinedEvent,
    SyncException,
)

from care.pages import fleet_wording
from care.pages.fleet_status import MachineStatus, count_dispenses, statuses
from care.permissions import Action, in_sites, requires

MACHINES_PER_PAGE = 50
EVENTS_PER_PAGE = 25
ALERTS_SHOWN = 50

SORTS = {
    "site": "Machine name",
    "silent": "Longest silent first",
    "alerts": "Most urgent alerts first",
    "dispenses": "Fewest dispenses today first",
}
_SORT_KEYS = {
    "site": lambda s: (s.machine.name,),
    "silent": lambda s: (-(s.silent_for.total_seconds() if s.silent_for else 1e12), s.machine.name),
    "alerts": lambda s: (-s.alert_rank, -s.open_alerts, s.machine.name),
    "dispenses": lambda s: (s.dispensed_today, s.machine.name),
}


class FleetFilter(forms.Form):
    site = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Site")
    attention = forms.BooleanField(required=False, label="Only machines that need attention")
    sort = forms.ChoiceField(
        required=False, choices=list(SORTS.items()), label="Order within each site"
    )

    def __init__(self, data: Any, sites: list[Any]) -> None:
        super().__init__(data)
        self.fields["site"].choices = [("", "All my sites")] + [(s.pk, s.name) for s in sites]
        self.fields["site"].error_messages["invalid_choice"] = (
            "That site is not one of yours. Showing all your sites."
        )
        self.fields["sort"].error_messages["invalid_choice"] = (
            "That order is not one we know. Showing machines by name."
        )


@requires(Action.VIEW_FLEET)
@require_GET
def fleet(request: HttpRequest) -> HttpResponse:
    sites = list(request.care_sites)  # type: ignore[attr-defined]
    form = FleetFilter(request.GET, sites)
    form.is_valid()  # errors are shown; the fields that passed still apply
    chosen = form.cleaned_data.get("site")
    sort = form.cleaned_data.get("sort") or "site"
    only_attention = bool(form.cleaned_data.get("attention"))

    machines = Machine.objects.filter(site_id__in=[chosen] if chosen else [s.pk for s in sites])
    # Today's dispenses only for the page shown, unless the order needs them all.
    everything = statuses(machines, timezone.now(), dispenses=sort == "dispenses")
    needing = sum(1 for s in everything if s.reasons)
    shown = [s for s in everything if s.reasons] if only_attention else everything
    shown.sort(key=lambda s: (s.machine.site.name, s.machine.site_id, *_SORT_KEYS[sort](s)))
    page = Paginator(shown, MACHINES_PER_PAGE).get_page(request.GET.get("page"))
    if sort != "dispenses":
        count_dispenses(list(page.object_list))
    groups = [
        {"site": rows[0].machine.site, "day_started": rows[0].day_started, "rows": rows}
        for rows in (list(g) for _, g in groupby(page.object_list, lambda s: s.machine.site_id))
    ]
    context = {
        "form": form,
        "page": page,
        "groups": groups,
        "total": len(everything),
        "needing": needing,
        "only_attention": only_attention,
        "site_count": len({s.machine.site_id for s in everything}),
        "query": _query_without_page(request),
        "refreshed_at": timezone.now(),
    }
    partial = request.headers.get("HX-Request") == "true"
    template = "care/fleet/_table.html" if partial else "care/fleet/fleet.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@requires(Action.VIEW_FLEET)
@require_GET
def machine(request: HttpRequest, machine_id: int) -> HttpResponse:
    found = get_object_or_404(in_sites(Machine.objects.all(), request), pk=machine_id)
    status: MachineStatus = statuses(Machine.objects.filter(pk=found.pk), timezone.now())[0]
    before, before_error = _before(request)
    events = Event.objects.filter(machine_id=found.pk).order_by("-seq")
    if before is not None:
        events = events.filter(seq__lt=before)
    listed = list(
        events.only("seq", "type", "payload", "created_at", "received_at")[: EVENTS_PER_PAGE + 1]
    )
    older = listed[EVENTS_PER_PAGE - 1].seq if len(listed) > EVENTS_PER_PAGE else None
    listed = listed[:EVENTS_PER_PAGE]
    codes = _participant_codes(found, listed)
    context = {
        "status": status,
        "machine": status.machine,
        "alerts": [
            {"alert": a, "words": fleet_wording.alert_words(a.kind)}
            for a in Alert.objects.filter(machine=found, acknowledged=False)[:ALERTS_SHOWN]
        ],
        "events": [
            {
                "event": e,
                "words": fleet_wording.event_words(e.type),
                "details": fleet_wording.event_details(
                    e.type, e.payload, codes.get(_prescription_of(e.payload))
                ),
            }
            for e in listed
        ],
        "older": older,
        "before": before,
        "before_error": before_error,
        "update": MachineUpdate.objects.filter(machine=found).first(),
        "quarantined": QuarantinedEvent.objects.filter(machine=found).count(),
        "open_exceptions": SyncException.objects.filter(machine=found, resolved=False).count(),
        "anchor_break": any(k in BREAK_KINDS for k in status.alerts_by_kind),
    }
    return render(request, "care/fleet/machine.html", context)


def _before(request: HttpRequest) -> tuple[int | None, str]:
    """The ``before`` event seq of the events list (older pages), or a message if unusable."""
    raw = request.GET.get("before", "")
    if not raw:
        return None, ""
    if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63:
        return int(raw), ""
    return None, "That page of events does not exist. Showing the newest events."


def _prescription_of(payload: Any) -> int | None:
    value = payload.get("prescription_hub_id") if isinstance(payload, dict) else None
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _participant_codes(machine: Machine, events: list[Event]) -> dict[int, str]:
    """Prescription id -> its participant's code, for the listed events (one query)."""
    ids = {p for p in (_prescription_of(e.payload) for e in events) if p is not None}
    if not ids:
        return {}
    return dict(
        Prescription.objects.filter(pk__in=ids, participant__machine=machine).values_list(
            "pk", "participant__code"
        )
    )
