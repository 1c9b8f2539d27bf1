"""Issue 16 end to end through a real campaign (docs/UPDATES.md, "Rollouts on the hub"):
releases built by the test and published with ``manage.py publish_release`` into the live
hub's repository, a campaign started (fleet.campaign_actions, what the care page calls),
``manage.py run_rollouts --once`` as the engine, and the kiosk's real sync and the real
launcher (deploy/kiosk-launcher) on the other side.

v1 → v2: the kiosk reports v2 healthy and the campaign moves on to done. Then a v3 whose
self-test fails: the launcher goes back to v2 by itself, the kiosk reports ``rolled_back``,
the engine pauses the campaign with an ``update_rollout_paused`` alert, and the kiosk's offer
of v3 is withdrawn at its next sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sync.test_live_hub import Hub
from tests.updates.live import (
    enroll_kiosk,
    hub_version,
    kiosk_events,
    kiosk_offer,
    kiosk_setting,
    launch,
    publish,
    start_campaign,
)
from tools.release import init

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def set_hours(hub: Hub, site: str, *, hours_from_now: int) -> None:
    """The site's maintenance window: one hour from ``hours_from_now`` hours after now (site
    local time), as the care page saves it (Site.save publishes the setting)."""
    hub.shell(
        "from datetime import datetime, timedelta\n"
        "from zoneinfo import ZoneInfo\n"
        "from fleet.models import Site\n"
        f"site = Site.objects.get(name={site!r})\n"
        "now = datetime.now(ZoneInfo(site.timezone)).replace(second=0, microsecond=0)\n"
        f"start = now + timedelta(minutes={hours_from_now * 60 - 1})\n"
        "site.maintenance_start = start.time()\n"
        "site.maintenance_end = (start + timedelta(hours=1)).time()\n"
        "site.save()\n"
    )


def act(hub: Hub, campaign: int, action: str) -> None:
    hub.shell(
        f"from fleet import campaign_actions\ncampaign_actions.act({campaign}, {action!r}, None)"
    )


def on_hub(hub: Hub, device_id: str, campaign: int) -> dict[str, Any]:
    """What the hub holds: the machine's update record, the campaign, its log, its alerts."""
    out = hub.shell(
        "import json\n"
        "from fleet.models import Alert, Campaign, CampaignLog, MachineUpdate, QuarantinedEvent\n"
        f"u = MachineUpdate.objects.get(machine__device_id={device_id!r})\n"
        f"c = Campaign.objects.get(pk={campaign})\n"
        "print(json.dumps({\n"
        "    'running': u.running, 'target': u.target, 'last_state': u.last_state,\n"
        "    'offered': u.offered_version, 'state': c.state, 'stage': c.stage,\n"
        "    'reason': c.paused_reason, 'quarantined': QuarantinedEvent.objects.count(),\n"
        "    'log': [entry.what for entry in CampaignLog.objects.filter(campaign=c)],\n"
        "    'alerts': [(a.kind, a.subject, a.machine.device_id) for a in\n"
        "               Alert.objects.filter(subject=f'campaign:{c.pk}', resolved_at=None)],\n"
        "}))\n"
    )
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def run_rollouts(hub: Hub) -> str:
    return hub.manage("run_rollouts", "--once").strip()


def test_a_campaign_updates_a_kiosk_then_pauses_itself_on_a_rollback(
    hub: Hub, tmp_path: Path
) -> None:
    repo = Path(hub.env["HUB_UPDATES_REPOSITORY"])
    init(repo, Path(hub.env["HUB_UPDATES_KEYS"]))
    assert "published and registered" in publish(hub, tmp_path, "0.1.0")
    second = publish(hub, tmp_path, "0.2.0")
    # The hub read the size from the signed manifest: only our changed code is new.
    new_bytes = int(second.split("; ")[1].split(" bytes new since 0.1.0")[0])
    assert 0 < new_bytes < 100_000, second

    kiosk = enroll_kiosk(hub, tmp_path, "0.1.0")
    releases = kiosk.layout.root
    result = launch(releases, kiosk.config_path)  # v1 runs, is healthy, reports 0.1.0
    assert result.returncode == 0, result.stderr

    # The campaign starts: the pilot (this kiosk) is offered 0.2.0 at once; the engine's
    # first pass has nothing more to do until the kiosk reports.
    campaign = start_campaign(hub, kiosk.device_id, "0.2.0")
    run_rollouts(hub)
    assert on_hub(hub, kiosk.device_id, campaign)["offered"] == "0.2.0"

    # The site's maintenance hours (set on the hub, pulled as a setting) exclude now: the
    # kiosk downloads and stages 0.2.0 but does not switch.
    set_hours(hub, "Updates", hours_from_now=2)
    result = launch(releases, kiosk.config_path)
    assert result.returncode == 0, result.stderr
    assert kiosk.layout.current_version() == "0.1.0"
    assert [e["state"] for e in kiosk_events(kiosk.config)][-1] == "staged"
    assert set(kiosk_setting(kiosk.config, "maintenance_hours")) == {"start", "end"}
    # Paused by hand: the offer is tombstoned, the kiosk drops it and does not switch even
    # inside its hours; resumed: offered again.
    act(hub, campaign, "pause")
    set_hours(hub, "Updates", hours_from_now=0)
    result = launch(releases, kiosk.config_path)
    assert result.returncode == 0, result.stderr
    assert kiosk_offer(kiosk.config) is None and kiosk.layout.current_version() == "0.1.0"
    act(hub, campaign, "resume")
    # Hours that hold now: the next round switches to the staged release.
    result = launch(releases, kiosk.config_path)
    assert result.returncode == 0, result.stderr
    assert kiosk.layout.current_version() == "0.2.0" and kiosk.layout.pending() is None
    assert kiosk_offer(kiosk.config) == ("0.2.0", campaign)
    assert hub_version(hub, kiosk.device_id) == "0.2.0"
    state = on_hub(hub, kiosk.device_id, campaign)
    assert (state["running"], state["last_state"], state["target"]) == ("0.2.0", "healthy", "0.2.0")
    # The pilot is healthy: the next pass moves to 100 % (only this kiosk), the one after
    # that finds it settled too and the campaign is done.
    assert f"advanced [{campaign}]" in run_rollouts(hub)
    assert f"done [{campaign}]" in run_rollouts(hub)
    state = on_hub(hub, kiosk.device_id, campaign)
    assert state["state"] == "done"
    assert state["log"] == ["started", "paused", "resumed", "advanced", "done"]

    # A v3 whose self-test fails, rolled out in a new campaign.
    publish(hub, tmp_path, "0.3.0", unhealthy=True)
    broken = start_campaign(hub, kiosk.device_id, "0.3.0")
    result = launch(releases, kiosk.config_path)
    assert result.returncode == 0, result.stderr
    assert "not healthy" in result.stderr and "back to 0.2.0" in result.stderr
    assert kiosk.layout.current_version() == "0.2.0"
    [rolled] = [e for e in kiosk_events(kiosk.config) if e["state"] == "rolled_back"]
    assert (rolled["running"], rolled["target"]) == ("0.2.0", "0.3.0")
    assert rolled["campaign_id"] == broken

    # The engine's next pass: one failure reaches the threshold, the campaign pauses itself,
    # raises the alert on that machine, and withdraws the offer of 0.3.0 (the done campaign
    # of 0.2.0 is what the kiosk is offered now: the version it runs).
    assert f"paused [{broken}]" in run_rollouts(hub)
    state = on_hub(hub, kiosk.device_id, broken)
    assert state["state"] == "paused" and "1 of 1 machines failed" in state["reason"]
    assert state["alerts"] == [["update_rollout_paused", f"campaign:{broken}", kiosk.device_id]]
    assert state["quarantined"] == 0  # the schema took every update.state the kiosk sent
    assert (state["running"], state["last_state"], state["offered"]) == (
        "0.2.0",
        "rolled_back",
        "0.2.0",
    )
    result = launch(releases, kiosk.config_path)  # the kiosk's next round pulls it
    assert result.returncode == 0, result.stderr
    assert kiosk_offer(kiosk.config) == ("0.2.0", campaign)
    assert kiosk.layout.current_version() == "0.2.0"
    assert [e["state"] for e in kiosk_events(kiosk.config)][-1] == "running"  # nothing tried
