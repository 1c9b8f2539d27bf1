"""Remote approval of privileged kiosk actions, the hub's side (issue 15, item 5).

A kiosk pushes ``approval.requested`` (request id, action, subject, requester ``staff:<id>``,
an 8-digit challenge); ``learn`` makes an ``ApprovalRequest`` of it. An on-call clinician whose
role the site's policy names for that action approves or refuses it on ``/approvals/``
(``decide``): the decision goes back as an ``approval_decision`` record in the machine's change
log, valid ``DECISION_VALID``. Offline, the clinician types the challenge the kiosk shows into
"Approve by phone" and reads back the response (``code_for``), computed with the kiosk's own
function (kiosk/domain/remote_approval.py) from their seed. The kiosk pushes ``approval.used``
(how, approver) once it acted; the audit then has both names (the requester's kiosk staff id
and the approver's user).

A clinician may also enrol an authenticator app (care/authenticator.py): its confirmed seed
rides in their ``approver_seed`` record as ``totp``, and the kiosk accepts the app's 6-digit
code for a pending request (kiosk/domain/app_codes.py), ``how`` "app".

The site's policy (``RemoteApprovalRule`` rows over the default, and whether app codes are
accepted: ``SiteApprovalSettings``) travels to its machines as
the setting ``remote_approval``; each clinician allowed at a site has their seed (sealed here,
``ApproverKey``) on the site's machines as an ``approver_seed`` record. Both are republished
when a rule or a membership changes (``publish_site``) and are in every snapshot.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from fleet import changelog, sealing
from fleet.models import Event, Machine, Site, SyncEntry

from care import audit
from care.models import (
    ApprovalRequest,
    ApproverKey,
    AuditAction,
    AuthenticatorKey,
    Membership,
    RemoteApprovalRule,
    SiteApprovalSettings,
)
from care.roles import Role
from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction, ApprovalPolicy

log = logging.getLogger("care.approvals")

DECISION_VALID = ra.VALIDITY  # the kiosk acts on an approval within 10 minutes or not at all
POLICY_SETTING = "remote_approval"
# Which roles count, best first, when a clinician holds several at a site.
APPROVER_ORDER = (Role.PHARMACIST, Role.NURSE, Role.PRESCRIBER)


class NotApproved(Exception):
    """The decision or code cannot be given; the text is for the person."""


# ---------------------------------------------------------------- policy


def site_policy(site: Site | int) -> ApprovalPolicy:
    site_id = site.pk if isinstance(site, Site) else site
    roles = dict(ra.DEFAULT_POLICY)
    for rule in RemoteApprovalRule.objects.filter(site_id=site_id):
        try:
            action = ApprovalAction(rule.action)
        except ValueError:
            continue
        listed = rule.roles if isinstance(rule.roles, list) else []
        roles[action] = tuple(r for r in listed if r in ra.APPROVER_ROLES)
    options = SiteApprovalSettings.objects.filter(site_id=site_id).first()
    return ApprovalPolicy(roles, app_codes=True if options is None else options.app_codes)


def roles_at(user: Any, site_id: int) -> set[str]:
    return set(
        Membership.objects.filter(user=user, user__is_active=True)
        .filter(models_q_site(site_id))
        .values_list("role", flat=True)
    )


def models_q_site(site_id: int) -> Any:
    from django.db.models import Q

    return Q(site_id=site_id) | Q(site__isnull=True)


def approving_role(user: Any, site_id: int, action: ApprovalAction) -> str | None:
    """The role by which ``user`` may approve ``action`` at the site, or None."""
    held = roles_at(user, site_id)
    policy = site_policy(site_id)
    for role in APPROVER_ORDER:
        if role.value in held and policy.allows_role(action, role.value):
            return role.value
    return None


def label(user: Any) -> str:
    """First name and initial ("Maria L."); the user name when the account has no name."""
    first = (user.first_name or "").strip()
    last = (user.last_name or "").strip()
    if first:
        return f"{first} {last[0]}." if last else first
    return str(user.get_username())


# ---------------------------------------------------------------- seeds


def _wrap_keys() -> list[str]:
    return [settings.HUB_SECRET_WRAP_KEY, *settings.HUB_SECRET_WRAP_KEY_FALLBACKS]


def seed_of(user: Any, *, create: bool) -> str | None:
    key = ApproverKey.objects.filter(user=user).first()
    if key is None:
        if not create:
            return None
        seed = ra.new_seed()
        ApproverKey.objects.create(
            user=user, seed_sealed=sealing.seal(seed, settings.HUB_SECRET_WRAP_KEY)
        )
        return seed
    return sealing.unseal_any(key.seed_sealed, _wrap_keys())


def app_seed_of(user: Any) -> str | None:
    """The clinician's confirmed authenticator-app seed (care/authenticator.py), or None."""
    key = AuthenticatorKey.objects.filter(user=user, confirmed_at__isnull=False).first()
    return None if key is None else sealing.unseal_any(key.seed_sealed, _wrap_keys())


def _approvers(site: Site) -> list[tuple[Any, str, list[str]]]:
    """(user, role, actions) of everyone who may approve something at ``site``: the role
    that allows the most actions (a kiosk checks the seed's role against the policy)."""
    policy = site_policy(site)
    users = (
        get_user_model()
        .objects.filter(
            is_active=True, care_memberships__in=Membership.objects.filter(models_q_site(site.pk))
        )
        .distinct()
    )
    found = []
    for user in users.order_by("pk"):
        held = roles_at(user, site.pk)
        best: tuple[str, list[str]] | None = None
        for role in APPROVER_ORDER:
            if role.value not in held:
                continue
            actions = [a.value for a in ApprovalAction if policy.allows_role(a, role.value)]
            if actions and (best is None or len(actions) > len(best[1])):
                best = (role.value, actions)
        if best is not None:
            found.append((user, best[0], best[1]))
    return found


def _seed_entries(site: Site, *, create: bool) -> list[SyncEntry]:
    entries = []
    for user, role, actions in _approvers(site):
        seed = seed_of(user, create=create)
        if seed is None:
            continue
        data = {
            "user_id": user.pk,
            "role": role,
            "label": label(user),
            "seed": seed,
            "totp": app_seed_of(user),  # null: no confirmed authenticator app
            "actions": actions,
            "sites": [site.pk],
        }
        entries.append(SyncEntry("approver_seed", str(user.pk), data, site.pk, None))
    return entries


def _policy_entry(site: Site) -> SyncEntry:
    value = site_policy(site).as_wire()
    return SyncEntry("setting", POLICY_SETTING, {"value": value}, site.pk, None)


def publish_site(site: Site) -> None:
    """Tell the site's machines its policy and its approvers' seeds (creating the seeds of
    new approvers); a clinician no longer allowed there gets a tombstone."""
    with transaction.atomic():
        seeds = _seed_entries(site, create=True)
        rows: list[tuple[str, SyncEntry]] = [("upsert", _policy_entry(site))]
        rows += [("upsert", e) for e in seeds]
        current = {e.key for e in seeds}
        gone = ApproverKey.objects.exclude(user_id__in=[int(k) for k in current])
        for key in gone.order_by("user_id"):
            rows.append(("delete", SyncEntry("approver_seed", str(key.user_id), {}, site.pk, None)))
        changelog.publish(rows)


def publish_user(user_id: int) -> None:
    """A clinician with a key changed (a membership, deactivated): republish every site, so
    that a seed leaves the machines of a site where they may no longer approve."""
    if not ApproverKey.objects.filter(user_id=user_id).exists():
        return
    for site in Site.objects.all().order_by("pk"):
        publish_site(site)


def _membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    """A clinician with a key: every site is republished. A new one: their site's machines
    get their seed now (offline, a code only works with a seed synced before the outage)."""
    with transaction.atomic():
        if ApproverKey.objects.filter(user_id=instance.user_id).exists():
            publish_user(instance.user_id)
        elif kwargs.get("created"):
            # A membership without a site holds at every site.
            sites = [instance.site] if instance.site_id else Site.objects.order_by("pk")
            for site in sites:
                publish_site(site)


def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A clinician's account changed (deactivated, renamed: the label): republish. A sign-in
    only stamps ``last_login``, which changes nothing the machines hold."""
    updated = kwargs.get("update_fields")
    if kwargs.get("created") or (updated is not None and set(updated) <= {"last_login"}):
        return
    with transaction.atomic():
        publish_user(instance.pk)


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_membership_changed, sender=Membership, dispatch_uid="care.approvals.m+")
    post_delete.connect(_membership_changed, sender=Membership, dispatch_uid="care.approvals.m-")
    post_save.connect(_user_changed, sender=get_user_model(), dispatch_uid="care.approvals.u")


def snapshot_entries(machine: Machine) -> list[SyncEntry]:
    """What a machine's snapshot carries (fleet.changelog.SNAPSHOT_SOURCES)."""
    return [_policy_entry(machine.site), *_seed_entries(machine.site, create=False)]


# ---------------------------------------------------------------- from the kiosk


def _text(payload: dict[str, Any], name: str, limit: int) -> str | None:
    value = payload.get(name)
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    return None


def learn(machine: Machine, events: list[Event]) -> None:
    """The approval events of a push (fleet.ingest.LEARNERS), in its transaction."""
    for event in events:
        if event.type == "approval.requested":
            _requested(machine, event)
        elif event.type == "approval.used":
            _used(machine, event)
        elif event.type == "approval.withdrawn":
            _withdrawn(machine, event)


def _request_id(payload: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(payload.get("request_id")))
    except ValueError:
        return None


def _requested(machine: Machine, event: Event) -> None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    request_id = _request_id(payload)
    action = _text(payload, "action", 32)
    challenge = _text(payload, "challenge", 8)
    subject = _text(payload, "subject", 200)
    requested_by = _text(payload, "requested_by", 64)
    known = {a.value for a in ApprovalAction}
    if (
        request_id is None
        or action not in known
        or challenge is None
        or not (challenge.isascii() and challenge.isdigit() and len(challenge) == 8)
        or subject is None
        or requested_by is None
    ):
        log.warning("machine %d: approval.requested #%d unreadable, ignored", machine.pk, event.seq)
        return
    ApprovalRequest.objects.get_or_create(
        request_id=request_id,
        defaults={
            "machine": machine,
            "action": action,
            "subject": subject,
            "requested_by": requested_by,
            "challenge": challenge,
            "requested_at": event.created_at,
        },
    )


def _used(machine: Machine, event: Event) -> None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    request_id = _request_id(payload)
    found = (
        ApprovalRequest.objects.select_for_update()
        .filter(machine=machine, request_id=request_id)
        .first()
        if request_id
        else None
    )
    if found is None:
        log.warning("machine %d: approval.used #%d for no request here", machine.pk, event.seq)
        return
    if found.state == ApprovalRequest.State.USED:
        return  # a request is used once; a later event about it changes nothing
    approver = None
    ref = _text(payload, "approver", 64) or ""
    kind, _sep, number = ref.partition(":")
    if kind == "hub_user" and number.isascii() and number.isdigit():
        approver = get_user_model().objects.filter(pk=int(number)).first()
    how = str(payload.get("how"))
    how = how if how in ("offline", "app") else "online"
    found.state = ApprovalRequest.State.USED
    found.used_at = event.created_at
    found.used_how = how
    found.used_by = approver
    found.save()
    if approver is not None:
        # Both names: the approver (the row's user) and the requester (a kiosk staff id).
        audit.record(
            approver,
            AuditAction.APPROVAL_USED,
            obj=found,
            site=machine.site,
            request_id=str(found.request_id),
            how=how,
            requested_by=found.requested_by,
            machine=machine.pk,
            approval_action=found.action,
        )


def _withdrawn(machine: Machine, event: Event) -> None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    request_id = _request_id(payload)
    if request_id is None:
        return
    found = ApprovalRequest.objects.filter(
        machine=machine, request_id=request_id, state=ApprovalRequest.State.PENDING
    ).first()
    if found is not None:
        found.state = ApprovalRequest.State.WITHDRAWN
        found.save()


# ---------------------------------------------------------------- the clinician


def open_until(found: ApprovalRequest) -> datetime:
    """A request can be decided until its challenge expires on the kiosk."""
    return found.requested_at + ra.VALIDITY


def decide(
    request: Any, pk: int, approved: bool, reason: str, at: datetime | None = None
) -> ApprovalRequest:
    """Approve or refuse a waiting request (raises ``NotApproved`` with a sentence)."""
    user = request.user
    at = at or timezone.now()
    with transaction.atomic():
        found = (
            ApprovalRequest.objects.select_for_update().select_related("machine__site").get(pk=pk)
        )
        site = found.machine.site
        role = approving_role(user, site.pk, ApprovalAction(found.action))
        if role is None:
            raise NotApproved("Your role may not approve this action at this site.")
        if found.state != ApprovalRequest.State.PENDING:
            raise NotApproved("Someone already answered this request, or the machine withdrew it.")
        if at > open_until(found):
            raise NotApproved("This request is more than 10 minutes old. Ask them to ask again.")
        if not approved and not reason.strip():
            raise NotApproved("Say why you refuse, so the person at the machine knows what to do.")
        found.state = ApprovalRequest.State.APPROVED if approved else ApprovalRequest.State.REFUSED
        found.decided_by = user
        found.decided_role = role
        found.decided_at = at
        found.expires_at = at + DECISION_VALID
        found.reason = reason.strip()
        found.save()
        data = {
            "request_id": str(found.request_id),
            "decision": "approved" if approved else "refused",
            "approver": {"id": user.pk, "role": role, "label": label(user)},
            "reason": found.reason,
            "at": at.isoformat(),
            "expires_at": found.expires_at.isoformat(),
        }
        entry = SyncEntry(
            "approval_decision", str(found.request_id), data, site.pk, found.machine_id
        )
        changelog.publish([("upsert", entry)])
        audit.record(
            request,
            AuditAction.APPROVAL_APPROVED if approved else AuditAction.APPROVAL_REFUSED,
            obj=found,
            site=site,
            reason=found.reason,
            request_id=str(found.request_id),
            requested_by=found.requested_by,
            machine=found.machine_id,
            approval_action=found.action,
            role=role,
        )
    return found


def code_for(
    request: Any,
    machine: Machine,
    action: ApprovalAction,
    challenge: str,
    at: datetime | None = None,
) -> tuple[str, bool]:
    """The response to read back for a challenge, and whether the machine has synced since
    the clinician's key was made (if not, the code cannot work there yet)."""
    user = request.user
    at = at or timezone.now()
    role = approving_role(user, machine.site_id, action)
    if role is None:
        raise NotApproved("Your role may not approve this action at this site.")
    with transaction.atomic():
        seed = seed_of(user, create=False)
        if seed is None:
            publish_site(machine.site)  # makes the key and sends it to the site's machines
            seed = seed_of(user, create=False)
        assert seed is not None
        key = ApproverKey.objects.get(user=user)
        code = ra.response_code(seed, machine.device_id, action, challenge, ra.time_step(at))
        pending = ApprovalRequest.objects.filter(
            machine=machine, challenge=challenge, action=action.value
        ).first()
        audit.record(
            request,
            AuditAction.APPROVAL_CODE_GIVEN,
            obj=machine,
            machine=machine.pk,
            approval_action=action.value,
            challenge=challenge,
            request_id=str(pending.request_id) if pending else None,
            role=role,
        )
    synced = machine.last_contact is not None and machine.last_contact > key.created_at
    return code, synced


def open_requests(sites: Any, at: datetime | None = None) -> list[ApprovalRequest]:
    at = at or timezone.now()
    rows = ApprovalRequest.objects.filter(
        machine__site__in=sites,
        state=ApprovalRequest.State.PENDING,
        requested_at__gt=at - ra.VALIDITY,
    ).select_related("machine__site")
    return list(rows.order_by("requested_at"))


def recent_requests(sites: Any, at: datetime | None = None) -> list[ApprovalRequest]:
    at = at or timezone.now()
    rows = ApprovalRequest.objects.filter(
        machine__site__in=sites, requested_at__gt=at - timedelta(days=1)
    ).exclude(state=ApprovalRequest.State.PENDING, requested_at__gt=at - ra.VALIDITY)
    return list(rows.select_related("machine__site", "decided_by").order_by("-requested_at")[:50])
