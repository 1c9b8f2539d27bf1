"""On call (docs/ON-CALL.md): the open alerts of my sites and who has been told (``/alerts/``),
the roster and escalation chains of a site (``/oncall/``, program managers), and the page an
acknowledgement link opens (``/ack/<token>/``: no sign-in, the signed single-use token is the
authority; a GET only shows, because mail scanners follow links)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from fleet import oncall, oncall_messages
from fleet.alert_kinds import SEVERITY, AlertKind, ChainRole, ContactRole, hub_kind
from fleet.models import (
    Alert,
    Delivery,
    EscalationStep,
    OnCallContact,
    Site,
    validate_webhook_url,
)

from care import audit, permissions
from care.models import AuditAction
from care.permissions import Action, can, forbidden, in_sites, requires

ALERTS_SHOWN = 100


# ---------------------------------------------------------------- /alerts/


def _told(alert: Alert) -> list[dict[str, Any]]:
    rows = []
    seen: set[tuple[int | None, str]] = set()
    for d in alert.deliveries.all():
        if d.status != Delivery.Status.SENT or d.purpose != Delivery.Purpose.ALERT:
            continue
        if (d.recipient_id, d.channel) in seen or d.recipient is None:
            continue
        seen.add((d.recipient_id, d.channel))
        rows.append({"who": d.recipient.full_name(), "role": _role_label(d.recipient.role),
                     "channel": d.get_channel_display(), "at": d.at})  # fmt: skip
    return rows


def _role_label(role: str) -> str:
    return dict(ContactRole.choices).get(role, role)


@requires(Action.VIEW_FLEET)
def alerts(request: HttpRequest) -> HttpResponse:
    rows = (
        in_sites(Alert.objects.filter(acknowledged=False, resolved_at=None), request)
        .select_related("machine__site")
        .prefetch_related("deliveries__recipient__user")
        .order_by("-created_at")[:ALERTS_SHOWN]
    )
    items = []
    for alert in rows:
        kind = hub_kind(alert.kind)
        items.append(
            {
                "alert": alert,
                "kind": kind.label,
                "severity": SEVERITY[kind].label,
                "told": _told(alert),
                "may_ack": can(request.user, Action.ACKNOWLEDGE_ALERTS, alert.machine.site_id),
            }
        )
    return render(request, "care/oncall/alerts.html", {"items": items})


@require_POST
@requires(Action.ACKNOWLEDGE_ALERTS)
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(in_sites(Alert.objects.all(), request), pk=pk)
    if not can(request.user, Action.ACKNOWLEDGE_ALERTS, alert.machine.site_id):
        return forbidden(request, Action.ACKNOWLEDGE_ALERTS)
    held = [r.value for r in permissions.roles(request.user)]
    role = next((r for r in ("nurse", "pharmacist", "program_manager") if r in held), "")
    first, last = request.user.first_name, request.user.last_name  # type: ignore[union-attr]
    label = f"{first} {last[:1]}.".strip() if first and last else (first or "")
    with transaction.atomic():
        done = oncall.acknowledge(
            alert, timezone.now(), user=request.user, role=role, label=label, via="hub page"
        )
        if done:
            audit.record(request, AuditAction.ALERT_ACKNOWLEDGED, obj=alert, kind=alert.kind)
    if done:
        messages.success(request, "Acknowledged. The escalation has stopped.")
    else:
        messages.info(request, "Someone had acknowledged it already.")
    return redirect("care:alerts")


# ---------------------------------------------------------------- /ack/<token>/

_REFUSALS = {
    "used": "This link has been used already: the alert was acknowledged with it.",
    "expired": "This link has expired. Open the hub's Alerts page to see the alert.",
    "tampered": "This link is not valid. Open the hub's Alerts page to see the alert.",
}


def ack(request: HttpRequest, token: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        if request.method == "POST":
            alert = oncall.acknowledge_with_token(token)
            return render(request, "care/oncall/ack_done.html", {"alert": alert})
        row = oncall.read_token(token)
    except oncall.Refused as refused:
        if request.method == "POST":
            oncall.log_refused(token, refused.reason)
        status = 400 if refused.reason == "tampered" else 410
        return render(
            request,
            "care/oncall/ack_refused.html",
            {"why": _REFUSALS[refused.reason]},
            status=status,
        )
    alert = row.alert
    kind = hub_kind(alert.kind)
    context = {
        "alert": alert,
        "kind": kind.label,
        "severity": SEVERITY[kind].label,
        "role": _role_label(row.recipient.role),
        "subject": oncall_messages.safe_subject(alert.subject),
    }
    return render(request, "care/oncall/ack.html", context)


# ---------------------------------------------------------------- /oncall/


class ContactForm(forms.ModelForm):
    class Meta:
        model = OnCallContact
        fields = ("name", "role", "email", "phone", "hours", "timezone")
        labels = {"timezone": "Time zone (empty: the site's)", "phone": "Phone (SMS gateway)"}

    role = forms.ChoiceField(choices=ContactRole.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("name"):
            self.add_error("name", "Give the person's name.")
        if not data.get("email") and not data.get("phone"):
            self.add_error("email", "Give an e-mail address or a phone number.")
        return data


class SiteForm(forms.Form):
    offline_after_minutes = forms.IntegerField(
        min_value=2, max_value=1440, label="Machine offline after (minutes without contact)"
    )
    webhook_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Webhook URL (SMS or chat gateway, https://)",
        validators=[validate_webhook_url],  # the model field's own rule (fleet.models)
    )
    webhook_secret = forms.CharField(
        required=False,
        min_length=16,
        max_length=200,
        label="New webhook secret (empty: keep the current one)",
        widget=forms.PasswordInput(render_value=False),
    )


MAX_STEPS = 5  # a chain's steps; the editor shows one empty row to add a step while fewer


def _chains(site: Site) -> list[dict[str, Any]]:
    chains = []
    for kind in AlertKind:
        steps = oncall.chain_for(site, kind.value)
        custom = EscalationStep.objects.filter(site=site, kind=kind.value).exists()
        rows: list[Any] = list(steps) + ([None] if len(steps) < MAX_STEPS else [])
        chains.append({"kind": kind, "steps": steps, "rows": rows, "custom": custom})
    return chains


@requires(Action.MANAGE_ONCALL)
def roster_index(request: HttpRequest) -> HttpResponse:
    sites = list(request.care_sites.order_by("name"))  # type: ignore[attr-defined]
    if len(sites) == 1:
        return redirect("care:oncall-site", site_id=sites[0].pk)
    return render(request, "care/oncall/index.html", {"sites": sites})


def _site_for(request: HttpRequest, site_id: int) -> Site:
    return get_object_or_404(request.care_sites, pk=site_id)  # type: ignore[attr-defined]


def _roster_page(
    request: HttpRequest, site: Site, contact_form: ContactForm | None = None,
    site_form: SiteForm | None = None, status: int = 200,
) -> HttpResponse:  # fmt: skip
    contacts = (
        OnCallContact.objects.filter(site=site, active=True).select_related("user").order_by("pk")
    )
    context = {
        "site": site,
        "contacts": contacts,
        "contact_form": contact_form or ContactForm(),
        "site_form": site_form
        or SiteForm(
            initial={
                "offline_after_minutes": site.offline_after_minutes,
                "webhook_url": site.webhook_url,
            }
        ),
        "has_secret": bool(site.webhook_secret_sealed),
        "chains": _chains(site),
        "roles": ChainRole.choices,
    }
    return render(request, "care/oncall/site.html", context, status=status)


@requires(Action.MANAGE_ONCALL)
def roster_site(request: HttpRequest, site_id: int) -> HttpResponse:
    return _roster_page(request, _site_for(request, site_id))


@require_POST
@requires(Action.MANAGE_ONCALL)
def contact_add(request: HttpRequest, site_id: int) -> HttpResponse:
    site = _site_for(request, site_id)
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _roster_page(request, site, contact_form=form, status=400)
    with transaction.atomic():
        contact = form.save(commit=False)
        contact.site = site
        contact.save()
        audit.record(request, AuditAction.ONCALL_CONTACT_ADDED, obj=contact, site=site,
                     contact=contact.pk, role=contact.role, hours=contact.hours)  # fmt: skip
    messages.success(request, "Added to the roster.")
    return redirect("care:oncall-site", site_id=site.pk)


@require_POST
@requires(Action.MANAGE_ONCALL)
def contact_remove(request: HttpRequest, site_id: int, pk: int) -> HttpResponse:
    site = _site_for(request, site_id)
    contact = get_object_or_404(OnCallContact, pk=pk, site=site, active=True)
    with transaction.atomic():
        contact.active = False
        contact.save(update_fields=["active"])
        audit.record(request, AuditAction.ONCALL_CONTACT_REMOVED, obj=contact, site=site,
                     contact=contact.pk)  # fmt: skip
    messages.success(request, "Taken off the roster.")
    return redirect("care:oncall-site", site_id=site.pk)


@require_POST
@requires(Action.MANAGE_ONCALL)
def chain_save(request: HttpRequest, site_id: int, kind: str) -> HttpResponse:
    """Save a chain as the form shows it: rows with a role are steps (the empty row adds one),
    except those ticked "Remove step N" (``remove_<row>``)."""
    site = _site_for(request, site_id)
    if kind not in AlertKind.values:
        return _roster_page(request, site, status=404)
    removed = [p for p in range(MAX_STEPS) if request.POST.get(f"remove_{p}")]
    steps: list[tuple[str, int]] = []
    for position in range(MAX_STEPS):
        role = request.POST.get(f"role_{position}", "")
        minutes = request.POST.get(f"minutes_{position}", "").strip() or "0"
        if not role or position in removed:
            continue
        if role not in ChainRole.values or not minutes.isdigit() or int(minutes) > 1440:
            messages.error(request, "Each step needs a role and 0 to 1440 minutes.")
            return _roster_page(request, site, status=400)
        steps.append((role, int(minutes)))
    if not steps:
        messages.error(
            request, "A chain needs one step at least. To go back to the default, use Reset."
        )
        return _roster_page(request, site, status=400)
    with transaction.atomic():
        EscalationStep.objects.filter(site=site, kind=kind).delete()
        for position, (role, minutes) in enumerate(steps):
            EscalationStep.objects.create(
                site=site, kind=kind, position=position, role=role, after_minutes=minutes
            )
        audit.record(request, AuditAction.ONCALL_CHAIN_CHANGED, site=site, kind=kind,
                     steps=[[r, m] for r, m in steps])  # fmt: skip
    what = "Step removed" if removed else "Chain saved"
    messages.success(request, f"{what} for “{AlertKind(kind).label}”.")
    return redirect("care:oncall-site", site_id=site.pk)


@require_POST
@requires(Action.MANAGE_ONCALL)
def chain_reset(request: HttpRequest, site_id: int, kind: str) -> HttpResponse:
    """Back to the default chain for this kind (the site's own steps are deleted)."""
    site = _site_for(request, site_id)
    if kind not in AlertKind.values:
        return _roster_page(request, site, status=404)
    with transaction.atomic():
        deleted, _ = EscalationStep.objects.filter(site=site, kind=kind).delete()
        if deleted:
            default = oncall.chain_for(site, kind)
            audit.record(request, AuditAction.ONCALL_CHAIN_CHANGED, site=site, kind=kind,
                         reset=True,
                         steps=[[s.role.value, s.after_minutes] for s in default])  # fmt: skip
    messages.success(request, f"“{AlertKind(kind).label}” follows the default chain again.")
    return redirect("care:oncall-site", site_id=site.pk)


@require_POST
@requires(Action.MANAGE_ONCALL)
def site_save(request: HttpRequest, site_id: int) -> HttpResponse:
    site = _site_for(request, site_id)
    form = SiteForm(request.POST)
    if not form.is_valid():
        return _roster_page(request, site, site_form=form, status=400)
    with transaction.atomic():
        site.offline_after_minutes = form.cleaned_data["offline_after_minutes"]
        site.webhook_url = form.cleaned_data["webhook_url"]
        new_secret = bool(form.cleaned_data["webhook_secret"])
        if new_secret:
            site.set_webhook_secret(form.cleaned_data["webhook_secret"])
        site.save()
        audit.record(request, AuditAction.ONCALL_SITE_CHANGED, obj=site,
                     offline_after_minutes=site.offline_after_minutes,
                     webhook=bool(site.webhook_url), new_secret=new_secret)  # fmt: skip
    messages.success(request, "Settings saved.")
    return redirect("care:oncall-site", site_id=site.pk)
