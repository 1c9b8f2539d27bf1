"""The navigation: each entry shows only to a user whose roles allow its action somewhere."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from care import permissions
from care.permissions import Action


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    action: Action


# In the order shown. A new page with its own entry adds one line here.
NAV: tuple[NavItem, ...] = (
    NavItem("Prescriptions", "care:prescriptions", Action.VIEW_PRESCRIPTIONS),
    NavItem("Verification", "care:verify", Action.VERIFY_PRESCRIPTION),
    NavItem("Reviews", "care:reviews", Action.REVIEW_QUEUES),
    NavItem("Participants", "care:participants", Action.VIEW_PARTICIPANTS),
    NavItem("Transfers", "care:transfers", Action.MANAGE_TRANSFERS),
    NavItem("Fleet", "care:fleet", Action.VIEW_FLEET),
    NavItem("Alerts", "care:alerts", Action.VIEW_FLEET),
    NavItem("On call", "care:oncall", Action.MANAGE_ONCALL),
    NavItem("Approvals", "care:approvals", Action.APPROVE_REMOTE),
    NavItem("Notices", "care:notices", Action.MANAGE_NOTICES),
    NavItem("Doses by hand", "care:manual-doses", Action.RECORD_MANUAL_DOSE),
    NavItem("Reports", "care:reports", Action.VIEW_REPORTS),
    NavItem("Updates", "care:updates", Action.MANAGE_UPDATES),
)


class CareContext:
    """``care`` in every template: computed only when a template reads it."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def nav(self) -> list[dict[str, Any]]:
        allowed = permissions.actions(self.request.user)
        items = []
        for item in NAV:
            if item.action in allowed:
                url = reverse(item.url_name)
                current = self.request.path.startswith(url)
                items.append({"label": item.label, "url": url, "current": current})
        return items

    @cached_property
    def roles(self) -> str:
        return ", ".join(str(role.label) for role in permissions.roles(self.request.user))

    @cached_property
    def where(self) -> str:
        held = permissions.memberships(self.request.user)
        if not held:
            return ""
        if any(site_id is None for site_id, _ in held):
            return "All sites"
        names = permissions.Site.objects.filter(pk__in={s for s, _ in held}).values_list(
            "name", flat=True
        )
        return ", ".join(names)


def context(request: HttpRequest) -> dict[str, Any]:
    """The template context processor (hubsite/settings.py)."""
    return {"care": CareContext(request)}
