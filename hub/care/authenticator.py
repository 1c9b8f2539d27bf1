"""A clinician's authenticator app for approvals from afar (issue 15, item 5).

``start`` makes a new seed (160 random bits, base32), sealed at rest in an
``AuthenticatorKey`` waiting for confirmation; the page shows it as an otpauth:// URI and a
QR code. ``confirm`` takes one current code from the app (RFC 6238, 30-s steps, one step
either side): the key becomes active and travels to the kiosks of the clinician's sites in
their ``approver_seed`` record (care/approvals.py). ``reset`` drops the key, active or not,
and the kiosks drop it at their next sync. Every step is audited (never the seed or a code);
nothing here logs the seed.

Why a seed of its own and not the approval seed (``ApproverKey``) or one derived from it: the
app's seed is shown on a screen and lives on a phone, which can be lost; resetting it must
not change the seed that the challenge-and-response codes use, and a leaked app seed must
reveal nothing about that one (a derived seed would be as good as that one for app codes, and
resetting it would mean resetting the root).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from fleet import sealing

from care import approvals, audit
from care.models import AuditAction, AuthenticatorKey
from kiosk.domain import app_codes
from kiosk.domain import remote_approval as ra

log = logging.getLogger("care.authenticator")

ISSUER = "Dispensing kiosks"  # what the app lists the account under


class NotConfirmed(Exception):
    """The code does not confirm the app; the text is for the clinician."""


@dataclass(frozen=True)
class Enrolment:
    """What the page shows: the state, and while waiting for a first code, the seed."""

    active_since: datetime | None
    seed: str | None = None  # only while not yet confirmed (never shown again afterwards)
    uri: str = ""
    qr_svg: str = ""


def _totp(seed: str) -> pyotp.TOTP:
    return pyotp.TOTP(seed, digits=ra.APP_CODE_DIGITS, interval=app_codes.APP_STEP_SECONDS)


def _seed(key: AuthenticatorKey) -> str:
    keys = [settings.HUB_SECRET_WRAP_KEY, *settings.HUB_SECRET_WRAP_KEY_FALLBACKS]
    return sealing.unseal_any(key.seed_sealed, keys)


def enrolment(user: Any) -> Enrolment | None:
    """The clinician's app: None without one; the seed, URI and QR code while waiting."""
    key = AuthenticatorKey.objects.filter(user=user).first()
    if key is None:
        return None
    if key.confirmed_at is not None:
        return Enrolment(key.confirmed_at)
    seed = _seed(key)
    uri = _totp(seed).provisioning_uri(name=user.get_username(), issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=5, dark="#000000", light="#ffffff", omitsize=False)
    return Enrolment(None, seed, uri, svg)


def start(request: Any) -> None:
    """A new seed waiting for its first code (replacing one that was never confirmed)."""
    user = request.user
    with transaction.atomic():
        current = AuthenticatorKey.objects.select_for_update().filter(user=user).first()
        if current is not None and current.confirmed_at is not None:
            return  # an active app is reset first, on purpose
        sealed = sealing.seal(ra.new_seed(), settings.HUB_SECRET_WRAP_KEY)
        AuthenticatorKey.objects.update_or_create(
            user=user, defaults={"seed_sealed": sealed, "confirmed_at": None}
        )
        audit.record(request, AuditAction.AUTHENTICATOR_STARTED, obj=None, subject=user.pk)
    log.info("user %d began setting up an authenticator app", user.pk)


def confirm(request: Any, code: str, at: datetime | None = None) -> None:
    """Activate the waiting app with one current code; raises ``NotConfirmed``."""
    user = request.user
    at = at or timezone.now()
    code = code.strip().replace(" ", "")
    with transaction.atomic():
        key = AuthenticatorKey.objects.select_for_update().filter(user=user).first()
        if key is None or key.confirmed_at is not None:
            raise NotConfirmed("There is no app waiting to be confirmed. Start again.")
        if not (len(code) == ra.APP_CODE_DIGITS and code.isascii() and code.isdigit()):
            raise NotConfirmed("Type the 6 digits your app shows now.")
        if not _totp(_seed(key)).verify(code, for_time=at, valid_window=app_codes.VALID_WINDOW):
            raise NotConfirmed(
                "That is not the code your app shows now. Check the phone's time, then "
                "type the code that is showing."
            )
        key.confirmed_at = at
        key.save(update_fields=["confirmed_at"])
        audit.record(request, AuditAction.AUTHENTICATOR_CONFIRMED, obj=None, subject=user.pk)
        _publish(user)
    log.info("user %d confirmed an authenticator app", user.pk)


def reset(request: Any) -> bool:
    """Drop the clinician's app (active or waiting); the kiosks drop it at their next sync."""
    user = request.user
    with transaction.atomic():
        key = AuthenticatorKey.objects.select_for_update().filter(user=user).first()
        if key is None:
            return False
        was_active = key.confirmed_at is not None
        key.delete()
        audit.record(
            request, AuditAction.AUTHENTICATOR_RESET, obj=None, subject=user.pk, active=was_active
        )
        if was_active:
            _publish(user)
    log.info("user %d reset their authenticator app", user.pk)
    return True


def _publish(user: Any) -> None:
    """Send the change to the machines of every site where the clinician may approve."""
    approvals.seed_of(user, create=True)  # their approver_seed record carries the app's seed
    approvals.publish_user(user.pk)
