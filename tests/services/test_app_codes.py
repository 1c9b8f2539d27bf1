"""Approving with a code from the clinician's authenticator app, at the kiosk
(ApprovalsService.check_app_code) over the real store: the seed pulled by sync, single use per
clinician and time step, the lockout policy, the trusted clock, both names in the audit."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pyotp

from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction, Verdict
from kiosk.services.clock import FixedClock
from kiosk.services.pin_gate import EntryPoint, PinGate
from kiosk.services.sync.client import Change
from kiosk.store import approvals_repo
from kiosk.store.repository import Store
from tests.services.test_approvals import SEED, audit, outbox, pull, request, seed_change

APP = base64.b32encode(b"the nurse's app seed").decode()
OTHER_APP = base64.b32encode(b"a pharmacist's app..").decode()


def with_app(user_id: int, role: str, app: str | None, **kw: Any) -> Change:
    change = seed_change(user_id, role, SEED, **kw)
    return Change(change.kind, change.op, change.key, {**change.data, "totp": app})


def test_an_app_code_approves_once_and_names_both_people(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(store, clock, with_app(7, "nurse", APP))
    assert service.app_codes_offered()
    made = request(service, worker)
    clock.at += timedelta(minutes=2)
    code = pyotp.TOTP(APP).at(clock.now())
    checked, performed = service.check_app_code(made.request_id, code)
    assert checked == ra.CodeChecked(Verdict.ACCEPTED, "Maria L.")
    assert performed == ra.Performed(True)
    assert "door_opened" not in store.flags()
    ((actor, _subject, local),) = audit(store, "approval.used")
    assert actor == f"staff:{worker}"
    assert (local["how"], local["approver"], local["approver_label"]) == (
        "app",
        "hub_user:7",
        "Maria L.",
    )
    (wire,) = outbox(store, "approval.used")
    assert wire["how"] == "app" and "approver_label" not in wire
    # The same code on a second request, within the same step: replayed, and counted.
    store.raise_flag("door_opened", "the door opened again", clock.now())
    again = request(service, worker)
    checked, performed = service.check_app_code(again.request_id, code)
    assert (checked.verdict, performed) == (Verdict.REPLAYED, None)
    assert checked.attempts_left == 4
    assert "door_opened" in store.flags()
    # The next step's code works.
    clock.at += timedelta(seconds=30)
    checked, _ = service.check_app_code(again.request_id, pyotp.TOTP(APP).at(clock.now()))
    assert checked.verdict is Verdict.ACCEPTED


def test_the_app_seed_is_stored_but_never_audited_or_sent(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(store, clock, with_app(7, "nurse", APP))
    made = request(service, worker)
    service.check_app_code(made.request_id, pyotp.TOTP(APP).at(clock.now()))
    everything = " ".join(
        str(r) for r in store.conn.execute("SELECT details FROM audit_log").fetchall()
    ) + " ".join(str(r) for r in store.conn.execute("SELECT payload FROM outbox").fetchall())
    assert APP not in everything
    (seed,) = approvals_repo.seeds(store.conn)
    assert seed.totp == APP
    # A later record without the app (reset on the hub) takes it away.
    pull(store, clock, with_app(7, "nurse", None), cursor=2)
    assert approvals_repo.seeds(store.conn)[0].totp is None
    assert not service.app_codes_offered()


def test_wrong_app_codes_lock_the_pad(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(store, clock, with_app(7, "nurse", APP))
    made = request(service, worker)
    right = pyotp.TOTP(APP).at(clock.now())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    lefts = [service.check_app_code(made.request_id, wrong)[0].attempts_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    assert service.check_app_code(made.request_id, wrong)[0].locked_seconds == 30
    checked, performed = service.check_app_code(made.request_id, right)
    assert checked.locked_seconds > 0 and performed is None
    assert PinGate(store, clock).seconds_locked(EntryPoint.APPROVAL_CODE) == 30
    assert "door_opened" in store.flags()


def test_wrong_role_or_another_sites_clinician_approves_nothing(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    # A prescriber may not clear a door lockout (default policy).
    pull(store, clock, with_app(8, "prescriber", OTHER_APP))
    made = request(service, worker)
    checked, performed = service.check_app_code(
        made.request_id, pyotp.TOTP(OTHER_APP).at(clock.now())
    )
    assert (checked.verdict, performed) == (Verdict.WRONG, None)
    # Another site's nurse: the hub never sent their seed here.
    checked, _ = service.check_app_code(made.request_id, pyotp.TOTP(APP).at(clock.now()))
    assert checked.verdict is Verdict.WRONG


def test_no_decision_on_an_untrusted_clock(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(store, clock, with_app(7, "nurse", APP))
    made = request(service, worker)
    # Something was recorded five minutes "later": the clock went back since.
    store.note(clock.now() + timedelta(minutes=5), "test", "test.later", "machine", {})
    code = pyotp.TOTP(APP).at(clock.now())
    checked, performed = service.check_app_code(made.request_id, code)
    assert (checked.verdict, performed) == (Verdict.CLOCK_UNTRUSTED, None)
    assert "door_opened" in store.flags()
    assert PinGate(store, clock).seconds_locked(EntryPoint.APPROVAL_CODE) == 0
    assert not approvals_repo.app_step_used(store.conn, 7, int(clock.now().timestamp()) // 30)


def test_the_site_may_turn_app_codes_off(
    store: Store, clock: FixedClock, kiosk: Any, worker: int
) -> None:
    service, _, _ = kiosk
    pull(store, clock, with_app(7, "nurse", APP))
    policy = ra.ApprovalPolicy(dict(ra.DEFAULT_POLICY), app_codes=False).as_wire()
    pull(store, clock, Change("setting", "upsert", "remote_approval", {"value": policy}), cursor=2)
    assert not service.app_codes_offered()
    made = request(service, worker)
    checked, _ = service.check_app_code(made.request_id, pyotp.TOTP(APP).at(clock.now()))
    assert checked.verdict is Verdict.NOT_ALLOWED
    assert ApprovalAction.CLEAR_DOOR_LOCKOUT in service.offered().roles
