"""What a person does to a campaign (the care pages, docs/UPDATES.md): start, pause, resume,
cancel. Each is one transaction that logs itself (``CampaignLog``) and publishes the offers it
changes at once (``rollouts.reconcile_offers``), without waiting for the engine's next pass."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from fleet import rollouts
from fleet.models import Campaign, CampaignLog


class NotNow(Exception):
    """The campaign is not in a state that allows this (a stale page): said to the person."""


# What each action needs the campaign to be, and what it becomes.
_MOVES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "start": ((Campaign.State.DRAFT,), Campaign.State.RUNNING, CampaignLog.What.STARTED),
    "pause": ((Campaign.State.RUNNING,), Campaign.State.PAUSED, CampaignLog.What.PAUSED),
    "resume": ((Campaign.State.PAUSED,), Campaign.State.RUNNING, CampaignLog.What.RESUMED),
    "cancel": (
        (Campaign.State.DRAFT, Campaign.State.RUNNING, Campaign.State.PAUSED),
        Campaign.State.CANCELLED,
        CampaignLog.What.CANCELLED,
    ),
}
ACTIONS = tuple(_MOVES)


def act(
    campaign_id: int, action: str, user: Any, reason: str = "", now: datetime | None = None
) -> Campaign:
    """Do ``action`` (one of ACTIONS) to a campaign; ``NotNow`` when its state forbids it."""
    now = now or timezone.now()
    allowed, becomes, what = _MOVES[action]
    with transaction.atomic():
        rollouts.lock(wait=True)
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("release")
            .get(pk=campaign_id)
        )
        if campaign.state not in allowed:
            raise NotNow(f"This campaign is {campaign.get_state_display().lower()}.")
        campaign.state = becomes
        if action == "start":
            campaign.started_at = campaign.stage_started_at = campaign.failures_since = now
            campaign.stage = 0
        elif action == "pause":
            campaign.paused_reason = reason or "paused by hand"
        elif action == "resume":
            # Who resumes accepts the failures so far: only new ones count against the threshold.
            campaign.failures_since = now
            campaign.paused_reason = ""
        elif action == "cancel":
            campaign.finished_at = now
        campaign.save()
        CampaignLog.objects.create(
            campaign=campaign,
            at=now,
            what=what,
            stage=campaign.stage,
            user=user,
            detail={"reason": reason[:200]} if reason else {},
        )
        if action == "start":
            rollouts.join(campaign, rollouts.stage_members(campaign), now)
        if action in ("resume", "cancel"):
            rollouts.resolve_pause_alerts(campaign, now, f"campaign {action}d")
        rollouts.reconcile_offers()
    return campaign
