"""The rollout engine (docs/UPDATES.md, "Rollouts on the hub").

A running campaign offers its release to the machines of its current stage: the pilot, then
growing percentages of its sites' machines. ``tick(now)`` (``manage.py run_rollouts``, deploy/
kiosk-hub-rollouts.service) takes each running campaign in turn: it pauses it by itself when
the failures of the stage reach the threshold (and raises an ``update_rollout_paused`` alert on
call), or moves it to the next stage once every machine of the stage is settled (healthy or
failed) and the soak time has passed. Then ``reconcile_offers`` publishes to each machine the
``update_offer`` it should hold (docs/SYNC.md, "Software updates"): the newest release among
the running or done campaigns that reach it, or a tombstone. The pages call the same functions,
so a pause or a cancel reaches the machines at once.

Times are the hub's: a kiosk's clock says when it did something (shown to staff), never when a
stage's soak ends or which failures count.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from packaging.version import InvalidVersion, Version

from fleet import changelog, oncall
from fleet.alert_kinds import AlertKind
from fleet.models import (
    Alert,
    AlertLog,
    Campaign,
    CampaignLog,
    CampaignMember,
    Event,
    Machine,
    MachineUpdate,
    SyncEntry,
    UpdateState,
)
from fleet.models_updates import FAILURE_STATES

log = logging.getLogger(__name__)

OFFER_KIND = "update_offer"
OFFER_KEY = "current"
PAUSED_KIND = AlertKind.UPDATE_ROLLOUT_PAUSED.value
_LOCK = 0x726F6C6C6F7574  # "rollout"
BASIS_POINTS = 10_000


# ---------------------------------------------------------------- who is in a stage


def bucket(campaign_id: int, machine_id: int) -> int:
    """A machine's place in a campaign, 0..9999 basis points: a hash, so it never changes and
    differs between campaigns (the same machines are not always first)."""
    digest = hashlib.sha256(f"{campaign_id}:{machine_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BASIS_POINTS


def members_at(
    campaign_id: int,
    stage: int,
    percents: list[int],
    population: Iterable[int],
    pilot: Iterable[int],
) -> set[int]:
    """The machines of stage ``stage`` (0 = the pilot): the pilot, and from stage 1 on the
    population's machines whose bucket is below the stage's percentage. Each stage holds the
    one before it, since the percentages only grow."""
    chosen = set(pilot)
    if stage >= 1:
        limit = percents[stage - 1] * (BASIS_POINTS // 100)
        chosen |= {m for m in population if bucket(campaign_id, m) < limit}
    return chosen


def check_percents(percents: list[int]) -> str | None:
    """Why a list of stage percentages cannot be used, or None."""
    if not percents:
        return "at least one stage after the pilot (100 %)"
    if any(not 1 <= p <= 100 for p in percents):
        return "each stage is 1 to 100 %"
    if any(b <= a for a, b in itertools.pairwise(percents)):
        return "each stage must be larger than the one before"
    if percents[-1] != 100:
        return "the last stage must be 100 %"
    return None


def population(campaign: Campaign) -> set[int]:
    """The machines a campaign may reach: the enrolled, not revoked machines of its sites."""
    return set(
        Machine.objects.filter(site__in=campaign.sites.all(), revoked=False)
        .exclude(secret_sealed="")
        .values_list("pk", flat=True)
    )


def pilot(campaign: Campaign) -> set[int]:
    """The pilot's machines (enrolled, not revoked, like the population)."""
    machines = Machine.objects.filter(revoked=False).exclude(secret_sealed="")
    if campaign.pilot_site_id is not None:
        return set(machines.filter(site_id=campaign.pilot_site_id).values_list("pk", flat=True))
    return set(machines.filter(pk__in=campaign.pilot_machines.all()).values_list("pk", flat=True))


def stage_members(campaign: Campaign, stage: int | None = None) -> set[int]:
    at = campaign.stage if stage is None else stage
    if campaign.state == Campaign.State.DONE:
        at = campaign.stage_count - 1
    return members_at(campaign.pk, at, campaign.percents, population(campaign), pilot(campaign))


# ---------------------------------------------------------------- stage health


@dataclass(frozen=True)
class StageHealth:
    machines: int
    healthy: int
    failed: int  # failures counted against the threshold (since the stage or a resume)
    waiting: int  # neither healthy nor failed yet

    def threshold_reached(self, campaign: Campaign) -> bool:
        if self.failed == 0:
            return False
        if campaign.failure_percent is not None:
            return self.failed * 100 >= campaign.failure_percent * max(self.machines, 1)
        return self.failed >= campaign.failure_count


def stage_health(campaign: Campaign, members: set[int] | None = None) -> StageHealth:
    machines = stage_members(campaign) if members is None else members
    rows = list(CampaignMember.objects.filter(campaign=campaign, machine_id__in=machines))
    since = campaign.failures_since
    failed = sum(1 for r in rows if r.failed_at and (since is None or r.failed_at >= since))
    settled = sum(1 for r in rows if r.failed_at or r.healthy_at)
    healthy = sum(1 for r in rows if r.healthy_at and not r.failed_at)
    return StageHealth(len(machines), healthy, failed, len(machines) - settled)


# ---------------------------------------------------------------- the engine


@dataclass
class Summary:
    advanced: list[int] = field(default_factory=list)
    paused: list[int] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    offers: int = 0
    tombstones: int = 0


def tick(now: datetime | None = None) -> Summary:
    """One pass over the running campaigns, then the offers. Safe on several hosts: one at a
    time holds the lock; the others skip the pass."""
    now = now or timezone.now()
    summary = Summary()
    with transaction.atomic():
        if not lock(wait=False):
            return summary
        for campaign in Campaign.objects.filter(state=Campaign.State.RUNNING).select_related(
            "release"
        ):
            _step(campaign, now, summary)
        reconcile_offers(summary)
    return summary


def lock(wait: bool) -> bool:
    """The rollouts' transaction-scoped lock: the engine's pass and a person's action never
    interleave (an offer computed before a cancel must not be written after it). ``wait=False``
    (the engine): False when someone holds it. SQLite serialises writers anyway."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK])
        return bool(cursor.fetchone()[0])


def _step(campaign: Campaign, now: datetime, summary: Summary) -> None:
    members = stage_members(campaign)
    join(campaign, members, now)
    health = stage_health(campaign, members)
    if health.threshold_reached(campaign):
        _auto_pause(campaign, health, now)
        summary.paused.append(campaign.pk)
        return
    assert campaign.stage_started_at is not None
    soaked = now - campaign.stage_started_at >= timedelta(minutes=campaign.soak_minutes)
    if not soaked or health.waiting:
        return
    detail = {"healthy": health.healthy, "failed": health.failed, "machines": health.machines}
    if campaign.stage + 1 >= campaign.stage_count:
        campaign.state = Campaign.State.DONE
        campaign.finished_at = now
        campaign.save(update_fields=["state", "finished_at"])
        CampaignLog.objects.create(
            campaign=campaign,
            at=now,
            what=CampaignLog.What.DONE,
            stage=campaign.stage,
            detail=detail,
        )
        summary.done.append(campaign.pk)
        log.info("campaign %s: done", campaign.pk)
        return
    campaign.stage += 1
    campaign.stage_started_at = campaign.failures_since = now
    campaign.save(update_fields=["stage", "stage_started_at", "failures_since"])
    CampaignLog.objects.create(
        campaign=campaign,
        at=now,
        what=CampaignLog.What.ADVANCED,
        stage=campaign.stage,
        detail=detail,
    )
    join(campaign, stage_members(campaign), now)
    summary.advanced.append(campaign.pk)
    log.info("campaign %s: stage %s", campaign.pk, campaign.stage)


def join(campaign: Campaign, machines: set[int], now: datetime) -> None:
    """Member rows for the stage's new machines; one already running the release is healthy
    (it said so at its last start)."""
    have = set(
        CampaignMember.objects.filter(campaign=campaign).values_list("machine_id", flat=True)
    )
    new = machines - have
    if not new:
        return
    running = dict(
        MachineUpdate.objects.filter(machine_id__in=new).values_list("machine_id", "running")
    )
    version = campaign.release.version
    CampaignMember.objects.bulk_create(
        [
            CampaignMember(
                campaign=campaign,
                machine_id=m,
                stage=campaign.stage,
                joined_at=now,
                healthy_at=now if _at_least(running.get(m, ""), version) else None,
            )
            for m in sorted(new)
        ]
    )


def _at_least(running: str, version: str) -> bool:
    try:
        return bool(running) and Version(running) >= Version(version)
    except InvalidVersion:
        return running == version


def _auto_pause(campaign: Campaign, health: StageHealth, now: datetime) -> None:
    reason = (
        f"{health.failed} of {health.machines} machines failed at stage"
        f" {campaign.stage_label()} (pauses at "
        + (
            f"{campaign.failure_percent} %)"
            if campaign.failure_percent is not None
            else f"{campaign.failure_count})"
        )
    )
    campaign.state = Campaign.State.PAUSED
    campaign.paused_reason = reason
    campaign.save(update_fields=["state", "paused_reason"])
    CampaignLog.objects.create(
        campaign=campaign,
        at=now,
        what=CampaignLog.What.AUTO_PAUSED,
        stage=campaign.stage,
        detail={"failed": health.failed, "machines": health.machines},
    )
    counted = CampaignMember.objects.filter(campaign=campaign, failed_at__isnull=False)
    if campaign.failures_since is not None:
        counted = counted.filter(failed_at__gte=campaign.failures_since)
    failing = counted.order_by("-failed_at").values_list("machine_id", flat=True).first()
    alert = Alert.objects.create(
        machine_id=failing,
        kind=PAUSED_KIND,
        message=f"Rollout of release {campaign.release.version} (campaign {campaign.pk})"
        f" paused by itself: {reason}.",
        subject=f"campaign:{campaign.pk}",
        created_at=now,
    )
    AlertLog.objects.create(alert=alert, at=now, what=AlertLog.What.RAISED, detail={})
    log.warning("campaign %s: paused by itself (%s failed)", campaign.pk, health.failed)


def resolve_pause_alerts(campaign: Campaign, now: datetime, why: str) -> None:
    for alert in Alert.objects.filter(
        kind=PAUSED_KIND, subject=f"campaign:{campaign.pk}", resolved_at=None
    ):
        oncall.resolve(alert, now, why)


# ---------------------------------------------------------------- the offers


def _version_key(campaign: Campaign) -> tuple[Any, ...]:
    try:
        return (1, Version(campaign.release.version), campaign.pk)
    except InvalidVersion:
        return (0, campaign.release.version, campaign.pk)


def desired_offers() -> dict[int, Campaign]:
    """The campaign whose release each machine should be offered: the newest release among
    the running and done campaigns whose current stage holds it."""
    campaigns = Campaign.objects.filter(
        state__in=[Campaign.State.RUNNING, Campaign.State.DONE]
    ).select_related("release")
    offers: dict[int, Campaign] = {}
    for campaign in sorted(campaigns, key=_version_key, reverse=True):
        for machine_id in stage_members(campaign):
            offers.setdefault(machine_id, campaign)
    return offers


def reconcile_offers(summary: Summary | None = None) -> Summary:
    """Publish the ``update_offer`` each machine should hold where it differs from the one
    last published: an upsert, or a tombstone (paused, cancelled, out of every stage). Inside
    the caller's transaction when there is one."""
    summary = summary or Summary()
    with transaction.atomic():
        wanted = desired_offers()
        held = {
            u.machine_id: u
            for u in MachineUpdate.objects.filter(machine_id__in=set(wanted)).select_related(
                "machine"
            )
        }
        for u in MachineUpdate.objects.exclude(offered_version="").select_related("machine"):
            held[u.machine_id] = u
        missing = set(wanted) - set(held)
        for machine in Machine.objects.filter(pk__in=missing):
            # get_or_create: a push may be creating the same row (fleet.ingest, learn).
            held[machine.pk], _ = MachineUpdate.objects.select_related("machine").get_or_create(
                machine=machine
            )
        rows: list[tuple[str, SyncEntry]] = []
        for machine_id, update in sorted(held.items()):
            campaign = wanted.get(machine_id)
            version = campaign.release.version if campaign else ""
            if (update.offered_version, update.offered_campaign_id) == (
                version,
                campaign.pk if campaign else None,
            ):
                continue
            if campaign is None:
                rows.append(("delete", _offer_entry(update.machine, None)))
                summary.tombstones += 1
            else:
                rows.append(("upsert", _offer_entry(update.machine, campaign)))
                summary.offers += 1
            update.offered_version = version
            update.offered_campaign = campaign
            update.save(update_fields=["offered_version", "offered_campaign"])
        changelog.publish(rows)
    return summary


def _offer_entry(machine: Machine, campaign: Campaign | None) -> SyncEntry:
    data = {"version": campaign.release.version, "campaign_id": campaign.pk} if campaign else {}
    return SyncEntry(OFFER_KIND, OFFER_KEY, data, machine.site_id, machine.pk)


def snapshot_entries(machine: Machine) -> list[SyncEntry]:
    """The machine's current offer, for its snapshot (fleet.changelog.SNAPSHOT_SOURCES)."""
    update = (
        MachineUpdate.objects.filter(machine=machine)
        .exclude(offered_version="")
        .select_related("offered_campaign__release")
        .first()
    )
    if update is None or update.offered_campaign is None:
        return []
    return [_offer_entry(machine, update.offered_campaign)]


# ---------------------------------------------------------------- what kiosks report


def learn(machine: Machine, events: list[Event]) -> None:
    """``update.state`` events (fleet.ingest, inside the push's transaction; the schema checked
    their payload): the machine's running version, target and last attempt, and its campaign
    member's health or failure."""
    reports = [e for e in events if e.type == "update.state"]
    if not reports:
        return
    update, _ = MachineUpdate.objects.get_or_create(machine=machine)
    received = timezone.now()
    for event in reports:
        payload = event.payload
        state = UpdateState(payload["state"])
        update.running = payload["running"]
        update.target = payload.get("target") or ""
        update.last_state = state
        update.last_detail = (payload.get("detail") or "")[:200]
        update.last_bytes = payload.get("bytes")
        update.last_at = event.created_at
        _learn_member(machine, update, payload, state, received)
    update.save()


def _learn_member(
    machine: Machine,
    update: MachineUpdate,
    payload: dict[str, Any],
    state: UpdateState,
    received: datetime,
) -> None:
    campaign_id = payload.get("campaign_id") or update.offered_campaign_id
    if campaign_id is None:
        return
    member = (
        CampaignMember.objects.select_related("campaign__release")
        .filter(campaign_id=campaign_id, machine=machine)
        .first()
    )
    if member is None:
        return
    version = member.campaign.release.version
    running, target = payload["running"], payload.get("target")
    if state in FAILURE_STATES and target == version:
        member.failed_at = member.failed_at or received
    elif state == UpdateState.HEALTHY and running == version:
        member.healthy_at = received
    elif state == UpdateState.RUNNING and running == version and not member.last_state:
        # Already there before any attempt was heard of (installed by hand). After a switch
        # only ``healthy`` counts: a new version restarted by the launcher reports ``running``
        # at each of its failed starts before it is rolled back.
        member.healthy_at = member.healthy_at or received
    elif version not in (target, running):
        return  # about another release
    member.last_state = state
    member.last_at = received
    member.save()
