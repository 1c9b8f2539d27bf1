"""The updates pages' demo (care/pages/updates.py): two releases and a campaign of the newer one
at its pilot stage, with one machine healthy on it and one that rolled back. Idempotent."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from fleet import campaign_actions
from fleet.models import Campaign, CampaignMember, Machine, MachineUpdate, Release

from care.demo import Seeded

RELEASES = (
    ("0.1.0", 212_000_000, "The first release."),
    ("0.2.0", 214_500_000, "Printer recovery after a paper jam; clearer words on the PIN pad."),
)


@transaction.atomic
def seed_updates(seeded: Seeded) -> None:
    if Campaign.objects.exists():
        return
    now = timezone.now()
    for version, size, notes in RELEASES:
        Release.objects.get_or_create(
            version=version,
            defaults={
                "bundle_bytes": size,
                "file_count": 1800,
                "notes": notes,
                "published_by": seeded.users["manager"],
                "published_at": now - timedelta(days=20 if version == "0.1.0" else 1),
            },
        )
    machines = list(Machine.objects.filter(site__in=[seeded.site, seeded.other_site]))
    for machine in machines:
        if not machine.secret_sealed:  # demo machines never provisioned: the rollout needs it
            machine.set_secret(secrets.token_hex(32))
            machine.save(update_fields=["secret_sealed"])
        MachineUpdate.objects.get_or_create(
            machine=machine,
            defaults={
                "running": "0.1.0",
                "last_state": "running",
                "last_at": now - timedelta(hours=3),
            },
        )
    campaign = Campaign.objects.create(
        release=Release.objects.get(version="0.2.0"),
        pilot_site=seeded.site,
        percents=[50, 100],
        failure_count=2,
        soak_minutes=120,
        created_by=seeded.users["manager"],
    )
    campaign.sites.set([seeded.site, seeded.other_site])
    campaign.log.create(what="created", user=seeded.users["manager"], at=now - timedelta(hours=2))
    campaign_actions.act(
        campaign.pk, "start", seeded.users["manager"], now=now - timedelta(hours=2)
    )
    pilot = sorted(campaign.members.all(), key=lambda m: m.machine_id)
    _report(pilot[0], "healthy", "0.2.0", None, "", now - timedelta(minutes=50))
    if len(pilot) > 1:
        _report(
            pilot[1],
            "rolled_back",
            "0.1.0",
            "0.2.0",
            "self-test: printer not found",
            now - timedelta(minutes=20),
        )


def _report(
    member: CampaignMember, state: str, running: str, target: str | None, detail: str, at: datetime
) -> None:
    MachineUpdate.objects.filter(machine_id=member.machine_id).update(
        running=running, target=target or "", last_state=state, last_detail=detail, last_at=at
    )
    member.last_state, member.last_at = state, at
    if state == "healthy":
        member.healthy_at = at
    else:
        member.failed_at = at
    member.save()
