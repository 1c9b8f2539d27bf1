"""Rollouts on the hub (issue 16, docs/UPDATES.md): stage membership, the engine's advance and
auto-pause, the offers and tombstones kiosks pull, and what ``update.state`` events teach."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from fleet import campaign_actions, oncall, rollouts
from fleet.alert_kinds import AlertKind, ChainRole, hub_kind
from fleet.models import (
    Alert,
    Campaign,
    CampaignLog,
    CampaignMember,
    ChangeLog,
    Event,
    Machine,
    MachineUpdate,
    OnCallContact,
    QuarantinedEvent,
    Release,
    Site,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hub.helpers import Kiosk, event
from tests.hub.oncall_parts import smtp_server

# ---------------------------------------------------------------- stage membership (pure)

_percents = st.lists(st.integers(1, 99), max_size=4, unique=True).map(lambda p: [*sorted(p), 100])


@settings(max_examples=200, deadline=None)
@given(
    campaign_id=st.integers(1, 10**6),
    population=st.sets(st.integers(1, 5000), max_size=60),
    extra=st.sets(st.integers(5001, 9000), max_size=20),
    pilot=st.sets(st.integers(1, 5000), max_size=5),
    percents=_percents,
)
def test_stages_are_stable_and_each_holds_the_one_before(
    campaign_id: int, population: set[int], extra: set[int], pilot: set[int], percents: list[int]
) -> None:
    stages = [
        rollouts.members_at(campaign_id, stage, percents, population, pilot)
        for stage in range(len(percents) + 1)
    ]
    assert stages[0] == pilot
    for before, after in itertools.pairwise(stages):
        assert before <= after
    assert stages[-1] == population | pilot  # the last stage is 100 %
    # A machine's membership is its own: more machines in the fleet move nobody out or in.
    for stage, members in enumerate(stages):
        grown = rollouts.members_at(campaign_id, stage, percents, population | extra, pilot)
        assert grown & (population | pilot) == members


def test_a_percentage_picks_about_that_share() -> None:
    chosen = rollouts.members_at(7, 1, [10, 100], range(1, 10_001), [])
    assert 900 < len(chosen) < 1100


@pytest.mark.parametrize(
    ("percents", "problem"),
    [([], "at least one"), ([50, 40, 100], "larger"), ([10, 50], "100"), ([0, 100], "1 to 100")],
)
def test_stage_lists_that_cannot_be_used(percents: list[int], problem: str) -> None:
    assert problem in (rollouts.check_percents(percents) or "")


# ---------------------------------------------------------------- the engine

pytestmark = pytest.mark.django_db


def _fleet(count: int = 10) -> tuple[Site, list[Machine]]:
    site = Site(name="North")
    site.save()
    machines = [
        Machine.objects.create(site=site, name=f"m{i:02}", secret_sealed="sealed")
        for i in range(count)
    ]
    return site, machines


def _campaign(site: Site, pilot: list[Machine], **fields: Any) -> Campaign:
    release = Release.objects.create(version=fields.pop("version", "0.2.0"))
    campaign = Campaign.objects.create(
        release=release,
        percents=fields.pop("percents", [50, 100]),
        soak_minutes=fields.pop("soak_minutes", 30),
        **fields,
    )
    campaign.sites.set([site])
    campaign.pilot_machines.set(pilot)
    return campaign


def _report(machine: Machine, state: str, running: str, target: str | None, campaign: int) -> None:
    payload = {"running": running, "target": target, "state": state, "campaign_id": campaign}
    rollouts.learn(
        machine,
        [Event(machine=machine, type="update.state", payload=payload, created_at=timezone.now())],
    )


def _offers(machine_ids: set[int] | None = None) -> dict[int, tuple[str, Any]]:
    """The newest update_offer change per machine: (op, data)."""
    newest: dict[int, tuple[str, Any]] = {}
    for row in ChangeLog.objects.filter(kind="update_offer").order_by("seq"):
        assert row.machine_id is not None and row.key == "current"
        newest[row.machine_id] = (row.op, row.data)
    return newest


def test_a_stage_advances_once_healthy_and_soaked() -> None:
    site, machines = _fleet()
    pilot = machines[:2]
    campaign = _campaign(site, pilot)
    start = timezone.now()
    campaign_actions.act(campaign.pk, "start", None, now=start)
    offered = _offers()
    assert set(offered) == {m.pk for m in pilot}
    assert offered[pilot[0].pk] == ("upsert", {"version": "0.2.0", "campaign_id": campaign.pk})

    for machine in pilot:
        _report(machine, "switched", "0.1.0", "0.2.0", campaign.pk)
        _report(machine, "running", "0.2.0", None, campaign.pk)  # the new version's first start
    rollouts.tick(start + timedelta(minutes=31))
    campaign.refresh_from_db()
    assert campaign.stage == 0  # started, not healthy yet: the switch waits for its check

    for machine in pilot:
        _report(machine, "healthy", "0.2.0", None, campaign.pk)
    rollouts.tick(start + timedelta(minutes=10))
    campaign.refresh_from_db()
    assert campaign.stage == 0  # healthy, not soaked

    summary = rollouts.tick(start + timedelta(minutes=31))
    campaign.refresh_from_db()
    assert (campaign.stage, summary.advanced) == (1, [campaign.pk])
    half = rollouts.stage_members(campaign)
    assert {m.pk for m in pilot} < half <= {m.pk for m in machines}
    assert set(_offers()) == half
    assert CampaignLog.objects.filter(campaign=campaign, what="advanced", stage=1).exists()

    # The other machines already run the release (a USB install): healthy when reached.
    for machine in machines[2:]:
        _report(machine, "running", "0.2.0", None, campaign.pk)
    later = start + timedelta(minutes=62)
    rollouts.tick(later)
    campaign.refresh_from_db()
    assert campaign.stage == 2
    rollouts.tick(later + timedelta(minutes=31))
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DONE
    assert {op for op, _ in _offers().values()} == {"upsert"}  # a done campaign keeps offering


def test_failures_pause_the_campaign_by_itself_with_an_alert() -> None:
    site, machines = _fleet(4)
    pilot = machines[:3]
    campaign = _campaign(site, pilot, failure_percent=50)
    start = timezone.now()
    campaign_actions.act(campaign.pk, "start", None, now=start)
    _report(pilot[0], "rolled_back", "0.1.0", "0.2.0", campaign.pk)
    rollouts.tick(start + timedelta(minutes=1))
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING  # 1 of 3 is under 50 %

    _report(pilot[1], "refused", "0.1.0", "0.2.0", campaign.pk)
    summary = rollouts.tick(start + timedelta(minutes=2))
    campaign.refresh_from_db()
    assert (campaign.state, summary.paused) == (Campaign.State.PAUSED, [campaign.pk])
    assert "2 of 3 machines failed" in campaign.paused_reason
    assert {op for op, _ in _offers().values()} == {"delete"}  # tombstones to the pilot
    alert = Alert.objects.get(kind=AlertKind.UPDATE_ROLLOUT_PAUSED.value)
    assert alert.machine_id in {pilot[0].pk, pilot[1].pk}
    assert alert.subject == f"campaign:{campaign.pk}"
    assert hub_kind(alert.kind) is AlertKind.UPDATE_ROLLOUT_PAUSED
    assert [s.role for s in oncall.chain_for(site, alert.kind)] == [ChainRole.PROGRAM_MANAGER]
    assert alert.escalation == Alert.Escalation.PENDING  # the on-call engine takes it
    assert CampaignLog.objects.filter(campaign=campaign, what="auto_paused").exists()

    # Resuming accepts the failures so far: the alert resolves, offers come back, no re-pause.
    campaign_actions.act(campaign.pk, "resume", None, now=start + timedelta(minutes=3))
    rollouts.tick(start + timedelta(minutes=4))
    campaign.refresh_from_db()
    alert.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING and alert.resolved_at is not None
    assert {op for op, _ in _offers().values()} == {"upsert"}
    campaign_actions.act(campaign.pk, "cancel", None)
    assert {op for op, _ in _offers().values()} == {"delete"}
    with pytest.raises(campaign_actions.NotNow):
        campaign_actions.act(campaign.pk, "resume", None)


def test_a_switched_version_restarting_is_not_healthy_until_it_says_so() -> None:
    """After a switch the launcher may start the new version several times (each start
    reports ``running``) before it gives up and rolls back: only ``healthy`` counts."""
    site, machines = _fleet(1)
    campaign = _campaign(site, machines, percents=[100], soak_minutes=0)
    start = timezone.now()
    campaign_actions.act(campaign.pk, "start", None, now=start)
    [machine] = machines
    _report(machine, "switched", "0.1.0", "0.2.0", campaign.pk)
    _report(machine, "running", "0.2.0", None, campaign.pk)
    _report(machine, "running", "0.2.0", None, campaign.pk)  # the launcher's second try
    member = CampaignMember.objects.get(campaign=campaign, machine=machine)
    assert member.healthy_at is None
    assert rollouts.tick(start + timedelta(minutes=1)).advanced == []
    _report(machine, "rolled_back", "0.1.0", "0.2.0", campaign.pk)
    assert rollouts.tick(start + timedelta(minutes=2)).paused == [campaign.pk]


def test_a_count_threshold_pauses_at_that_many_failures() -> None:
    site, machines = _fleet(3)
    campaign = _campaign(site, machines, failure_count=2)
    campaign_actions.act(campaign.pk, "start", None)
    _report(machines[0], "failed", "0.1.0", "0.2.0", campaign.pk)
    _report(machines[1], "healthy", "0.2.0", None, campaign.pk)
    rollouts.tick()
    assert Campaign.objects.get().state == Campaign.State.RUNNING
    _report(machines[2], "failed", "0.1.0", "0.2.0", campaign.pk)
    rollouts.tick()
    assert Campaign.objects.get().state == Campaign.State.PAUSED


# ---------------------------------------------------------------- what kiosks pull and push


def test_offers_and_tombstones_reach_the_kiosk_in_pulls_and_snapshots(kiosk: Kiosk) -> None:
    machine = kiosk.machine
    cursor, _, _ = kiosk.pull_all(0)
    campaign = _campaign(machine.site, [machine])
    campaign_actions.act(campaign.pk, "start", None)
    cursor, changes, _ = kiosk.pull_all(cursor)
    offer = {
        "kind": "update_offer",
        "op": "upsert",
        "key": "current",
        "data": {"version": "0.2.0", "campaign_id": campaign.pk},
    }
    assert changes == [offer]

    snapshot = kiosk.pull(10**9).json()  # a cursor past the head: a snapshot
    assert snapshot["snapshot"] and offer in snapshot["changes"]

    campaign_actions.act(campaign.pk, "pause", None, reason="looking at a report")
    _, changes, _ = kiosk.pull_all(cursor)
    assert changes == [{"kind": "update_offer", "op": "delete", "key": "current", "data": None}]
    snapshot = kiosk.pull(10**9).json()
    assert not [c for c in snapshot["changes"] if c["kind"] == "update_offer"]


def _state(**payload: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "running": "0.1.0",
        "target": "0.2.0",
        "state": "downloading",
        "campaign_id": None,
        "detail": None,
        "bytes": 1024,
    }
    base.update(payload)
    return base


def test_update_state_events_say_what_each_machine_runs(kiosk: Kiosk) -> None:
    reply = kiosk.push(
        [
            event(1, "update.state", _state(state="running", target=None, bytes=None)),
            event(2, "update.state", _state(state="rolled_back", detail="self-test: printer")),
        ]
    )
    assert reply.json() == {"stored_through": 2, "quarantined": []}
    update = MachineUpdate.objects.get(machine=kiosk.machine)
    assert (update.running, update.target, update.last_state) == ("0.1.0", "0.2.0", "rolled_back")
    assert update.last_detail == "self-test: printer" and update.last_bytes == 1024


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        (_state(state="exploded"), "payload.state: one of running"),
        (_state(running="../../etc"), "payload.running: a version expected"),
        (_state(running=None), "payload.running: a text expected"),
        (_state(target="x" * 65), "payload.target: text longer than 64"),
        (_state(bytes=-1), "payload.bytes: below 0"),
        (_state(campaign_id="7"), "payload.campaign_id: an integer expected"),
        (_state(detail="d" * 201), "payload.detail: text longer than 200"),
        ({"state": "running"}, "payload.running: missing"),
    ],
)
def test_a_bad_update_state_is_quarantined(
    kiosk: Kiosk, payload: dict[str, Any], rule: str
) -> None:
    reply = kiosk.push([event(1, "update.state", payload), event(2)])
    assert reply.status_code == 200
    assert reply.json()["stored_through"] == 2  # the queue moves on
    held = QuarantinedEvent.objects.get(machine=kiosk.machine)
    assert rule in held.reason
    assert not MachineUpdate.objects.filter(machine=kiosk.machine).exists()


def test_other_events_may_still_carry_a_state_or_a_long_detail(kiosk: Kiosk) -> None:
    reply = kiosk.push([event(1, "machine.flag_raised", {"detail": "d" * 500, "state": "on"})])
    assert reply.json() == {"stored_through": 1, "quarantined": []}


def test_a_rollback_pushed_by_a_kiosk_pauses_and_mails_the_program_manager(
    kiosk: Kiosk, settings: Any
) -> None:
    machine = kiosk.machine
    staff = OnCallContact(site=machine.site, name="Sam", role="site_staff",
                          email="sam@example.org", hours="always")  # fmt: skip
    manager = OnCallContact(site=machine.site, name="Pat", role="program_manager",
                            email="pat@example.org", hours="always")  # fmt: skip
    staff.save()
    manager.save()
    campaign = _campaign(machine.site, [machine])
    campaign_actions.act(campaign.pk, "start", None)
    rolled_back = _state(state="rolled_back", campaign_id=campaign.pk, detail="no healthy idle")
    assert kiosk.push([event(1, "update.state", rolled_back)]).status_code == 200
    rollouts.tick()
    assert Campaign.objects.get().state == Campaign.State.PAUSED
    with smtp_server() as (mailbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        oncall.escalate()
        with mailbox.arrived:
            mailbox.arrived.wait_for(lambda: mailbox.messages, timeout=10)
    assert mailbox.to("pat@example.org") and not mailbox.to("sam@example.org")
    (_, body), *_ = mailbox.to("pat@example.org")
    assert f"campaign:{campaign.pk}" in body
