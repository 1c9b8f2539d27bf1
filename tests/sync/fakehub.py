"""An in-memory hub behind ``httpx.MockTransport`` (httpx's own test transport).

It checks every signature the way docs/SYNC.md says (recomputed here with hmac/hashlib, not
with kiosk code), stores pushed events once by seq, answers ``stored_through`` (and the highest
audit anchor pushed, as the hub does), sets aside the events it is told to (listing them in
``quarantined``, their seqs counted as held) and serves pages of a change log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

DEVICE_ID = "kiosk-test"
SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def expected_signature(secret_hex: str, request: httpx.Request) -> str:
    body = request.content
    message = "\n".join(
        [
            request.method,
            request.url.raw_path.decode(),
            request.headers["X-Timestamp"],
            request.headers["X-Nonce"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return hmac.new(bytes.fromhex(secret_hex), message.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeHub:
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)  # changes; cursor = index + 1
    page_size: int = 100
    down: bool = False
    batches: list[list[int]] = field(default_factory=list)
    pulls: list[int] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    answer: httpx.Response | None = None  # a canned answer for every call
    hold_back_after: int | None = None  # store nothing past this seq (a gap)
    snapshot: dict[str, Any] | None = None  # served once, whatever the cursor
    anchors: list[dict[str, Any] | None] = field(default_factory=list)  # per push, as sent
    held_anchor: dict[str, Any] | None = None  # the highest pushed, echoed in each answer
    refuse_anchor: bool = False  # answer 400 bad_anchor to a push that carries one
    after_push: Callable[[], None] | None = None  # what the kiosk does meanwhile
    push_answer: httpx.Response | None = None  # a canned answer to pushes only (pulls served)
    set_aside: dict[int, str] = field(default_factory=dict)  # seq -> reason: quarantined
    quarantined_field: Any = None  # when set, the push answer's "quarantined" as it is

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def stored_through(self) -> int:
        n = 0
        while n + 1 in self.events or n + 1 in self.set_aside:  # set aside counts as held
            n += 1
        return n

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("hub down", request=request)
        if self.answer is not None:
            return self.answer
        if request.url.path == "/v1/provision":
            code = json.loads(request.content)["code"]
            if code != "GOOD-CODE":
                return httpx.Response(400, json={"error": "bad_code"})
            return httpx.Response(201, json={"device_id": DEVICE_ID, "secret": SECRET})
        if request.headers.get("X-Device-Id") != DEVICE_ID:
            return httpx.Response(401, json={"error": "unknown_device"})
        nonce = request.headers["X-Nonce"]
        if len(nonce) != 32 or nonce in self.nonces:
            return httpx.Response(401, json={"error": "replay"})
        self.nonces.add(nonce)
        if not hmac.compare_digest(
            request.headers["X-Signature"], expected_signature(SECRET, request)
        ):
            return httpx.Response(401, json={"error": "bad_signature"})
        if request.method == "POST" and request.url.path == "/v1/sync/events":
            if self.push_answer is not None:
                return self.push_answer
            return self.push(json.loads(request.content))
        if request.method == "GET" and request.url.path == "/v1/sync/changes":
            cursor = int(request.url.params["cursor"])
            self.pulls.append(cursor)
            if self.snapshot is not None:
                page, self.snapshot = self.snapshot, None
                return httpx.Response(200, json=page)
            chunk = self.log[cursor : cursor + self.page_size]
            end = cursor + len(chunk)
            return httpx.Response(
                200,
                json={
                    "cursor": end,
                    "snapshot": False,
                    "more": end < len(self.log),
                    "changes": chunk,
                },
            )
        return httpx.Response(404, json={"error": "not_found"})

    def push(self, body: dict[str, Any]) -> httpx.Response:
        anchor = body.get("anchor")
        if anchor is not None and self.refuse_anchor:
            return httpx.Response(400, json={"error": "bad_anchor", "detail": "anchor: refused"})
        events = body["events"]
        self.batches.append([e["seq"] for e in events])
        self.anchors.append(anchor)
        quarantined = []
        for event in events:
            if self.hold_back_after is not None and event["seq"] > self.hold_back_after:
                continue
            if event["seq"] in self.set_aside:  # as the hub does: acknowledged, not stored
                reason = self.set_aside[event["seq"]]
                quarantined.append(
                    {
                        "seq": event["seq"],
                        "id": event["id"],
                        "type": event["type"],
                        "reason": reason,
                    }
                )
                continue
            self.events.setdefault(event["seq"], event)
        if anchor is not None and (
            self.held_anchor is None or anchor["entries"] > self.held_anchor["entries"]
        ):
            self.held_anchor = {"entries": anchor["entries"], "head": anchor["head"]}
        if self.after_push is not None:
            self.after_push()
        answer: dict[str, Any] = {"stored_through": self.stored_through}
        if self.held_anchor is not None:
            answer["anchor"] = self.held_anchor
        if self.quarantined_field is not None:
            answer["quarantined"] = self.quarantined_field
        elif quarantined:
            answer["quarantined"] = quarantined
        return httpx.Response(200, json=answer)


def participant(code: str, name: str = "Alex Example", **data: Any) -> dict[str, Any]:
    body = {"code": code, "display_name": name, "language": None, "status": "active"}
    body.update(data)
    return {"kind": "participant", "op": "upsert", "key": code, "data": body}


def prescription(hub_id: str, code: str, **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": hub_id,
        "participant": code,
        "medication": {"name": "Hydromorphone", "strength": "8 mg", "form": "tablet"},
        "units_per_dose": 2,
        "windows": [["08:00", "11:00"], ["17:00", "20:00"]],
        "daily_max_units": 4,
        "start_date": "2026-06-01",
        "end_date": None,
        "interval_minutes": None,
        "max_doses_per_day": None,
        "accumulate": False,
        "witnessed": False,
        "missed_dose_limit": 3,
        "status": "active",
        "hold_reason": "",
        "hold_kind": "",
        "updated_at": "2026-06-01T10:00:00.000000Z",
    }
    body.update(data)
    return {"kind": "prescription", "op": "upsert", "key": hub_id, "data": body}


def staff(hub_id: str, pin_hash: str, **data: Any) -> dict[str, Any]:
    body = {"id": hub_id, "name": "Sam Nurse", "role": "nurse", "pin_hash": pin_hash}
    body["active"] = True
    body.update(data)
    return {"kind": "staff", "op": "upsert", "key": hub_id, "data": body}


def delete(kind: str, key: str) -> dict[str, Any]:
    return {"kind": kind, "op": "delete", "key": key, "data": None}


def alert_notice(hub_id: str, kiosk_alert_id: int | None, kind: str, **data: Any) -> dict[str, Any]:
    """A hub alert_notice (docs/SYNC.md "Who has been told"): nobody told unless given."""
    body: dict[str, Any] = {
        "kiosk_alert_id": kiosk_alert_id,
        "kind": kind,
        "machine_alert": kiosk_alert_id is None,
        "told": [],
        "acknowledged": None,
    }
    body.update(data)
    return {"kind": "alert_notice", "op": "upsert", "key": hub_id, "data": body}
