"""Wrong enrollment codes per client address (POST /v1/provision).

HUB_PROVISION_MAX_FAILURES wrong codes within HUB_PROVISION_WINDOW_SECONDS lock the address out
for HUB_PROVISION_LOCKOUT_SECONDS: every request from it is then refused (429), a right code
too, so guessing stays far slower than the code space allows. The counts live in the database
(ProvisioningThrottle, in the admin) so several hub hosts share them; each refusal is logged
with the address, never with the code. The caller holds a transaction: the row is locked.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings

from fleet.models import Alert, ProvisioningThrottle

log = logging.getLogger("fleet.throttle")


def retry_after(address: str, now: datetime) -> int | None:
    """Seconds until the address may try again, when it is locked out (the refusal counted)."""
    row = ProvisioningThrottle.objects.select_for_update().filter(address=address).first()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    row.refused += 1
    row.last_refused_at = now
    row.save(update_fields=["refused", "last_refused_at"])
    seconds = max(1, math.ceil((row.locked_until - now).total_seconds()))
    log.warning("provisioning refused: client %s locked out for %d s more", address, seconds)
    return seconds


def failed(address: str, now: datetime) -> None:
    """One more wrong code from the address; locks it out at the limit."""
    ProvisioningThrottle.objects.get_or_create(address=address)
    row = ProvisioningThrottle.objects.select_for_update().get(address=address)
    window = timedelta(seconds=settings.HUB_PROVISION_WINDOW_SECONDS)
    if row.window_started_at is None or row.window_started_at + window <= now:
        row.failures = 0
        row.window_started_at = now
    row.failures += 1
    row.last_failure_at = now
    log.warning(
        "provisioning refused: wrong code from client %s (%d in the window)", address, row.failures
    )
    if row.failures >= settings.HUB_PROVISION_MAX_FAILURES:
        lockout = settings.HUB_PROVISION_LOCKOUT_SECONDS
        row.locked_until = now + timedelta(seconds=lockout)
        row.lockouts += 1
        row.failures = 0
        row.window_started_at = None
        log.warning("provisioning: client %s locked out for %d s", address, lockout)
        Alert.objects.create(
            kind="provisioning_lockout",
            message=f"{settings.HUB_PROVISION_MAX_FAILURES} wrong enrollment codes from"
            f" {address}: provisioning refused from there for {lockout // 60} min",
            created_at=now,
        )
    row.save()


def succeeded(address: str) -> None:
    """A right code: the address's wrong ones so far no longer count."""
    ProvisioningThrottle.objects.filter(address=address, failures__gt=0).update(
        failures=0, window_started_at=None
    )
