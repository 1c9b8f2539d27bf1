"""Remote approvals on the hub (care/approvals.py, care/pages/approvals.py): a kiosk's
request becomes an ApprovalRequest, the page shows it only to the roles the site's policy
names, a decision goes back in the machine's change log and is audited with both names, the
code given by phone is the one the kiosk's own verification accepts, seeds travel to the
site's machines and leave them when a clinician may no longer approve."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from care import approvals
from care.models import (
    ApprovalRequest,
    ApproverKey,
    AuditAction,
    CareAudit,
    Membership,
    RemoteApprovalRule,
)
from care.roles import Role
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from fleet import changelog
from fleet.models import ChangeLog, Site

from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction, ApproverSeed, Verdict
from tests.hub.helpers import Kiosk, event

PASSWORD = "a-long-password-1"


def _user(
    name: str, role: Role, site: Site | None, first: str = "Maria", last: str = "Lopez"
) -> User:
    user = User.objects.create_user(name, password=PASSWORD, first_name=first, last_name=last)
    Membership.objects.create(user=user, role=role, site=site)
    return User.objects.get(pk=user.pk)


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _request(kiosk: Kiosk, seq: int = 1, action: str = "clear_door_lockout") -> str:
    request_id = str(uuid.uuid4())
    now = timezone.now().isoformat().replace("+00:00", "Z")
    payload = {
        "actor": "staff:3",
        "subject": "machine",
        "request_id": request_id,
        "action": action,
        "requested_by": "staff:3",
        "challenge": "04815162",
    }
    response = kiosk.push([event(seq, "approval.requested", payload, created_at=now)])
    assert response.status_code == 200, response.content
    return request_id


def _changes(kiosk: Kiosk, kind: str) -> list[dict[str, Any]]:
    _cursor, changes, _pages = kiosk.pull_all(0)
    return [c for c in changes if c["kind"] == kind]


@pytest.mark.django_db
def test_a_request_is_shown_approved_and_sent_back_with_both_names_audited(kiosk: Kiosk) -> None:
    site = kiosk.machine.site
    nurse = _user("nurse", Role.NURSE, site)
    request_id = _request(kiosk)
    found = ApprovalRequest.objects.get(request_id=request_id)
    assert (found.state, found.requested_by, found.challenge) == ("pending", "staff:3", "04815162")

    client = _signed_in(nurse)
    page = client.get("/approvals/")
    assert page.status_code == 200
    assert b"Clear a service-door lockout" in page.content and b"staff:3" in page.content

    response = client.post(f"/approvals/{found.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    found.refresh_from_db()
    assert (found.state, found.decided_by, found.decided_role) == ("approved", nurse, "nurse")

    (decision,) = _changes(kiosk, "approval_decision")
    assert decision["key"] == request_id
    data = decision["data"]
    assert data["decision"] == "approved"
    assert data["approver"] == {"id": nurse.pk, "role": "nurse", "label": "Maria L."}
    assert data["expires_at"] > data["at"]

    row = CareAudit.objects.get(action=AuditAction.APPROVAL_APPROVED)
    assert row.user == nurse and row.detail["requested_by"] == "staff:3"
    assert row.detail["request_id"] == request_id and row.site == site

    # The kiosk says it acted: the hub's audit names the approver (its user) and the requester.
    used = {"request_id": request_id, "how": "online", "approver": f"hub_user:{nurse.pk}"}
    kiosk.push([event(2, "approval.used", {"subject": "machine", **used})])
    found.refresh_from_db()
    assert (found.state, found.used_how, found.used_by) == ("used", "online", nurse)
    row = CareAudit.objects.get(action=AuditAction.APPROVAL_USED)
    assert (row.user, row.detail["requested_by"], row.detail["how"]) == (nurse, "staff:3", "online")


@pytest.mark.django_db
def test_a_refusal_needs_a_reason_and_a_second_answer_is_refused(kiosk: Kiosk) -> None:
    nurse = _user("nurse", Role.NURSE, kiosk.machine.site)
    _request(kiosk)
    found = ApprovalRequest.objects.get()
    client = _signed_in(nurse)
    client.post(f"/approvals/{found.pk}/decide/", {"decision": "refuse", "reason": ""})
    found.refresh_from_db()
    assert found.state == "pending"
    client.post(f"/approvals/{found.pk}/decide/", {"decision": "refuse", "reason": "call me"})
    found.refresh_from_db()
    assert (found.state, found.reason) == ("refused", "call me")
    client.post(f"/approvals/{found.pk}/decide/", {"decision": "approve"})
    found.refresh_from_db()
    assert found.state == "refused"
    assert CareAudit.objects.filter(action=AuditAction.APPROVAL_REFUSED).count() == 1


@pytest.mark.django_db
def test_an_old_request_cannot_be_approved(kiosk: Kiosk) -> None:
    nurse = _user("nurse", Role.NURSE, kiosk.machine.site)
    _request(kiosk)
    found = ApprovalRequest.objects.get()
    found.requested_at -= ra.VALIDITY + timedelta(seconds=1)
    found.save()
    response = _signed_in(nurse).post(f"/approvals/{found.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.state == "pending"
    assert not _changes(kiosk, "approval_decision")


@pytest.mark.django_db
def test_the_site_policy_decides_who_sees_and_may_approve(kiosk: Kiosk) -> None:
    site = kiosk.machine.site
    prescriber = _user("prescriber", Role.PRESCRIBER, site)
    _request(kiosk)
    found = ApprovalRequest.objects.get()
    client = _signed_in(prescriber)
    page = client.get("/approvals/")
    assert page.status_code == 200 and b"staff:3" not in page.content  # not theirs to approve
    client.post(f"/approvals/{found.pk}/decide/", {"decision": "approve"})
    found.refresh_from_db()
    assert found.state == "pending"
    # The site lets prescribers clear door lockouts: now they may.
    RemoteApprovalRule(site=site, action="clear_door_lockout", roles=["prescriber"]).save()
    client.post(f"/approvals/{found.pk}/decide/", {"decision": "approve"})
    found.refresh_from_db()
    assert (found.state, found.decided_role) == ("approved", "prescriber")
    (policy,) = [c for c in _changes(kiosk, "setting") if c["key"] == "remote_approval"][-1:]
    assert policy["data"]["value"]["clear_door_lockout"] == ["prescriber"]


@pytest.mark.django_db
def test_roles_without_the_action_and_other_sites_get_403_and_404(kiosk: Kiosk) -> None:
    elsewhere = Site(name="Elsewhere")
    elsewhere.save()
    manager = _user("manager", Role.PROGRAM_MANAGER, None)
    viewer = _user("viewer", Role.VIEWER, None)
    for user in (manager, viewer):
        assert _signed_in(user).get("/approvals/").status_code == 403
        assert _signed_in(user).get("/approvals/phone/").status_code == 403
    _request(kiosk)
    found = ApprovalRequest.objects.get()
    other_nurse = _user("other", Role.NURSE, elsewhere)
    assert b"staff:3" not in _signed_in(other_nurse).get("/approvals/").content
    response = _signed_in(other_nurse).post(
        f"/approvals/{found.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_phone_code_is_what_the_kiosk_accepts_and_the_seed_reaches_the_site(
    kiosk: Kiosk,
) -> None:
    machine = kiosk.machine
    pharmacist = _user("pharm", Role.PHARMACIST, machine.site, "Sam", "Park")
    client = _signed_in(pharmacist)
    response = client.post(
        "/approvals/phone/",
        {"machine": machine.pk, "action": "release_hold", "challenge": "12345678"},
    )
    assert response.status_code == 200
    code = response.context["answer"]["code"].replace(" ", "")
    assert len(code) == 8 and code.isdigit()
    assert response.context["answer"]["synced"] is False  # the key is newer than the contact

    # Published when the membership was made (and again on later changes): the last one.
    seed_change = [c for c in _changes(kiosk, "approver_seed") if c["op"] == "upsert"][-1]
    data = seed_change["data"]
    assert (data["user_id"], data["role"], data["label"]) == (pharmacist.pk, "pharmacist", "Sam P.")
    assert "release_hold" in data["actions"] and "witness_dose" not in data["actions"]
    seed = ApproverSeed(
        data["user_id"],
        data["role"],
        data["label"],
        data["seed"],
        frozenset(ApprovalAction(a) for a in data["actions"]),
    )
    now = timezone.now()
    verdict = ra.verify_response(
        code,
        seeds=[seed],
        policy=approvals.site_policy(machine.site),
        machine_device_id=machine.device_id,
        action=ApprovalAction.RELEASE_HOLD,
        challenge="12345678",
        issued_at=now - timedelta(minutes=1),
        now=now,
        used=False,
    )
    assert verdict.verdict is Verdict.ACCEPTED
    row = CareAudit.objects.get(action=AuditAction.APPROVAL_CODE_GIVEN)
    assert row.user == pharmacist and row.detail["challenge"] == "12345678"
    assert data["seed"] not in str(row.detail) and "seed" not in row.detail

    # The sealed seed is not the seed.
    assert data["seed"] not in ApproverKey.objects.get(user=pharmacist).seed_sealed


@pytest.mark.django_db
def test_a_role_the_policy_does_not_name_gets_no_code(kiosk: Kiosk) -> None:
    machine = kiosk.machine
    nurse = _user("nurse", Role.NURSE, machine.site)
    response = _signed_in(nurse).post(
        "/approvals/phone/",
        {"machine": machine.pk, "action": "witness_dose", "challenge": "12345678"},
    )
    assert response.status_code == 200 and response.context["answer"] is None
    assert b"may not approve" in response.content
    bad = _signed_in(nurse).post(
        "/approvals/phone/",
        {"machine": machine.pk, "action": "clear_door_lockout", "challenge": "1"},
    )
    assert bad.context["answer"] is None


@pytest.mark.django_db
def test_a_clinician_who_leaves_the_site_has_their_seed_withdrawn(kiosk: Kiosk) -> None:
    machine = kiosk.machine
    nurse = _user("nurse", Role.NURSE, machine.site)
    approvals.publish_site(machine.site)  # (published when the membership was made, too)
    assert {c["op"] for c in _changes(kiosk, "approver_seed")} == {"upsert"}
    Membership.objects.filter(user=nurse).delete()
    ops = [c["op"] for c in _changes(kiosk, "approver_seed")]
    assert ops[-1] == "delete"
    # And a snapshot carries the policy and the seeds of those who remain.
    _user("pharm", Role.PHARMACIST, machine.site)
    approvals.publish_site(machine.site)
    snapshot = changelog.snapshot_for(machine)
    kinds = {(c["kind"], c["key"]) for c in snapshot["changes"]}
    assert ("setting", "remote_approval") in kinds
    assert {k for kind, k in kinds if kind == "approver_seed"} == {
        str(User.objects.get(username="pharm").pk)
    }


@pytest.mark.django_db
def test_unreadable_requests_are_ignored_never_a_500(kiosk: Kiosk) -> None:
    payloads = [
        {"request_id": "nope", "action": "clear_door_lockout", "challenge": "04815162"},
        {"request_id": str(uuid.uuid4()), "action": "open_everything", "challenge": "04815162"},
        {
            "request_id": str(uuid.uuid4()),
            "action": "clear_door_lockout",
            "challenge": "４８１５１６２２",
        },
        {"request_id": str(uuid.uuid4()), "action": "clear_door_lockout", "challenge": 4815162},
    ]
    events = [
        event(n + 1, "approval.requested", {"subject": "x", "requested_by": "staff:1", **p})
        for n, p in enumerate(payloads)
    ]
    events.append(event(9, "approval.used", {"request_id": "nope", "approver": "hub_user:x"}))
    response = kiosk.push(events)
    assert response.status_code == 200
    assert not ApprovalRequest.objects.exists()


@pytest.mark.django_db
def test_publish_approvers_gives_keys_before_they_are_needed(kiosk: Kiosk) -> None:
    from io import StringIO

    from django.core.management import call_command

    nurse = _user("nurse", Role.NURSE, kiosk.machine.site)
    _user("viewer", Role.VIEWER, kiosk.machine.site)
    call_command("publish_approvers", stdout=StringIO())
    assert list(ApproverKey.objects.values_list("user", flat=True)) == [nurse.pk]
    keys = [c["key"] for c in _changes(kiosk, "approver_seed") if c["op"] == "upsert"]
    assert set(keys) == {str(nurse.pk)}


@pytest.mark.django_db
def test_the_admin_sets_a_sites_rule_and_lists_requests(kiosk: Kiosk) -> None:
    site = kiosk.machine.site
    root = User.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    client.force_login(root)
    assert client.get("/admin/care/remoteapprovalrule/add/").status_code == 200
    response = client.post(
        "/admin/care/remoteapprovalrule/add/",
        {"site": site.pk, "action": "witness_dose", "roles": '["nurse"]'},
    )
    assert response.status_code == 302
    assert approvals.site_policy(site).allows_role(ApprovalAction.WITNESS_DOSE, "nurse")
    _request(kiosk)
    assert client.get("/admin/care/approvalrequest/").status_code == 200


@pytest.mark.django_db
def test_a_new_clinicians_seed_reaches_the_machines_when_the_membership_is_made(
    kiosk: Kiosk,
) -> None:
    """Offline, a code works only with a seed the kiosk synced before the outage: a new
    pharmacist's seed is published at once, not when someone first asks for a code."""
    pharmacist = _user("pharm", Role.PHARMACIST, kiosk.machine.site)
    _user("viewer", Role.VIEWER, kiosk.machine.site)
    keys = {c["key"] for c in _changes(kiosk, "approver_seed") if c["op"] == "upsert"}
    assert keys == {str(pharmacist.pk)}
    assert list(ApproverKey.objects.values_list("user", flat=True)) == [pharmacist.pk]


@pytest.mark.django_db
def test_a_clinicians_sign_in_republishes_nothing(kiosk: Kiosk) -> None:
    """A sign-in stamps last_login only; republishing every site then would flood the
    machines' change logs each time a clinician signs in."""
    pharmacist = _user("pharm", Role.PHARMACIST, kiosk.machine.site)
    before = ChangeLog.objects.count()
    client = Client()
    client.force_login(pharmacist)  # stamps last_login, as a sign-in does
    assert ChangeLog.objects.count() == before
    pharmacist.is_active = False
    pharmacist.save()  # a deactivation does republish: the seed leaves the machines
    assert ChangeLog.objects.count() > before
