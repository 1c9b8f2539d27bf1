"""Lane stock kept from each push's new events only (fleet.lanes) is the full recompute,
whatever order the batches arrive in; and the push path's cost does not grow with history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fleet import ingest, lanes
from fleet.models import Event, LaneStock, Machine, Site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hub.helpers import Kiosk, event, make_participant, make_prescription

AT = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)


def _payload(draw: Any, type_: str) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    lane = draw(st.sampled_from([1, 1, 2, None, "1"]))
    if lane is not None:
        payload["lane"] = lane
    if type_ in ("lane.configured", "stock.counted"):
        payload["stock"] = draw(st.one_of(st.integers(0, 60), st.none()))
        payload["medication_id"] = draw(st.sampled_from([3, 4, None]))
    elif type_ == "dispense.result":
        payload["vend_id"] = draw(st.integers(1, 5))
        dropped = draw(st.one_of(st.integers(-2, 6), st.none(), st.just("2")))
        if dropped is not None:
            payload["dropped"] = dropped
        if draw(st.integers(0, 9)) == 0:
            payload["stock"] = draw(st.integers(0, 60))  # a result that restates the stock
    elif type_ in (lanes.MANUAL_RECORDED, lanes.MANUAL_APPLIED):
        # A dose given by hand from the lane (or, recorded, from the pharmacy: no effect).
        payload.update(
            uuid=str(uuid.UUID(int=draw(st.integers(1, 2**64)))),
            units=draw(st.one_of(st.integers(-1, 6), st.just("2"))),
            source=draw(st.sampled_from(["machine_lane", "machine_lane", "pharmacy_stock"])),
            medication={"name": "hydromorphone", "strength": "8 mg", "form": "tablet"},
            given_at="2026-06-10T18:00:00Z",
            subject="P-0001",
        )
    elif type_ == "lane.state":
        payload["to"] = draw(st.sampled_from(["ready", "jammed", "empty", "a-very-long-state-x"]))
    return payload


@st.composite
def histories(draw: Any) -> tuple[list[lanes.LaneEvent], list[list[int]]]:
    """Events with seqs 1..n, and the batches (lists of seqs) they arrive in, in arrival
    order: any split, any order, some batches sent again (a lost reply)."""
    n = draw(st.integers(1, 40))
    types = ["lane.configured", "stock.counted", "dispense.result", "lane.state", "audit.note"]
    types += [lanes.MANUAL_RECORDED, lanes.MANUAL_APPLIED]
    events = []
    for seq in range(1, n + 1):
        type_ = draw(st.sampled_from(types))
        events.append((seq, type_, _payload(draw, type_)))
    order = draw(st.permutations(list(range(1, n + 1))))
    cuts = sorted(draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=6)))
    batches = [
        sorted(order[a:b]) for a, b in zip([0, *cuts], [*cuts, n], strict=True) if order[a:b]
    ]
    for index in draw(st.lists(st.integers(0, len(batches) - 1), max_size=3)):
        batches.insert(draw(st.integers(index, len(batches))), batches[index])
    return events, batches


def _full(events: list[lanes.LaneEvent]) -> dict[int, lanes.LaneFacts]:
    per_lane: dict[int, list[lanes.LaneEvent]] = {}
    for seq, type_, payload in events:
        lane = lanes.lane_of(payload)
        if lane is not None:
            per_lane.setdefault(lane, []).append((seq, type_, payload))
    return {lane: lanes.recompute(evs) for lane, evs in per_lane.items()}


@settings(max_examples=400, deadline=None)
@given(histories())
def test_incremental_is_the_full_recompute_in_any_arrival_order(
    history: tuple[list[lanes.LaneEvent], list[list[int]]],
) -> None:
    events, batches = history
    by_seq = {e[0]: e for e in events}
    stored: set[int] = set()
    facts: dict[int, lanes.LaneFacts] = {}
    for batch in batches:
        new = [by_seq[s] for s in batch if s not in stored]
        stored.update(batch)
        for lane in {lanes.lane_of(e[2]) for e in new} - {None}:
            assert lane is not None
            lane_new = [e for e in new if lanes.lane_of(e[2]) == lane]

            def dropped_after(seq: int, lane: int = lane) -> int:
                return sum(
                    lanes.taken_of(t, p)
                    for s, t, p in events
                    if s in stored and s > seq and lanes.lane_of(p) == lane
                )

            facts[lane] = lanes.apply(facts.get(lane, lanes.LaneFacts()), lane_new, dropped_after)
    assert facts == _full(events)


def test_the_rule_on_a_small_history() -> None:
    facts = lanes.recompute(
        [
            (1, "lane.configured", {"lane": 1, "medication_id": 4, "stock": 40}),
            (2, "dispense.result", {"lane": 1, "dropped": 2}),
            (3, "stock.counted", {"lane": 1, "medication_id": 4, "stock": 30}),
            (4, "dispense.result", {"lane": 1, "dropped": 3}),
            (5, "dispense.result", {"lane": 1, "dropped": 40}),
            (6, "lane.state", {"lane": 1, "to": "empty"}),
        ]
    )
    assert (facts.stock, facts.medication_id, facts.state, facts.as_of_seq) == (0, 4, "empty", 6)
    assert (facts.stock_seq, facts.base_stock, facts.dropped, facts.state_seq) == (3, 30, 43, 6)


_machines = iter(range(10**6))


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories())
def test_pushed_out_of_order_the_hub_holds_the_full_recompute(
    history: tuple[list[lanes.LaneEvent], list[list[int]]],
) -> None:
    events, batches = history
    # Each dose given by hand has its own uuid (ManualDose.uuid is unique across examples);
    # an "applied" names no dose the hub recorded for this machine, so it takes nothing.
    events = [
        (s, t, {**p, "uuid": str(uuid.uuid4())} if t == lanes.MANUAL_RECORDED else p)
        for s, t, p in events
    ]
    site, _ = Site.objects.get_or_create(name="Lanes")
    machine = Machine.objects.create(site=site, name=f"lanes-{next(_machines)}")
    ids = {seq: uuid.uuid4() for seq, _, _ in events}
    by_seq = {e[0]: e for e in events}
    for batch in batches:
        incoming = [ingest.IncomingEvent(s, ids[s], by_seq[s][1], AT, by_seq[s][2]) for s in batch]
        ingest.store(machine, ingest.Push(incoming, None))
    held = {
        row.lane: lanes.LaneFacts(**{f: getattr(row, f) for f in lanes.FIELDS if f != "stock"})
        for row in LaneStock.objects.filter(machine=machine)
    }
    stocks = {row.lane: row.stock for row in LaneStock.objects.filter(machine=machine)}
    full = _full([(s, lanes.NOT_COUNTED if t == lanes.MANUAL_APPLIED else t, p)
                  for s, t, p in events])  # fmt: skip
    assert held == full
    assert stocks == {lane: facts.stock for lane, facts in full.items()}
    ingest.rebuild_lanes(machine)
    assert {row.lane: row.stock for row in LaneStock.objects.filter(machine=machine)} == stocks


def _history(machine: Machine, count: int) -> None:
    """``count`` prior events (a day's kind of mix), inserted in bulk, lanes rebuilt."""
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("lane.configured", {"lane": 1, "medication_id": 4, "stock": 10**6}),
        ("dispense.intent", {"lane": 1, "units": 2}),
        ("dispense.result", {"lane": 1, "dropped": 2, "outcome": "complete"}),
        ("audit.note", {"actor": "system"}),
    ]
    rows = []
    for seq in range(1, count + 1):
        type_, payload = kinds[0] if seq == 1 else kinds[1 + seq % 3]
        payload = {**payload, "vend_id": seq // 3} if type_.startswith("dispense.") else payload
        rows.append(
            Event(
                machine=machine,
                seq=seq,
                event_id=uuid.uuid4(),
                type=type_,
                payload=payload,
                created_at=AT,
            ).fill_keys()
        )
    Event.objects.bulk_create(rows, batch_size=1000)
    Machine.objects.filter(pk=machine.pk).update(last_seq=count)
    ingest.rebuild_lanes(machine)


def _twenty(after: int, hub_rx: int) -> list[dict[str, Any]]:
    out = []
    for n in range(20):
        seq, vend = after + 1 + n, 10**6 + after + n
        match n % 5:
            case 0:
                out.append(
                    event(
                        seq,
                        "dispense.intent",
                        {
                            "vend_id": vend,
                            "lane": 1,
                            "units": 2,
                            "prescription_hub_id": str(hub_rx),
                        },
                    )
                )
            case 1:
                out.append(
                    event(seq, "dispense.result", {"vend_id": vend - 1, "lane": 1, "dropped": 2})
                )
            case 2:
                out.append(event(seq, "lane.state", {"lane": 1, "from": "ready", "to": "ready"}))
            case 3:
                out.append(
                    event(seq, "stock.counted", {"lane": 2, "medication_id": 4, "stock": 50})
                )
            case _:
                out.append(event(seq, "alert.raised", {"kind": "note", "message": "m"}))
    return out


def _queries_for_a_push(kiosk: Kiosk, prior: int) -> list[str]:
    machine = kiosk.machine
    _history(machine, prior)
    # A code of its own per machine: the same code on two machines is one participant, whose
    # doses the hub tells the other machine (fleet.moves), a cost of its own.
    rx = make_prescription(make_participant(machine, f"P-{machine.pk:04d}"))
    rx.save()  # changed after the dispenses below were made: they become review items
    with CaptureQueriesContext(connection) as queries:
        response = kiosk.push(_twenty(prior, rx.pk))
    assert response.status_code == 200, response.content
    assert response.json()["stored_through"] == prior + 20
    return [q["sql"] for q in queries.captured_queries]


def test_a_push_costs_the_same_queries_whatever_the_history(provision: Any) -> None:
    small = _queries_for_a_push(provision(machine="kiosk-small"), 10)
    large = _queries_for_a_push(provision(machine="kiosk-large"), 2000)
    assert len(small) == len(large), "\n".join(small) + "\n----\n" + "\n".join(large)
    # Nothing reads the history: no query filters events on their payload.
    assert not any('"payload" ->' in sql or "payload -> " in sql for sql in large)
