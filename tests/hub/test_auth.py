"""Every sync request is signed: HMAC over method, path, timestamp, nonce and body hash."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from fleet import signing
from fleet.models import Event, Machine, Nonce

from tests.hub.helpers import Kiosk, Provision, event

pytestmark = pytest.mark.django_db


def test_a_signed_request_passes_and_counts_as_contact(kiosk: Kiosk) -> None:
    Machine.objects.filter(pk=kiosk.machine.pk).update(last_contact=None)
    response = kiosk.pull(0)
    assert response.status_code == 200
    assert kiosk.machine.last_contact is not None


def test_a_forged_signature_is_refused(kiosk: Kiosk) -> None:
    body = json.dumps({"events": [event(1)]}).encode()
    forged = signing.sign("00" * 32, "POST", "/v1/sync/events", int(time.time()), "a" * 32, body)
    response = kiosk.post("/v1/sync/events", body, **{"X-Signature": forged, "X-Nonce": "a" * 32})
    assert (response.status_code, response.json()) == (401, {"error": "bad_signature"})
    assert not Event.objects.exists()


def test_a_body_changed_after_signing_is_refused(kiosk: Kiosk) -> None:
    signed_body = json.dumps({"events": [event(1)]}).encode()
    headers = kiosk.headers("POST", "/v1/sync/events", signed_body)
    other = json.dumps({"events": [event(1, payload={"units": 99})]}).encode()
    response = kiosk.client.generic(
        "POST", "/v1/sync/events", other, content_type="application/json", **headers
    )
    assert response.json() == {"error": "bad_signature"}
    assert not Event.objects.exists()


def test_the_query_is_signed(kiosk: Kiosk) -> None:
    headers = kiosk.headers("GET", "/v1/sync/changes?cursor=5", b"")
    response = kiosk.client.get("/v1/sync/changes?cursor=0", **headers)
    assert response.json() == {"error": "bad_signature"}


def test_a_replayed_nonce_is_refused(kiosk: Kiosk) -> None:
    headers = kiosk.headers("GET", "/v1/sync/changes?cursor=0", b"")
    assert kiosk.client.get("/v1/sync/changes?cursor=0", **headers).status_code == 200
    again = kiosk.client.get("/v1/sync/changes?cursor=0", **headers)
    assert (again.status_code, again.json()) == (401, {"error": "replay"})


def test_a_nonce_is_kept_at_least_ten_minutes(kiosk: Kiosk) -> None:
    from datetime import timedelta

    from django.utils import timezone

    headers = kiosk.headers("GET", "/v1/sync/changes?cursor=0", b"")
    kiosk.client.get("/v1/sync/changes?cursor=0", **headers)
    Nonce.objects.update(seen_at=timezone.now() - timedelta(minutes=10))
    kiosk.pull(0)  # purges what is older than the retention
    again = kiosk.client.get("/v1/sync/changes?cursor=0", **headers)
    assert again.json() == {"error": "replay"}


@pytest.mark.parametrize("offset", [-3600, 3600, -301, 301])
def test_a_skewed_clock_gets_the_server_time(kiosk: Kiosk, offset: int) -> None:
    kiosk.clock = lambda: time.time() + offset
    before = int(time.time())
    response = kiosk.pull(0)
    body = response.json()
    assert response.status_code == 401
    assert body["error"] == "clock_skew"
    assert before <= body["server_time"] <= int(time.time()) + 1


@pytest.mark.parametrize("offset", [-290, 290])
def test_a_clock_within_five_minutes_is_accepted(kiosk: Kiosk, offset: int) -> None:
    kiosk.clock = lambda: time.time() + offset
    assert kiosk.pull(0).status_code == 200


def test_a_revoked_machine_is_forbidden(kiosk: Kiosk) -> None:
    Machine.objects.filter(pk=kiosk.machine.pk).update(revoked=True)
    response = kiosk.push([event(1)])
    assert (response.status_code, response.json()) == (403, {"error": "revoked"})
    assert not Event.objects.exists()


def test_an_unknown_device_is_refused(kiosk: Kiosk) -> None:
    stranger = Kiosk(kiosk.client, "kiosk-doesnotexist", kiosk.secret)
    response = stranger.pull(0)
    assert (response.status_code, response.json()) == (401, {"error": "unknown_device"})


def test_another_machines_secret_does_not_sign_for_this_one(provision: Provision) -> None:
    first = provision(machine="a")
    second = provision(machine="b")
    impostor = Kiosk(first.client, first.device_id, second.secret)
    assert impostor.pull(0).json() == {"error": "bad_signature"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"X-Nonce": "short"},
        {"X-Nonce": "G" * 32},
        {"X-Timestamp": "yesterday"},
        {"X-Signature": "zz"},
    ],
)
def test_malformed_auth_headers_are_refused(kiosk: Kiosk, overrides: dict[str, str]) -> None:
    headers = kiosk.headers("GET", "/v1/sync/changes?cursor=0", b"", **overrides)
    response = kiosk.client.get("/v1/sync/changes?cursor=0", **headers)
    assert response.status_code == 401


def test_missing_auth_headers_are_refused(client: Client) -> None:
    response = client.get("/v1/sync/changes?cursor=0")
    assert (response.status_code, response.json()) == (401, {"error": "missing_auth"})


def test_a_body_naming_another_device_is_refused(provision: Provision) -> None:
    mine = provision(machine="a")
    other = provision(machine="b")
    body = json.dumps({"device_id": other.device_id, "events": [event(1)]}).encode()
    response = mine.post("/v1/sync/events", body)
    assert response.status_code == 403
    assert response.json()["error"] == "device_mismatch"
    wire = event(1)
    wire["device_id"] = other.device_id
    response = mine.push([wire])
    assert response.status_code == 403
    assert not Event.objects.exists()
    # Naming itself is fine.
    assert mine.push([{**event(1), "device_id": mine.device_id}]).status_code == 200
