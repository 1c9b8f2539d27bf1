"""Accounts are managed in /admin/ by superusers: each user's care roles inline on the user's
page, and the care audit, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest

from care.models import CareAudit, Membership


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


@admin.register(CareAudit)
class CareAuditAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "site", "object_type", "object_id")
    list_filter = ("action", "site")
    search_fields = ("user__username", "object_id")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
