"""When a screen offers "Ask the on-call clinician" instead of doing the action."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from kiosk.domain import door_recovery as dr
from kiosk.domain.door_recovery import LockoutPolicy, RemoteAsk, SecureRefusal
from kiosk.domain.dosing import MISSED_DOSES_HOLD_REASON
from kiosk.domain.model import Medication, Prescription, PrescriptionStatus
from kiosk.domain.permissions import Role
from kiosk.domain.remote_approval import (
    ApprovalAction,
    ask_instead,
    hold_subject,
    release_askable,
)

MEDICATION = Medication(1, "hydromorphone", "8 mg", "tablet")
POLICY = LockoutPolicy((Role.ADMIN,), remote=RemoteAsk.READY)


def refused(
    faults: tuple[str, ...], reason: SecureRefusal, policy: LockoutPolicy = POLICY
) -> dr.SecureState:
    state = dr.step(dr.start(faults, policy), dr.MachineClosed())
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


def test_no_offer_without_a_hub_and_an_explanation_when_it_cannot_work_yet() -> None:
    without_hub = refused(
        ("door_opened",), SecureRefusal.PIN_NOT_ACCEPTED, LockoutPolicy((Role.ADMIN,))
    )
    assert dr.approval_subject(without_hub) is None and not dr.cannot_ask_yet(without_hub)
    not_ready = LockoutPolicy((Role.ADMIN,), remote=RemoteAsk.NOT_READY)
    unready = refused(("tamper",), SecureRefusal.LOCKED, not_ready)
    assert dr.approval_subject(unready) is None and dr.cannot_ask_yet(unready)
    ready = refused(("tamper",), SecureRefusal.LOCKED)
    assert not dr.cannot_ask_yet(ready)
    assert not dr.cannot_ask_yet(refused(("tamper",), SecureRefusal.TAMPER, not_ready))


def test_only_a_missed_dose_hold_is_asked_about() -> None:
    held = Prescription(1, 1, MEDICATION, 1, (), 4, date(2026, 1, 1), None,
                        status=PrescriptionStatus.ON_HOLD,
                        hold_reason=MISSED_DOSES_HOLD_REASON)  # fmt: skip
    assert release_askable(held)
    assert not release_askable(replace(held, hold_reason="staff hold: travel"))
    assert not release_askable(replace(held, status=PrescriptionStatus.ACTIVE, hold_reason=""))
