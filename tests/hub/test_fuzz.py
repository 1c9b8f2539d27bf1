"""Fuzzing the sync API as a provisioned kiosk (correctly signed) and as a stranger.

Generated pushes are valid-ish bodies with fields mutated into what broke the hub (issue 13):
NUL, lone surrogates and NaN/Infinity written as raw JSON text, integers past every column,
negative counts, non-ASCII digits, deep nesting, odd dates, wrong types; plus garbage bodies.
Whatever arrives: never a 5xx, always JSON; a push is refused whole (400/413, nothing stored)
or stored whole (every event of it in Event or QuarantinedEvent) with ``stored_through`` the
contiguous run the hub holds.

HUB_FUZZ_EXAMPLES sets the examples per endpoint (250 in `make test`; `make soak` runs 10,000).
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from fleet.models import Event, Machine, QuarantinedEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hub.helpers import Kiosk

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "250"))
# The suite's 120 s per test is for a few hundred examples; `make soak`'s 10,000 get time in
# proportion.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120 + EXAMPLES // 4)]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The kiosk is provisioned once per test; each example uses fresh seqs and nonces.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# JSON text json.dumps cannot write (or that is hostile as it is), spliced in raw.
RAW_LITERALS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    '"\\ud800"',
    '"a\\udfffb"',
    '"\\u0000"',
    '"x\\u0000y"',
    '"\\u00b2"',
    '"\\u0663\\u0664"',
    "9" * 40,
    "-" + "9" * 40,
    "9" * 5000,
    str(2**63),
    str(2**31),
    str(2**15),
    "-1",
    "0",
    "1.5",
    "true",
    "null",
    "{}",
    "[]",
    '""',
    '"9999-12-31T23:59:59-14:00"',
    '"0001-01-01T00:00:00+14:00"',
    '"2026-06-10T19:00:00"',
    '"2026-13-40T99:99:99Z"',
    "[" * 20 + "1" + "]" * 20,
    "[" * 70 + "]" * 70,
    '{"\\u0000": 1}',
    '{"\\ud800": [1]}',
]
_RAW_MARK = "\x01RAW{}\x01"

_seqs = itertools.count(1)


def _raw(index: int) -> str:
    return _RAW_MARK.format(index)


def _splice(document: Any) -> bytes:
    """``document`` as JSON with each raw placeholder replaced by its literal text."""
    text = json.dumps(document)
    for index, literal in enumerate(RAW_LITERALS):
        text = text.replace(json.dumps(_raw(index)), literal)
    return text.encode("utf-8", "surrogatepass")


def _is_raw(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("\x01RAW")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
hostile = st.sampled_from(range(len(RAW_LITERALS))).map(_raw)


def _field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid; otherwise a hostile literal or any JSON value."""
    return st.one_of(valid, valid, valid, hostile, json_values)


COUNTS = st.integers(0, 1000)
PAYLOAD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "lane": _field(st.integers(1, 12)),
    "stock": _field(COUNTS),
    "dropped": _field(COUNTS),
    "units": _field(COUNTS),
    "medication_id": _field(st.integers(1, 50)),
    "vend_id": _field(st.integers(1, 10**6)),
    "prescription_hub_id": _field(st.integers(1, 10**6).map(str)),
    "kind": _field(st.sampled_from(["staff", "missed_doses", "lane_jammed"])),
    "reason": _field(st.text(max_size=30)),
    "message": _field(st.text(max_size=30)),
    "subject": _field(st.sampled_from(["lane:1", "prescription:3"])),
    "to": _field(st.sampled_from(["ready", "jammed"])),
    "actor": _field(st.sampled_from(["system", "staff:3"])),
}
TYPES = [
    "dispense.intent",
    "dispense.result",
    "lane.configured",
    "lane.state",
    "stock.counted",
    "prescription.held",
    "prescription.released",
    "prescription.changed",
    "alert.raised",
    "audit.note",
]


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    keys = draw(st.lists(st.sampled_from(sorted(PAYLOAD_FIELDS)), unique=True, max_size=6))
    payload = {key: draw(PAYLOAD_FIELDS[key]) for key in keys}
    if draw(st.booleans()):
        payload[draw(st.text(max_size=6))] = draw(json_values | hostile)
    return payload


@st.composite
def events(draw: st.DrawFn, seq: int) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "seq": seq,
        "id": draw(_field(st.uuids().map(str))),
        "type": draw(_field(st.sampled_from(TYPES))),
        "created_at": draw(
            _field(st.sampled_from(["2026-06-10T19:00:00.000000Z", "2026-06-11T08:30:00+02:00"]))
        ),
        "payload": draw(st.one_of(payloads(), payloads(), payloads(), hostile, json_values)),
    }
    for key in draw(st.lists(st.sampled_from(sorted(wire)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del wire[key]  # missing
        else:
            wire[key] = draw(hostile | json_values)  # the wrong thing
    return wire


@st.composite
def pushes(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["batch", "batch", "batch", "batch", "garbage", "deep"]))
    if kind == "garbage":
        return draw(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        return b'{"events": [' + b"[" * depth + b"]" * depth + b"]}"
    base = next(_seqs) * 100  # fresh seqs per example; a few repeat or collide on purpose
    offsets = draw(st.lists(st.integers(0, 12), max_size=8))
    batch = [draw(events(base + offset)) for offset in offsets]
    document: dict[str, Any] = {"events": batch}
    if draw(st.booleans()):
        document["anchor"] = draw(
            st.one_of(
                st.just({"entries": 3, "head": "a" * 64}),
                hostile,
                json_values,
            )
        )
    return _splice(document)


def _held(machine: Machine) -> set[int]:
    return set(Event.objects.filter(machine=machine).values_list("seq", flat=True)) | set(
        QuarantinedEvent.objects.filter(machine=machine).values_list("seq", flat=True)
    )


def _contiguous(held: set[int], start: int) -> int:
    through = start
    while through + 1 in held:
        through += 1
    return through


def _sent_seqs(body: bytes) -> list[int]:
    """The seqs of the body's events, as the hub reads them (the body was accepted)."""
    document = json.loads(
        body.decode("utf-8", "surrogatepass"),
        parse_constant=lambda literal: None,
        parse_int=lambda literal: int(literal) if len(literal) < 100 else None,
    )
    return [raw["seq"] for raw in document["events"]]


@FUZZ
@given(body=pushes())
def test_fuzzed_pushes(kiosk: Kiosk, body: bytes) -> None:
    machine = kiosk.machine
    held_before = _held(machine)
    last_before = machine.last_seq

    response = kiosk.post("/v1/sync/events", body)

    assert response.status_code < 500
    reply = response.json()
    held_after = _held(machine)
    if response.status_code != 200:
        assert response.status_code in (400, 413), reply
        assert held_after == held_before  # refused whole: nothing stored
        return
    seqs = _sent_seqs(body)
    assert set(seqs) <= held_after  # stored whole: every event held, readable or quarantined
    assert held_after - held_before <= set(seqs)
    assert {q["seq"] for q in reply["quarantined"]} <= set(seqs)
    machine.refresh_from_db()
    assert reply["stored_through"] == machine.last_seq == _contiguous(held_after, last_before)


cursors = st.one_of(
    st.integers(0, 10**6).map(str),
    st.text(max_size=25),
    st.sampled_from(["²", "٣", "9" * 19, "-1", "1.5", "", "1\x00", "\ud800"]),
)


@FUZZ
@given(cursor=cursors, repeat=st.booleans())
def test_fuzzed_pulls(kiosk: Kiosk, cursor: str, repeat: bool) -> None:
    query = quote(cursor, safe="", errors="surrogatepass")
    path = f"/v1/sync/changes?cursor={query}" + (f"&cursor={query}" if repeat else "")
    response = kiosk.client.get(path, **kiosk.headers("GET", path, b""))
    assert response.status_code in (200, 400)
    body = response.json()
    assert ("changes" in body) == (response.status_code == 200)


provision_bodies = st.one_of(
    st.binary(max_size=100),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(range(len(RAW_LITERALS))).map(lambda i: _splice({"code": _raw(i)})),
    st.text(max_size=70).map(lambda code: json.dumps({"code": code}).encode()),
    st.integers(1, 100_000).map(lambda depth: b"[" * depth + b"]" * depth),
)


_ADDRESSES = itertools.count(1)


@FUZZ
@given(body=provision_bodies)
def test_fuzzed_provisioning(client: Client, db: None, body: bytes) -> None:
    # Each example comes from its own address: the wrong-code limit (fleet.throttle, tested
    # in test_security.py) would otherwise answer 429 from the sixth example on.
    n = next(_ADDRESSES)
    address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    response = client.generic(
        "POST", "/v1/provision", body, content_type="application/json", REMOTE_ADDR=address
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("bad_request", "invalid_code")


def test_the_fuzzer_reaches_quarantine_and_refusal(kiosk: Kiosk) -> None:
    """A check of the generators' reach: one hostile literal in a payload is quarantined."""
    body = _splice({"events": [_event_with(1, {"lane": _raw(RAW_LITERALS.index("NaN"))})]})
    reply = kiosk.post("/v1/sync/events", body).json()
    assert [q["seq"] for q in reply["quarantined"]] == [1]


def _event_with(seq: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": str(uuid.uuid4()),
        "type": "stock.counted",
        "created_at": "2026-06-10T19:00:00Z",
        "payload": payload,
    }
