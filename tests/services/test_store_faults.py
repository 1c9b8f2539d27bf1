"""A store that cannot write during or after a vend: never a second dose (issue 11, 1).

The store is the real encrypted one, on a small tmpfs of its own that fills up right when
the controller starts the vend, so the result cannot be written ("database or disk is
full"). The controller is the real driver on the wire-level emulator.
"""

from __future__ import annotations

import errno
import itertools
import subprocess
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.controller.driver import SerialController
from hardware.ports import VendAckResult
from kiosk.domain.model import Prescription, SiteClock, Window
from kiosk.services.clock import FixedClock
from kiosk.services.decide import DecideService
from kiosk.services.dispense import DispenseService
from kiosk.services.events import ControllerEvents
from kiosk.services.health import Fault, HealthService
from kiosk.services.storage import CannotRecord, StorageGuard
from kiosk.store.anchor import anchor_path
from kiosk.store.db import connect
from kiosk.store.repository import Store
from tests.services.doubles import ReadySensor, controller_on_emulator

EXAMPLE = itertools.count()
SITE = SiteClock("America/Vancouver", 4, 3)


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[SerialController]:
    with controller_on_emulator(tmp_path / "controller") as (_emulator, driver):
        yield driver


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB file system of its own (root is needed to mount it: CI runs as root)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=False)


@pytest.fixture
def anchored(small_disk: Path, key: bytes) -> Iterator[Store]:
    conn = connect(small_disk / "kiosk.db", key)
    yield Store(conn, anchor=anchor_path(small_disk / "kiosk.db"))
    conn.close()


def one_dose_a_day(store: Store, clock: FixedClock) -> Prescription:
    now = clock.now()
    med = store.add_medication("hydromorphone", "8 mg", "tablet", now)
    store.set_lane(1, med, 10, now, "test")
    pid = store.add_participant("P-1", "Name", None, now, "test")
    store.add_prescription(
        pid, med, 2, (Window(time(6), time(22)),), 2, date(2026, 6, 10), None, now, "test"
    )
    return store.prescriptions(pid)[0]


def fill_the_disk(folder: Path) -> None:
    """Not one free block left on the data folder's file system."""
    chunk = 1024 * 1024
    with (folder / "filler").open("wb", buffering=0) as filler:
        while chunk:
            try:
                filler.write(b"x" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                chunk //= 2


def free_some_space(folder: Path) -> None:
    (folder / "filler").unlink()


class DiskFillsAtVend:
    """The real driver; the disk fills up while the tablets drop."""

    def __init__(self, inner: SerialController, folder: Path) -> None:
        self.inner = inner
        self.folder = folder
        self.armed = True

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def vend(self, vend_id: int, lane: int, units: int) -> VendAckResult:
        answer = self.inner.vend(vend_id, lane, units)
        if self.armed:
            fill_the_disk(self.folder)
        return answer


def units_allowed(store: Store, clock: FixedClock, participant_id: int) -> int:
    view = DecideService(store, clock, SITE).decide(participant_id)
    return sum(dose.units for dose in view.doses)


def test_a_full_disk_after_a_vend_never_gives_a_second_dose(
    anchored: Store, clock: FixedClock, controller: SerialController, small_disk: Path
) -> None:
    rx = one_dose_a_day(anchored, clock)
    filling = DiskFillsAtVend(controller, small_disk)
    guard = StorageGuard(small_disk, min_free_mb=1)
    events = ControllerEvents(controller)
    dispense = DispenseService(anchored, filling, clock, events=events, guard=guard)  # type: ignore[arg-type]
    health = HealthService(anchored, ReadySensor(), controller, clock, dispense, events, guard)  # type: ignore[arg-type]
    dispense.recover()
    assert units_allowed(anchored, clock, rx.participant_id) == 2

    with pytest.raises(CannotRecord):
        dispense.vend(rx.participant_id, rx, 2)

    # The vend happened; its result is not written. It counts as fully given...
    assert units_allowed(anchored, clock, rx.participant_id) == 0
    # ... no vend starts ...
    with pytest.raises(CannotRecord):
        dispense.vend(rx.participant_id, rx, 2)
    # ... and the machine is out of service, saying why.
    report = health.check()
    assert Fault.CANNOT_RECORD in report.faults
    assert Fault.VEND_UNSETTLED in report.faults

    # Space comes back: health writes again, settles the vend from the controller's memory.
    assert Fault.STORAGE_LOW in report.faults
    filling.armed = False
    free_some_space(small_disk)
    report = health.check()
    assert report.ok, report.details
    assert anchored.unfinished_intents() == []
    assert units_allowed(anchored, clock, rx.participant_id) == 0  # two units were given
    # Staff are told what happened; writes work again, so the alert is already resolved
    # (kept in the history).
    rows = anchored.conn.execute(
        "SELECT resolved_at IS NOT NULL FROM alerts WHERE kind = 'cannot_record'"
    ).fetchall()
    assert [tuple(row) for row in rows] == [(1,)]
    assert "cannot_record" not in [kind for _id, kind, _s, _m in anchored.open_alerts()]
    assert not dispense.unsettled  # the machine serves again; this person is done today


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    vends=st.lists(
        st.tuples(st.integers(1, 5), st.one_of(st.none(), st.integers(0, 5))), max_size=8
    )
)
def test_history_counts_an_unsettled_vend_as_fully_given(
    store: Store, clock: FixedClock, vends: list[tuple[int, int | None]]
) -> None:
    """Property: what the rules see is the confirmed units of settled vends plus the units
    asked of every vend without a result (it may have dropped them all)."""
    from kiosk.store.repository import Intent

    now = clock.now()
    n = next(EXAMPLE)  # the store is shared by every example of one run
    med = store.add_medication("m", f"{n} mg", "tablet", now)
    store.set_lane(1, med, 100, now, "test")
    pid = store.add_participant(f"P-{n}", "N", None, now, "test")
    store.add_prescription(
        pid, med, 1, (Window(time(0), time(23, 59)),), 99, date(2026, 1, 1), None, now, "test"
    )
    rx = store.prescriptions(pid)[0]
    expected = 0
    for units, dropped in vends:
        vend_id = store.new_vend_id()
        store.record_intent(Intent(vend_id, pid, rx.id, 1, units, now))
        if dropped is None:
            expected += units
        else:
            confirmed = min(dropped, units)
            store.record_result(vend_id, confirmed, "complete", None, now)
            expected += confirmed
    assert sum(d.units for d in store.history(rx.id, now.replace(hour=0))) == expected
