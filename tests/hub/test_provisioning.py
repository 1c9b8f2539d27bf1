"""POST /v1/provision: a one-time code for a device id and a secret."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from fleet.models import EnrollmentCode, Machine, Site

from tests.hub.helpers import enroll

pytestmark = pytest.mark.django_db


def _provision(client: Client, code: str) -> tuple[int, dict[str, str]]:
    response = client.post("/v1/provision", {"code": code}, content_type="application/json")
    return response.status_code, response.json()


def test_enroll_machine_creates_site_machine_and_prints_a_code() -> None:
    code = enroll("Downtown", "kiosk-1")

    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code)
    machine = Machine.objects.get(name="kiosk-1")
    assert machine.site == Site.objects.get(name="Downtown")
    assert not machine.provisioned
    # Only a hash of the code is kept.
    assert not EnrollmentCode.objects.filter(code_hash__icontains=code.replace("-", "")).exists()


def test_a_code_works_once(client: Client) -> None:
    code = enroll()

    status, body = _provision(client, code)
    assert status == 200
    assert set(body) == {"device_id", "secret"}
    assert re.fullmatch(r"[0-9a-f]{64}", body["secret"])
    machine = Machine.objects.get(device_id=body["device_id"])
    assert machine.secret() == body["secret"]
    assert body["secret"] not in machine.secret_sealed  # sealed at rest

    assert _provision(client, code) == (401, {"error": "invalid_code"})
    assert Machine.objects.get(pk=machine.pk).secret() == body["secret"]  # unchanged


def test_codes_are_forgiving_about_case_and_dashes(client: Client) -> None:
    code = enroll()
    status, _ = _provision(client, code.replace("-", " ").lower())
    assert status == 200


def test_unknown_expired_or_revoked_codes_are_refused(client: Client) -> None:
    assert _provision(client, "AAAA-BBBB-CCCC-DDDD") == (401, {"error": "invalid_code"})

    code = enroll(machine="old")
    row = EnrollmentCode.objects.get(machine__name="old")
    row.expires_at = row.created_at
    row.save()
    assert _provision(client, code)[0] == 401

    code = enroll(machine="stolen")
    Machine.objects.filter(name="stolen").update(revoked=True)
    assert _provision(client, code)[0] == 401


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"code": 5}', b'{"kode": "x"}'])
def test_malformed_provisioning_bodies_are_400(client: Client, body: bytes) -> None:
    response = client.generic("POST", "/v1/provision", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_provision_is_post_only(client: Client) -> None:
    response = client.get("/v1/provision")
    assert response.status_code == 405
    assert response.json() == {"error": "method_not_allowed"}


def test_a_second_code_reprovisions_with_a_new_secret(client: Client) -> None:
    _, first = _provision(client, enroll())
    _, second = _provision(client, enroll())  # same site and machine names
    assert second["device_id"] == first["device_id"]
    assert second["secret"] != first["secret"]
