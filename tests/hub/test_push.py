"""POST /v1/sync/events: facts stored once, stored_through, gaps, exceptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fleet.models import (
    Alert,
    Event,
    LaneStock,
    Prescription,
    QuarantinedEvent,
    SyncException,
)

from tests.hub.helpers import Kiosk, Provision, event, make_participant, make_prescription

pytestmark = pytest.mark.django_db


def _stored(kiosk: Kiosk) -> list[int]:
    return list(Event.objects.filter(machine=kiosk.machine).values_list("seq", flat=True))


def test_a_batch_is_stored_and_acknowledged(kiosk: Kiosk) -> None:
    response = kiosk.push([event(1, "dispense.intent"), event(2, "dispense.result")])
    assert (response.status_code, response.json()) == (
        200,
        {"stored_through": 2, "quarantined": []},
    )
    first = Event.objects.get(machine=kiosk.machine, seq=1)
    assert first.type == "dispense.intent"
    assert first.created_at == datetime(2026, 6, 10, 19, 0, tzinfo=UTC)
    assert kiosk.machine.last_seq == 2


def test_the_same_batch_twice_stores_nothing_new(kiosk: Kiosk) -> None:
    batch = [event(1), event(2), event(3)]
    assert kiosk.push(batch).json() == {"stored_through": 3, "quarantined": []}
    received = list(Event.objects.order_by("seq").values_list("seq", "event_id", "received_at"))

    assert kiosk.push(batch).json() == {"stored_through": 3, "quarantined": []}
    assert list(Event.objects.order_by("seq").values_list("seq", "event_id", "received_at")) == (
        received
    )


def test_overlapping_batches_store_each_event_once(kiosk: Kiosk) -> None:
    assert kiosk.push([event(s) for s in range(1, 6)]).json() == {
        "stored_through": 5,
        "quarantined": [],
    }
    assert kiosk.push([event(s) for s in range(3, 9)]).json() == {
        "stored_through": 8,
        "quarantined": [],
    }
    assert _stored(kiosk) == list(range(1, 9))


def test_an_empty_push_tells_where_the_hub_stands(kiosk: Kiosk) -> None:
    assert kiosk.push([]).json() == {"stored_through": 0, "quarantined": []}
    kiosk.push([event(1)])
    assert kiosk.push([]).json() == {"stored_through": 1, "quarantined": []}


def test_a_gap_stops_stored_through_and_raises_one_alert(kiosk: Kiosk) -> None:
    assert kiosk.push([event(1), event(2)]).json() == {"stored_through": 2, "quarantined": []}
    # 3 and 4 lost (say): 5 and 6 arrive.
    assert kiosk.push([event(5), event(6)]).json() == {"stored_through": 2, "quarantined": []}
    assert _stored(kiosk) == [1, 2, 5, 6]  # stored all the same: facts are kept
    alerts = Alert.objects.filter(machine=kiosk.machine, kind="event_gap")
    assert alerts.count() == 1
    assert "#3-#4" in alerts.get().message
    # Re-sending the same thing does not pile up alerts.
    kiosk.push([event(5), event(6)])
    assert alerts.count() == 1
    # The gap filled, out of order: stored_through jumps over what was held.
    assert kiosk.push([event(4), event(3)]).json() == {"stored_through": 6, "quarantined": []}


def test_events_out_of_order_within_a_batch(kiosk: Kiosk) -> None:
    assert kiosk.push([event(3), event(1), event(2)]).json() == {
        "stored_through": 3,
        "quarantined": [],
    }


def test_a_seq_resent_with_another_id_keeps_the_first_and_alerts(kiosk: Kiosk) -> None:
    kiosk.push([event(1)])
    first_id = Event.objects.get(seq=1).event_id
    other = event(1, event_id="0e4bb1b0-6f53-4f4c-9a70-2cbbd8a7d0a1")
    assert kiosk.push([other]).json() == {"stored_through": 1, "quarantined": []}
    assert Event.objects.get(seq=1).event_id == first_id
    assert Alert.objects.filter(kind="event_conflict").count() == 1


MALFORMED: list[tuple[str, bytes]] = [
    ("not json", b"{"),
    ("not utf-8", b"\xff\xfe"),
    ("a list", b"[]"),
    ("no events", b'{"evts": []}'),
    ("events not a list", b'{"events": {}}'),
]


def _with(index: int, **change: object) -> bytes:
    events = [event(1), event(2), event(3)]
    events[index].update(change)
    for key, value in change.items():
        if value is ...:
            del events[index][key]
    return json.dumps({"events": events}).encode()


MALFORMED += [
    ("event not an object", json.dumps({"events": [event(1), 5]}).encode()),
    ("seq missing", _with(2, seq=...)),
    ("seq a string", _with(2, seq="3")),
    ("seq zero", _with(2, seq=0)),
    ("seq negative", _with(2, seq=-1)),
    ("seq a bool", _with(0, seq=True)),
    ("seq a float", _with(2, seq=3.0)),
    ("seq past bigint", _with(2, seq=2**63)),
    ("seq non-ASCII digits", _with(2, seq="²")),
    ("duplicate seq", _with(2, seq=1)),
    ("deeper than the body limit", b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}"),
]


@pytest.mark.parametrize(("why", "body"), MALFORMED, ids=[why for why, _ in MALFORMED])
def test_a_malformed_body_is_400_and_stores_nothing(kiosk: Kiosk, why: str, body: bytes) -> None:
    response = kiosk.push(raw=body)
    assert response.status_code == 400, why
    assert response.json()["error"] == "bad_request"
    assert response.json()["detail"]
    assert not Event.objects.exists()
    assert not QuarantinedEvent.objects.exists()
    assert kiosk.machine.last_seq == 0


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


# An event with a usable seq but anything else wrong: quarantined, its seq held, later events
# stored; the reply names it (seq, id, type, the rule broken).
BROKEN_EVENTS: list[tuple[str, dict[str, object], str]] = [
    ("id missing", {"id": ...}, "id: missing"),
    ("id not a uuid", {"id": "123"}, "id: a UUID expected"),
    ("id of non-ASCII digits", {"id": "²" * 8 + "-1111-1111-1111-111111111111"}, "id: a UUID"),
    ("type missing", {"type": ...}, "type: missing"),
    ("type empty", {"type": ""}, "type: empty"),
    ("type too long", {"type": "x" * 101}, "type: text longer than 100"),
    ("created_at missing", {"created_at": ...}, "created_at: missing"),
    ("created_at not a date", {"created_at": "yesterday"}, "created_at: an ISO-8601"),
    ("created_at naive", {"created_at": "2026-06-10T19:00:00"}, "created_at: no time zone"),
    ("created_at past year 9999 in UTC", {"created_at": "9999-12-31T23:59:59-14:00"}, "between"),
    ("created_at year 1", {"created_at": "0001-01-01T00:00:00+00:00"}, "created_at: not between"),
    ("payload missing", {"payload": ...}, "payload: missing"),
    ("payload a list", {"payload": []}, "payload: an object expected"),
    ("NUL in a reason", {"payload": {"lane": 1, "reason": "a\x00b"}}, "payload.reason: text"),
    ("NUL in a key", {"payload": {"a\x00": 1}}, "payload.<key>: key contains NUL"),
    ("lane past smallint", {"payload": {"lane": 40000}}, "payload.lane: above 32767"),
    ("stock past integer", {"payload": {"lane": 1, "stock": 2**31}}, "payload.stock: above"),
    ("negative dropped", {"payload": {"lane": 1, "dropped": -5}}, "payload.dropped: below 0"),
    ("negative units", {"payload": {"lane": 1, "units": -1}}, "payload.units: below 0"),
    ("a bool as a count", {"payload": {"lane": 1, "stock": True}}, "payload.stock: an integer"),
    ("hub id of non-ASCII digits", {"payload": {"prescription_hub_id": "²"}}, "prescription_hub"),
    ("hub id past bigint", {"payload": {"prescription_hub_id": "9" * 19}}, "prescription_hub_id"),
    ("too deep", {"payload": {"a": _nested(20)}}, "nested more than"),
    ("integer past bigint anywhere", {"payload": {"x": [2**70]}}, "payload.x[0]: integer out"),
]


@pytest.mark.parametrize(
    ("why", "change", "rule"), BROKEN_EVENTS, ids=[why for why, _, _ in BROKEN_EVENTS]
)
def test_an_event_that_breaks_the_schema_is_quarantined(
    kiosk: Kiosk, why: str, change: dict[str, object], rule: str
) -> None:
    body = _with(1, **change)
    response = kiosk.push(raw=body)

    assert response.status_code == 200, why
    reply = response.json()
    assert reply["stored_through"] == 3  # the queue moves on
    [quarantined] = reply["quarantined"]
    assert quarantined["seq"] == 2
    assert rule in quarantined["reason"], quarantined["reason"]
    assert _stored(kiosk) == [1, 3]
    row = QuarantinedEvent.objects.get(machine=kiosk.machine)
    assert (row.seq, row.reason) == (2, quarantined["reason"])
    assert json.loads(row.raw)["seq"] == 2  # kept as received
    alert = Alert.objects.get(machine=kiosk.machine, kind="event_quarantined")
    assert "#2" in alert.message


def test_a_duplicate_id_quarantines_the_later_event(kiosk: Kiosk) -> None:
    first = event(1)
    reply = kiosk.push([first, event(2, event_id=first["id"]), event(3)]).json()
    assert reply["stored_through"] == 3
    assert [(q["seq"], q["id"]) for q in reply["quarantined"]] == [(2, first["id"])]
    assert _stored(kiosk) == [1, 3]


def test_a_resent_batch_reports_its_quarantined_events_again(kiosk: Kiosk) -> None:
    bad = event(2, "dispense.result", {"lane": 1, "dropped": -1})
    batch = [event(1), bad, event(3)]
    first = kiosk.push(batch).json()
    again = kiosk.push(batch).json()  # the kiosk lost the first reply
    assert first == again
    assert first["quarantined"] == [
        {"seq": 2, "id": bad["id"], "type": "dispense.result", "reason": "payload.dropped: below 0"}
    ]
    assert QuarantinedEvent.objects.count() == 1
    assert Alert.objects.filter(kind="event_quarantined").count() == 1
    # A later batch without it says nothing of it.
    assert kiosk.push([event(4)]).json() == {"stored_through": 4, "quarantined": []}


def test_a_quarantined_seq_stays_quarantined_when_resent_readable(kiosk: Kiosk) -> None:
    kiosk.push([event(1, payload={"lane": 1, "stock": -3})])
    reply = kiosk.push([event(1, payload={"lane": 1, "stock": 3})]).json()
    assert reply["stored_through"] == 1
    assert [q["seq"] for q in reply["quarantined"]] == [1]
    assert not Event.objects.exists()


def test_a_stored_seq_resent_unreadable_keeps_the_stored_event(kiosk: Kiosk) -> None:
    kiosk.push([event(1, payload={"lane": 1, "stock": 3})])
    reply = kiosk.push([event(1, payload={"lane": 1, "stock": -3})]).json()
    assert reply == {"stored_through": 1, "quarantined": []}
    assert not QuarantinedEvent.objects.exists()


def test_too_many_events_in_one_push(kiosk: Kiosk, settings: Any) -> None:
    settings.HUB_PUSH_MAX_EVENTS = 3
    response = kiosk.push([event(s) for s in range(1, 5)])
    assert (response.status_code, response.json()["error"]) == (413, "too_many_events")
    assert not Event.objects.exists()


def test_unknown_event_types_and_extra_fields_are_kept(kiosk: Kiosk) -> None:
    wire = event(1, "something.new", {"anything": [1, 2]})
    wire["future_field"] = True
    assert kiosk.push([wire]).json() == {"stored_through": 1, "quarantined": []}
    assert Event.objects.get().payload == {"anything": [1, 2]}


# ---------------------------------------------------------------- exceptions


def _at(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _intent(
    seq: int, prescription: Prescription, at: datetime, vend: int = 77
) -> dict[str, object]:
    payload = {
        "vend_id": vend,
        "participant_id": 1,
        "prescription_id": 3,  # the kiosk's own id
        "prescription_hub_id": str(prescription.pk),
        "lane": 1,
        "units": 2,
    }
    return event(seq, "dispense.intent", payload, _at(at))


def _result(seq: int, at: datetime, vend: int = 77, dropped: int = 2) -> dict[str, object]:
    payload = {"vend_id": vend, "lane": 1, "units": 2, "dropped": dropped, "outcome": "complete"}
    return event(seq, "dispense.result", payload, _at(at))


def test_a_dispense_before_a_hub_change_becomes_an_exception(kiosk: Kiosk) -> None:
    prescription = make_prescription(make_participant(kiosk.machine))
    dispensed_at = prescription.updated_at - timedelta(minutes=30)  # offline meanwhile

    response = kiosk.push([_intent(1, prescription, dispensed_at), _result(2, dispensed_at)])

    assert response.json() == {"stored_through": 2, "quarantined": []}  # a fact is never refused
    exception = SyncException.objects.get()
    assert exception.kind == "exception"
    assert exception.machine == kiosk.machine
    assert exception.event is not None and exception.event.seq == 1  # one per vend
    assert f"prescription {prescription.pk}" in exception.reason


def test_a_result_alone_finds_its_prescription_through_the_intent(kiosk: Kiosk) -> None:
    prescription = make_prescription(make_participant(kiosk.machine))
    now = datetime.now(UTC)
    prescription.save(changed_at=now - timedelta(hours=2))
    kiosk.push([_intent(1, prescription, now - timedelta(hours=1))])
    assert not SyncException.objects.exists()

    prescription.units_per_dose = 1
    prescription.save()  # the hub changes it after the intent, before the result arrives
    kiosk.push([_result(2, now - timedelta(hours=1) + timedelta(seconds=20))])

    exception = SyncException.objects.get()
    assert exception.event is not None and exception.event.type == "dispense.result"


def test_a_dispense_after_the_hub_change_is_not_an_exception(kiosk: Kiosk) -> None:
    prescription = make_prescription(make_participant(kiosk.machine))
    later = prescription.updated_at + timedelta(minutes=1)
    kiosk.push([_intent(1, prescription, later), _result(2, later)])
    assert not SyncException.objects.exists()


def test_a_dispense_against_a_prescription_the_hub_does_not_hold(provision: Provision) -> None:
    mine = provision(machine="a")
    other = provision(machine="b")
    theirs = make_prescription(make_participant(other.machine))
    mine.push([_intent(1, theirs, datetime.now(UTC))])
    assert "not on this machine" in SyncException.objects.get(machine=mine.machine).reason


def test_a_dispense_on_a_kiosk_only_prescription_is_just_stored(kiosk: Kiosk) -> None:
    payload = {"vend_id": 5, "prescription_id": 3, "lane": 1, "units": 1}
    kiosk.push([event(1, "dispense.intent", payload)])
    assert not SyncException.objects.exists()


def test_a_duplicate_push_does_not_duplicate_exceptions(kiosk: Kiosk) -> None:
    prescription = make_prescription(make_participant(kiosk.machine))
    earlier = prescription.updated_at - timedelta(hours=1)
    batch = [_intent(1, prescription, earlier), _result(2, earlier)]
    kiosk.push(batch)
    kiosk.push(batch)
    assert SyncException.objects.count() == 1


# ---------------------------------------------------------------- holds decided at the kiosk


def test_a_kiosk_hold_is_kept_by_the_hub(kiosk: Kiosk) -> None:
    prescription = make_prescription(make_participant(kiosk.machine))
    held_at = prescription.updated_at + timedelta(hours=1)
    payload = {
        "prescription_id": 3,
        "prescription_hub_id": str(prescription.pk),
        "reason": "3 missed days",
        "kind": "missed_doses",
    }
    kiosk.push([event(1, "prescription.held", payload, _at(held_at))])

    prescription.refresh_from_db()
    assert (prescription.status, prescription.hold_kind) == ("on_hold", "missed_doses")
    assert prescription.updated_at == held_at  # dated when the kiosk decided


def test_a_kiosk_hold_older_than_a_hub_edit_is_a_conflict(kiosk: Kiosk) -> None:
    prescription = make_prescription(make_participant(kiosk.machine))
    held_at = prescription.updated_at - timedelta(hours=1)
    payload = {"prescription_hub_id": str(prescription.pk), "reason": "staff", "kind": "staff"}
    kiosk.push([event(1, "prescription.held", payload, _at(held_at))])

    prescription.refresh_from_db()
    assert prescription.status == "active"  # nothing silently overwritten
    assert SyncException.objects.get().kind == "conflict"


# ---------------------------------------------------------------- what the fleet page shows


def test_lane_stock_follows_the_latest_events(kiosk: Kiosk) -> None:
    kiosk.push(
        [
            event(1, "lane.configured", {"lane": 1, "medication_id": 4, "stock": 40}),
            event(2, "dispense.result", {"vend_id": 1, "lane": 1, "dropped": 2}),
            event(3, "dispense.result", {"vend_id": 2, "lane": 1, "dropped": 1}),
            event(4, "lane.state", {"lane": 1, "from": "ready", "to": "jammed"}),
        ]
    )
    lane = LaneStock.objects.get(machine=kiosk.machine, lane=1)
    assert (lane.stock, lane.state, lane.medication_id) == (37, "jammed", 4)

    kiosk.push([event(5, "stock.counted", {"lane": 1, "medication_id": 4, "stock": 30})])
    assert LaneStock.objects.get(machine=kiosk.machine, lane=1).stock == 30


def test_kiosk_alerts_show_on_the_hub(kiosk: Kiosk) -> None:
    payload = {"actor": "system", "subject": "lane:2", "kind": "lane_jammed", "message": "Jam"}
    kiosk.push([event(1, "alert.raised", payload)])
    alert = Alert.objects.get(machine=kiosk.machine)
    assert alert.kind == "kiosk:lane_jammed"
    assert "lane:2" in alert.message
