"""The audit-chain anchor a push carries: held per machine, never lowered, breaks alerted."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fleet.models import Alert, Event

from tests.hub.helpers import Kiosk, event

pytestmark = pytest.mark.django_db


def head(entries: int, chain: str = "a") -> str:
    """The head hash of entry ``entries`` of one chain (another ``chain``: a rewritten one)."""
    return hashlib.sha256(f"{chain}:{entries}".encode()).hexdigest()


def anchor(entries: int, chain: str = "a", prior: tuple[int, str] | None = None) -> dict[str, Any]:
    """An anchor on the wire; ``prior`` = (entries, chain) of the kiosk's copy of an entry."""
    body: dict[str, Any] = {"entries": entries, "head": head(entries, chain)}
    if prior is not None:
        body["prior"] = {"entries": prior[0], "head": head(*prior)}
    return body


def held(kiosk: Kiosk) -> tuple[int | None, str]:
    machine = kiosk.machine
    return machine.anchor_entries, machine.anchor_head


def breaks(kiosk: Kiosk) -> list[tuple[str, str]]:
    return list(
        Alert.objects.filter(
            machine=kiosk.machine, kind__in=("records_missing", "records_changed")
        ).values_list("kind", "message")
    )


def test_the_anchor_is_held_and_echoed(kiosk: Kiosk) -> None:
    response = kiosk.push([event(1), event(2)], anchor=anchor(7))

    assert response.status_code == 200
    assert response.json() == {"stored_through": 2, "anchor": anchor(7), "quarantined": []}
    assert held(kiosk) == (7, head(7))
    assert kiosk.machine.anchor_received_at is not None
    assert breaks(kiosk) == []


def test_a_growing_anchor_is_accepted(kiosk: Kiosk) -> None:
    kiosk.push([event(1)], anchor=anchor(3))
    received = kiosk.machine.anchor_received_at
    kiosk.push([event(2)], anchor=anchor(3))  # the same again: nothing new
    assert kiosk.machine.anchor_received_at == received

    response = kiosk.push([event(3)], anchor=anchor(9, prior=(3, "a")))

    assert response.json()["anchor"] == anchor(9)
    assert held(kiosk) == (9, head(9))
    assert breaks(kiosk) == []


def test_a_push_without_an_anchor_still_works(kiosk: Kiosk) -> None:
    assert kiosk.push([event(1)]).json() == {
        "stored_through": 1,
        "quarantined": [],
    }  # an older kiosk
    assert held(kiosk) == (None, "")
    kiosk.push([event(2)], anchor=anchor(4))
    # Later pushes without one change nothing and are told what the hub holds.
    assert kiosk.push([event(3)]).json() == {
        "stored_through": 3,
        "anchor": anchor(4),
        "quarantined": [],
    }
    assert held(kiosk) == (4, head(4))


def test_a_shorter_anchor_alerts_keeps_the_highest_and_stores_the_events(kiosk: Kiosk) -> None:
    kiosk.push([event(1), event(2)], anchor=anchor(40))

    # The kiosk's database was put back to an older copy.
    response = kiosk.push([event(3)], anchor=anchor(31))

    assert response.status_code == 200
    assert response.json() == {"stored_through": 3, "anchor": anchor(40), "quarantined": []}
    assert held(kiosk) == (40, head(40))
    assert Event.objects.filter(machine=kiosk.machine).count() == 3  # facts are kept
    [(kind, message)] = breaks(kiosk)
    assert kind == "records_missing"
    assert "entry 31" in message and "entry 40" in message
    # It stays behind push after push: one open alert, not one per push.
    kiosk.push([event(4)], anchor=anchor(32))
    assert len(breaks(kiosk)) == 1
    assert held(kiosk) == (40, head(40))


def test_an_acknowledged_break_that_persists_alerts_again(kiosk: Kiosk) -> None:
    kiosk.push(anchor=anchor(40))
    kiosk.push(anchor=anchor(31))
    Alert.objects.filter(kind="records_missing").update(acknowledged=True)
    kiosk.push(anchor=anchor(33))
    assert Alert.objects.filter(kind="records_missing", acknowledged=False).count() == 1


def test_the_same_count_with_another_head_alerts_and_keeps_the_first(kiosk: Kiosk) -> None:
    kiosk.push(anchor=anchor(12))

    response = kiosk.push(anchor=anchor(12, chain="b"))

    assert response.status_code == 200
    assert response.json()["anchor"] == anchor(12)
    assert held(kiosk) == (12, head(12))
    [(kind, message)] = breaks(kiosk)
    assert kind == "records_changed"
    assert "entry 12" in message
    assert head(12) not in message and head(12, "b") not in message  # ids only


def test_a_prior_head_other_than_the_one_held_is_a_rewritten_history(kiosk: Kiosk) -> None:
    kiosk.push(anchor=anchor(12))

    # Longer than before, but its entry 12 is not the one the hub acknowledged.
    rewritten = anchor(20, chain="b", prior=(12, "b"))
    response = kiosk.push(anchor=rewritten)

    assert response.status_code == 200
    [(kind, message)] = breaks(kiosk)
    assert kind == "records_changed"
    assert "entry 12" in message and "entry 20" in message
    # The hub follows the new chain (the alert stays open): growth from there is quiet.
    assert held(kiosk) == (20, head(20, "b"))
    kiosk.push(anchor=anchor(25, chain="b", prior=(20, "b")))
    assert held(kiosk) == (25, head(25, "b"))
    assert len(breaks(kiosk)) == 1


def test_a_prior_for_another_count_is_not_checked(kiosk: Kiosk) -> None:
    kiosk.push(anchor=anchor(12))
    # The kiosk missed an acknowledgement: its prior names an older count.
    kiosk.push(anchor=anchor(20, prior=(10, "b")))
    assert held(kiosk) == (20, head(20))
    assert breaks(kiosk) == []


GOOD = {"entries": 5, "head": head(5)}
MALFORMED_ANCHORS: list[tuple[str, Any]] = [
    ("a string", "5:abc"),
    ("a list", [5, head(5)]),
    ("null", None),
    ("entries a bool", {"entries": True, "head": head(1)}),
    ("entries negative", {"entries": -1, "head": head(1)}),
    ("entries a string", {"entries": "5", "head": head(5)}),
    ("entries a float", {"entries": 5.0, "head": head(5)}),
    ("entries beyond bigint", {"entries": 2**63, "head": head(5)}),
    ("entries missing", {"head": head(5)}),
    ("head missing", {"entries": 5}),
    ("head short", {"entries": 5, "head": head(5)[:63]}),
    ("head long", {"entries": 5, "head": head(5) + "0"}),
    ("head uppercase", {"entries": 5, "head": head(5).upper()}),
    ("head not hex", {"entries": 5, "head": "g" * 64}),
    ("head a number", {"entries": 5, "head": 5}),
    ("extra key", {**GOOD, "signature": "x"}),
    ("prior not an object", {**GOOD, "prior": 4}),
    ("prior null", {**GOOD, "prior": None}),
    ("prior extra key", {**GOOD, "prior": {**GOOD, "more": 1}}),
    ("prior entries a bool", {**GOOD, "prior": {"entries": False, "head": head(0)}}),
    ("prior head short", {**GOOD, "prior": {"entries": 4, "head": "ab"}}),
]


@pytest.mark.parametrize(
    ("why", "value"), MALFORMED_ANCHORS, ids=[why for why, _ in MALFORMED_ANCHORS]
)
def test_a_malformed_anchor_is_400_and_stores_nothing(kiosk: Kiosk, why: str, value: Any) -> None:
    body = json.dumps({"events": [event(1)], "anchor": value}).encode()
    response = kiosk.push(raw=body)
    assert response.status_code == 400, why
    assert response.json()["error"] == "bad_anchor"
    assert response.json()["detail"].startswith("anchor")
    assert not Event.objects.exists()
    assert held(kiosk) == (None, "")
