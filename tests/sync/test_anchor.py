"""The audit anchor on each push: read from the anchor file, never a reason for a push to fail,
and ``prior``: this kiosk's hash of the entry the hub acknowledged."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from kiosk.services.clock import FixedClock
from kiosk.services.sync import HubClient, Pushed, SyncService
from kiosk.services.sync.anchor import database_file, hub_anchor_path
from kiosk.store.anchor import Anchor, anchor_path, chain_head, hash_at, read_anchor, write_anchor
from kiosk.store.repository import Store
from tests.sync.fakehub import FakeHub
from tests.sync.test_push import make_events

HEAD = "ab" * 32


def database(store: Store) -> Path:
    path = database_file(store.conn)
    assert path is not None
    return path


def anchor_file(store: Store) -> Path:
    return anchor_path(database(store))


def write_head(store: Store) -> Anchor:
    """What the store writes after a dispense: the chain's head, in the anchor file."""
    head = chain_head(store.conn)
    assert head is not None
    write_anchor(anchor_file(store), head)
    return head


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "kiosk.sync" and r.levelno == logging.WARNING
    ]


def test_the_anchor_file_goes_with_the_push(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 3)
    write_anchor(anchor_file(store), Anchor(3, HEAD))

    sync.run_once()

    assert hub.anchors == [{"entries": 3, "head": HEAD}]
    assert sorted(hub.events) == [1, 2, 3]


def test_no_anchor_file_no_anchor_field(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 2)
    sync.run_once()
    assert hub.anchors == [None]  # the field is absent: an older hub sees the old body
    assert hub.held_anchor is None


MALFORMED = [
    ("not json", b"{entries"),
    ("not utf-8", b"\xff\xfe\x00"),
    ("a list", b"[3]"),
    ("entries a bool", b'{"entries": true, "head": "' + HEAD.encode() + b'"}'),
    ("entries negative", b'{"entries": -1, "head": "' + HEAD.encode() + b'"}'),
    ("head short", b'{"entries": 3, "head": "abc"}'),
    ("head not lowercase hex", b'{"entries": 3, "head": "' + HEAD.upper().encode() + b'"}'),
]


@pytest.mark.parametrize(("why", "content"), MALFORMED, ids=[why for why, _ in MALFORMED])
def test_a_malformed_anchor_file_is_left_out_with_one_warning(
    store: Store,
    clock: FixedClock,
    hub: FakeHub,
    sync: SyncService,
    caplog: pytest.LogCaptureFixture,
    why: str,
    content: bytes,
) -> None:
    caplog.set_level(logging.WARNING, logger="kiosk.sync")
    anchor_file(store).write_bytes(content)
    make_events(store, clock, 2)
    assert sync.run_once().pushed == 2, why
    make_events(store, clock, 2)
    assert sync.run_once().pushed == 2
    assert hub.anchors == [None, None]
    [warning] = warnings(caplog)  # once, not every round
    assert "audit anchor is not sent" in warning
    assert HEAD not in warning and "entries" not in warning  # nothing of the content


def test_every_batch_carries_the_anchor(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 1203)
    head = write_head(store)
    newer = Anchor(head.entries + 1, HEAD)
    # A dispense is recorded while the first batch is on its way: the anchor moves on.
    hub.after_push = lambda: write_anchor(anchor_file(store), newer)
    sync.run_once()
    assert [len(b) for b in hub.batches] == [500, 500, 203]
    sent = [Anchor(a["entries"], a["head"]) for a in hub.anchors if a is not None]
    assert sent == [head, newer, newer]  # the last batch carries the newest


def test_a_new_anchor_goes_alone_when_no_event_waits(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 2)
    sync.run_once()
    assert hub.anchors == [None]

    write_anchor(anchor_file(store), Anchor(2, HEAD))  # written after the events left
    sync.run_once()
    assert hub.batches[-1] == [] and hub.anchors[-1] == {"entries": 2, "head": HEAD}

    sync.run_once()  # sent already: nothing more
    assert len(hub.batches) == 2


def test_the_acknowledged_anchor_is_kept_and_its_entry_goes_as_prior(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 3)
    first = write_head(store)
    sync.run_once()
    # The hub's answer is kept outside the database, beside the anchor.
    assert read_anchor(hub_anchor_path(database(store))) == first
    assert "prior" not in (hub.anchors[0] or {})

    make_events(store, clock, 2)
    second = write_head(store)
    sync.run_once()

    assert hub.anchors[-1] == {
        "entries": second.entries,
        "head": second.head,
        "prior": {"entries": first.entries, "head": hash_at(store.conn, first.entries)},
    }
    assert hub.anchors[-1]["prior"]["head"] == first.head  # honest growth


def test_a_kiosk_without_the_acknowledged_entry_sends_no_prior(
    store: Store, clock: FixedClock, hub: FakeHub, sync: SyncService
) -> None:
    make_events(store, clock, 2)
    write_anchor(hub_anchor_path(database(store)), Anchor(50, HEAD))  # its records went back
    write_head(store)
    sync.run_once()
    assert hub.anchors[0] is not None and "prior" not in hub.anchors[0]


def test_a_hub_refusing_the_anchor_still_gets_the_events(
    store: Store,
    clock: FixedClock,
    hub: FakeHub,
    sync: SyncService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="kiosk.sync")
    hub.refuse_anchor = True
    make_events(store, clock, 3)
    write_head(store)
    assert sync.run_once().pushed == 3
    assert hub.anchors == [None]
    sync.run_once()  # not sent alone again
    assert len(hub.batches) == 1
    assert len(warnings(caplog)) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"entries": True, "head": HEAD},
        {"entries": 3, "head": "x"},
        {"entries": 3, "head": HEAD.upper()},
        {"entries": -3, "head": HEAD},
        [3, HEAD],
    ],
)
def test_a_malformed_anchor_in_the_hubs_answer_is_ignored(
    hub: FakeHub, client: HubClient, answer: object
) -> None:
    hub.answer = httpx.Response(200, json={"stored_through": 1, "anchor": answer})
    assert client.push([]) == Pushed(1, None)


def test_the_hubs_anchor_is_read_from_its_answer(hub: FakeHub, client: HubClient) -> None:
    hub.answer = httpx.Response(
        200, json={"stored_through": 1, "anchor": Anchor(3, HEAD).as_json()}
    )
    assert client.push([]) == Pushed(1, Anchor(3, HEAD))


def test_the_database_file_comes_from_the_connection(store: Store, tmp_path: Path) -> None:
    import sqlcipher3

    assert database_file(store.conn) == tmp_path / "kiosk.db"
    memory = sqlcipher3.connect(":memory:")
    try:
        assert database_file(memory) is None  # no file, no anchor
    finally:
        memory.close()
