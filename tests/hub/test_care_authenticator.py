"""My authenticator (/approvals/authenticator/, care/authenticator.py): a clinician sets up an
authenticator app (QR code drawn as SVG on the server), confirms it with one current code,
resets it; every step audited, the seed never in an audit row or a log line; the confirmed
seed travels to the kiosks of the clinician's sites only, in their approver_seed record; a
site may turn app codes off."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from care.models import AuditAction, AuthenticatorKey, CareAudit, SiteApprovalSettings
from care.roles import Role
from django.contrib.auth.models import User
from django.test import Client

from tests.hub.helpers import Kiosk
from tests.hub.test_care_approvals import _changes, _signed_in, _user

PAGE = "/approvals/authenticator/"


def _seed_record(kiosk: Kiosk, user: User) -> dict[str, Any] | None:
    found = [
        c
        for c in _changes(kiosk, "approver_seed")
        if c["key"] == str(user.pk) and c["op"] == "upsert"
    ]
    return found[-1]["data"] if found else None


def _start(client: Client) -> str:
    response = client.post(PAGE, {"step": "start"}, follow=True)
    assert response.status_code == 200
    enrolment = response.context["enrolment"]
    assert enrolment.active_since is None and enrolment.seed
    return str(enrolment.seed)


@pytest.mark.django_db
def test_set_up_confirm_and_reset_an_app(kiosk: Kiosk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site = kiosk.machine.site
    nurse = _user("nurse", Role.NURSE, site)
    client = _signed_in(nurse)
    first = client.get(PAGE)
    assert first.status_code == 200 and first.context["enrolment"] is None
    assert b"Set up an authenticator app" in first.content

    seed = _start(client)
    page = client.get(PAGE)
    html = page.content.decode()
    assert "<svg" in html and 'role="img"' in html  # the QR code, drawn on the server
    uri = page.context["enrolment"].uri
    assert uri.startswith("otpauth://totp/") and f"secret={seed}" in uri
    assert pyotp.parse_uri(uri).secret == seed
    # Not active yet: nothing reaches the machines.
    record = _seed_record(kiosk, nurse)
    assert record is None or record["totp"] is None

    wrong = f"{(int(pyotp.TOTP(seed).now()) + 500_000) % 1_000_000:06d}"
    refused = client.post(PAGE, {"step": "confirm", "code": wrong})
    assert refused.status_code == 200 and b"not the code your app shows" in refused.content
    assert AuthenticatorKey.objects.get(user=nurse).confirmed_at is None

    confirmed = client.post(PAGE, {"step": "confirm", "code": pyotp.TOTP(seed).now()}, follow=True)
    assert confirmed.context["enrolment"].active_since is not None
    assert confirmed.context["enrolment"].seed is None  # never shown again
    assert b"<svg" not in confirmed.content
    record = _seed_record(kiosk, nurse)
    assert record is not None and record["totp"] == seed and record["role"] == "nurse"

    reset = client.post(PAGE, {"step": "reset"}, follow=True)
    assert reset.context["enrolment"] is None
    record = _seed_record(kiosk, nurse)
    assert record is not None and record["totp"] is None

    actions = list(
        CareAudit.objects.filter(user=nurse, action__startswith="authenticator")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        AuditAction.AUTHENTICATOR_STARTED,
        AuditAction.AUTHENTICATOR_CONFIRMED,
        AuditAction.AUTHENTICATOR_RESET,
    ]
    details = " ".join(str(r.detail) for r in CareAudit.objects.all())
    assert seed not in details
    assert seed not in caplog.text and seed.lower() not in caplog.text.lower()
    # Sealed at rest while it existed; gone now.
    assert not AuthenticatorKey.objects.filter(user=nurse).exists()


@pytest.mark.django_db
def test_only_the_clinicians_sites_get_the_app_seed(provision: Callable[..., Kiosk]) -> None:
    here = provision("Downtown", "kiosk-1")
    there = provision("Uptown", "kiosk-2")
    nurse = _user("nurse", Role.NURSE, here.machine.site)
    client = _signed_in(nurse)
    seed = _start(client)
    sealed = AuthenticatorKey.objects.get(user=nurse).seed_sealed
    assert seed not in sealed
    client.post(PAGE, {"step": "confirm", "code": pyotp.TOTP(seed).now()})
    record = _seed_record(here, nurse)
    assert record is not None and record["totp"] == seed
    assert _seed_record(there, nurse) is None


@pytest.mark.django_db
def test_a_site_may_turn_app_codes_off(kiosk: Kiosk) -> None:
    def policy() -> dict[str, Any]:
        (setting,) = [c for c in _changes(kiosk, "setting") if c["key"] == "remote_approval"][-1:]
        return dict(setting["data"]["value"])

    site = kiosk.machine.site
    SiteApprovalSettings.objects.create(site=site, app_codes=True)
    assert policy()["app_codes"] is True
    settings = SiteApprovalSettings.objects.get(site=site)
    settings.app_codes = False
    settings.save()
    assert policy()["app_codes"] is False


@pytest.mark.django_db
def test_someone_who_may_not_approve_cannot_open_the_page(kiosk: Kiosk) -> None:
    clerk = _user("clerk", Role.VIEWER, kiosk.machine.site)
    response = _signed_in(clerk).get(PAGE)
    assert response.status_code in (302, 403)
