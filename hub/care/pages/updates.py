"""Software updates (issue 16, docs/CARE.md "Updates"): the releases in the update repository
and their rollout campaigns (``/updates/``), a new campaign, one campaign's stages and machines
with its start / pause / resume / cancel, and a site's maintenance hours. Program managers
(``Action.MANAGE_UPDATES``); a campaign is seen and changed only by someone who holds the action
at every one of its sites. The engine is fleet.rollouts; the actions fleet.campaign_actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from fleet import campaign_actions, releases, rollouts
from fleet.models import Campaign, CampaignMember, Machine, MachineUpdate, Release, Site

from care import audit
from care.models import AuditAction
from care.pages.update_forms import CampaignForm, MaintenanceForm, ReleaseForm
from care.permissions import Action, requires

_AUDITED = {
    "start": AuditAction.CAMPAIGN_STARTED,
    "pause": AuditAction.CAMPAIGN_PAUSED,
    "resume": AuditAction.CAMPAIGN_RESUMED,
    "cancel": AuditAction.CAMPAIGN_CANCELLED,
}
_DONE_WORDS = {
    "start": "Campaign started: the pilot machines are offered the release.",
    "pause": "Campaign paused: no machine is offered the release now.",
    "resume": "Campaign resumed.",
    "cancel": "Campaign cancelled: no machine is offered the release now.",
}
# The buttons a campaign in each state shows.
_BUTTONS: dict[str, list[tuple[str, str]]] = {
    Campaign.State.DRAFT: [("start", "Start the pilot"), ("cancel", "Cancel")],
    Campaign.State.RUNNING: [("pause", "Pause"), ("cancel", "Cancel")],
    Campaign.State.PAUSED: [("resume", "Resume"), ("cancel", "Cancel")],
}


def _my_sites(request: HttpRequest) -> list[Site]:
    return list(request.care_sites.order_by("name"))  # type: ignore[attr-defined]


def _mine(request: HttpRequest, campaigns: Any) -> list[Campaign]:
    """The campaigns all of whose sites the user may manage updates at."""
    allowed = {s.pk for s in _my_sites(request)}
    return [c for c in campaigns if {s.pk for s in c.sites.all()} <= allowed]


# ---------------------------------------------------------------- /updates/


@requires(Action.MANAGE_UPDATES)
def index(request: HttpRequest) -> HttpResponse:
    return _index_page(request, ReleaseForm())


def _index_page(request: HttpRequest, form: ReleaseForm, status: int = 200) -> HttpResponse:
    campaigns = Campaign.objects.select_related("release").prefetch_related("sites")
    sites = _my_sites(request)
    context = {
        "releases": Release.objects.order_by("-published_at"),
        "campaigns": _mine(request, campaigns.order_by("-created_at")),
        "release_form": form,
        "sites": sites,
        "repository": settings.UPDATES_REPOSITORY,
    }
    return render(request, "care/updates/index.html", context, status=status)


@require_POST
@requires(Action.MANAGE_UPDATES)
def release_register(request: HttpRequest) -> HttpResponse:
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        return _index_page(request, form, status=400)
    version = form.cleaned_data["version"]
    try:
        with transaction.atomic():
            release = releases.register(
                version,
                Path(settings.UPDATES_REPOSITORY),
                user=request.user,
                notes=form.cleaned_data["notes"],
            )
            audit.record(
                request,
                AuditAction.RELEASE_REGISTERED,
                obj=release,
                release=release.pk,
                version=release.version,
            )
    except releases.ReleaseError as exc:
        form.add_error("version", str(exc))
        return _index_page(request, form, status=400)
    messages.success(request, f"Release {release.version} registered.")
    return redirect("care:updates")


# ---------------------------------------------------------------- a new campaign


@requires(Action.MANAGE_UPDATES)
def campaign_new(request: HttpRequest) -> HttpResponse:
    sites = _my_sites(request)
    machines = list(Machine.objects.filter(site__in=sites, revoked=False).select_related("site"))
    form = CampaignForm(request.POST or None, sites=sites, machines=machines)
    if request.method != "POST" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        context = {"form": form}
        return render(request, "care/updates/campaign_new.html", context, status=status)
    data = form.cleaned_data
    with transaction.atomic():
        campaign = Campaign.objects.create(
            release=data["release"],
            pilot_site=data["pilot_site"],
            percents=data["percents"],
            failure_count=data["failure_count"],
            failure_percent=data["failure_percent"],
            soak_minutes=data["soak_minutes"],
            created_by=request.user,
        )
        campaign.sites.set(data["sites"])
        campaign.pilot_machines.set(data["pilot_machines"])
        campaign.log.create(what="created", user=request.user)
        audit.record(
            request,
            AuditAction.CAMPAIGN_CREATED,
            campaign=campaign.pk,
            release=campaign.release_id,
            sites=[s.pk for s in data["sites"]],
            percents=campaign.percents,
        )
    messages.success(request, "Campaign created. Start it when you are ready.")
    return redirect("care:campaign", pk=campaign.pk)


# ---------------------------------------------------------------- one campaign


def _campaign_for(request: HttpRequest, pk: int) -> Campaign:
    campaign = get_object_or_404(
        Campaign.objects.select_related("release", "pilot_site").prefetch_related("sites"), pk=pk
    )
    if not _mine(request, [campaign]):
        raise Http404
    return campaign


@requires(Action.MANAGE_UPDATES)
def campaign(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_for(request, pk)
    return render(request, "care/updates/campaign.html", _campaign_context(campaign))


def _campaign_context(campaign: Campaign) -> dict[str, Any]:
    everyone = rollouts.members_at(
        campaign.pk,
        campaign.stage_count - 1,
        campaign.percents,
        rollouts.population(campaign),
        rollouts.pilot(campaign),
    )
    reached = campaign.state != Campaign.State.DRAFT
    stages = []
    previous: set[int] = set()
    for index in range(campaign.stage_count):
        machines = rollouts.stage_members(campaign, index)
        row: dict[str, Any] = {
            "label": campaign.stage_label(index),
            "machines": len(machines),
            "new": len(machines - previous),
            "current": reached and index == campaign.stage,
            "passed": (reached and index < campaign.stage) or campaign.state == "done",
        }
        if row["current"]:
            health = rollouts.stage_health(campaign, machines)
            row.update(healthy=health.healthy, failed=health.failed, waiting=health.waiting)
        stages.append(row)
        previous = machines
    members = {m.machine_id: m for m in CampaignMember.objects.filter(campaign=campaign)}
    updates = {u.machine_id: u for u in MachineUpdate.objects.filter(machine_id__in=everyone)}
    rows = []
    for machine in Machine.objects.filter(pk__in=everyone).select_related("site"):
        member = members.get(machine.pk)
        update = updates.get(machine.pk)
        rows.append(
            {
                "machine": machine,
                "member": member,
                "update": update,
                "stage": campaign.stage_label(member.stage) if member else "—",
            }
        )
    rows.sort(key=lambda r: (r["member"] is None, r["machine"].site.name, r["machine"].name))
    return {
        "campaign": campaign,
        "stages": stages,
        "rows": rows,
        "buttons": _BUTTONS.get(campaign.state, []),
        "history": [
            {
                "at": h.at,
                "what": h.get_what_display(),
                "stage": campaign.stage_label(h.stage),
                "who": (h.user.get_full_name() or h.user.get_username()) if h.user else "",
            }
            for h in campaign.log.select_related("user").order_by("at", "pk")
        ],
    }


@require_POST
@requires(Action.MANAGE_UPDATES)
def campaign_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = _campaign_for(request, pk)
    if action not in campaign_actions.ACTIONS:
        raise Http404
    reason = request.POST.get("reason", "").strip()[:200]
    try:
        with transaction.atomic():
            campaign = campaign_actions.act(campaign.pk, action, request.user, reason)
            audit.record(
                request,
                _AUDITED[action],
                campaign=campaign.pk,
                release=campaign.release_id,
                stage=campaign.stage,
            )
    except campaign_actions.NotNow as exc:
        messages.error(request, f"{exc} Nothing was changed.")
        return redirect("care:campaign", pk=campaign.pk)
    messages.success(request, _DONE_WORDS[action])
    return redirect("care:campaign", pk=campaign.pk)


# ---------------------------------------------------------------- maintenance hours


@requires(Action.MANAGE_UPDATES)
def maintenance(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_object_or_404(request.care_sites, pk=site_id)  # type: ignore[attr-defined]
    initial = {
        "start": site.maintenance_start,
        "end": site.maintenance_end,
        "any_time": site.maintenance_start is None,
    }
    form = MaintenanceForm(request.POST or None, initial=initial)
    if request.method != "POST" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        context = {"site": site, "form": form}
        return render(request, "care/updates/maintenance.html", context, status=status)
    with transaction.atomic():
        site.maintenance_start = form.cleaned_data["start"]
        site.maintenance_end = form.cleaned_data["end"]
        site.save()  # publishes the maintenance_hours setting (fleet.changelog)
        hours = site.maintenance_hours()
        audit.record(request, AuditAction.MAINTENANCE_HOURS_CHANGED, obj=site, hours=hours)
    messages.success(
        request,
        f"Maintenance hours saved: {hours['start']}–{hours['end']} site time."
        if hours
        else "Maintenance hours saved: machines may update at any quiet moment.",
    )
    return redirect("care:updates")
