"""Who may do what, where: the one permission table, and the helpers every page uses.

A user's roles come from their ``Membership`` rows, each at one site or at every site. An action
is allowed at a site when one of the user's roles there (or everywhere) lists it in
``PERMISSIONS``. Superusers get nothing here for free: they manage accounts in /admin/ and are
clinicians only through memberships like anyone else.

    @requires(Action.VIEW_PARTICIPANTS)
    def participants(request):
        rows = in_sites(Participant.objects.all(), request)   # only the user's sites
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from fleet.models import Site

from care.models import AuditAction, Membership
from care.roles import Role
from care.sites import SITE_PATHS


class Action(models.TextChoices):
    VIEW_PARTICIPANTS = "view_participants", "See participants"
    VIEW_PRESCRIPTIONS = "view_prescriptions", "See prescriptions"
    WRITE_PRESCRIPTION = "write_prescription", "Write and change prescriptions"
    VERIFY_PRESCRIPTION = "verify_prescription", "Verify prescriptions"
    PAUSE_PRESCRIPTION = "pause_prescription", "Pause a prescription"
    REVIEW_QUEUES = "review_queues", "Work the review queues"
    MANAGE_TRANSFERS = "manage_transfers", "Arrange transfers and guest doses"
    VIEW_FLEET = "view_fleet", "See the machines"
    VIEW_REPORTS = "view_reports", "See and export reports"
    ACKNOWLEDGE_ALERTS = "acknowledge_alerts", "Acknowledge alerts (stops their escalation)"
    MANAGE_ONCALL = "manage_oncall", "Set up the on-call roster and escalation chains"
    APPROVE_REMOTE = "approve_remote", "Approve kiosk actions from afar"
    MANAGE_UPDATES = "manage_updates", "Publish software releases and roll them out"
    MANAGE_NOTICES = "manage_notices", "Set notices for a participant or a site's kiosks"
    RECORD_MANUAL_DOSE = "record_manual_dose", "Record a dose given by hand (machine down)"


# The actions that change something. A viewer holds none of them (tests/hub/test_care_roles.py).
WRITES: frozenset[Action] = frozenset(
    {
        Action.WRITE_PRESCRIPTION,
        Action.VERIFY_PRESCRIPTION,
        Action.PAUSE_PRESCRIPTION,
        Action.REVIEW_QUEUES,
        Action.MANAGE_TRANSFERS,
        Action.ACKNOWLEDGE_ALERTS,
        Action.MANAGE_ONCALL,
        Action.APPROVE_REMOTE,
        Action.MANAGE_UPDATES,
        Action.MANAGE_NOTICES,
        Action.RECORD_MANUAL_DOSE,
    }
)

_READ = {Action.VIEW_PARTICIPANTS, Action.VIEW_PRESCRIPTIONS}

# THE permission table: role -> the actions it allows. Declared here and nowhere else.
# Pausing stops doses until someone looks: the prescriber, or the pharmacist who sees a safety
# concern at the counter. Ending and resuming are prescribing decisions (WRITE_PRESCRIPTION).
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.PRESCRIBER: frozenset(
        {
            *_READ,
            Action.WRITE_PRESCRIPTION,
            Action.PAUSE_PRESCRIPTION,
            Action.MANAGE_TRANSFERS,
            Action.VIEW_REPORTS,
            # Which actions each role may approve at a site is the site's policy
            # (care/approvals.py); this only opens the page.
            Action.APPROVE_REMOTE,
        }
    ),
    Role.PHARMACIST: frozenset(
        {
            *_READ,
            Action.VERIFY_PRESCRIPTION,
            Action.PAUSE_PRESCRIPTION,
            Action.REVIEW_QUEUES,
            Action.MANAGE_TRANSFERS,
            Action.VIEW_FLEET,
            Action.VIEW_REPORTS,
            Action.ACKNOWLEDGE_ALERTS,
            Action.APPROVE_REMOTE,
            Action.MANAGE_NOTICES,
            # Giving a controlled medication by hand is the clinical roles' (issue 17).
            Action.RECORD_MANUAL_DOSE,
        }
    ),
    Role.NURSE: frozenset(
        {
            *_READ,
            Action.REVIEW_QUEUES,
            Action.VIEW_FLEET,
            Action.ACKNOWLEDGE_ALERTS,
            Action.APPROVE_REMOTE,
            Action.MANAGE_NOTICES,
            Action.RECORD_MANUAL_DOSE,
        }
    ),
    Role.PROGRAM_MANAGER: frozenset(
        {
            *_READ,
            Action.VIEW_FLEET,
            Action.VIEW_REPORTS,
            Action.ACKNOWLEDGE_ALERTS,
            Action.MANAGE_ONCALL,
            # Releases and rollouts (care/pages/updates.py): a campaign only over sites where
            # the person holds this.
            Action.MANAGE_UPDATES,
            Action.MANAGE_NOTICES,  # "the nurse is here Tuesdays": the program's word too
        }
    ),
    Role.VIEWER: frozenset(_READ),
}

# Where each role starts after signing in (GET /home/): a URL name of care/urls.py.
START_PAGES: dict[Role, str] = {
    Role.PRESCRIBER: "care:prescriptions",
    Role.PHARMACIST: "care:verify",
    Role.NURSE: "care:reviews",
    Role.PROGRAM_MANAGER: "care:fleet",
    Role.VIEWER: "care:participants",
}

_CACHE = "_care_memberships"


def memberships(user: Any) -> list[tuple[int | None, Role]]:
    """(site id or None for every site, role) of a user; read once per user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = [
            (site_id, Role(role))
            for site_id, role in Membership.objects.filter(user=user).values_list("site_id", "role")
        ]
        setattr(user, _CACHE, cached)
    return cached


def roles(user: Any) -> list[Role]:
    """The user's roles at any site, in the order Role declares them."""
    held = {role for _, role in memberships(user)}
    return [role for role in Role if role in held]


def can(user: Any, action: Action, site: Site | int | None = None) -> bool:
    """May ``user`` do ``action`` at ``site``? ``site=None``: at some site at least."""
    site_id = site.pk if isinstance(site, Site) else site
    for member_site, role in memberships(user):
        if action in PERMISSIONS[role] and (
            site_id is None or member_site is None or member_site == site_id
        ):
            return True
    return False


def actions(user: Any) -> frozenset[Action]:
    """Every action the user may do at some site (the navigation shows these)."""
    return frozenset(a for _, role in memberships(user) for a in PERMISSIONS[role])


def sites_for(user: Any, action: Action) -> models.QuerySet[Site]:
    """The sites where ``user`` may do ``action`` (all of them for an every-site role)."""
    granting = [site_id for site_id, role in memberships(user) if action in PERMISSIONS[role]]
    if None in granting:
        return Site.objects.all()
    return Site.objects.filter(pk__in=granting)


def in_sites(queryset: models.QuerySet[Any], request: HttpRequest) -> models.QuerySet[Any]:
    """``queryset`` limited to the sites the current page's action allows (set by requires)."""
    path = SITE_PATHS[queryset.model]
    return queryset.filter(**{f"{path}__in": request.care_sites})  # type: ignore[attr-defined]


def start_url(user: Any) -> str | None:
    """The first page of the user's first role, or None for a user with no role yet."""
    held = roles(user)
    return reverse(START_PAGES[held[0]]) if held else None


def forbidden(request: HttpRequest, action: Action | None = None) -> HttpResponse:
    """The friendly 403 page; a refusal to a signed-in user is audited."""
    from care import audit

    if request.user.is_authenticated and action is not None:
        audit.record(request, AuditAction.ACCESS_DENIED, path=request.path, refused=action.value)
    return render(request, "care/403.html", {"refused_action": action}, status=403)


View = TypeVar("View", bound=Callable[..., HttpResponse])


def requires(action: Action) -> Callable[[View], View]:
    """A view decorator: sign-in first, then 403 unless the user may do ``action`` at one site
    at least. The view finds those sites in ``request.care_sites`` (see ``in_sites``)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = _check(request, action)
            return refused if refused is not None else view(request, *args, **kwargs)

        wrapped.care_action = action  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


class RequiresMixin:
    """The same for a class-based view: ``action = Action.VIEW_FLEET``."""

    action: Action

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = _check(request, self.action)
        if refused is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def _check(request: HttpRequest, action: Action) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("care:sign-in"))
    sites = sites_for(request.user, action)
    if not sites.exists():
        return forbidden(request, action)
    request.care_sites = sites  # type: ignore[attr-defined]
    return None
