"""Accounts are managed in /admin/ by superusers: each user's care roles inline on the user's
page, and the care audit, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest

from care.models import (
    ApprovalRequest,
    CareAudit,
    Membership,
    RemoteApprovalRule,
    SiteApprovalSettings,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    verbose_name = "care role"
    verbose_name_plural = "care roles (empty site: every site)"


admin.site.unregister(User)


@admin.register(User)
class CareUserAdmin(UserAdmin):
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "site")
    list_filter = ("role", "site")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the admin shows and never changes."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CareAudit)
class CareAuditAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "action", "site", "object_type", "object_id")
    list_filter = ("action", "site")
    search_fields = ("user__username", "object_id")
    date_hierarchy = "at"


@admin.register(RemoteApprovalRule)
class RemoteApprovalRuleAdmin(admin.ModelAdmin):
    """A site's say on which care roles may approve an action from afar (saving republishes
    the policy and the approvers' keys to the site's machines: care/approvals.py)."""

    list_display = ("site", "action", "roles")
    list_filter = ("site", "action")


@admin.register(SiteApprovalSettings)
class SiteApprovalSettingsAdmin(admin.ModelAdmin):
    """Whether a site's machines take codes from clinicians' authenticator apps (saving
    republishes the policy: care/approvals.py). No row: allowed."""

    list_display = ("site", "app_codes")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Kiosk requests for remote approval, read-only (decided on /approvals/)."""

    list_display = ("requested_at", "machine", "action", "requested_by", "state", "used_how")
    list_filter = ("state", "action")
