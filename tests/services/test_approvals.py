"""Remote approvals at the kiosk (kiosk/services/approvals.py) over the real store: requests
and their outbox events, decisions and seeds applied from pulled pages, the offline response
under the lockout policy, single use, expiry, the site's policy, both names in the audit."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from kiosk.domain import remote_approval as ra
from kiosk.domain.door_recovery import RemoteAsk
from kiosk.domain.remote_approval import ApprovalAction, Verdict
from kiosk.services.approvals import HUB_REACHED_WITHIN, ApprovalsService
from kiosk.services.clock import FixedClock
from kiosk.services.errors import Refusal
from kiosk.services.health import Fault
from kiosk.services.pin_gate import EntryPoint, PinGate
from kiosk.services.sync.apply import apply_page
from kiosk.services.sync.client import Change, ChangesPage
from kiosk.store import approvals_repo, sync_repo
from kiosk.store.repository import Store
from tests.services.conftest import DEVICE

SEED = base64.b32encode(b"the nurse's own seed").decode()
PHARMACIST_SEED = base64.b32encode(b"the pharmacist seed!").decode()


def pull(store: Store, clock: FixedClock, *changes: Change, cursor: int = 1) -> None:
    apply_page(store.conn, ChangesPage(cursor, False, False, list(changes)), clock.now())


def seed_change(user_id: int, role: str, seed: str, actions: list[str] | None = None) -> Change:
    data = {
        "user_id": user_id,
        "role": role,
        "label": "Maria L." if role == "nurse" else "Sam P.",
        "seed": seed,
        "actions": actions if actions is not None else [a.value for a in ApprovalAction],
        "sites": [1],
    }
    return Change("approver_seed", "upsert", str(user_id), data)


def outbox(store: Store, type_: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT payload FROM outbox WHERE type = ? ORDER BY seq", (type_,)
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def audit(store: Store, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = store.conn.execute(
        "SELECT actor, subject, details FROM audit_log WHERE action = ? ORDER BY seq", (action,)
    ).fetchall()
    return [(a, s, json.loads(d)) for a, s, d in rows]


def request(service: ApprovalsService, worker: int) -> ra.Requested:
    made = service.request(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine", worker)
    assert isinstance(made, ra.Requested)
    return made


def code_for(made: ra.Requested, clock: FixedClock, seed: str = SEED) -> str:
    step = ra.time_step(clock.now())
    return ra.response_code(seed, DEVICE, ApprovalAction.CLEAR_DOOR_LOCKOUT, made.challenge, step)


def test_a_request_is_recorded_and_queued_for_the_hub(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    made = request(service, worker)
    assert len(made.challenge) == 8 and made.challenge.isdigit()
    (event,) = outbox(store, "approval.requested")
    assert event == {
        "actor": f"staff:{worker}",
        "subject": "machine",
        "request_id": made.request_id,
        "action": "clear_door_lockout",
        "requested_by": f"staff:{worker}",
        "challenge": made.challenge,
    }
    assert service.pending()
    clock.at += ra.VALIDITY + timedelta(seconds=1)
    assert not service.pending()  # an old request no longer hurries the sync thread


def test_online_approval_clears_the_lockout_once(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    made = request(service, worker)
    assert service.decision(made.request_id) is None
    pull(store, clock, decision(made.request_id, "approved", clock))
    assert service.decision(made.request_id) == ra.Decided(True, "Maria L.", "")
    assert service.act_online(made.request_id) == ra.Performed(True)
    assert "door_opened" not in store.flags()
    assert service.act_online(made.request_id) == ra.Performed(False, "used")
    ((actor, subject, details),) = audit(store, "approval.used")
    assert (actor, subject) == (f"staff:{worker}", "machine")
    assert details["approver"] == "hub_user:7" and details["approver_label"] == "Maria L."
    (wire,) = outbox(store, "approval.used")
    assert wire["how"] == "online" and wire["approver"] == "hub_user:7"
    assert "approver_label" not in wire  # the hub is told ids
    # The lockout was cleared by both people.
    (cleared,) = store.conn.execute(
        "SELECT actor FROM audit_log WHERE action LIKE 'machine.flags_cleared%' OR"
        " action LIKE '%cleared%' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert cleared == f"staff:{worker}+hub_user:7"


def test_an_expired_or_refused_decision_is_not_acted_on(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    made = request(service, worker)
    pull(store, clock, decision(made.request_id, "approved", clock))
    clock.at += timedelta(minutes=11)
    assert service.act_online(made.request_id) == ra.Performed(False, "expired")
    assert "door_opened" in store.flags()
    other = request(service, worker)
    pull(store, clock, decision(other.request_id, "refused", clock), cursor=2)
    assert service.decision(other.request_id) == ra.Decided(False, "Maria L.", "call me")
    with pytest.raises(Refusal):
        service.act_online(other.request_id)


def test_a_decision_from_a_role_the_policy_does_not_allow_is_refused(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    made = request(service, worker)
    pull(store, clock, decision(made.request_id, "approved", clock, role="program_manager"))
    assert service.act_online(made.request_id) == ra.Performed(False, "role")
    assert "door_opened" in store.flags()


def test_offline_response_verifies_and_acts_once(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(store, clock, seed_change(7, "nurse", SEED))
    made = request(service, worker)
    clock.at += timedelta(minutes=4)
    code = code_for(made, clock)
    checked, performed = service.check_code(made.request_id, code)
    assert checked == ra.CodeChecked(Verdict.ACCEPTED, "Maria L.")
    assert performed == ra.Performed(True)
    assert "door_opened" not in store.flags()
    (wire,) = outbox(store, "approval.used")
    assert (wire["how"], wire["approver"], wire["request_id"]) == (
        "offline",
        "hub_user:7",
        made.request_id,
    )
    # Replayed: the challenge was used (and the refusal is not another approval.used).
    assert service.check_code(made.request_id, code)[0].verdict is Verdict.USED
    assert len(outbox(store, "approval.used")) == 1


def test_the_seed_is_never_in_the_audit_or_the_outbox(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    pull(store, clock, seed_change(7, "nurse", SEED))
    everything = " ".join(
        str(r) for r in store.conn.execute("SELECT details FROM audit_log").fetchall()
    ) + " ".join(str(r) for r in store.conn.execute("SELECT payload FROM outbox").fetchall())
    assert SEED not in everything
    assert approvals_repo.seeds(store.conn)[0].seed == SEED


def test_wrong_codes_lock_the_pad_and_then_even_the_right_code_waits(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(store, clock, seed_change(7, "nurse", SEED))
    made = request(service, worker)
    lefts = []
    for n in range(4):
        checked, performed = service.check_code(made.request_id, f"0000000{n}")
        assert checked.verdict is Verdict.WRONG and performed is None
        lefts.append(checked.attempts_left)
    assert lefts == [4, 3, 2, 1]
    checked, _ = service.check_code(made.request_id, "00000009")
    assert checked.locked_seconds == 30
    checked, performed = service.check_code(made.request_id, code_for(made, clock))
    assert checked.locked_seconds > 0 and performed is None
    assert "door_opened" in store.flags()
    assert PinGate(store, clock).seconds_locked(EntryPoint.APPROVAL_CODE) == 30
    clock.at += timedelta(seconds=30)
    checked, performed = service.check_code(made.request_id, code_for(made, clock))
    assert checked.verdict is Verdict.ACCEPTED and performed == ra.Performed(True)


def test_offline_refuses_other_roles_actions_and_expired_challenges(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(
        store,
        clock,
        seed_change(7, "program_manager", SEED),
        seed_change(8, "pharmacist", PHARMACIST_SEED, actions=["release_hold"]),
    )
    made = request(service, worker)
    assert service.check_code(made.request_id, code_for(made, clock))[0].verdict is Verdict.WRONG
    code = code_for(made, clock, PHARMACIST_SEED)  # not delivered for this action
    assert service.check_code(made.request_id, code)[0].verdict is Verdict.WRONG
    pull(store, clock, seed_change(7, "nurse", SEED), cursor=2)
    clock.at += ra.VALIDITY + timedelta(seconds=1)
    assert service.check_code(made.request_id, code_for(made, clock))[0].verdict is Verdict.EXPIRED
    assert "door_opened" in store.flags()


def test_the_site_policy_decides_what_may_be_asked(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    off = {a.value: [] for a in ApprovalAction}
    pull(store, clock, Change("setting", "upsert", "remote_approval", {"value": off}))
    assert service.request(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine", worker) == ra.Denied()
    assert outbox(store, "approval.requested") == []
    # An action this kiosk cannot carry out is never offered.
    assert not service.offered().allows(ApprovalAction.WITNESS_DOSE)


def test_an_approved_lockout_is_not_cleared_with_the_door_open(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, controller, _ = kiosk
    controller.door_open = True
    made = request(service, worker)
    pull(store, clock, decision(made.request_id, "approved", clock))
    performed = service.act_online(made.request_id)
    assert not performed.ok
    assert "door_opened" in store.flags()
    controller.door_open = False  # closed: the same approval works, once
    assert service.act_online(made.request_id) == ra.Performed(True)


def test_a_snapshot_drops_seeds_the_hub_no_longer_lists(store: Store, clock: FixedClock) -> None:
    pull(store, clock, seed_change(7, "nurse", SEED))
    apply_page(store.conn, ChangesPage(5, True, False, []), clock.now())
    assert approvals_repo.seeds(store.conn) == []


def decision(request_id: str, verdict: str, clock: FixedClock, role: str = "nurse") -> Change:
    data = {
        "request_id": request_id,
        "decision": verdict,
        "approver": {"id": 7, "role": role, "label": "Maria L."},
        "reason": "" if verdict == "approved" else "call me",
        "at": clock.now().isoformat(),
        "expires_at": (clock.now() + timedelta(minutes=10)).isoformat(),
    }
    return Change("approval_decision", "upsert", request_id, data)


def test_asking_is_offered_only_when_it_can_work(
    store: Store, clock: FixedClock, kiosk: Any
) -> None:
    """A key here (the phone works offline) or a recent sync (the hub takes the request):
    READY; a hub but neither: NOT_READY (staff are told why); an action the site does not
    allow from afar, or this kiosk cannot carry out: NONE."""
    service, _, health = kiosk
    assert service.reach(ApprovalAction.CLEAR_DOOR_LOCKOUT) is RemoteAsk.NOT_READY
    assert service.reach(ApprovalAction.UNLOCK_SERVICE_DOOR) is RemoteAsk.NONE  # not wired
    sync_repo.record_outcome(store.conn, clock.now(), "")
    assert service.reach(ApprovalAction.CLEAR_DOOR_LOCKOUT) is RemoteAsk.READY
    clock.at += HUB_REACHED_WITHIN + timedelta(seconds=1)
    assert service.reach(ApprovalAction.CLEAR_DOOR_LOCKOUT) is RemoteAsk.NOT_READY
    # A key for another action only does not help; one for this action does.
    pull(store, clock, seed_change(8, "pharmacist", PHARMACIST_SEED, ["release_hold"]))
    assert service.lockout_reach(tamper=False) is RemoteAsk.NOT_READY
    pull(store, clock, seed_change(7, "nurse", SEED), cursor=2)
    assert service.lockout_reach(tamper=False) is RemoteAsk.READY
    # The health check carries it while a lockout holds (kiosk.app wires it so).
    health.remote_reach = service.lockout_reach
    health._faults.add(Fault.DOOR_OPENED)
    assert health._remote() is RemoteAsk.READY
    health._faults.discard(Fault.DOOR_OPENED)
    assert health._remote() is RemoteAsk.NONE  # no lockout: nothing to ask
