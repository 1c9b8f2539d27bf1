"""What an on-call message says, by e-mail and by webhook (docs/ON-CALL.md).

Only: the alert's hub id and kind, the site, the machine (id and name), a subject that is an id
(``lane:2``), times, the step and links. Never the kiosk's free-text message, a participant's
name or code, or the recipient's name (the webhook names its recipient by contact id, role and
the phone number the gateway must text)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import zoneinfo
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from fleet.alert_kinds import SEVERITY, hub_kind
from fleet.models import Alert, Delivery, OnCallContact

# A subject travels only when it is a kind of id and a number ("lane:2", "prescription:14").
_SAFE_SUBJECT = re.compile(r"^(lane|vend|medication|prescription|event|campaign):\d{1,18}$")

SIGNATURE_HEADER = "X-Hub-Signature"
TIMESTAMP_HEADER = "X-Hub-Timestamp"
DELIVERY_HEADER = "X-Hub-Delivery"


def safe_subject(subject: str) -> str | None:
    return subject if _SAFE_SUBJECT.match(subject) else None


def lane_of(subject: str) -> int | None:
    head, _, tail = subject.partition(":")
    return int(tail) if head == "lane" and tail.isdigit() else None


def public_url(path: str) -> str:
    return settings.HUB_PUBLIC_URL.rstrip("/") + path


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(at: datetime, timezone: str) -> str:
    return at.astimezone(zoneinfo.ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def facts(alert: Alert) -> dict[str, Any]:
    """The alert as any message may carry it."""
    assert alert.machine is not None
    machine = alert.machine
    kind = hub_kind(alert.kind)
    subject = safe_subject(alert.subject)
    return {
        "alert": alert.pk,
        "kind": kind.value,
        "kind_text": str(kind.label),
        "severity": SEVERITY[kind].label,
        "site": {"id": machine.site_id, "name": machine.site.name},
        "machine": {"id": machine.pk, "name": machine.name},
        "subject": subject,
        "lane": lane_of(subject) if subject else None,
        "raised_at": _instant(alert.created_at),
        "alert_url": public_url("/alerts/"),
    }


def email(delivery: Delivery, ack_url: str | None) -> tuple[str, str]:
    """(subject line, body) of an e-mail."""
    alert = delivery.alert
    info = facts(alert)
    site = alert.machine.site if alert.machine else None
    zone = site.timezone if site else "UTC"
    where = f"{info['site']['name']} / {info['machine']['name']}"
    if delivery.purpose == Delivery.Purpose.BACK:
        back = alert.resolved_at or alert.created_at
        return (
            f"Machine back: {where}",
            "\n".join(
                [
                    f"The machine {where} (machine #{info['machine']['id']}) is in contact"
                    " with the hub again.",
                    f"Offline since: {_local(alert.created_at, zone)}",
                    f"Back at: {_local(back, zone)}",
                    f"Alerts: {info['alert_url']}",
                    "",
                    "Nothing to acknowledge.",
                ]
            ),
        )
    lines = [
        f"What: {info['kind_text']} ({info['severity']})",
        f"Site: {info['site']['name']}",
        f"Machine: {info['machine']['name']} (#{info['machine']['id']})",
    ]
    if info["subject"]:
        lines.append(f"About: {info['subject']}")
    lines += [
        f"Raised: {_local(alert.created_at, zone)}",
        f"Step {delivery.step + 1} of the site's on-call chain (hub alert #{alert.pk}).",
        "",
    ]
    if ack_url:
        lines += [
            "Acknowledge (stops the escalation; the link works once, for you only):",
            ack_url,
            "",
        ]
    lines.append(f"All open alerts (sign-in): {info['alert_url']}")
    return f"[{info['severity']}] {info['kind_text']}: {where}", "\n".join(lines)


def webhook_body(delivery: Delivery, recipient: OnCallContact | None, ack_url: str | None) -> bytes:
    alert = delivery.alert
    info = facts(alert)
    document = {
        "type": "machine_back" if delivery.purpose == Delivery.Purpose.BACK else "alert",
        **info,
        "step": delivery.step,
        "attempt": delivery.attempt,
        "back_at": _instant(alert.resolved_at)
        if delivery.purpose == Delivery.Purpose.BACK and alert.resolved_at
        else None,
        "to": None
        if recipient is None
        else {"contact": recipient.pk, "role": recipient.role, "phone": recipient.phone or None},
        "ack_url": ack_url,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>." + body, hex, prefixed "sha256=" (docs/ON-CALL.md)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signed: str) -> bool:
    """The receiver's check (as in docs/ON-CALL.md); used by the tests."""
    if not timestamp.isdigit():
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), signed)
