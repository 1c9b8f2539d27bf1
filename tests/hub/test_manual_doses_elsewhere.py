"""A dose given by hand counts at every machine of the participant (issue 17 gaps, item 1;
docs/SYNC.md "Manual doses"): told to the other machines as a dose elsewhere, once per
machine whatever is re-sent, never to the machine it was recorded for; carried by a
transfer; and taken off the hub's figure of the lane once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import transaction
from fleet import ingest, moves
from fleet.downtime import record_manual_dose
from fleet.models import DoseElsewhere, LaneStock, ManualDose, Prescription

from tests.hub.helpers import Kiosk, Provision, event, make_participant, make_prescription


def _wire(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def recorded(seq: int, rx: Prescription, key: str, units: int = 2, lane: int | None = 1) -> Any:
    """The kiosk's ``manual_dose.recorded`` event (kiosk.domain.manual_doses.event_payload)."""
    at = datetime.now(UTC) - timedelta(minutes=10)
    payload = {
        "actor": "staff:3",
        "uuid": key,
        "subject": rx.participant.code,
        "prescription_id": 7,
        "prescription_hub_id": str(rx.pk),
        "medication": {"name": rx.medication_name, "strength": rx.medication_strength,
                       "form": rx.medication_form},
        "units": units,
        "given_at": _wire(at),
        "source": "machine_lane" if lane else "pharmacy_stock",
        "lane": lane,
        "recorded_by": "staff:3",
        "witness": None,
    }  # fmt: skip
    return event(seq, "manual_dose.recorded", payload, _wire(at))


def configured(seq: int, stock: int = 30) -> Any:
    return event(seq, "lane.configured", {"lane": 1, "medication_id": 4, "stock": stock})


def both(provision: Provision) -> tuple[Kiosk, Kiosk, Prescription, Prescription]:
    """P-0001 enrolled at two machines, with the same medication at each."""
    one, two = provision("Downtown", "kiosk-1"), provision("Downtown", "kiosk-2")
    start = date.today() - timedelta(days=1)
    rx_one = make_prescription(make_participant(one.machine), start_date=start)
    rx_two = make_prescription(make_participant(two.machine), start_date=start)
    return one, two, rx_one, rx_two


def told(kiosk: Kiosk, cursor: int = 0) -> list[dict[str, Any]]:
    _, changes, _ = kiosk.pull_all(cursor)
    return [c for c in changes if c["kind"] == "dose_elsewhere"]


def lane_stock(kiosk: Kiosk) -> int | None:
    return LaneStock.objects.get(machine=kiosk.machine, lane=1).stock


def test_a_dose_recorded_at_one_kiosk_reaches_the_other_once(provision: Provision) -> None:
    one, two, rx_one, rx_two = both(provision)
    key = str(uuid.uuid4())
    batch = [configured(1), recorded(2, rx_one, key)]
    assert one.push(batch).status_code == 200
    assert one.push(batch).status_code == 200  # a lost reply: the same batch again
    again = [dict(recorded(3, rx_one, key), id=str(uuid.uuid4()))]
    assert one.push(again).status_code == 200  # the same dose under another event

    [dose] = ManualDose.objects.all()
    [row] = DoseElsewhere.objects.all()
    assert (row.machine_id, row.manual_dose_id, row.source_event_id) == (
        two.machine.pk,
        dose.pk,
        None,
    )
    assert row.prescription_hub_id == rx_two.pk and row.units == 2
    [change] = told(two)
    assert change["data"]["manual_dose"] == key and change["data"]["prescription"] == str(rx_two.pk)
    assert told(one) == []  # the machine it was recorded for holds it as its own
    [snapshot] = told(two, 10**9)  # a snapshot lists it once
    assert snapshot["key"] == change["key"]

    # The hub's figure of the lane: 30, less the dose once (not the copy under seq 3).
    assert lane_stock(one) == 28
    ingest.rebuild_lanes(one.machine)
    assert lane_stock(one) == 28
    assert one.push([event(4, "dispense.result", {"lane": 1, "dropped": 3})]).status_code == 200
    assert lane_stock(one) == 25


def test_a_pharmacy_dose_reaches_the_other_machine_and_leaves_the_lanes(
    provision: Provision,
) -> None:
    one, two, rx_one, _ = both(provision)
    batch = [configured(1), recorded(2, rx_one, str(uuid.uuid4()), lane=None)]
    assert one.push(batch).status_code == 200
    assert len(told(two)) == 1
    assert lane_stock(one) == 30


def test_a_dose_recorded_on_the_hub_reaches_the_other_machine_and_the_lane_once(
    provision: Provision,
) -> None:
    one, two, rx_one, _ = both(provision)
    assert one.push([configured(1)]).status_code == 200
    with transaction.atomic():
        dose = record_manual_dose(
            rx_one,
            units=3,
            given_at=datetime.now(UTC) - timedelta(minutes=5),
            source="machine_lane",
            lane=1,
            recorded_by="hub_user:1",
        )
    assert [c["data"]["manual_dose"] for c in told(two)] == [str(dose.uuid)]
    assert told(one) == []
    assert lane_stock(one) == 30  # not before the machine takes it off its lane
    applied = {"uuid": str(dose.uuid), "lane": 1, "units": 3}
    pushed = [event(2, "manual_dose.applied", applied), event(3, "manual_dose.applied", applied)]
    assert one.push(pushed).status_code == 200
    assert lane_stock(one) == 27  # once, though named twice
    ingest.rebuild_lanes(one.machine)
    assert lane_stock(one) == 27
    # Another machine's "applied" for a dose not recorded for it takes nothing.
    other = [configured(1), event(2, "manual_dose.applied", applied)]
    other = [dict(e, id=str(uuid.uuid4())) for e in other]  # kiosk-2's own event ids
    assert two.push(other).status_code == 200
    assert lane_stock(two) == 30


def test_a_transfer_carries_the_doses_given_by_hand_never_back_to_their_machine(
    provision: Provision,
) -> None:
    one, two, rx_one, _ = both(provision)
    three = provision("Downtown", "kiosk-3")
    key = str(uuid.uuid4())
    assert one.push([recorded(1, rx_one, key, lane=None)]).status_code == 200
    assert DoseElsewhere.objects.filter(machine=two.machine).count() == 1
    # kiosk-2's participant moves to kiosk-3: the dose kiosk-2 was told of goes along, once.
    source = rx_one.participant.__class__.objects.get(machine=two.machine, code="P-0001")
    with transaction.atomic():
        moves.transfer(source, three.machine)
    assert [c["data"]["manual_dose"] for c in told(three)] == [key]
    with transaction.atomic():
        moves.send_recent(source, source, datetime.now(UTC) - timedelta(days=2))
    assert DoseElsewhere.objects.filter(machine=three.machine).count() == 1
    # kiosk-1's participant (the dose's own machine) never gets it as a dose elsewhere.
    home = rx_one.participant
    with transaction.atomic():
        moves.send_recent(source, home, datetime.now(UTC) - timedelta(days=2))
    assert told(one) == []
