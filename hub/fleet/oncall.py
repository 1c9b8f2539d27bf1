"""On call: who is told about an alert, when, how, and how it stops (docs/ON-CALL.md).

``escalate(now)`` is the engine: run by ``manage.py run_escalations`` (deploy/
kiosk-hub-escalations.service) every 30 s. It is idempotent and safe on several hosts at once:
every alert it works on is taken with ``select_for_update(skip_locked=True)``, so two hosts
never take the same step; a delivery is claimed in a short transaction (SENDING, with a lease),
sent outside any transaction and its result recorded after, so no row lock is held while a mail
server or a gateway answers, and an engine that dies mid-send leaves it to be sent again once
the lease ends (at least once, never lost); the heartbeat pass runs on one host at a time (a
transaction-scoped advisory lock). Everything takes ``now`` as a parameter, so
tests run a night in a second (a compressed clock).

An alert escalates along its site's chain for its kind (``chain_for``): each step tells the
active on-call people of the step's role who are on duty at that moment, by e-mail and, when the
site has one, by the signed webhook; the next step comes after its minutes without an
acknowledgement. A step with nobody on duty passes straight to the next. Acknowledging (a link
or the hub's Alerts page) or resolving (the kiosk's ``alert.resolved``, a machine back) stops
it; pending deliveries are then cancelled. Every step is written to ``AlertLog``.
"""

from __future__ import annotations

import logging
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fleet import changelog, oncall_messages
from fleet.alert_kinds import DEFAULT_CHAINS, ChainRole, Step, hub_kind, step_tells
from fleet.models import (
    AckToken,
    Alert,
    AlertLog,
    Delivery,
    EscalationStep,
    Machine,
    OnCallContact,
    Site,
    SyncEntry,
    webhook_url_allowed,
)

log = logging.getLogger(__name__)

OFFLINE_KIND = "machine_offline"
ACK_SALT = "fleet.oncall.ack"
_HEARTBEAT_LOCK = 0x6F6E63616C6C  # "oncall"
LIVE = (Alert.Escalation.PENDING, Alert.Escalation.RUNNING)


@dataclass
class Summary:
    steps: int = 0
    sent: int = 0
    failed: int = 0
    offline: int = 0
    back: int = 0
    errors: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- chains


def chain_for(site: Site, kind: str) -> list[Step]:
    """The site's chain for a hub kind (fleet.alert_kinds.AlertKind value), or the default."""
    rows = EscalationStep.objects.filter(site=site, kind=kind).order_by("position")
    steps = [Step(ChainRole(r.role), r.after_minutes) for r in rows]
    return steps or list(DEFAULT_CHAINS[hub_kind(kind)])


def backoff(attempt: int) -> timedelta:
    """The wait before attempt ``attempt + 1``: 1, 2, 4, 8 ... minutes, capped."""
    minutes = settings.HUB_ONCALL_RETRY_FIRST_MINUTES * 2 ** (attempt - 1)
    return timedelta(minutes=min(minutes, settings.HUB_ONCALL_RETRY_MAX_MINUTES))


# ---------------------------------------------------------------- the engine


def escalate(now: datetime | None = None) -> Summary:
    now = now or timezone.now()
    summary = Summary()
    heartbeats(now, summary)
    due = (
        Alert.objects.filter(escalation__in=LIVE)
        .filter(Q(escalation=Alert.Escalation.PENDING) | Q(next_step_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for alert_id in list(due):
        with transaction.atomic():
            alert = (
                Alert.objects.select_for_update(skip_locked=True)
                .filter(pk=alert_id, escalation__in=LIVE)
                .first()
            )
            if alert is not None:
                _take_steps(alert, now, summary)
    # Due: pending ones, and those an engine claimed and never recorded (it died mid-send)
    # once their lease has run out.
    sendable = Q(status=Delivery.Status.PENDING, due_at__lte=now) | Q(
        status=Delivery.Status.SENDING, lease_until__lte=now
    )
    for delivery_id in list(
        Delivery.objects.filter(sendable).order_by("due_at", "pk").values_list("pk", flat=True)
    ):
        delivery = _claim(delivery_id, sendable, now)
        if delivery is not None:
            _attempt(delivery, now, summary)
    return summary


def _take_steps(alert: Alert, now: datetime, summary: Summary) -> None:
    """Take the alert's due step (and the next ones at once while nobody is on duty)."""
    if alert.machine_id is None:
        alert.escalation = Alert.Escalation.NONE
        alert.save(update_fields=["escalation"])
        return
    if not alert.is_open:
        _stop(alert)
        return
    machine = Machine.objects.select_related("site").get(pk=alert.machine_id)
    chain = chain_for(machine.site, hub_kind(alert.kind).value)
    while alert.steps_taken < len(chain):
        index = alert.steps_taken
        step = chain[index]
        contacts = [
            c
            for c in OnCallContact.objects.filter(site=machine.site, active=True)
            .select_related("user", "site")
            .order_by("pk")
            if step_tells(step.role, c.role) and c.on_duty(now)
        ]
        what = AlertLog.What.ESCALATED if index else AlertLog.What.RAISED
        AlertLog.objects.create(
            alert=alert, at=now, what=what, step=index, detail={"role": step.role.value}
        )
        for contact in contacts:
            if contact.email:
                Delivery.objects.create(
                    alert=alert, step=index, recipient=contact, channel="email", due_at=now
                )
            if machine.site.webhook_url:
                Delivery.objects.create(
                    alert=alert, step=index, recipient=contact, channel="webhook", due_at=now
                )
        alert.steps_taken = index + 1
        summary.steps += 1
        if not contacts:
            AlertLog.objects.create(
                alert=alert, at=now, what=AlertLog.What.NOBODY, step=index,
                detail={"role": step.role.value},
            )  # fmt: skip
            continue  # nobody to wait for: the next step now
        break
    if alert.steps_taken < len(chain):
        alert.escalation = Alert.Escalation.RUNNING
        alert.next_step_at = now + timedelta(minutes=chain[alert.steps_taken].after_minutes)
    else:
        alert.escalation = Alert.Escalation.DONE
        alert.next_step_at = None
    alert.save(update_fields=["escalation", "steps_taken", "next_step_at"])


def _stop(alert: Alert) -> None:
    if alert.escalation in LIVE:
        alert.escalation = Alert.Escalation.STOPPED
        alert.next_step_at = None
        alert.save(update_fields=["escalation", "next_step_at"])
    Delivery.objects.filter(
        alert=alert, status=Delivery.Status.PENDING, purpose=Delivery.Purpose.ALERT
    ).update(status=Delivery.Status.CANCELLED)


# ---------------------------------------------------------------- sending


def lease() -> timedelta:
    """How long a claimed delivery is an engine's: longer than any send can take."""
    return timedelta(seconds=settings.HUB_ONCALL_LEASE_SECONDS)


def _claim(delivery_id: int, due: Q, now: datetime) -> Delivery | None:
    """Take one due delivery for this engine in a short transaction (SENDING until the
    lease ends), so that the row is not locked while a mail server or a gateway answers.
    None when another engine has it, or it is no longer to be sent (cancelled here)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("alert__machine__site", "recipient")
            .filter(due, pk=delivery_id)
            .first()
        )
        if delivery is None:
            return None
        if delivery.purpose == Delivery.Purpose.ALERT and not delivery.alert.is_open:
            delivery.status = Delivery.Status.CANCELLED
            delivery.lease_until = None
            delivery.save(update_fields=["status", "lease_until"])
            return None
        delivery.status = Delivery.Status.SENDING
        delivery.lease_until = now + lease()
        delivery.at = now
        delivery.save(update_fields=["status", "lease_until", "at"])
        return delivery


def _attempt(delivery: Delivery, now: datetime, summary: Summary) -> None:
    """Send a claimed delivery (no transaction, no lock held), then record what happened."""
    alert = delivery.alert
    recipient = delivery.recipient
    ack_url = None
    if delivery.purpose == Delivery.Purpose.ALERT and recipient is not None:
        ack_url = oncall_messages.public_url(f"/ack/{ack_token(alert, recipient, now)}/")
    error = None
    try:
        if delivery.channel == Delivery.Channel.EMAIL:
            _send_email(delivery, recipient, ack_url)
        else:
            _send_webhook(delivery, recipient, ack_url)
    except Exception as exc:  # any failure is recorded and retried
        error = _safe_error(exc)
    with transaction.atomic():
        recorded = Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.SENDING, lease_until=delivery.lease_until
        ).update(
            status=Delivery.Status.SENT if error is None else Delivery.Status.FAILED,
            error=error or "",
            lease_until=None,
        )
        if not recorded:
            # The lease ran out and another engine took it over: its record stands.
            log.warning("alert %s: delivery %s outlived its lease", alert.pk, delivery.pk)
            return
        if error is None:
            summary.sent += 1
            AlertLog.objects.create(
                alert=alert,
                at=now,
                what=AlertLog.What.SENT,
                step=delivery.step,
                recipient=recipient,
                detail={
                    "delivery": delivery.pk, "channel": delivery.channel,
                    "purpose": delivery.purpose,
                },
            )  # fmt: skip
            write_notice(alert)
        else:
            _failed(delivery, error, now, summary)


def _failed(delivery: Delivery, error: str, now: datetime, summary: Summary) -> None:
    alert, recipient = delivery.alert, delivery.recipient
    summary.failed += 1
    last = delivery.attempt >= settings.HUB_ONCALL_MAX_ATTEMPTS
    AlertLog.objects.create(
        alert=alert,
        at=now,
        what=AlertLog.What.GAVE_UP if last else AlertLog.What.FAILED,
        step=delivery.step,
        recipient=recipient,
        detail={"delivery": delivery.pk, "channel": delivery.channel, "error": error},
    )
    log.warning(
        "alert %s: %s delivery %s attempt %d failed: %s",
        alert.pk, delivery.channel, delivery.pk, delivery.attempt, error,
    )  # fmt: skip
    if not last:
        Delivery.objects.create(
            alert=alert,
            step=delivery.step,
            recipient=recipient,
            channel=delivery.channel,
            purpose=delivery.purpose,
            attempt=delivery.attempt + 1,
            due_at=now + backoff(delivery.attempt),
        )


def _safe_error(exc: Exception) -> str:
    """What went wrong, without an address or a server's words (they may name a person)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return type(exc).__name__[:200]


def _send_email(delivery: Delivery, recipient: OnCallContact | None, ack_url: str | None) -> None:
    if recipient is None or not recipient.email:
        raise LookupError("no e-mail address")
    subject, body = oncall_messages.email(delivery, ack_url)
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email]).send()


def _send_webhook(delivery: Delivery, recipient: OnCallContact | None, ack_url: str | None) -> None:
    site = delivery.alert.machine.site  # type: ignore[union-attr]
    if not site.webhook_url:
        raise LookupError("no webhook URL")
    if not webhook_url_allowed(site.webhook_url):  # set before the rule, or not by the form
        raise ValueError("webhook URL is not https")
    body = oncall_messages.webhook_body(delivery, recipient, ack_url)
    stamp = int(time.time())
    request = urllib.request.Request(
        site.webhook_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "safer-supply-hub",
            oncall_messages.TIMESTAMP_HEADER: str(stamp),
            oncall_messages.SIGNATURE_HEADER: oncall_messages.signature(
                site.webhook_secret(), stamp, body
            ),
            oncall_messages.DELIVERY_HEADER: str(delivery.pk),
        },
    )
    with urllib.request.urlopen(request, timeout=settings.HUB_ONCALL_WEBHOOK_TIMEOUT) as response:
        response.read(1024)


# ---------------------------------------------------------------- acknowledging


class Refused(Exception):
    """An acknowledgement link that does not work: ``reason`` is tampered, expired or used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ack_token(alert: Alert, recipient: OnCallContact, now: datetime) -> str:
    """A link's token for one recipient of one alert: signed (django.core.signing, salted),
    backed by a single-use row. One per recipient and alert while unused and unexpired."""
    row = (
        AckToken.objects.filter(alert=alert, recipient=recipient, used_at=None, expires_at__gt=now)
        .order_by("-pk")
        .first()
    )
    if row is None:
        row = AckToken.objects.create(
            alert=alert,
            recipient=recipient,
            created_at=now,
            expires_at=now + timedelta(hours=settings.HUB_ONCALL_ACK_HOURS),
        )
    return signing.dumps({"a": alert.pk, "n": row.nonce}, salt=ACK_SALT)


def read_token(token: str, now: datetime | None = None) -> AckToken:
    """The token's row, or Refused. Does not use it."""
    now = now or timezone.now()
    try:
        value = signing.loads(
            token, salt=ACK_SALT, max_age=timedelta(hours=settings.HUB_ONCALL_ACK_HOURS)
        )
    except signing.SignatureExpired:
        raise Refused("expired") from None
    except signing.BadSignature:
        raise Refused("tampered") from None
    if not isinstance(value, dict) or not isinstance(value.get("n"), str):
        raise Refused("tampered")
    row = (
        AckToken.objects.select_related("alert__machine__site", "recipient__user")
        .filter(nonce=value["n"], alert_id=value.get("a"))
        .first()
    )
    if row is None:
        raise Refused("tampered")
    if row.used_at is not None:
        raise Refused("used")
    if row.expires_at <= now:
        raise Refused("expired")
    return row


def acknowledge_with_token(token: str, now: datetime | None = None) -> Alert:
    """Use a link's token (a POST): acknowledges as its recipient. Refused when tampered,
    expired or used already (single use, checked again under the row's lock)."""
    now = now or timezone.now()
    with transaction.atomic():
        row = read_token(token, now)
        locked = AckToken.objects.select_for_update().get(pk=row.pk)
        if locked.used_at is not None:
            raise Refused("used")
        locked.used_at = now
        locked.save(update_fields=["used_at"])
        acknowledge(row.alert, now, contact=row.recipient, via="link")
        return row.alert


def log_refused(token: str, reason: str) -> None:
    """An audit row for a refused link, when its alert can be told (a valid signature)."""
    try:
        value = signing.loads(token, salt=ACK_SALT)
    except signing.BadSignature:
        return
    alert = Alert.objects.filter(pk=value.get("a") if isinstance(value, dict) else None).first()
    if alert is not None:
        AlertLog.objects.create(alert=alert, what=AlertLog.What.ACK_REFUSED, detail={"why": reason})


def acknowledge(
    alert: Alert,
    now: datetime,
    *,
    contact: OnCallContact | None = None,
    user: Any = None,
    role: str = "",
    label: str = "",
    via: str,
) -> bool:
    """Acknowledge an alert (stops its escalation). False when it was acknowledged already."""
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged:
            return False
        locked.acknowledged = True
        locked.acknowledged_at = now
        locked.acknowledged_by = contact
        locked.acknowledged_by_user = user
        locked.save(
            update_fields=[
                "acknowledged", "acknowledged_at", "acknowledged_by", "acknowledged_by_user"
            ]
        )  # fmt: skip
        _stop(locked)
        AlertLog.objects.create(
            alert=locked,
            at=now,
            what=AlertLog.What.ACKNOWLEDGED,
            recipient=contact,
            user=user,
            detail={"via": via, **({"role": role} if role else {})},
        )
        write_notice(locked, ack_role=role, ack_label=label)
    alert.refresh_from_db()
    return True


def resolve(alert: Alert, now: datetime, why: str) -> None:
    """The cause cleared (the kiosk resolved it, the machine is back): stop escalating."""
    if alert.resolved_at is not None:
        return
    alert.resolved_at = now
    alert.save(update_fields=["resolved_at"])
    _stop(alert)
    AlertLog.objects.create(alert=alert, at=now, what=AlertLog.What.RESOLVED, detail={"why": why})


# ---------------------------------------------------------------- what the kiosk is told


def notice(alert: Alert, ack_role: str = "", ack_label: str = "") -> dict[str, Any]:
    """The ``alert_notice`` record (docs/SYNC.md): who has been told, who acknowledged."""
    told = []
    seen: set[tuple[int | None, str]] = set()
    sent = (
        Delivery.objects.filter(
            alert=alert, status=Delivery.Status.SENT, purpose=Delivery.Purpose.ALERT
        )
        .select_related("recipient__user")
        .order_by("at", "pk")
    )
    for delivery in sent:
        key = (delivery.recipient_id, delivery.channel)
        if key in seen or delivery.recipient is None or delivery.at is None:
            continue
        seen.add(key)
        told.append(
            {
                "role": delivery.recipient.role,
                "label": delivery.recipient.label,
                "channel": delivery.channel,
                "at": oncall_messages._instant(delivery.at),
            }
        )
    acknowledged = None
    if alert.acknowledged and alert.acknowledged_at is not None:
        if not (ack_role or ack_label):
            ack_role, ack_label = _acknowledger(alert)
        acknowledged = {
            "role": ack_role,
            "label": ack_label,
            "at": oncall_messages._instant(alert.acknowledged_at),
        }
    return {
        "kiosk_alert_id": alert.kiosk_alert_id,
        "kind": hub_kind(alert.kind).value,
        "machine_alert": alert.kind.startswith("kiosk:"),
        "told": told,
        "acknowledged": acknowledged,
    }


def _acknowledger(alert: Alert) -> tuple[str, str]:
    """(role, label) of who acknowledged, from what was stored (a snapshot's notice): the
    roster person, or the hub user (the role the page recorded, "First L.")."""
    contact = alert.acknowledged_by
    if contact is not None:
        return contact.role, contact.label
    logged = (
        AlertLog.objects.filter(alert=alert, what=AlertLog.What.ACKNOWLEDGED)
        .order_by("-pk")
        .values_list("detail", flat=True)
        .first()
    )
    role = str(logged.get("role", "")) if isinstance(logged, dict) else ""
    user = alert.acknowledged_by_user
    first, last = (user.first_name, user.last_name) if user is not None else ("", "")
    label = f"{first} {last[:1]}.".strip() if first and last else (first or "")
    return role, label


def write_notice(alert: Alert, ack_role: str = "", ack_label: str = "") -> None:
    if alert.machine_id is None:
        return
    site_id = Machine.objects.values_list("site_id", flat=True).get(pk=alert.machine_id)
    data = notice(alert, ack_role, ack_label)
    changelog.record_upserts(
        [SyncEntry("alert_notice", str(alert.pk), data, site_id, alert.machine_id)]
    )


# Resolved alerts older than this are left out of a snapshot (open ones are always in it).
SNAPSHOT_NOTICE_DAYS = 31


def snapshot_entries(machine: Machine) -> list[SyncEntry]:
    """The ``alert_notice`` records a machine's snapshot carries (fleet.changelog
    SNAPSHOT_SOURCES): every alert of the machine someone was told of or acknowledged, open or
    resolved in the last days. Without them a snapshot would delete the kiosk's notices."""
    since = timezone.now() - timedelta(days=SNAPSHOT_NOTICE_DAYS)
    told = Delivery.objects.filter(
        status=Delivery.Status.SENT, purpose=Delivery.Purpose.ALERT
    ).values("alert_id")
    alerts = (
        Alert.objects.filter(machine=machine)
        .filter(Q(pk__in=told) | Q(acknowledged=True))
        .filter(Q(resolved_at=None) | Q(resolved_at__gte=since))
        .select_related("acknowledged_by", "acknowledged_by_user")
        .order_by("pk")
    )
    return [
        SyncEntry("alert_notice", str(alert.pk), notice(alert), machine.site_id, machine.pk)
        for alert in alerts
    ]


# ---------------------------------------------------------------- heartbeats


def heartbeats(now: datetime, summary: Summary | None = None) -> None:
    """Raise "machine offline" for a machine silent past its site's ``offline_after_minutes``;
    resolve it when the machine is heard again and tell the people the alert reached."""
    summary = summary or Summary()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_HEARTBEAT_LOCK])
                if not cursor.fetchone()[0]:
                    return  # another host is at it
        open_offline = {
            a.machine_id: a
            for a in Alert.objects.filter(
                kind=OFFLINE_KIND, resolved_at=None, machine__isnull=False
            )
        }
        machines = Machine.objects.filter(revoked=False, last_contact__isnull=False).select_related(
            "site"
        )
        for machine in machines:
            assert machine.last_contact is not None
            silent = now - machine.last_contact > timedelta(
                minutes=machine.site.offline_after_minutes
            )
            alert = open_offline.get(machine.pk)
            if silent and alert is None:
                _raise_offline(machine, now)
                summary.offline += 1
            elif not silent and alert is not None and machine.last_contact > alert.created_at:
                _back(alert, now)
                summary.back += 1


def _raise_offline(machine: Machine, now: datetime) -> None:
    assert machine.last_contact is not None
    minutes = int((now - machine.last_contact).total_seconds() // 60)
    alert = Alert.objects.create(
        machine=machine,
        kind=OFFLINE_KIND,
        message=f"no contact for {minutes} min (offline after"
        f" {machine.site.offline_after_minutes} min)",
        created_at=now,
    )
    log.warning("machine %s: offline (silent %d min)", machine.pk, minutes)
    AlertLog.objects.create(alert=alert, at=now, what=AlertLog.What.RAISED, detail={})


def _back(alert: Alert, now: datetime) -> None:
    resolve(alert, now, "machine back")
    AlertLog.objects.create(alert=alert, at=now, what=AlertLog.What.BACK, detail={})
    told = (
        Delivery.objects.filter(
            alert=alert, status=Delivery.Status.SENT, purpose=Delivery.Purpose.ALERT
        )
        .values_list("recipient_id", "channel")
        .distinct()
    )
    for recipient_id, channel in sorted(set(told), key=lambda t: (t[0] or 0, t[1])):
        Delivery.objects.create(
            alert=alert,
            step=0,
            recipient_id=recipient_id,
            channel=channel,
            purpose=Delivery.Purpose.BACK,
            due_at=now,
        )
    log.info("machine %s: back", alert.machine_id)
