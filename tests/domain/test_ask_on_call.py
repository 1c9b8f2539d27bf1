"""When a screen offers "Ask the on-call clinician" instead of doing the action."""

from __future__ import annotations

from kiosk.domain import door_recovery as dr
from kiosk.domain.door_recovery import LockoutPolicy, SecureRefusal
from kiosk.domain.permissions import Role
from kiosk.domain.remote_approval import ApprovalAction, ask_instead, hold_subject

POLICY = LockoutPolicy((Role.ADMIN,))


def refused(faults: tuple[str, ...], reason: SecureRefusal) -> dr.SecureState:
    state = dr.step(dr.start(faults, POLICY), dr.MachineClosed())
    state = dr.step(state, dr.PinEntered("1234"))
    return dr.step(state, dr.Refused(reason))


def test_a_refused_pin_offers_to_ask_about_the_lockout() -> None:
    assert dr.approval_subject(refused(("door_opened",), SecureRefusal.PIN_NOT_ACCEPTED)) == "door"
    assert dr.approval_subject(refused(("tamper",), SecureRefusal.LOCKED)) == "tamper"
    both = refused(("door_opened", "tamper"), SecureRefusal.PIN_NOT_ACCEPTED)
    assert dr.approval_subject(both) == "tamper"


def test_no_offer_before_a_refusal_or_when_the_role_was_right() -> None:
    assert dr.approval_subject(dr.start(("door_opened",), POLICY)) is None
    assert dr.approval_subject(refused(("door_opened",), SecureRefusal.DOOR_OPEN)) is None
    assert dr.approval_subject(refused(("tamper",), SecureRefusal.CONTROLLER_SILENT)) is None


def test_ask_instead_follows_the_permission_table() -> None:
    assert ask_instead("staff", ApprovalAction.RELEASE_HOLD)
    assert not ask_instead("nurse", ApprovalAction.RELEASE_HOLD)
    assert ask_instead("nurse", ApprovalAction.CLEAR_DOOR_LOCKOUT)
    assert not ask_instead("technician", ApprovalAction.CLEAR_TAMPER_LOCKOUT)
    assert not ask_instead("staff", ApprovalAction.UNLOCK_SERVICE_DOOR)  # every role may
    assert ask_instead("no-such-role", ApprovalAction.UNLOCK_SERVICE_DOOR)


def test_a_hold_is_asked_about_by_its_hub_id_only() -> None:
    assert hold_subject("rx-42") == "prescription:rx-42"
    assert hold_subject(None) is None
    assert hold_subject("") is None
