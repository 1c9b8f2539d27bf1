"""The hub's records.

Hub-owned records (docs/SYNC.md, "Who owns what": sites' settings, participants, prescriptions,
staff accounts) derive from ``Synced``: every save or delete writes its change-log rows in the
same database transaction (``fleet.changelog``). Use ``save()``/``delete()`` (the admin does);
``QuerySet.update()`` and the bulk writers are refused on them because they would bypass the log.

Kiosk-owned facts arrive as ``Event`` rows, stored once per (machine, seq) and per event id.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import urllib.parse
import uuid
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils.timezone import now

from fleet import lanes, sealing

# ---------------------------------------------------------------- change-logged records


class SyncedQuerySet(models.QuerySet):
    """Refuses the writers that would change rows without writing the change log."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError(f"{self.model.__name__}: save() each record so the change log sees it")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise TypeError(f"{self.model.__name__}: save() each record so the change log sees it")

    def bulk_create(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self.model.__name__}: save() each record so the change log sees it")


class Synced(models.Model):
    """A hub-owned record pulled by kiosks. Subclasses name their kind and say which change-log
    entries represent them (``sync_entries``); saving and deleting log them atomically."""

    sync_kind: ClassVar[str]

    objects = SyncedQuerySet.as_manager()

    class Meta:
        abstract = True

    def sync_entries(self) -> list[SyncEntry]:
        """The (scope, key, data) records this row is on the kiosks, as of now."""
        raise NotImplementedError

    def save(self, *args: Any, **kwargs: Any) -> None:
        from fleet import changelog

        with transaction.atomic():
            before = None
            if self.pk is not None and not self._state.adding:
                before = type(self).objects.filter(pk=self.pk).first()
            super().save(*args, **kwargs)
            changelog.record_save(self, before)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        # The tombstones are written by the pre_delete receiver in fleet.changelog, which also
        # sees the rows a cascade deletes; Django runs it inside the delete's transaction.
        with transaction.atomic():
            return super().delete(*args, **kwargs)


class SyncEntry:
    """One record as kiosks see it: where it goes (site-wide or one machine), key and data."""

    __slots__ = ("data", "key", "kind", "machine_id", "site_id")

    def __init__(
        self, kind: str, key: str, data: dict[str, Any], site_id: int, machine_id: int | None
    ) -> None:
        self.kind = kind
        self.key = key
        self.data = data
        self.site_id = site_id
        self.machine_id = machine_id

    def ident(self) -> tuple[str, str, int, int | None]:
        return (self.kind, self.key, self.site_id, self.machine_id)


# ---------------------------------------------------------------- sites and machines


def _validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown IANA time zone {value!r}") from exc


WEBHOOK_URL_RULE = (
    "The webhook URL must start with https:// (http:// only to this machine, 127.0.0.1, for a"
    " gateway running here or a test)."
)


def webhook_url_allowed(url: str) -> bool:
    """https anywhere; plain http only to a loopback address (nothing crosses a network)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def validate_webhook_url(value: str) -> None:
    if value and not webhook_url_allowed(value):
        raise ValidationError(WEBHOOK_URL_RULE, code="webhook_scheme")


class Site(Synced):
    """A site's settings, pulled by each of its machines as ``setting`` records."""

    sync_kind = "setting"
    SETTINGS = (
        "site_name",
        "timezone",
        "day_start_hour",
        "missed_dose_days",
        "maintenance_hours",
        "assisted_id",
    )

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64, default="America/Vancouver", validators=[_validate_timezone]
    )
    day_start_hour = models.PositiveSmallIntegerField(
        default=4, validators=[MaxValueValidator(23)], help_text="the dosing day starts at"
    )
    missed_dose_days = models.PositiveSmallIntegerField(
        default=3, help_text="consecutive missed days that hold a prescription"
    )
    # Staff may identify a participant whose finger will not read (staff PIN, code, the
    # participant's picture confirmed): kiosk setting ``assisted_id`` (kiosk/services/assisted.py).
    assisted_id = models.BooleanField(
        default=True,
        db_default=True,
        help_text="staff may identify a participant whose finger will not read",
    )
    updated_at = models.DateTimeField(default=now)
    # Software updates (docs/UPDATES.md): the kiosk switches to a new version only inside
    # this window of site local time (it may wrap midnight); none = at any quiet moment.
    maintenance_start = models.TimeField(null=True, blank=True)
    maintenance_end = models.TimeField(null=True, blank=True)
    # On call (fleet.oncall, docs/ON-CALL.md): hub-only settings, never pulled by kiosks.
    offline_after_minutes = models.PositiveSmallIntegerField(
        default=30,
        db_default=30,
        validators=[MinValueValidator(2), MaxValueValidator(24 * 60)],
        help_text="a machine silent this long raises 'machine offline'",
    )
    webhook_url = models.URLField(
        blank=True,
        default="",
        db_default="",
        validators=[validate_webhook_url],
        help_text="alerts are POSTed here as signed JSON (an SMS gateway)",
    )
    # The webhook's HMAC key, sealed like machine secrets (fleet.sealing).
    webhook_secret_sealed = models.TextField(blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    # The site's dosing day, as the kiosk counts it (kiosk/domain/schedule.py): it starts at
    # ``day_start_hour`` local time and ends at the next day's start. The one statement of the
    # rule on the hub: the care pages, reports, queues and guest days all ask the site.

    def dosing_day(self, at: datetime | None = None) -> date:
        """The dosing day an instant (default: now) belongs to at this site."""
        local = (at or now()).astimezone(zoneinfo.ZoneInfo(self.timezone))
        return (local - timedelta(hours=self.day_start_hour)).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """[start, end) of dosing day ``day`` in UTC. fold=0: in a repeated hour (DST ends)
        the first of the two instants, as the kiosk does."""
        zone = zoneinfo.ZoneInfo(self.timezone)
        start = datetime.combine(day, time(self.day_start_hour), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(self.day_start_hour), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def setting_values(self) -> dict[str, Any]:
        return {
            "site_name": self.name,
            "timezone": self.timezone,
            "day_start_hour": self.day_start_hour,
            "missed_dose_days": self.missed_dose_days,
            "assisted_id": self.assisted_id,
            "maintenance_hours": self.maintenance_hours(),
        }

    def maintenance_hours(self) -> dict[str, str] | None:
        """The ``maintenance_hours`` setting kiosks pull: ``{"start": "02:00", "end": "05:00"}``
        in site local time, or None (any quiet moment)."""
        if self.maintenance_start is None or self.maintenance_end is None:
            return None
        return {
            "start": self.maintenance_start.strftime("%H:%M"),
            "end": self.maintenance_end.strftime("%H:%M"),
        }

    def set_webhook_secret(self, secret: str) -> None:
        self.webhook_secret_sealed = sealing.seal(secret, settings.HUB_SECRET_WRAP_KEY)

    def webhook_secret(self) -> str:
        if not self.webhook_secret_sealed:
            return ""
        return sealing.unseal_any(
            self.webhook_secret_sealed,
            [settings.HUB_SECRET_WRAP_KEY, *settings.HUB_SECRET_WRAP_KEY_FALLBACKS],
        )

    def sync_entries(self) -> list[SyncEntry]:
        return [
            SyncEntry("setting", key, {"value": value}, self.pk, None)
            for key, value in self.setting_values().items()
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.updated_at = now()
        super().save(*args, **kwargs)


def _new_device_id() -> str:
    return f"kiosk-{secrets.token_hex(8)}"


class Machine(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="machines")
    name = models.CharField(max_length=100)
    device_id = models.CharField(max_length=64, unique=True, default=_new_device_id, editable=False)
    # The HMAC secret, sealed (fleet.sealing); empty until the machine is provisioned.
    secret_sealed = models.TextField(blank=True, default="", editable=False)
    revoked = models.BooleanField(default=False)
    last_contact = models.DateTimeField(null=True, blank=True, editable=False)
    last_seq = models.BigIntegerField(
        default=0, editable=False, help_text="highest contiguous event seq stored"
    )
    provisioned_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    # The highest audit-chain anchor the kiosk has pushed (fleet.anchors): never lowered by a
    # kiosk, so a rolled-back or rewritten kiosk database shows against it.
    anchor_entries = models.BigIntegerField(
        null=True, blank=True, editable=False, help_text="the kiosk's newest audit entry"
    )
    anchor_head = models.CharField(max_length=64, blank=True, default="", editable=False)
    anchor_received_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the kiosk's last signed request said it runs (its X-Kiosk-Version header, fleet.auth);
    # empty until a kiosk that sends it calls: the fleet page then says "unknown".
    software_version = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        ordering = ("site__name", "name")
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="machine_name_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.site.name} / {self.name}"

    @property
    def provisioned(self) -> bool:
        return bool(self.secret_sealed)

    def set_secret(self, secret_hex: str) -> None:
        self.secret_sealed = sealing.seal(secret_hex, settings.HUB_SECRET_WRAP_KEY)

    def secret(self) -> str:
        """The raw secret; sealed under the wrap key or, during a rotation, a fallback."""
        return sealing.unseal_any(
            self.secret_sealed,
            [settings.HUB_SECRET_WRAP_KEY, *settings.HUB_SECRET_WRAP_KEY_FALLBACKS],
        )


# Codes are typed by a technician on the kiosk: no 0/O, 1/I/L, U.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def normalize_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


class EnrollmentCode(models.Model):
    """A one-time provisioning code. Only its hash is kept: the code is shown once."""

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="enrollment_codes")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when a newer code was issued for the machine: only the newest unused code works.
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        state = "used" if self.used_at else "revoked" if self.revoked_at else "unused"
        return f"code for {self.machine} ({state})"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at >= now()

    @classmethod
    def issue(cls, machine: Machine) -> tuple[EnrollmentCode, str]:
        """A new code for a machine: (row, the code to hand to the technician). The machine's
        older unused codes are revoked in the same transaction, whoever issues it (the admin,
        enroll_machine): a forgotten code must not re-provision the machine later."""
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        issued = now()
        expires = issued + timedelta(hours=settings.HUB_ENROLLMENT_CODE_HOURS)
        with transaction.atomic():
            cls.objects.filter(machine=machine, used_at=None, revoked_at=None).update(
                revoked_at=issued
            )
            row = cls.objects.create(
                machine=machine, code_hash=hash_code(code), created_at=issued, expires_at=expires
            )
        return row, code


class ProvisioningThrottle(models.Model):
    """Wrong enrollment codes from one client address (fleet.throttle): in the database, so
    every gunicorn host of the hub counts the same tries. Never holds a code."""

    address = models.GenericIPAddressField(unique=True)
    failures = models.PositiveIntegerField(default=0, help_text="wrong codes in this window")
    window_started_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    lockouts = models.PositiveIntegerField(default=0, help_text="times locked out")
    refused = models.PositiveIntegerField(default=0, help_text="requests refused (429)")
    last_refused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-last_failure_at",)
        verbose_name = "provisioning rate limit"

    def __str__(self) -> str:
        return self.address


# ---------------------------------------------------------------- hub-owned records


class Participant(Synced):
    sync_kind = "participant"
    STATUSES = (("active", "active"), ("inactive", "inactive"), ("removed", "removed"))

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="participants")
    code = models.CharField(max_length=32, help_text="internal id staff and logs use (P-0001)")
    display_name = models.CharField(max_length=200)
    language = models.CharField(max_length=16, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default="active")
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("machine", "code")
        constraints = [
            models.UniqueConstraint(fields=["machine", "code"], name="participant_code_per_machine")
        ]

    def __str__(self) -> str:
        return self.code  # never the name: it is personal data

    def sync_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "display_name": self.display_name,
            "language": self.language or None,
            "status": self.status,
        }

    def sync_entries(self) -> list[SyncEntry]:
        site_id = Machine.objects.values_list("site_id", flat=True).get(pk=self.machine_id)
        return [SyncEntry("participant", self.code, self.sync_data(), site_id, self.machine_id)]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.updated_at = now()
        super().save(*args, **kwargs)


def _validate_windows(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError('windows: a list of ["HH:MM", "HH:MM"] pairs')
    for pair in value:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)
        ):
            raise ValidationError('windows: a list of ["HH:MM", "HH:MM"] pairs')
        try:
            start, end = (time.fromisoformat(t) for t in pair)
        except ValueError as exc:
            raise ValidationError(f"windows: bad time in {pair}") from exc
        if len(pair[0]) != 5 or len(pair[1]) != 5 or start == end:
            raise ValidationError(f"windows: bad window {pair}")


class Prescription(Synced):
    sync_kind = "prescription"
    STATUSES = (
        ("active", "active"),
        ("on_hold", "on hold"),
        ("ended", "ended"),
        ("cancelled", "cancelled"),
    )
    HOLD_KINDS = (("", "—"), ("staff", "staff"), ("missed_doses", "missed doses"))

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="prescriptions"
    )
    medication_name = models.CharField(max_length=100)
    medication_strength = models.CharField(max_length=50)
    medication_form = models.CharField(max_length=50)
    units_per_dose = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    windows = models.JSONField(
        default=list, blank=True, validators=[_validate_windows], help_text='[["08:00", "11:00"]]'
    )
    daily_max_units = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_doses_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    accumulate = models.BooleanField(default=False)
    witnessed = models.BooleanField(default=False)
    missed_dose_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default="active")
    hold_reason = models.CharField(max_length=200, blank=True, default="")
    hold_kind = models.CharField(max_length=16, choices=HOLD_KINDS, blank=True, default="")
    # When the last hold was released (at the hub or a kiosk). Sent to kiosks: their missed-dose
    # count restarts there, else a kiosk would hold the released prescription again at once.
    released_at = models.DateTimeField(null=True, blank=True)
    # When the terms last changed. A dispense a kiosk made before this instant but that reached
    # the hub after it becomes a SyncException. Set by save() unless ``changed_at`` is given
    # (a kiosk's hold is dated when the kiosk made it).
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("participant", "id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(units_per_dose__gte=1, units_per_dose__lte=20),
                name="prescription_units_per_dose_1_20",
            ),
            models.CheckConstraint(
                condition=models.Q(daily_max_units__gte=1), name="prescription_daily_max_ge_1"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.pk} {self.medication_name} {self.medication_strength} for {self.participant}"
        )

    # The terms a prescriber writes (a draft's fields, a copy's fields): one list for every
    # place that copies a prescription (care drafts, transfers and guest days).
    TERMS = (
        "medication_name",
        "medication_strength",
        "medication_form",
        "units_per_dose",
        "windows",
        "daily_max_units",
        "start_date",
        "end_date",
        "interval_minutes",
        "max_doses_per_day",
        "accumulate",
        "witnessed",
        "missed_dose_limit",
    )

    def sync_data(self, participant: Participant | None = None) -> dict[str, Any]:
        participant = participant or self.participant
        return {
            "id": str(self.pk),
            "participant": participant.code,
            "medication": {
                "name": self.medication_name,
                "strength": self.medication_strength,
                "form": self.medication_form,
            },
            "units_per_dose": self.units_per_dose,
            "windows": self.windows,
            "daily_max_units": self.daily_max_units,
            "start_date": _date_text(self.start_date),
            "end_date": _date_text(self.end_date),
            "interval_minutes": self.interval_minutes,
            "max_doses_per_day": self.max_doses_per_day,
            "accumulate": self.accumulate,
            "witnessed": self.witnessed,
            "missed_dose_limit": self.missed_dose_limit,
            "status": self.status,
            "hold_reason": self.hold_reason,
            "hold_kind": self.hold_kind,
            "released_at": _instant_text(self.released_at) if self.released_at else None,
            "updated_at": _instant_text(self.updated_at),
        }

    def sync_entries(self) -> list[SyncEntry]:
        participant = Participant.objects.select_related("machine").get(pk=self.participant_id)
        return [
            SyncEntry(
                "prescription",
                str(self.pk),
                self.sync_data(participant),
                participant.machine.site_id,
                participant.machine_id,
            )
        ]

    def save(self, *args: Any, changed_at: datetime | None = None, **kwargs: Any) -> None:
        self.updated_at = changed_at or now()
        super().save(*args, **kwargs)


def _date_text(value: date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _instant_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_PIN_HASH = re.compile(r"^scrypt\$\d+\$\d+\$\d+\$[0-9a-f]{32}\$[0-9a-f]{64}$")


def _validate_pin_hash(value: str) -> None:
    if not _PIN_HASH.match(value):
        raise ValidationError("pin_hash: scrypt$N$r$p$salt$digest as the kiosk stores it")


class StaffAccount(Synced):
    """A staff account on one machine, or on every machine of a site."""

    sync_kind = "staff"
    ROLES = tuple(
        (r, r) for r in ("staff", "nurse", "pharmacist", "technician", "prescriber", "admin")
    )

    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="staff"
    )
    machine = models.ForeignKey(
        Machine, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=16, choices=ROLES)
    pin_hash = models.CharField(max_length=200, validators=[_validate_pin_hash])
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("name",)
        verbose_name = "staff account"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(site__isnull=False, machine__isnull=True)
                    | models.Q(site__isnull=True, machine__isnull=False)
                ),
                name="staff_on_a_site_or_a_machine",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"

    def clean(self) -> None:
        if (self.site_id is None) == (self.machine_id is None):
            raise ValidationError("choose a site (every machine there) or one machine")

    def sync_data(self) -> dict[str, Any]:
        return {
            "id": str(self.pk),
            "name": self.name,
            "role": self.role,
            "pin_hash": self.pin_hash,
            "active": self.active,
        }

    def sync_entries(self) -> list[SyncEntry]:
        if self.machine_id is not None:
            site_id = Machine.objects.values_list("site_id", flat=True).get(pk=self.machine_id)
            return [SyncEntry("staff", str(self.pk), self.sync_data(), site_id, self.machine_id)]
        assert self.site_id is not None
        return [SyncEntry("staff", str(self.pk), self.sync_data(), self.site_id, None)]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.updated_at = now()
        super().save(*args, **kwargs)


# ---------------------------------------------------------------- transfers and guest doses


def _site_of_machine(machine_id: int) -> int:
    return int(Machine.objects.values_list("site_id", flat=True).get(pk=machine_id))


class DoseElsewhere(Synced):
    """A dose a participant took at one machine, told to another machine where the same
    participant code is enrolled: its rules count it like a local dose (docs/SYNC.md,
    "Transfers and guest doses"). Written by fleet.moves, never changed afterwards. Its origin
    is a ``dispense.result`` (``source_event``) or a dose given by hand (``manual_dose``):
    exactly one of the two, and one row per origin and receiving machine."""

    sync_kind = "dose_elsewhere"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+")
    participant_code = models.CharField(max_length=32)
    # The hub id of the prescription this dose counts against on ``machine`` (same
    # medication), or null: the kiosk then matches by participant code and medication.
    prescription_hub_id = models.BigIntegerField(null=True, blank=True)
    medication_name = models.CharField(max_length=100)
    medication_strength = models.CharField(max_length=50)
    medication_form = models.CharField(max_length=50)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    taken_at = models.DateTimeField(help_text="the giving machine's clock")
    source_machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+")
    source_event = models.ForeignKey(
        "Event", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    manual_dose = models.ForeignKey(
        "ManualDose", on_delete=models.CASCADE, null=True, blank=True, related_name="told"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("machine", "taken_at")
        verbose_name = "dose elsewhere"
        verbose_name_plural = "doses elsewhere"
        constraints = [
            models.UniqueConstraint(
                fields=["machine", "source_event"], name="dose_elsewhere_once_per_machine"
            ),
            models.UniqueConstraint(
                fields=["machine", "manual_dose"], name="dose_elsewhere_manual_once"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(source_event__isnull=False, manual_dose__isnull=True)
                    | models.Q(source_event__isnull=True, manual_dose__isnull=False)
                ),
                name="dose_elsewhere_one_origin",
            ),
        ]
        indexes = [
            models.Index(fields=["machine", "taken_at"], name="dose_elsewhere_machine_at"),
        ]

    def __str__(self) -> str:
        return f"{self.participant_code}: {self.units} units at machine {self.source_machine_id}"

    def sync_data(self) -> dict[str, Any]:
        return {
            "participant": self.participant_code,
            "prescription": None
            if self.prescription_hub_id is None
            else str(self.prescription_hub_id),
            "medication": {
                "name": self.medication_name,
                "strength": self.medication_strength,
                "form": self.medication_form,
            },
            "units": self.units,
            "taken_at": _instant_text(self.taken_at),
            "machine": str(self.source_machine_id),
            # A dose given by hand: its uuid, so a kiosk that holds it as its own never
            # counts it twice (docs/SYNC.md, "Manual doses").
            "manual_dose": None if self.manual_dose_id is None else str(self.manual_dose.uuid),
        }

    def sync_entries(self) -> list[SyncEntry]:
        site_id = _site_of_machine(self.machine_id)
        return [SyncEntry(self.sync_kind, str(self.pk), self.sync_data(), site_id, self.machine_id)]


class GuestPass(Synced):
    """One day's doses of a participant at another machine (docs/SYNC.md). The home machine
    pulls a ``guest_block`` while the pass is requested or confirmed; the guest machine gets
    the day's prescriptions only once the home machine's ``guest.blocked`` has arrived."""

    sync_kind = "guest_block"

    class State(models.TextChoices):
        REQUESTED = "requested", "waiting for the home machine to confirm"
        CONFIRMED = "confirmed", "confirmed: usable at the guest machine"
        CANCELLED = "cancelled", "cancelled"
        EXPIRED = "expired", "over"

    BLOCKING = (State.REQUESTED, State.CONFIRMED)

    home = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="guest_passes")
    guest_machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(help_text="the dosing day at the guest machine")
    # The home prescriptions (hub ids) whose doses move for the day.
    prescription_ids = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED)
    reason = models.TextField()
    requested_at = models.DateTimeField(default=now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # What the confirmation made at the guest machine, so expiry can undo it.
    guest_participant = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    guest_prescription_ids = models.JSONField(default=list)
    made_guest_participant = models.BooleanField(default=False)

    class Meta:
        ordering = ("-day", "-requested_at")
        indexes = [models.Index(fields=["state", "day"], name="guest_pass_state_day")]

    def __str__(self) -> str:
        return f"guest pass {self.pk} ({self.state})"

    def sync_entries(self) -> list[SyncEntry]:
        if self.state not in self.BLOCKING:
            return []
        home = Participant.objects.select_related("machine").get(pk=self.home_id)
        data = {
            "participant": home.code,
            "day": self.day.isoformat() if isinstance(self.day, date) else str(self.day),
            "prescriptions": [str(i) for i in self.prescription_ids],
        }
        return [
            SyncEntry(self.sync_kind, str(self.pk), data, home.machine.site_id, home.machine_id)
        ]


# ---------------------------------------------------------------- notices, manual doses


class Notice(Synced):
    """Staff's message for one participant (shown after their scan until they press "OK") or
    for a whole site (shown at idle), from ``starts_on`` through ``ends_on`` (docs/SYNC.md,
    "Notices"). Written on the care pages (origin hub) or at a kiosk (origin kiosk: its
    ``notice.created`` event makes the row, with the kiosk's uuid). Either way a hub record
    from then on, pulled by the site's machines (a site notice) or the participant's."""

    sync_kind = "notice"

    class Scope(models.TextChoices):
        PARTICIPANT = "participant", "one participant"
        SITE = "site", "the whole site"

    class Origin(models.TextChoices):
        HUB = "hub", "the hub"
        KIOSK = "kiosk", "a kiosk"

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, null=True, blank=True, related_name="notices"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    texts = models.JSONField(default=dict)  # {language code: text}
    one_language = models.CharField(max_length=16, blank=True, default="")
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.HUB)
    origin_machine = models.ForeignKey(
        Machine, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.CharField(max_length=64)  # "hub_user:7", "staff:3" (ids only)
    created_at = models.DateTimeField(default=now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("ends_on", "pk")
        indexes = [models.Index(fields=["site", "ends_on"], name="notice_site_ends")]

    def __str__(self) -> str:
        return f"notice {self.uuid} ({self.scope})"

    def sync_data(self) -> dict[str, Any]:
        return {
            "uuid": str(self.uuid),
            "scope": self.scope,
            "participant": self.participant.code if self.participant_id else None,
            "starts_on": _date_text(self.starts_on),
            "ends_on": _date_text(self.ends_on),
            "texts": self.texts,
            "one_language": self.one_language or None,
            "origin": self.origin,
            "acknowledged_at": _instant_text(self.acknowledged_at)
            if self.acknowledged_at
            else None,
        }

    def sync_entries(self) -> list[SyncEntry]:
        if self.withdrawn_at is not None:
            return []
        machine_id = None
        if self.participant_id is not None:
            machine_id = Participant.objects.values_list("machine_id", flat=True).get(
                pk=self.participant_id
            )
        return [
            SyncEntry(self.sync_kind, str(self.uuid), self.sync_data(), self.site_id, machine_id)
        ]


class ManualDose(Synced):
    """A dose given by hand while a machine could not dispense (docs/SYNC.md, "Manual
    doses"). One row per uuid, made where it was recorded: a care page (origin hub, pulled by
    the machine) or a kiosk (its ``manual_dose.recorded`` event; sent back with the same uuid,
    which the kiosk keeps once). Facts: never changed or withdrawn."""

    sync_kind = "manual_dose"

    class Source(models.TextChoices):
        MACHINE_LANE = "machine_lane", "from the machine's lane"
        PHARMACY = "pharmacy_stock", "from pharmacy stock"

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+")
    prescription = models.ForeignKey(
        Prescription, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    participant_code = models.CharField(max_length=32)
    medication_name = models.CharField(max_length=100)
    medication_strength = models.CharField(max_length=50)
    medication_form = models.CharField(max_length=50)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(20)])
    given_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices)
    lane = models.PositiveSmallIntegerField(null=True, blank=True)
    recorded_by = models.CharField(max_length=64)  # "hub_user:7", "staff:3"
    witness = models.CharField(max_length=64, blank=True, default="")
    origin = models.CharField(max_length=8, choices=Notice.Origin.choices)
    source_event = models.ForeignKey(
        "Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("-given_at",)
        indexes = [models.Index(fields=["machine", "given_at"], name="manual_dose_machine_at")]

    def __str__(self) -> str:
        return f"manual dose {self.uuid}: {self.units} units"

    def sync_data(self) -> dict[str, Any]:
        return {
            "uuid": str(self.uuid),
            "participant": self.participant_code,
            "prescription": None if self.prescription_id is None else str(self.prescription_id),
            "medication": {
                "name": self.medication_name,
                "strength": self.medication_strength,
                "form": self.medication_form,
            },
            "units": self.units,
            "given_at": _instant_text(self.given_at),
            "source": self.source,
            "lane": self.lane,
            "recorded_by": self.recorded_by,
            "witness": self.witness or None,
            "origin": self.origin,
        }

    def sync_entries(self) -> list[SyncEntry]:
        site_id = _site_of_machine(self.machine_id)
        return [
            SyncEntry(self.sync_kind, str(self.uuid), self.sync_data(), site_id, self.machine_id)
        ]


# ---------------------------------------------------------------- the change log


class ChangeLog(models.Model):
    """What kiosks pull. A row with a machine is for that machine; a row without one is for
    every machine of its site. Rows are written only by fleet.changelog, in the transaction of
    the change, and become visible in ``seq`` order (see fleet.changelog)."""

    OPS = (("upsert", "upsert"), ("delete", "delete"))

    seq = models.BigAutoField(primary_key=True)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    machine = models.ForeignKey(
        Machine, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=100)
    op = models.CharField(max_length=8, choices=OPS)
    data = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("seq",)
        verbose_name = "change log entry"
        verbose_name_plural = "change log"
        indexes = [
            models.Index(fields=["machine", "seq"], name="changelog_machine_seq"),
            models.Index(fields=["site", "seq"], name="changelog_site_seq"),
            models.Index(fields=["at"], name="changelog_at"),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.op} {self.kind}:{self.key}"


class LogState(models.Model):
    """One row: the change log was trimmed through this seq (cursors below it get a snapshot)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    trimmed_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"change log trimmed through {self.trimmed_through}"


# ---------------------------------------------------------------- kiosk facts


class Event(models.Model):
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="events")
    seq = models.BigIntegerField()
    event_id = models.UUIDField(unique=True, default=uuid.uuid4)
    type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(help_text="when the kiosk recorded it")
    received_at = models.DateTimeField(default=now)
    # Copied from the payload at insert (fleet.lanes.vend_of / lane_of) so the push path finds
    # a vend's events and a lane's events by index, never by scanning JSON.
    vend_id = models.BigIntegerField(null=True, blank=True, editable=False)
    lane = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("machine", "seq")
        constraints = [
            models.UniqueConstraint(fields=["machine", "seq"], name="event_seq_per_machine")
        ]
        indexes = [
            models.Index(fields=["machine", "type", "seq"], name="event_machine_type"),
            models.Index(
                fields=["machine", "vend_id"],
                name="event_machine_vend",
                condition=models.Q(vend_id__isnull=False),
            ),
            models.Index(
                fields=["machine", "lane", "seq"],
                name="event_machine_lane",
                condition=models.Q(lane__isnull=False),
            ),
            # The care app's fleet page counts each machine's dispenses since its site's day
            # start: a range of the day's results per machine, not a year of them.
            models.Index(
                fields=["machine", "created_at"],
                name="event_dispense_result_at",
                condition=models.Q(type="dispense.result"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.machine_id}#{self.seq} {self.type}"

    def fill_keys(self) -> Event:
        """Set ``vend_id`` and ``lane`` from the payload (bulk_create does not call save)."""
        payload = self.payload if isinstance(self.payload, dict) else {}
        self.vend_id = lanes.vend_of(payload)
        self.lane = lanes.lane_of(payload)
        return self

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fill_keys()
        super().save(*args, **kwargs)


class QuarantinedEvent(models.Model):
    """An event that broke the sync schema (fleet.schema) inside a well-formed push: kept as
    received for staff, never applied. Its seq counts as held, so the kiosk's later events
    flow."""

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="quarantined")
    seq = models.BigIntegerField()
    # The id and type as sent, when they are storable texts (else null).
    event_id = models.CharField(max_length=64, null=True, blank=True)
    type = models.CharField(max_length=100, null=True, blank=True)
    # The event as received, as ASCII JSON: NUL and lone surrogates stay escaped (\u0000), so
    # PostgreSQL stores whatever came.
    raw = models.TextField()
    reason = models.TextField(help_text="the fields and rules broken (never their values)")
    received_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("machine", "seq")
        verbose_name = "quarantined event"
        constraints = [
            models.UniqueConstraint(fields=["machine", "seq"], name="quarantined_seq_per_machine")
        ]

    def __str__(self) -> str:
        return f"{self.machine_id}#{self.seq} quarantined"


class Nonce(models.Model):
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=32)
    seen_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["machine", "nonce"], name="nonce_once_per_machine")
        ]
        indexes = [models.Index(fields=["seen_at"], name="nonce_seen_at")]

    def __str__(self) -> str:
        return self.nonce


class Alert(models.Model):
    class Escalation(models.TextChoices):
        PENDING = "pending", "waiting for its first step"
        RUNNING = "running", "escalating"
        DONE = "done", "every step taken"
        STOPPED = "stopped", "stopped (acknowledged or resolved)"
        NONE = "none", "not escalated"

    machine = models.ForeignKey(
        Machine, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=64)
    message = models.TextField()  # staff wording, no personal data
    created_at = models.DateTimeField(default=now)
    acknowledged = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # On call (fleet.oncall): the kiosk's own id of a kiosk alert (its alert.resolved maps back),
    # the subject it names (lane:2), when it resolved, and the escalation's state.
    kiosk_alert_id = models.BigIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=100, blank=True, default="", db_default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    escalation = models.CharField(
        max_length=8,
        choices=Escalation.choices,
        default=Escalation.PENDING,
        db_default=Escalation.NONE,  # a row written by SQL, not by the hub, is not escalated
    )
    steps_taken = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "OnCallContact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["machine", "acknowledged"], name="alert_open"),
            models.Index(fields=["machine", "kiosk_alert_id"], name="alert_kiosk_id"),
            models.Index(
                fields=["escalation", "next_step_at"],
                name="alert_escalating",
                condition=models.Q(escalation__in=["pending", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    @property
    def is_open(self) -> bool:
        return not self.acknowledged and self.resolved_at is None


class SyncException(models.Model):
    """Something staff must review: a fact that disagrees with the hub (``exception``), or a
    kiosk edit that met a newer hub edit and was not applied (``conflict``)."""

    KINDS = (("exception", "exception"), ("conflict", "conflict"))

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="exceptions")
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, null=True, blank=True, related_name="exceptions"
    )
    kind = models.CharField(max_length=16, choices=KINDS, default="exception")
    reason = models.TextField()
    created_at = models.DateTimeField(default=now)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "exception / conflict"
        verbose_name_plural = "exceptions and conflicts"

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


class LaneStock(models.Model):
    """A lane as the machine's latest lane and stock events describe it (for the fleet page)."""

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="lanes")
    lane = models.PositiveSmallIntegerField()
    medication_id = models.IntegerField(null=True, blank=True, help_text="the kiosk's id")
    stock = models.IntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, blank=True, default="")
    as_of_seq = models.BigIntegerField(default=0)
    # What fleet.lanes needs to update the row from new events only (see there).
    stock_seq = models.BigIntegerField(default=0, editable=False)
    base_stock = models.IntegerField(null=True, blank=True, editable=False)
    dropped = models.BigIntegerField(default=0, editable=False)
    state_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ("machine", "lane")
        constraints = [
            models.UniqueConstraint(fields=["machine", "lane"], name="lane_once_per_machine")
        ]

    def __str__(self) -> str:
        return f"lane {self.lane}: {self.stock}"


# ---------------------------------------------------------------- on call (fleet.oncall)


def _validate_timezone_or_blank(value: str) -> None:
    if value:
        _validate_timezone(value)


class OnCallContact(models.Model):
    """A person a site's alerts may reach: a hub user or a contact by name. Their name appears
    only on signed-in staff pages and, as "first name + initial", on the site's kiosks."""

    class Hours(models.TextChoices):
        ALWAYS = "always", "Always"
        WEEKDAYS = "weekdays", "Weekdays 08:00-17:00"
        EVENINGS = "evenings", "Every day 17:00-23:00"
        NIGHTS = "nights", "Nights 17:00-08:00 and weekends"
        WEEKENDS = "weekends", "Weekends"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="on_call")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="on_call",
    )
    name = models.CharField(max_length=100, blank=True, default="")
    role = models.CharField(max_length=20)  # fleet.alert_kinds.ContactRole
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(
        max_length=32, blank=True, default="", help_text="for the SMS gateway, +15551234567"
    )
    hours = models.CharField(max_length=10, choices=Hours.choices, default=Hours.ALWAYS)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        validators=[_validate_timezone_or_blank],
        help_text="empty: the site's",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("site", "role", "pk")
        verbose_name = "on-call contact"

    def __str__(self) -> str:
        return f"on-call contact {self.pk} ({self.role})"

    def full_name(self) -> str:
        if self.user is not None:
            return self.user.get_full_name() or self.user.get_username()
        return self.name

    @property
    def label(self) -> str:
        """First name and initial ("Maria L."): what a kiosk shows of who was told."""
        parts = self.full_name().split()
        if not parts:
            return f"#{self.pk}"
        if len(parts) == 1:
            return parts[0]
        return f"{parts[0]} {parts[-1][0].upper()}."

    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or self.site.timezone)

    def on_duty(self, at: datetime) -> bool:
        local = at.astimezone(self.zone())
        weekday = local.weekday() < 5
        hour = local.hour
        if self.hours == self.Hours.WEEKDAYS:
            return weekday and 8 <= hour < 17
        if self.hours == self.Hours.EVENINGS:
            return 17 <= hour < 23
        if self.hours == self.Hours.NIGHTS:
            return not weekday or hour >= 17 or hour < 8
        if self.hours == self.Hours.WEEKENDS:
            return not weekday
        return True


class EscalationStep(models.Model):
    """One step of a site's chain for a kind; a site with no rows for a kind uses
    fleet.alert_kinds.DEFAULT_CHAINS."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="escalation_steps")
    kind = models.CharField(max_length=32)  # fleet.alert_kinds.AlertKind
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=20)  # fleet.alert_kinds.ChainRole
    after_minutes = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(24 * 60)],
        help_text="minutes after the previous step without an acknowledgement",
    )

    class Meta:
        ordering = ("site", "kind", "position")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "kind", "position"], name="escalation_step_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} step {self.position}: {self.role}"


class Delivery(models.Model):
    """One attempt to tell one person about one alert (or that its machine is back)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "e-mail"
        WEBHOOK = "webhook", "webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "to send"
        SENDING = "sending", "being sent"  # claimed by an engine until ``lease_until``
        SENT = "sent", "sent"
        FAILED = "failed", "failed"
        GAVE_UP = "gave_up", "failed, no more tries"
        CANCELLED = "cancelled", "not sent: the alert was acknowledged or resolved"

    class Purpose(models.TextChoices):
        ALERT = "alert", "alert"
        BACK = "back", "machine back"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    step = models.PositiveSmallIntegerField()
    recipient = models.ForeignKey(
        OnCallContact, on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.ALERT)
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=200, blank=True, default="")  # never personal data
    due_at = models.DateTimeField(default=now)
    at = models.DateTimeField(null=True, blank=True, help_text="when this attempt was made")
    # While SENDING: an engine sends it outside any transaction; past this moment another
    # engine may take it again (the first one crashed mid-send: at least once, never lost).
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("alert", "pk")
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["due_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} step {self.step} {self.channel} #{self.attempt}"


class AckToken(models.Model):
    """The single-use row behind an acknowledgement link (fleet.oncall.ack_token): the signed
    token names this row; the row binds it to one recipient and one alert."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="ack_tokens")
    recipient = models.ForeignKey(OnCallContact, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64, unique=True, default=secrets.token_hex)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"ack token {self.pk} for alert {self.alert_id}"


class AlertLog(models.Model):
    """The hub's audit of what happened to an alert: raised, sent, failed, escalated,
    acknowledged, resolved, back. Ids only in ``detail``."""

    class What(models.TextChoices):
        RAISED = "raised", "raised"
        SENT = "sent", "sent"
        FAILED = "failed", "delivery failed"
        GAVE_UP = "gave_up", "delivery given up"
        ESCALATED = "escalated", "escalated to the next step"
        NOBODY = "nobody", "nobody on duty for a step"
        ACKNOWLEDGED = "acknowledged", "acknowledged"
        ACK_REFUSED = "ack_refused", "acknowledgement link refused"
        RESOLVED = "resolved", "resolved"
        BACK = "back", "machine back"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=now)
    what = models.CharField(max_length=16, choices=What.choices)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    recipient = models.ForeignKey(
        OnCallContact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("alert", "at", "pk")
        verbose_name = "alert log entry"
        verbose_name_plural = "alert log"

    def __str__(self) -> str:
        return f"alert {self.alert_id}: {self.what}"


# Software updates (issue 16): their own module, registered with this app from here.
from fleet.models_updates import (  # noqa: E402, F401
    Campaign,
    CampaignLog,
    CampaignMember,
    MachineUpdate,
    Release,
    UpdateState,
)
