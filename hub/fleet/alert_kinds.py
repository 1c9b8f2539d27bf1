"""What the hub alerts people about: one enum of kinds with a severity and a default escalation
chain (docs/ON-CALL.md). ``fleet.Alert.kind`` keeps what raised it (``kiosk:door`` for a kiosk
alert, the hub's own words such as ``event_quarantined``); ``hub_kind`` maps any of those to one
``AlertKind``. The kiosk's kinds are kiosk/domain/alerts.py ``AlertKind``."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Severity(models.IntegerChoices):
    LOW = 1, "low"
    NORMAL = 2, "normal"
    HIGH = 3, "high"
    CRITICAL = 4, "critical"


class AlertKind(models.TextChoices):
    JAM = "jam", "A lane is jammed or a dose is stuck"
    DOOR_TAMPER = "door_tamper", "Service door opened or tamper switch tripped"
    OUT_OF_SERVICE = "out_of_service", "Machine out of service"
    LANE_LOW = "lane_low", "A lane is empty or low"
    STOCK_DISCREPANCY = "stock_discrepancy", "A stock count differs from the records"
    HOLD_REVIEW = "hold_review", "A missed-dose hold is waiting for review"
    RECORDS_MISSING = "records_missing", "Records are missing or changed"
    STORAGE_LOW = "storage_low", "The machine is low on storage"
    SYNC_BACKLOG = "sync_backlog", "The machine's records are not reaching the hub"
    MACHINE_OFFLINE = "machine_offline", "Machine offline"
    HELP_REQUESTED = "help_requested", "A participant is asking for help"
    UPDATE_ROLLOUT_PAUSED = "update_rollout_paused", "A software rollout paused itself"
    OTHER = "other", "Something needs a look"


SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.JAM: Severity.HIGH,
    AlertKind.DOOR_TAMPER: Severity.CRITICAL,
    AlertKind.OUT_OF_SERVICE: Severity.HIGH,
    AlertKind.LANE_LOW: Severity.NORMAL,
    AlertKind.STOCK_DISCREPANCY: Severity.HIGH,
    AlertKind.HOLD_REVIEW: Severity.NORMAL,
    AlertKind.RECORDS_MISSING: Severity.CRITICAL,
    AlertKind.STORAGE_LOW: Severity.NORMAL,
    AlertKind.SYNC_BACKLOG: Severity.NORMAL,
    AlertKind.MACHINE_OFFLINE: Severity.HIGH,
    AlertKind.HELP_REQUESTED: Severity.HIGH,
    AlertKind.UPDATE_ROLLOUT_PAUSED: Severity.NORMAL,
    AlertKind.OTHER: Severity.LOW,
}

# The kiosk's kinds (kiosk.domain.alerts.AlertKind values, plus kinds a newer kiosk may send).
KIOSK_KINDS: dict[str, AlertKind] = {
    "door": AlertKind.DOOR_TAMPER,
    "tamper": AlertKind.DOOR_TAMPER,
    "clock": AlertKind.OUT_OF_SERVICE,
    "cannot_record": AlertKind.OUT_OF_SERVICE,
    "sensor": AlertKind.OUT_OF_SERVICE,
    "controller": AlertKind.OUT_OF_SERVICE,
    "out_of_service": AlertKind.OUT_OF_SERVICE,
    "records_missing": AlertKind.RECORDS_MISSING,
    "lane_jammed": AlertKind.JAM,
    "lane_fault": AlertKind.JAM,
    "partial_dispense": AlertKind.JAM,
    "lane_empty": AlertKind.LANE_LOW,
    "lane_low": AlertKind.LANE_LOW,
    "no_lane": AlertKind.LANE_LOW,
    "discrepancy": AlertKind.STOCK_DISCREPANCY,
    "missed_doses": AlertKind.HOLD_REVIEW,
    "dose_not_given": AlertKind.HOLD_REVIEW,
    "reenrol": AlertKind.HOLD_REVIEW,  # staff identify someone often: re-enrol a finger
    "storage_low": AlertKind.STORAGE_LOW,
    "sync_backlog": AlertKind.SYNC_BACKLOG,
    "sync_clock_skew": AlertKind.SYNC_BACKLOG,
    "sync_conflict": AlertKind.SYNC_BACKLOG,
    "sync_event_quarantined": AlertKind.SYNC_BACKLOG,
    "help_requested": AlertKind.HELP_REQUESTED,
    "help": AlertKind.HELP_REQUESTED,
}

# The hub's own alert kinds (fleet.ingest, fleet.anchors, fleet.oncall); fleet.rollouts stores
# AlertKind.UPDATE_ROLLOUT_PAUSED's value itself.
HUB_KINDS: dict[str, AlertKind] = {
    "event_quarantined": AlertKind.SYNC_BACKLOG,
    "event_gap": AlertKind.SYNC_BACKLOG,
    "event_conflict": AlertKind.SYNC_BACKLOG,
    "records_rolled_back": AlertKind.RECORDS_MISSING,
    "records_changed": AlertKind.RECORDS_MISSING,
    "machine_offline": AlertKind.MACHINE_OFFLINE,
}


def hub_kind(stored: str) -> AlertKind:
    """The kind of a stored ``fleet.Alert.kind``; OTHER for one this hub does not know."""
    if stored.startswith("kiosk:"):
        return KIOSK_KINDS.get(stored.removeprefix("kiosk:"), AlertKind.OTHER)
    if stored in AlertKind.values:
        return AlertKind(stored)
    return HUB_KINDS.get(stored, AlertKind.OTHER)


class ChainRole(models.TextChoices):
    """Who a step of a chain tells (an on-call person's role, or either of two)."""

    SITE_STAFF = "site_staff", "Site staff"
    NURSE = "nurse", "On-call nurse"
    PHARMACIST = "pharmacist", "On-call pharmacist"
    NURSE_OR_PHARMACIST = "nurse_or_pharmacist", "On-call nurse or pharmacist"
    PROGRAM_MANAGER = "program_manager", "Program manager"


class ContactRole(models.TextChoices):
    SITE_STAFF = "site_staff", "Site staff"
    NURSE = "nurse", "Nurse"
    PHARMACIST = "pharmacist", "Pharmacist"
    PROGRAM_MANAGER = "program_manager", "Program manager"


def step_tells(step_role: str, contact_role: str) -> bool:
    if step_role == ChainRole.NURSE_OR_PHARMACIST:
        return contact_role in (ContactRole.NURSE, ContactRole.PHARMACIST)
    return step_role == contact_role


@dataclass(frozen=True)
class Step:
    role: ChainRole
    after_minutes: int  # after the previous step (0 for the first: at once)


def _chain(first: int, second: int) -> tuple[Step, ...]:
    return (
        Step(ChainRole.SITE_STAFF, 0),
        Step(ChainRole.NURSE_OR_PHARMACIST, first),
        Step(ChainRole.PROGRAM_MANAGER, second),
    )


# The chain a site has for a kind until it edits it: site staff at once, then the on-call nurse
# or pharmacist after N minutes without an acknowledgement, then the program manager.
DEFAULT_CHAINS: dict[AlertKind, tuple[Step, ...]] = {
    AlertKind.DOOR_TAMPER: _chain(10, 20),
    AlertKind.JAM: _chain(15, 30),
    AlertKind.OUT_OF_SERVICE: _chain(15, 30),
    AlertKind.RECORDS_MISSING: _chain(15, 30),
    AlertKind.HELP_REQUESTED: _chain(10, 20),
    AlertKind.MACHINE_OFFLINE: _chain(15, 45),
    AlertKind.STOCK_DISCREPANCY: _chain(30, 60),
    AlertKind.LANE_LOW: _chain(60, 120),
    AlertKind.HOLD_REVIEW: _chain(60, 120),
    AlertKind.STORAGE_LOW: _chain(60, 240),
    AlertKind.SYNC_BACKLOG: _chain(60, 240),
    AlertKind.OTHER: _chain(120, 240),
    # Nothing for site staff to do: the program manager decides to resume or cancel.
    AlertKind.UPDATE_ROLLOUT_PAUSED: (Step(ChainRole.PROGRAM_MANAGER, 0),),
}
