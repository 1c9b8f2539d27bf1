"""Software updates on the hub (issue 16, docs/UPDATES.md "Rollouts on the hub"): the releases
in the signed repository, the campaigns that roll one out stage by stage, and what each machine
last said about its updates. ``fleet.rollouts`` is the engine; the care pages only ask it.

Imported at the end of ``fleet.models`` so Django registers these models with the fleet app."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.timezone import now

from fleet.models import Machine, Site


class UpdateState(models.TextChoices):
    """What a kiosk's ``update.state`` event says (docs/SYNC.md, "Software updates")."""

    RUNNING = "running", "Running"
    DOWNLOADING = "downloading", "Downloading"
    DOWNLOADED = "downloaded", "Downloaded"
    REFUSED = "refused", "Refused (did not verify)"
    STAGED = "staged", "Ready to switch"
    SWITCHED = "switched", "Switched"
    HEALTHY = "healthy", "Healthy"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


# The states that count as a failure of the target they name (a campaign stage's failures).
FAILURE_STATES = frozenset({UpdateState.FAILED, UpdateState.REFUSED, UpdateState.ROLLED_BACK})


class Release(models.Model):
    """A release whose signed targets are in ``UPDATES_REPOSITORY`` (``manage.py
    publish_release`` / ``register_release``). Versions (X.Y.Z) only go up."""

    class State(models.TextChoices):
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    version = models.CharField(max_length=64, unique=True)
    published_at = models.DateTimeField(default=now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    notes = models.TextField(blank=True, default="", help_text="what changed, for staff")
    bundle_bytes = models.BigIntegerField(default=0, help_text="the full bundle's size")
    file_count = models.PositiveIntegerField(default=0)
    manifest = models.CharField(max_length=255, blank=True, default="", help_text="TUF target")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PUBLISHED)

    class Meta:
        ordering = ("-published_at",)

    def __str__(self) -> str:
        return self.version


class Campaign(models.Model):
    """A release rolled out stage by stage: the pilot (chosen machines, or every machine of a
    pilot site), then growing percentages of the campaign's sites, the last one 100. A machine
    is in a percentage stage when its bucket (``fleet.rollouts.bucket``, a hash of campaign id
    and machine id) is below the percentage: stable, and each stage a superset of the last."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="campaigns")
    sites = models.ManyToManyField(Site, related_name="+", help_text="the machines rolled out to")
    pilot_machines = models.ManyToManyField(Machine, blank=True, related_name="+")
    pilot_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The percentage stages after the pilot, strictly increasing, the last 100.
    percents = models.JSONField(default=list)
    # 0 = the pilot, n = percents[n - 1]; meaningful from the start on.
    stage = models.PositiveSmallIntegerField(default=0)
    # A stage pauses the campaign when its failures reach this many machines, or this share of
    # the stage's machines when ``failure_percent`` is set.
    failure_count = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="failures that pause"
    )
    failure_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="or: the share of a stage's machines that pauses",
    )
    soak_minutes = models.PositiveIntegerField(
        default=60, help_text="a stage lasts at least this long once its machines are healthy"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    paused_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    stage_started_at = models.DateTimeField(null=True, blank=True)
    # Failures count from here (the stage's start, or a resume: who resumes accepts them).
    failures_since = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"campaign {self.pk} ({self.release.version})"

    @property
    def stage_count(self) -> int:
        return 1 + len(self.percents)

    def stage_label(self, stage: int | None = None) -> str:
        index = self.stage if stage is None else stage
        return "Pilot" if index == 0 else f"{self.percents[index - 1]} %"


class CampaignMember(models.Model):
    """A machine that a campaign's stages reached: when, and how its update went."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+")
    stage = models.PositiveSmallIntegerField(help_text="the stage that reached it")
    joined_at = models.DateTimeField(default=now)
    last_state = models.CharField(max_length=16, choices=UpdateState.choices, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)
    healthy_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("campaign", "stage", "machine")
        constraints = [models.UniqueConstraint(fields=["campaign", "machine"], name="member_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.machine_id}"


class MachineUpdate(models.Model):
    """What a machine last said about its software (``update.state``) and the offer the hub
    last published to it (the ``update_offer`` change, docs/SYNC.md)."""

    machine = models.OneToOneField(Machine, on_delete=models.CASCADE, related_name="update")
    running = models.CharField(max_length=64, blank=True, default="")
    target = models.CharField(max_length=64, blank=True, default="")
    last_state = models.CharField(max_length=16, choices=UpdateState.choices, blank=True)
    last_detail = models.CharField(max_length=200, blank=True, default="")
    last_bytes = models.BigIntegerField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True, help_text="when the kiosk said it")
    # The offer published (empty: none, a tombstone was the last word).
    offered_version = models.CharField(max_length=64, blank=True, default="")
    offered_campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.machine_id}: {self.running or 'unknown'}"


class CampaignLog(models.Model):
    """A campaign's history, written by the pages (with the user) and by the engine (without):
    started, advanced, paused by itself, resumed, cancelled, done. Ids and counts only."""

    class What(models.TextChoices):
        CREATED = "created", "Created"
        STARTED = "started", "Started"
        ADVANCED = "advanced", "Moved to the next stage"
        PAUSED = "paused", "Paused"
        AUTO_PAUSED = "auto_paused", "Paused by itself: too many failures"
        RESUMED = "resumed", "Resumed"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done: every stage reached"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=now)
    what = models.CharField(max_length=16, choices=What.choices)
    stage = models.PositiveSmallIntegerField(default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.what}"
