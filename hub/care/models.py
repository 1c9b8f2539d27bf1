"""The care app's records: who holds which role where (Membership) and what they did (CareAudit).

Neither is synced to kiosks: they are the hub's own, so they do not derive from fleet's
``Synced``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils.timezone import now
from fleet.models import Machine, Participant, Prescription, Site

from care.roles import Role


class Membership(models.Model):
    """One role of one user at one site, or at every site (``site`` empty). A user may hold
    several (a nurse at two sites, a pharmacist who is also a program manager)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_memberships"
    )
    site = models.ForeignKey(
        Site,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="care_memberships",
        help_text="empty: every site",
    )
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        ordering = ("user__username", "site__name", "role")
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="care_membership_unique"),
            # NULL is distinct in a unique constraint: one "every site" row per user and role.
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(site__isnull=True),
                name="care_membership_every_site_unique",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.name if self.site_id else "every site"
        return f"{self.user} — {self.get_role_display()} at {where}"


class AuditAction(models.TextChoices):
    """What a CareAudit row records. Stored as plain text (the column has no ``choices``), so a
    page that adds its own actions here needs no migration; ``audit.record`` refuses any value
    not declared here."""

    SIGN_IN = "sign_in", "Signed in"
    SIGN_OUT = "sign_out", "Signed out"
    SESSION_ENDED = "session_ended", "Session ended (idle or shift length)"
    ACCESS_DENIED = "access_denied", "Refused a page (403)"
    REPORT_DOWNLOADED = "report_downloaded", "Downloaded a report (CSV)"
    REPORT_FHIR_EXPORTED = "report_fhir_exported", "Exported medications as FHIR"
    # The review queues (care/pages/queues.py).
    HOLD_RELEASED = "hold_released", "Released a missed-dose hold"
    HOLD_PRESCRIPTION_ENDED = (
        "hold_prescription_ended",
        "Ended a prescription held for missed doses",
    )
    OUTREACH_CONTACTED = "outreach_contacted", "Noted outreach to a participant not seen lately"
    STOCK_COUNT_REVIEWED = "stock_count_reviewed", "Reviewed a stock count that did not match"
    SYNC_EXCEPTION_REVIEWED = "sync_exception_reviewed", "Reviewed a sync exception or conflict"
    QUARANTINED_EVENT_REVIEWED = "quarantined_event_reviewed", "Reviewed a set-aside event"
    PARTICIPANT_TRANSFERRED = "participant_transferred", "Moved a participant to another machine"
    GUEST_PASS_REQUESTED = "guest_pass_requested", "Asked for a guest day at another machine"
    GUEST_PASS_CANCELLED = "guest_pass_cancelled", "Cancelled a guest day before confirmation"
    # Prescriptions (care/pages/prescriptions.py): drafts never reach a machine; verifying one
    # writes the fleet.Prescription the kiosks sync.
    DRAFT_SAVED = "draft_saved", "Saved a prescription draft"
    DRAFT_SUBMITTED = "draft_submitted", "Sent a prescription for verification"
    DRAFT_RETURNED = "draft_returned", "Returned a prescription to its prescriber"
    PRESCRIPTION_VERIFIED = "prescription_verified", "Verified a prescription"
    PRESCRIPTION_PAUSED = "prescription_paused", "Paused a prescription"
    PRESCRIPTION_RESUMED = "prescription_resumed", "Resumed a paused prescription"
    PRESCRIPTION_ENDED = "prescription_ended", "Ended a prescription"
    # On call (care/pages/oncall.py); the engine's own steps are fleet.AlertLog rows.
    ALERT_ACKNOWLEDGED = "alert_acknowledged", "Acknowledged an alert"
    ONCALL_CONTACT_ADDED = "oncall_contact_added", "Added a person to a site's on-call roster"
    ONCALL_CONTACT_REMOVED = "oncall_contact_removed", "Took a person off a site's on-call roster"
    ONCALL_CHAIN_CHANGED = "oncall_chain_changed", "Changed a site's escalation chain"
    ONCALL_SITE_CHANGED = "oncall_site_changed", "Changed a site's on-call settings"
    # Remote approvals (care/pages/approvals.py, care/approvals.py).
    # Notices and downtime (care/pages/downtime.py).
    NOTICE_CREATED = "notice_created", "Set a notice for a participant or a site"
    NOTICE_WITHDRAWN = "notice_withdrawn", "Withdrew a notice"
    MANUAL_DOSE_RECORDED = "manual_dose_recorded", "Recorded a dose given by hand"
    APPROVAL_APPROVED = "approval_approved", "Approved a kiosk action from afar"
    APPROVAL_REFUSED = "approval_refused", "Refused a kiosk action asked from afar"
    APPROVAL_CODE_GIVEN = "approval_code_given", "Gave an approval code by phone"
    APPROVAL_USED = "approval_used", "A machine carried out an approved action"
    # Software updates (care/pages/updates.py); the engine's own steps are fleet.CampaignLog rows.
    RELEASE_REGISTERED = "release_registered", "Registered a software release"
    CAMPAIGN_CREATED = "campaign_created", "Created a rollout campaign"
    CAMPAIGN_STARTED = "campaign_started", "Started a rollout campaign"
    CAMPAIGN_PAUSED = "campaign_paused", "Paused a rollout campaign"
    CAMPAIGN_RESUMED = "campaign_resumed", "Resumed a rollout campaign"
    CAMPAIGN_CANCELLED = "campaign_cancelled", "Cancelled a rollout campaign"
    MAINTENANCE_HOURS_CHANGED = "maintenance_hours_changed", "Changed a site's maintenance hours"
    AUTHENTICATOR_STARTED = "authenticator_started", "Began setting up an authenticator app"
    AUTHENTICATOR_CONFIRMED = "authenticator_confirmed", "Confirmed an authenticator app"
    AUTHENTICATOR_RESET = "authenticator_reset", "Reset an authenticator app"


class CareAudit(models.Model):
    """One thing a care-team member did. Written only by ``care.audit.record``; never edited.
    ``detail`` holds ids and codes only, never names: the audit outlives what it points to."""

    at = models.DateTimeField(default=now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_audit"
    )
    action = models.CharField(max_length=64, db_index=True)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="care_audit"
    )
    object_type = models.CharField(max_length=100, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name = "care audit entry"
        verbose_name_plural = "care audit"
        indexes = [models.Index(fields=["object_type", "object_id"], name="care_audit_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action}"

    @property
    def action_label(self) -> str:
        try:
            return str(AuditAction(self.action).label)
        except ValueError:
            return self.action


class QueueReview(models.Model):
    """A review queue item someone has looked at, with their note: a stock count that did not
    match (an Event), a SyncException, a QuarantinedEvent. One per item: the second nurse to
    press "Reviewed" is told it is done already."""

    class Kind(models.TextChoices):
        STOCK_COUNT = "stock_count", "stock count"
        SYNC_EXCEPTION = "sync_exception", "sync exception"
        QUARANTINED_EVENT = "quarantined_event", "set-aside event"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    object_id = models.BigIntegerField(help_text="the Event, SyncException or QuarantinedEvent")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField()
    at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("-at",)
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="care_review_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} reviewed"


class OutreachContact(models.Model):
    """Someone reached out to a participant the absences list showed. Hides them from the list
    for the rest of that dosing day, or (``until_pickup``) until their next pickup. Keyed by
    site and participant code: one person may be enrolled on several machines of a site."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    participant_code = models.CharField(max_length=32)
    until_pickup = models.BooleanField(default=False)
    note = models.TextField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("-at",)
        indexes = [
            models.Index(fields=["site", "participant_code", "at"], name="care_outreach_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.participant_code} contacted"


class PrescriptionDraft(models.Model):
    """A prescription, or a change to one (``replaces``), as a prescriber wrote it. Never synced:
    only a pharmacist's verification (another person than the author) turns it into the
    fleet.Prescription the machines receive (``result``)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Waiting for verification"
        VERIFIED = "verified", "Verified"
        RETURNED = "returned", "Returned"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prescription_drafts"
    )
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="drafts")
    replaces = models.ForeignKey(
        Prescription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_drafts",
        help_text="the prescription this draft changes; empty: a new prescription",
    )
    # The terms, as fleet.Prescription holds them (windows: [["08:00", "11:00"], ...]).
    medication_name = models.CharField(max_length=100)
    medication_strength = models.CharField(max_length=50)
    medication_form = models.CharField(max_length=50)
    units_per_dose = models.PositiveSmallIntegerField()
    windows = models.JSONField(default=list, blank=True)
    daily_max_units = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_doses_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    accumulate = models.BooleanField(default=False)
    witnessed = models.BooleanField(default=False)
    missed_dose_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True, default="", help_text="the prescriber's reason")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviewed_prescription_drafts",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(blank=True, default="")
    result = models.ForeignKey(
        Prescription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="verified_drafts",
        help_text="the prescription written or changed on verification",
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["status", "submitted_at"], name="care_draft_queue")]

    def __str__(self) -> str:
        return f"draft #{self.pk} for {self.participant_id}"  # ids only: no names

    TERMS = Prescription.TERMS  # the fields a draft carries, as a prescription has them


# ---------------------------------------------------------------- remote approvals
# (care/approvals.py; the kiosk's side is kiosk/domain/remote_approval.py)


class ApprovalActionChoice(models.TextChoices):
    """The kiosk's ApprovalAction values (the wire's ``action``)."""

    CLEAR_DOOR_LOCKOUT = "clear_door_lockout", "Clear a service-door lockout"
    CLEAR_TAMPER_LOCKOUT = "clear_tamper_lockout", "Clear a tamper lockout"
    UNLOCK_SERVICE_DOOR = "unlock_service_door", "Unlock the service door (jam)"
    RELEASE_HOLD = "release_hold", "Release a missed-dose hold"
    WITNESS_DOSE = "witness_dose", "Witness a dose"


class RemoteApprovalRule(models.Model):
    """A site's say on one action: which care roles may approve it from afar (none: the
    action may not be approved remotely there). Without a row the default applies
    (kiosk.domain.remote_approval.DEFAULT_POLICY)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="approval_rules")
    action = models.CharField(max_length=32, choices=ApprovalActionChoice.choices)
    roles = models.JSONField(default=list, blank=True, help_text='e.g. ["nurse", "pharmacist"]')

    class Meta:
        verbose_name = "remote approval rule"
        constraints = [
            models.UniqueConstraint(fields=["site", "action"], name="approval_rule_per_action")
        ]

    def __str__(self) -> str:
        return f"{self.site.name}: {self.action} by {', '.join(self.roles) or 'nobody'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from care import approvals

        with transaction.atomic():
            super().save(*args, **kwargs)
            approvals.publish_site(self.site)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        from care import approvals

        with transaction.atomic():
            site = self.site
            result = super().delete(*args, **kwargs)
            approvals.publish_site(site)
            return result


class ApproverKey(models.Model):
    """A clinician's seed for offline approvals: sealed at rest (fleet.sealing), delivered to
    the kiosks of their sites as ``approver_seed`` records (stored encrypted there)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approver_key"
    )
    seed_sealed = models.TextField(editable=False)
    created_at = models.DateTimeField(default=now, editable=False)

    def __str__(self) -> str:
        return f"approver key of user {self.user_id}"


class AuthenticatorKey(models.Model):
    """A clinician's authenticator-app seed (RFC 6238 TOTP), separate from their
    ``ApproverKey``: resetting a lost phone must not change the seed the phone approvals use,
    and the app's seed is shown on a screen (QR code) while the other never leaves the hub
    except to kiosks. Sealed at rest. Active once ``confirmed_at`` is set (the clinician typed
    one current code); only then does it travel to the kiosks (``approver_seed``'s ``totp``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticator_key"
    )
    seed_sealed = models.TextField(editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        state = "active" if self.confirmed_at else "waiting for a first code"
        return f"authenticator of user {self.user_id} ({state})"


class SiteApprovalSettings(models.Model):
    """A site's say on how remote approvals may be given there, beyond the per-action roles
    (``RemoteApprovalRule``). Without a row: app codes allowed (kiosk.domain.remote_approval
    ``ApprovalPolicy.app_codes``, where the reason is given)."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="approval_settings")
    app_codes = models.BooleanField(
        default=True,
        help_text="Accept codes from clinicians' authenticator apps at this site's machines.",
    )

    class Meta:
        verbose_name = "site approval settings"
        verbose_name_plural = "site approval settings"

    def __str__(self) -> str:
        return f"{self.site.name}: app codes {'allowed' if self.app_codes else 'not allowed'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from care import approvals

        with transaction.atomic():
            super().save(*args, **kwargs)
            approvals.publish_site(self.site)


class ApprovalRequest(models.Model):
    """A kiosk's ``approval.requested`` event, and what became of it."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        USED = "used", "Carried out"
        WITHDRAWN = "withdrawn", "Withdrawn at the machine"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="approvals")
    request_id = models.UUIDField(unique=True)
    action = models.CharField(max_length=32, choices=ApprovalActionChoice.choices)
    subject = models.CharField(max_length=200)
    requested_by = models.CharField(max_length=64, help_text="staff:<kiosk id>")
    challenge = models.CharField(max_length=8)
    requested_at = models.DateTimeField(help_text="the kiosk's clock")
    received_at = models.DateTimeField(default=now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approvals_decided",
    )
    decided_role = models.CharField(max_length=32, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    used_at = models.DateTimeField(null=True, blank=True)
    used_how = models.CharField(max_length=8, blank=True, default="")
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approvals_used",
        help_text="the approver the kiosk named",
    )

    class Meta:
        ordering = ("-requested_at",)
        indexes = [models.Index(fields=["state", "requested_at"], name="approval_state")]

    def __str__(self) -> str:
        return f"{self.action} at machine {self.machine_id} ({self.state})"
