"""Checking a signed kiosk request (docs/SYNC.md, "Authentication").

Order: headers well formed, device known and provisioned, signature (so nothing below is told
to a caller who cannot sign as the device), clock skew, nonce reuse, revocation. A request that
passes all of them updates the machine's last contact, and the software version the kiosk
names in ``X-Kiosk-Version`` (informational, outside the signature; kept only when it looks like
a version, for the care team's fleet page).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from fleet import sealing, signing
from fleet.models import Machine, Nonce

log = logging.getLogger("fleet.auth")

_NONCE = re.compile(r"^[0-9a-f]{32}$")
_SIGNATURE = re.compile(r"^[0-9a-fA-F]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$")


@dataclass
class AuthError(Exception):
    status: int
    body: dict[str, Any]


def _fail(status: int, error: str, **extra: Any) -> AuthError:
    return AuthError(status, {"error": error, **extra})


def authenticate(request: HttpRequest, now: float | None = None) -> Machine:
    """The machine that signed this request, or ``AuthError``."""
    now = time.time() if now is None else now
    device_id = request.headers.get("X-Device-Id", "")
    timestamp = request.headers.get("X-Timestamp", "")
    nonce = request.headers.get("X-Nonce", "")
    signature = request.headers.get("X-Signature", "")
    if not (device_id and timestamp and nonce and signature):
        raise _fail(401, "missing_auth")
    if not (_TIMESTAMP.match(timestamp) and _NONCE.match(nonce) and _SIGNATURE.match(signature)):
        raise _fail(401, "bad_signature")

    machine = Machine.objects.select_related("site").filter(device_id=device_id).first()
    if machine is None or not machine.provisioned:
        raise _fail(401, "unknown_device")
    try:
        secret = machine.secret()
    except sealing.SealError:
        log.error("machine %s: its secret does not unseal (HUB_SECRET_WRAP_KEY?)", machine.pk)
        raise _fail(401, "unknown_device") from None

    path = request.get_full_path()
    if not signing.verify(
        secret, signature, request.method or "", path, timestamp, nonce, request.body
    ):
        raise _fail(401, "bad_signature")

    if abs(now - int(timestamp)) > settings.HUB_CLOCK_SKEW_SECONDS:
        raise _fail(401, "clock_skew", server_time=int(now))

    _purge_nonces()
    try:
        with transaction.atomic():
            Nonce.objects.create(machine=machine, nonce=nonce)
    except IntegrityError:
        raise _fail(401, "replay") from None

    if machine.revoked:
        raise _fail(403, "revoked")

    machine.last_contact = timezone.now()
    seen: dict[str, Any] = {"last_contact": machine.last_contact}
    version = request.headers.get("X-Kiosk-Version", "")
    if _VERSION.match(version):
        machine.software_version = seen["software_version"] = version
    Machine.objects.filter(pk=machine.pk).update(**seen)
    return machine


def _purge_nonces() -> None:
    cutoff = timezone.now() - timedelta(seconds=settings.HUB_NONCE_RETAIN_SECONDS)
    Nonce.objects.filter(seen_at__lt=cutoff).delete()
