"""Remote approvals (/approvals/, APPROVE_REMOTE): the kiosk requests waiting for an on-call
clinician, with the machine's state, to approve or refuse; and "Approve by phone", which
computes the response to a challenge read out at a machine without a network.

Only the requests whose action the user's role may approve at that site (the site's policy,
care/approvals.py) are listed; another site's request is a 404. htmx reloads the list every
10 s. The writes are care/approvals.py's (one transaction with the audit).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from fleet.models import Alert, Event, LaneStock, Machine

from care import approvals
from care.approvals import NotApproved
from care.models import ApprovalActionChoice, ApprovalRequest
from care.pages import fleet_wording
from care.permissions import Action, can, in_sites, requires
from kiosk.domain.remote_approval import ApprovalAction

EVENTS_SHOWN = 8
# The events that tell a clinician whether the machine is closed up.
MACHINE_EVENTS = ("flag.", "machine.", "alert.", "jam.", "lane.", "approval.")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=(("approve", "Approve"), ("refuse", "Refuse")))
    reason = forms.CharField(
        max_length=500,
        required=False,
        label="Reason (shown at the machine; no names)",
    )


class PhoneForm(forms.Form):
    machine = forms.TypedChoiceField(coerce=int, label="Machine")
    action = forms.ChoiceField(choices=ApprovalActionChoice.choices, label="Action asked for")
    challenge = forms.RegexField(
        regex=r"^\d{8}$",
        label="Challenge shown at the machine (8 digits)",
        error_messages={"invalid": "The challenge is 8 digits, as the machine shows it."},
    )

    def __init__(self, data: Any, machines: list[Machine]) -> None:
        super().__init__(data)
        self.fields["machine"].choices = [(m.pk, f"{m.site.name} / {m.name}") for m in machines]
        self.fields["challenge"].widget.attrs.update(
            {"inputmode": "numeric", "autocomplete": "off", "maxlength": "8"}
        )


def _state(machine: Machine) -> dict[str, Any]:
    """What a clinician needs to judge: lanes, open alerts, the last machine events."""
    events = list(
        Event.objects.filter(machine=machine).order_by("-seq").values("type", "created_at")[:50]
    )
    shown = [e for e in events if e["type"].startswith(MACHINE_EVENTS)][:EVENTS_SHOWN]
    for event in shown:
        event["label"] = fleet_wording.event_words(event["type"])
    return {
        "lanes": list(LaneStock.objects.filter(machine=machine).order_by("lane")),
        "alerts": list(
            Alert.objects.filter(machine=machine, acknowledged=False)
            .order_by("-created_at")
            .values("kind", "created_at")[:10]
        ),
        "events": shown,
        "last_contact": machine.last_contact,
    }


def _rows(request: HttpRequest) -> list[dict[str, Any]]:
    sites = request.care_sites  # type: ignore[attr-defined]
    rows = []
    for found in approvals.open_requests(sites):
        action = ApprovalAction(found.action)
        role = approvals.approving_role(request.user, found.machine.site_id, action)
        if role is None:
            continue  # the site's policy does not let this user's role approve it
        rows.append(
            {
                "request": found,
                "action_label": ApprovalActionChoice(found.action).label,
                "state": _state(found.machine),
                "until": approvals.open_until(found),
                "form": DecisionForm(),
            }
        )
    return rows


@requires(Action.APPROVE_REMOTE)
def index(request: HttpRequest) -> HttpResponse:
    rows = _rows(request)
    context = {"rows": rows, "recent": approvals.recent_requests(request.care_sites)}  # type: ignore[attr-defined]
    if request.headers.get("HX-Request"):
        response = render(request, "care/approvals/_list.html", context)
    else:
        response = render(request, "care/approvals/index.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@requires(Action.APPROVE_REMOTE)
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    found = in_sites(ApprovalRequest.objects.all(), request).filter(pk=pk).first()
    if found is None:
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Approve or Refuse.")
        return redirect("care:approvals")
    approved = form.cleaned_data["decision"] == "approve"
    try:
        approvals.decide(request, found.pk, approved, form.cleaned_data["reason"])
    except NotApproved as refused:
        messages.error(request, str(refused))
        return redirect("care:approvals")
    where = f"{found.machine.name} ({found.machine.site.name})"
    if approved:
        messages.success(request, f"Approved. {where} acts on it within seconds.")
    else:
        messages.success(request, f"Refused. {where} shows your reason.")
    return redirect("care:approvals")


@requires(Action.APPROVE_REMOTE)
def phone(request: HttpRequest) -> HttpResponse:
    machines = list(
        in_sites(Machine.objects.select_related("site"), request).order_by("site__name", "name")
    )
    form = PhoneForm(request.POST if request.method == "POST" else None, machines)
    answer: dict[str, Any] | None = None
    if request.method == "POST" and form.is_valid():
        machine = next(m for m in machines if m.pk == form.cleaned_data["machine"])
        if not can(request.user, Action.APPROVE_REMOTE, machine.site):
            raise Http404
        action = ApprovalAction(form.cleaned_data["action"])
        try:
            code, synced = approvals.code_for(
                request, machine, action, form.cleaned_data["challenge"]
            )
        except NotApproved as refused:
            form.add_error(None, str(refused))
        else:
            answer = {
                "code": f"{code[:4]} {code[4:]}",
                "synced": synced,
                "machine": machine,
                "action_label": ApprovalActionChoice(action.value).label,
                "at": timezone.now(),
            }
    return render(request, "care/approvals/phone.html", {"form": form, "answer": answer})
