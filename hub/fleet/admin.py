"""Staff admin of the hub. The Machine changelist is the fleet page: last contact, events
stored, gaps and open alerts, exceptions to review, and stock per lane from the latest events."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from fleet import anchors, pins
from fleet.models import (
    Alert,
    ChangeLog,
    EnrollmentCode,
    Event,
    LaneStock,
    LogState,
    Machine,
    Participant,
    Prescription,
    ProvisioningThrottle,
    QuarantinedEvent,
    Site,
    StaffAccount,
    SyncException,
)

admin.site.site_header = "Safer-supply hub"
admin.site.site_title = "Hub"
admin.site.index_title = "Fleet"


# A machine's unacknowledged alerts for a break of its audit anchor's continuity.
_OPEN_ANCHOR_BREAKS = Q(alerts__acknowledged=False, alerts__kind__in=anchors.BREAK_KINDS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the hub receives or derives: looked at, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------- fleet


class LaneInline(admin.TabularInline):
    model = LaneStock
    extra = 0
    can_delete = False
    fields = ("lane", "medication_id", "stock", "state", "as_of_seq")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Machine)
class MachineAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "site",
        "device_id",
        "provisioned",
        "revoked",
        "last_contact",
        "last_seq",
        "events_held_beyond_gap",
        "audit_anchor",
        "open_alerts",
        "open_exceptions",
        "lane_stock",
    )
    list_filter = ("site", "revoked")
    search_fields = ("name", "device_id")
    readonly_fields = (
        "device_id",
        "provisioned",
        "provisioned_at",
        "last_contact",
        "last_seq",
        "anchor_entries",
        "anchor_received_at",
        "anchor_break",
        "created_at",
    )
    inlines = (LaneInline,)
    actions = ("issue_enrollment_code", "revoke", "reset_anchor")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Machine]:
        return (
            super()
            .get_queryset(request)
            .select_related("site")
            .prefetch_related("lanes")
            .annotate(
                _open_alerts=Count("alerts", filter=Q(alerts__acknowledged=False), distinct=True),
                _open_exceptions=Count(
                    "exceptions", filter=Q(exceptions__resolved=False), distinct=True
                ),
                _anchor_breaks=Count("alerts", filter=_OPEN_ANCHOR_BREAKS, distinct=True),
            )
        )

    @admin.display(boolean=True)
    def provisioned(self, machine: Machine) -> bool:
        return machine.provisioned

    @admin.display(description="events held beyond a gap")
    def events_held_beyond_gap(self, machine: Machine) -> int:
        return machine.events.filter(seq__gt=machine.last_seq).count()

    @admin.display(description="audit anchor", ordering="anchor_entries")
    def audit_anchor(self, machine: Machine) -> str:
        """The highest audit entry the kiosk reported, and whether continuity broke."""
        if machine.anchor_entries is None:
            return "—"
        received = machine.anchor_received_at
        text = f"entry {machine.anchor_entries}" + (
            f" ({received:%Y-%m-%d %H:%M} UTC)" if received else ""
        )
        return f"BREAK · {text}" if getattr(machine, "_anchor_breaks", 0) else text

    @admin.display(description="audit anchor break (open alert)")
    def anchor_break(self, machine: Machine) -> str:
        alert = (
            machine.alerts.filter(acknowledged=False, kind__in=anchors.BREAK_KINDS)
            .order_by("-created_at")
            .first()
        )
        if alert is None:
            return "—"
        return f"{alert.created_at:%Y-%m-%d %H:%M} UTC: {alert.message}"

    @admin.display(description="open alerts", ordering="_open_alerts")
    def open_alerts(self, machine: Machine) -> int:
        return getattr(machine, "_open_alerts", 0)

    @admin.display(description="exceptions to review", ordering="_open_exceptions")
    def open_exceptions(self, machine: Machine) -> int:
        return getattr(machine, "_open_exceptions", 0)

    @admin.display(description="stock per lane (latest events)")
    def lane_stock(self, machine: Machine) -> str:
        lanes = sorted(machine.lanes.all(), key=lambda lane: lane.lane)
        return (
            " · ".join(
                f"{lane.lane}: {'?' if lane.stock is None else lane.stock}"
                + (f" ({lane.state})" if lane.state and lane.state != "ready" else "")
                for lane in lanes
            )
            or "—"
        )

    @admin.action(description="Issue a one-time enrollment code")
    def issue_enrollment_code(self, request: HttpRequest, queryset: QuerySet[Machine]) -> None:
        for machine in queryset:
            if machine.revoked:
                self.message_user(request, f"{machine} is revoked", messages.ERROR)
                continue
            row, code = EnrollmentCode.issue(machine)  # revokes the machine's older codes
            replaces = (
                " Using it replaces this provisioned machine's credentials: the running kiosk"
                " stops syncing."
                if machine.provisioned
                else ""
            )
            self.message_user(
                request,
                f"{machine}: code {code} (shown once; valid until"
                f" {row.expires_at:%Y-%m-%d %H:%M} UTC; older unused codes revoked).{replaces}",
                messages.WARNING,
            )

    @admin.action(description="Reset the audit anchor (after a deliberate database replacement)")
    def reset_anchor(self, request: HttpRequest, queryset: QuerySet[Machine]) -> None:
        # The next push's anchor becomes the new baseline; past alerts stay as they are.
        for machine in queryset:
            machine.anchor_entries = None
            machine.anchor_head = ""
            machine.anchor_received_at = None
            machine.save(update_fields=["anchor_entries", "anchor_head", "anchor_received_at"])
        self.message_user(request, f"{queryset.count()} machine(s): audit anchor reset")

    @admin.action(description="Revoke (the machine can no longer sync)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Machine]) -> None:
        for machine in queryset:
            machine.revoked = True
            machine.save(update_fields=["revoked"])
        self.message_user(request, f"{queryset.count()} machine(s) revoked")


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "timezone",
        "day_start_hour",
        "missed_dose_days",
        "assisted_id",
        "updated_at",
    )
    readonly_fields = ("updated_at",)


@admin.register(EnrollmentCode)
class EnrollmentCodeAdmin(ReadOnlyAdmin):
    list_display = ("machine", "created_at", "expires_at", "used_at", "revoked_at")
    list_filter = ("machine__site",)


@admin.register(ProvisioningThrottle)
class ProvisioningThrottleAdmin(ReadOnlyAdmin):
    """Wrong enrollment codes per client address; delete a row to lift its lock-out."""

    list_display = (
        "address",
        "failures",
        "last_failure_at",
        "locked_until",
        "lockouts",
        "refused",
        "last_refused_at",
    )
    search_fields = ("address",)


# ---------------------------------------------------------------- hub-owned records


class PrescriptionInline(admin.StackedInline):
    model = Prescription
    extra = 0
    readonly_fields = ("updated_at",)


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("code", "machine", "language", "status", "updated_at")
    list_filter = ("machine__site", "machine", "status")
    search_fields = ("code",)
    readonly_fields = ("updated_at",)
    inlines = (PrescriptionInline,)


@admin.register(Prescription)
class PrescriptionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "participant",
        "medication_name",
        "medication_strength",
        "units_per_dose",
        "daily_max_units",
        "status",
        "updated_at",
    )
    list_filter = ("status", "witnessed", "participant__machine")
    search_fields = ("participant__code", "medication_name")
    readonly_fields = ("updated_at",)


class StaffAccountForm(forms.ModelForm):
    new_pin = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="6 or more digits; stored only as a scrypt hash. Leave empty to keep the PIN.",
    )

    class Meta:
        model = StaffAccount
        fields = ("name", "role", "site", "machine", "active", "new_pin")

    def clean_new_pin(self) -> str:
        pin = self.cleaned_data.get("new_pin", "")
        if pin and (not pin.isdigit() or len(pin) < 6):
            raise forms.ValidationError("a PIN is 6 or more digits")
        if not pin and not (self.instance and self.instance.pin_hash):
            raise forms.ValidationError("a new account needs a PIN")
        return pin

    def save(self, commit: bool = True) -> StaffAccount:
        account: StaffAccount = super().save(commit=False)
        if self.cleaned_data.get("new_pin"):
            account.pin_hash = pins.hash_pin(self.cleaned_data["new_pin"])
        if commit:
            account.save()
        return account


@admin.register(StaffAccount)
class StaffAccountAdmin(admin.ModelAdmin):
    form = StaffAccountForm
    list_display = ("name", "role", "site", "machine", "active", "updated_at")
    list_filter = ("role", "active", "site")
    search_fields = ("name",)


# ---------------------------------------------------------------- sync records


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("machine", "seq", "type", "created_at", "received_at")
    # No date_hierarchy: its drill-down computes the next year, month or day in Python, which
    # does not exist after 9999-12-31 (a 500 for a stored date there). The date filter counts
    # back from today instead, whatever the dates stored.
    list_filter = ("machine", "type", "created_at")
    search_fields = ("event_id", "type")


@admin.register(ChangeLog)
class ChangeLogAdmin(ReadOnlyAdmin):
    list_display = ("seq", "site", "machine", "kind", "key", "op", "at")
    list_filter = ("kind", "op", "site")
    search_fields = ("key",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # trim_changelog keeps the snapshot watermark right


@admin.register(LogState)
class LogStateAdmin(ReadOnlyAdmin):
    list_display = ("id", "trimmed_through")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "machine", "kind", "message", "acknowledged")
    list_filter = ("acknowledged", "kind", "machine")
    readonly_fields = ("machine", "kind", "message", "created_at", "acknowledged_at")
    actions = ("acknowledge",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Acknowledge")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        count = queryset.filter(acknowledged=False).update(
            acknowledged=True, acknowledged_at=timezone.now()
        )
        self.message_user(request, f"{count} alert(s) acknowledged")


@admin.register(SyncException)
class SyncExceptionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "machine", "kind", "reason", "resolved")
    list_filter = ("resolved", "kind", "machine")
    readonly_fields = ("machine", "event", "kind", "reason", "created_at")
    actions = ("resolve",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # Quarantined events are reviewed with the exceptions: they are facts the hub holds
        # but could not read, so nothing of them reached the hub's records.
        held = QuarantinedEvent.objects.count()
        if held:
            url = reverse("admin:fleet_quarantinedevent_changelist")
            self.message_user(
                request,
                format_html(
                    "{} event(s) are held in quarantine (they break the sync schema):"
                    ' <a href="{}">review the quarantined events</a>.',
                    held,
                    url,
                ),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)


@admin.register(QuarantinedEvent)
class QuarantinedEventAdmin(ReadOnlyAdmin):
    """Events kept as received because they break the sync schema: shown, never applied.
    ``raw`` is ASCII JSON (NUL and lone surrogates stay escaped), so any content renders."""

    list_display = ("received_at", "machine", "seq", "type", "reason")
    list_filter = ("machine",)
    search_fields = ("event_id", "type")
    fields = ("machine", "seq", "event_id", "type", "reason", "received_at", "raw")
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its seq counts as held: the record stays

    @admin.action(description="Mark reviewed")
    def resolve(self, request: HttpRequest, queryset: QuerySet[SyncException]) -> None:
        count = queryset.filter(resolved=False).update(resolved=True)
        self.message_user(request, f"{count} item(s) marked reviewed")


@admin.register(LaneStock)
class LaneStockAdmin(ReadOnlyAdmin):
    list_display = ("machine", "lane", "medication_id", "stock", "state", "as_of_seq")
    list_filter = ("machine",)
