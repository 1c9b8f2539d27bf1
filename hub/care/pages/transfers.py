"""Transfers and guest days (issue 14 item 5): move a participant to another machine, or give
them one day's doses at another machine once their own machine has confirmed it blocks them.
The rules and their offline failure cases are fleet.moves and docs/SYNC.md."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from fleet import moves
from fleet.models import GuestPass, Machine, Participant, Prescription

from care import audit
from care.models import AuditAction
from care.permissions import Action, in_sites, requires

PAGE_SIZE = 25
PASSES_SHOWN = 50


class MachineChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Machine) -> str:
        return f"{obj.site.name} — {obj.name}"


class PrescriptionChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Prescription) -> str:
        return (
            f"{obj.medication_name} {obj.medication_strength} {obj.medication_form},"
            f" {obj.units_per_dose} per dose"
        )


class TransferForm(forms.Form):
    to_machine = MachineChoice(
        queryset=Machine.objects.none(),
        label="Move to machine",
        empty_label="Choose a machine",
        error_messages={"required": "Choose the machine to move to."},
    )
    reason = forms.CharField(label="Why", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class GuestPassForm(forms.Form):
    guest_machine = MachineChoice(
        queryset=Machine.objects.none(),
        label="Machine for the day",
        empty_label="Choose a machine",
        error_messages={"required": "Choose the machine for the day."},
    )
    day = forms.DateField(
        label="Day",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give the day.", "invalid": "Give the day as a date."},
    )
    prescriptions = PrescriptionChoice(
        queryset=Prescription.objects.none(),
        label="Doses that move for the day",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one prescription."},
    )
    reason = forms.CharField(label="Why", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


def _mark_errors(form: forms.Form) -> None:
    """aria-invalid and the error's id on every field with an error (docs/CARE.md)."""
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs.update(
                {"aria-invalid": "true", "aria-describedby": f"{form.prefix}-{name}-error"}
            )


def _machines(request: HttpRequest, participant: Participant) -> QuerySet[Machine]:
    return (
        in_sites(Machine.objects.all(), request)
        .exclude(pk=participant.machine_id)
        .select_related("site")
        .order_by("site__name", "name")
    )


def _forms(
    request: HttpRequest, participant: Participant, data: Any = None, which: str = ""
) -> tuple[TransferForm, GuestPassForm]:
    move = TransferForm(data if which == "move" else None, prefix="move")
    guest = GuestPassForm(data if which == "guest" else None, prefix="guest")
    machines = _machines(request, participant)
    move.fields["to_machine"].queryset = machines  # type: ignore[attr-defined]
    guest.fields["guest_machine"].queryset = machines  # type: ignore[attr-defined]
    guest.fields["prescriptions"].queryset = participant.prescriptions.filter(  # type: ignore[attr-defined]
        status="active"
    )
    return move, guest


@requires(Action.MANAGE_TRANSFERS)
def start(request: HttpRequest) -> HttpResponse:
    """Participants to move (search by code, paged) and the guest passes of the user's sites."""
    query = request.GET.get("q", "").strip()[:32]
    participants = (
        in_sites(Participant.objects.filter(status="active"), request)
        .select_related("machine__site")
        .order_by("code", "machine__site__name", "machine__name")
    )
    if query:
        participants = participants.filter(code__icontains=query)
    page = Paginator(participants, PAGE_SIZE).get_page(request.GET.get("page"))
    sites = request.care_sites  # type: ignore[attr-defined]
    passes = (
        GuestPass.objects.filter(
            Q(home__machine__site__in=sites) | Q(guest_machine__site__in=sites)
        )
        .select_related("home__machine__site", "guest_machine__site")
        .order_by("-day", "-requested_at")[:PASSES_SHOWN]
    )
    return render(
        request,
        "care/transfers/start.html",
        {"page": page, "query": query, "passes": [_pass_row(p) for p in passes]},
    )


def _pass_row(guest_pass: GuestPass) -> dict[str, Any]:
    """A pass as the list shows it: its state in plain words (a confirmed pass whose day is
    over reads as over before the hourly expiry has run)."""
    state = guest_pass.state
    over = state in GuestPass.BLOCKING and moves.is_over(guest_pass)
    words = {
        GuestPass.State.REQUESTED: "Waiting for the home machine to confirm. Not usable yet.",
        GuestPass.State.CONFIRMED: "Confirmed. Usable at the guest machine that day.",
        GuestPass.State.CANCELLED: "Cancelled.",
        GuestPass.State.EXPIRED: "Over.",
    }
    return {
        "pass": guest_pass,
        "status": "Over." if over else words[GuestPass.State(state)],
        "waiting": state == GuestPass.State.REQUESTED and not over,
        "usable": state == GuestPass.State.CONFIRMED and not over,
    }


@requires(Action.MANAGE_TRANSFERS)
def participant(request: HttpRequest, pk: int) -> HttpResponse:
    """One participant: move them, or give them a guest day."""
    person = get_object_or_404(
        in_sites(Participant.objects.select_related("machine__site"), request), pk=pk
    )
    which = request.POST.get("form", "") if request.method == "POST" else ""
    move, guest = _forms(request, person, request.POST or None, which)
    done = (which == "move" and move.is_valid() and _transfer(request, person, move)) or (
        which == "guest" and guest.is_valid() and _guest_pass(request, person, guest)
    )
    if done:
        return redirect("care:transfers")
    _mark_errors(move)
    _mark_errors(guest)
    status = 400 if which and (move.errors or guest.errors) else 200
    context = {
        "person": person,
        "move": move,
        "guest": guest,
        "today": date.today().isoformat(),
        "prescriptions": person.prescriptions.filter(status__in=moves.OPEN_PRESCRIPTIONS),
    }
    return render(request, "care/transfers/participant.html", context, status=status)


def _transfer(request: HttpRequest, person: Participant, form: TransferForm) -> bool:
    to_machine: Machine = form.cleaned_data["to_machine"]
    try:
        with transaction.atomic():
            moved = moves.transfer(person, to_machine)
            audit.record(
                request,
                AuditAction.PARTICIPANT_TRANSFERRED,
                obj=person,
                reason=form.cleaned_data["reason"],
                code=person.code,
                to_participant=moved.participant.pk,
                to_machine=to_machine.pk,
                prescriptions={str(k): v for k, v in moved.prescriptions.items()},
                doses_sent=moved.doses_sent,
            )
    except moves.MoveRefused as exc:
        form.add_error(None, str(exc))
        return False
    messages.success(
        request,
        f"{person.code} moved to {to_machine.site.name} — {to_machine.name}:"
        f" {len(moved.prescriptions)} prescription(s) copied, {moved.doses_sent} recent dose(s)"
        " sent. The old machine stops once it syncs.",
    )
    return True


def _guest_pass(request: HttpRequest, person: Participant, form: GuestPassForm) -> bool:
    machine: Machine = form.cleaned_data["guest_machine"]
    try:
        with transaction.atomic():
            guest_pass = moves.request_pass(
                person,
                machine,
                form.cleaned_data["day"],
                list(form.cleaned_data["prescriptions"]),
                form.cleaned_data["reason"],
            )
            audit.record(
                request,
                AuditAction.GUEST_PASS_REQUESTED,
                obj=person,
                reason=form.cleaned_data["reason"],
                code=person.code,
                guest_pass=guest_pass.pk,
                guest_machine=machine.pk,
                day=guest_pass.day.isoformat(),
                prescriptions=guest_pass.prescription_ids,
            )
    except moves.MoveRefused as exc:
        form.add_error(None, str(exc))
        return False
    messages.success(
        request,
        f"Guest day asked for {person.code}. It is usable only after {person.machine.name}"
        " confirms it has blocked that day's doses (at its next sync).",
    )
    return True


@require_POST
@requires(Action.MANAGE_TRANSFERS)
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a guest pass still waiting for the home machine."""
    sites = request.care_sites  # type: ignore[attr-defined]
    guest_pass = get_object_or_404(
        GuestPass.objects.filter(home__machine__site__in=sites).select_related("home"), pk=pk
    )
    try:
        with transaction.atomic():
            moves.cancel_pass(guest_pass)
            audit.record(
                request,
                AuditAction.GUEST_PASS_CANCELLED,
                obj=guest_pass.home,
                reason=request.POST.get("reason", "")[:500],
                code=guest_pass.home.code,
                guest_pass=guest_pass.pk,
            )
    except moves.MoveRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Guest day for {guest_pass.home.code} cancelled.")
    return redirect("care:transfers")
