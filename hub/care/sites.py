"""Which site a hub record belongs to: the unit of the care team's permissions."""

from __future__ import annotations

from django.db import models
from fleet.models import (
    Alert,
    Machine,
    ManualDose,
    Notice,
    OnCallContact,
    Participant,
    Prescription,
    Site,
    StaffAccount,
)

from care.models import ApprovalRequest, PrescriptionDraft


def site_of(obj: models.Model) -> Site | None:
    """The site of a record, or None when it has none (a user, an every-site staff account)."""
    if isinstance(obj, Site):
        return obj
    if isinstance(obj, Machine):
        return obj.site
    if isinstance(obj, Participant):
        return obj.machine.site
    if isinstance(obj, Prescription):
        return obj.participant.machine.site
    if isinstance(obj, ApprovalRequest):
        return obj.machine.site
    if isinstance(obj, PrescriptionDraft):
        return obj.participant.machine.site
    if isinstance(obj, Alert):
        return obj.machine.site if obj.machine_id else None
    if isinstance(obj, StaffAccount):
        return obj.site if obj.site_id else (obj.machine.site if obj.machine_id else None)
    site = getattr(obj, "site", None)
    return site if isinstance(site, Site) else None


# The lookup from each model to its site, for filtering a queryset to the user's sites
# (``permissions.in_sites``). A model a page lists must be here.
SITE_PATHS: dict[type[models.Model], str] = {
    Site: "pk",
    Machine: "site",
    Participant: "machine__site",
    Prescription: "participant__machine__site",
    PrescriptionDraft: "participant__machine__site",
    Alert: "machine__site",
    OnCallContact: "site",
    ApprovalRequest: "machine__site",
    Notice: "site",
    ManualDose: "machine__site",
}
