"""Issue 13: what the attack on the hub found, each on the real PostgreSQL. A bad event is
quarantined and later events flow; garbage elsewhere is a 400 JSON error; a 500 that still
happens reaches the log with its traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client
from fleet import schema
from fleet.models import Alert, Event, LaneStock, QuarantinedEvent

from tests.hub.helpers import Kiosk, event

pytestmark = pytest.mark.django_db


def _push_with_raw_payload(kiosk: Kiosk, payload_text: str) -> Any:
    """Events 1 and 3 well formed, event 2 with the payload as raw JSON text (NaN, \\ud800...
    cannot be written with json.dumps)."""
    good = [json.dumps(event(1)), json.dumps(event(3))]
    middle = json.dumps(event(2, "stock.counted", {"__raw__": 0}))
    middle = middle.replace('{"__raw__": 0}', payload_text)
    return kiosk.push(raw=f'{{"events": [{good[0]}, {middle}, {good[1]}]}}'.encode())


RAW_PAYLOADS = [
    ("NUL in a count's reason", '{"lane": 1, "stock": 5, "reason": "a\\u0000b"}', "reason"),
    ("NaN", '{"lane": 1, "stock": NaN}', "payload.stock: an integer expected"),
    ("Infinity", '{"lane": 1, "x": -Infinity}', "payload.x: not a finite number"),
    ("a float overflowing", '{"lane": 1, "x": 1e999}', "payload.x: not a finite number"),
    ("a lone surrogate", '{"lane": 1, "message": "\\ud800"}', "lone surrogate"),
    ("a lone surrogate key", '{"\\udfff": 1}', "payload.<key>: key contains a lone"),
    ("an int past the columns", '{"lane": 1, "stock": 99999999999}', "payload.stock: above"),
    ("an int of 5000 digits", '{"x": ' + "9" * 5000 + "}", "more than 30 digits"),
    ("non-ASCII digit ids", '{"prescription_hub_id": "\\u00b2", "vend_id": 1}', "hub_id"),
    ("a negative dropped", '{"lane": 1, "dropped": -3}', "payload.dropped: below 0"),
]


@pytest.mark.parametrize(("why", "text", "rule"), RAW_PAYLOADS, ids=[w for w, _, _ in RAW_PAYLOADS])
def test_a_bad_event_is_quarantined_and_later_events_flow(
    kiosk: Kiosk, why: str, text: str, rule: str
) -> None:
    response = _push_with_raw_payload(kiosk, text)

    assert response.status_code == 200, why
    reply = response.json()
    assert reply["stored_through"] == 3
    assert [(q["seq"], q["type"]) for q in reply["quarantined"]] == [(2, "stock.counted")]
    assert rule in reply["quarantined"][0]["reason"]
    assert list(Event.objects.values_list("seq", flat=True)) == [1, 3]
    row = QuarantinedEvent.objects.get()
    assert row.raw.isascii()
    assert json.loads(row.raw)["seq"] == 2
    # The queue moves on.
    assert kiosk.push([event(4)]).json() == {"stored_through": 4, "quarantined": []}


def test_a_negative_dropped_never_inflates_the_stock(kiosk: Kiosk) -> None:
    kiosk.push([event(1, "lane.configured", {"lane": 1, "medication_id": 4, "stock": 10})])
    reply = kiosk.push([event(2, "dispense.result", {"vend_id": 1, "lane": 1, "dropped": -50})])
    assert reply.json()["quarantined"][0]["reason"] == "payload.dropped: below 0"
    assert LaneStock.objects.get(lane=1).stock == 10


def test_the_9999_date_is_quarantined_and_the_events_page_renders(kiosk: Kiosk) -> None:
    from django.contrib.auth.models import User

    wire = event(1, created_at="9999-12-31T23:59:59-14:00")
    reply = kiosk.push([wire, event(2)]).json()
    assert reply["stored_through"] == 2
    assert "created_at: not between 2000 and 2100" in reply["quarantined"][0]["reason"]
    staff = Client()
    staff.force_login(User.objects.create_superuser("admin", "a@example.org", "x-not-real"))
    for page in ("/admin/fleet/event/", "/admin/fleet/quarantinedevent/", "/admin/fleet/alert/"):
        assert staff.get(page).status_code == 200, page


def test_one_open_quarantine_alert_per_machine_with_ids_only(kiosk: Kiosk) -> None:
    kiosk.push([event(1, payload={"lane": 1, "reason": "Alex\x00Smith"})])
    kiosk.push([event(2, payload={"lane": 1, "stock": -1})])
    alert = Alert.objects.get(kind="event_quarantined")
    assert "#1" in alert.message
    assert "Alex" not in alert.message
    assert "Alex" not in QuarantinedEvent.objects.get(seq=1).reason


# ---------------------------------------------------------------- provision and pull


def _provision(client: Client, body: bytes) -> Any:
    return client.generic("POST", "/v1/provision", body, content_type="application/json")


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "\\ud800"}',
        b'{"code": "AB\\u0000CD"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"code": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"code": NaN}',
        b'{"code": 12}',
        b"\xff",
        b"",
    ],
    ids=["surrogate", "nul", "deep", "deep inside", "nan", "number", "not utf-8", "empty"],
)
def test_garbage_to_provision_is_a_400_json_error(client: Client, body: bytes) -> None:
    response = _provision(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize("cursor", ["%C2%B2", "%D9%A3", "%ED%A0%80", "1%00", "9" * 19, "-0"])
def test_garbage_cursors_are_a_400_json_error(kiosk: Kiosk, cursor: str) -> None:
    path = f"/v1/sync/changes?cursor={cursor}"
    response = kiosk.client.get(path, **kiosk.headers("GET", path, b""))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("query.cursor")


def test_a_deep_signed_push_is_a_400(kiosk: Kiosk) -> None:
    response = kiosk.push(raw=b'{"events": [], "anchor": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_the_depth_scan_ignores_brackets_in_strings() -> None:
    assert schema.nesting_depth(b'{"a": "[[[[\\"[[[", "b": [{}]}') == 3


# ---------------------------------------------------------------- 500s reach the log


def test_a_500_is_logged_with_its_traceback(
    kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fleet import ingest

    def broken(*args: Any) -> None:
        raise RuntimeError("forced for the test")

    monkeypatch.setattr(ingest, "store", broken)
    kiosk.client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = kiosk.push([event(1)])
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None
    assert "forced for the test" in caplog.text
    assert "Traceback" in caplog.text or record.exc_text
