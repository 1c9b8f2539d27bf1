"""Helpers of the hub's tests: a signing kiosk client, wire events, records. Imported after
tests/hub_django.py has set Django up."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.test import Client
from fleet import signing
from fleet.models import Machine, Participant, Prescription

Provision = Callable[..., "Kiosk"]  # the `provision` fixture: (site=, machine=) -> Kiosk


class Kiosk:
    """A provisioned machine as a kiosk sees it: signs its requests like docs/SYNC.md says."""

    def __init__(self, client: Client, device_id: str, secret: str) -> None:
        self.client = client
        self.device_id = device_id
        self.secret = secret
        self.clock: Callable[[], float] = time.time

    @property
    def machine(self) -> Machine:
        return Machine.objects.get(device_id=self.device_id)

    def headers(self, method: str, path: str, body: bytes, **overrides: str) -> dict[str, str]:
        signed = signing.signed_headers(
            self.device_id, self.secret, method, path, body, int(self.clock())
        )
        signed.update(overrides)
        return {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}

    def post(self, path: str, body: bytes, **overrides: str) -> Any:
        return self.client.generic(
            "POST",
            path,
            body,
            content_type="application/json",
            **self.headers("POST", path, body, **overrides),
        )

    def push(
        self,
        events: list[dict[str, Any]] | None = None,
        *,
        raw: bytes | None = None,
        anchor: Any = None,
    ) -> Any:
        """POST /v1/sync/events; ``anchor`` (when not None) goes in the body as it is."""
        document: dict[str, Any] = {"events": events or []}
        if anchor is not None:
            document["anchor"] = anchor
        body = raw if raw is not None else json.dumps(document).encode()
        return self.post("/v1/sync/events", body)

    def pull(self, cursor: int) -> Any:
        path = f"/v1/sync/changes?cursor={cursor}"
        return self.client.get(path, **self.headers("GET", path, b""))

    def pull_all(self, cursor: int) -> tuple[int, list[dict[str, Any]], int]:
        """Every page from a cursor: (new cursor, changes, pages)."""
        changes: list[dict[str, Any]] = []
        pages = 0
        while True:
            response = self.pull(cursor)
            assert response.status_code == 200, response.content
            page = response.json()
            pages += 1
            changes += page["changes"]
            cursor = page["cursor"]
            if not page["more"]:
                return cursor, changes, pages


def enroll(site: str = "Downtown", machine: str = "kiosk-1") -> str:
    """The one-time code ``manage.py enroll_machine`` prints."""
    out = StringIO()
    call_command("enroll_machine", site=site, machine=machine, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()[-1]


def provision_kiosk(client: Client, site: str = "Downtown", machine: str = "kiosk-1") -> Kiosk:
    code = enroll(site, machine)
    response = client.post("/v1/provision", {"code": code}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    return Kiosk(client, body["device_id"], body["secret"])


_seq_ids: dict[int, str] = {}


def reset_event_ids() -> None:
    _seq_ids.clear()


def event(
    seq: int,
    type_: str = "audit.note",
    payload: dict[str, Any] | None = None,
    created_at: str = "2026-06-10T19:00:00.000000Z",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A kiosk outbox row on the wire. The same seq gets the same id unless told otherwise."""
    if event_id is None:
        event_id = _seq_ids.setdefault(seq, str(uuid.uuid4()))
    return {
        "seq": seq,
        "id": event_id,
        "type": type_,
        "created_at": created_at,
        "payload": payload or {},
    }


def make_participant(machine: Machine, code: str = "P-0001", **overrides: Any) -> Participant:
    fields: dict[str, Any] = {
        "machine": machine,
        "code": code,
        "display_name": "Alex",
        "language": "en",
    }
    fields.update(overrides)
    participant = Participant(**fields)
    participant.save()
    return participant


def make_prescription(participant: Participant, **overrides: Any) -> Prescription:
    fields: dict[str, Any] = {
        "participant": participant,
        "medication_name": "hydromorphone",
        "medication_strength": "8 mg",
        "medication_form": "tablet",
        "units_per_dose": 2,
        "windows": [["08:00", "11:00"], ["18:00", "21:00"]],
        "daily_max_units": 4,
        "start_date": "2026-06-01",
    }
    fields.update(overrides)
    prescription = Prescription(**fields)
    prescription.save()
    return prescription
