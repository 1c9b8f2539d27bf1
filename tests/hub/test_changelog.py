"""The change log is written in the same transaction as the change it reports."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from fleet import changelog
from fleet.models import ChangeLog, Machine, Participant, Prescription

from tests.hub.helpers import Kiosk, make_participant, make_prescription

# Real transactions (no test-wide wrapper): what commits is what a kiosk could pull.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_change_and_its_log_row_commit_together(kiosk: Kiosk) -> None:
    before = ChangeLog.objects.count()
    participant = make_participant(kiosk.machine)
    row = ChangeLog.objects.order_by("-seq").first()
    assert ChangeLog.objects.count() == before + 1
    assert row is not None
    assert (row.kind, row.key, row.op, row.machine_id) == (
        "participant",
        participant.code,
        "upsert",
        kiosk.machine.pk,
    )


def test_a_rolled_back_change_leaves_no_log_row(kiosk: Kiosk) -> None:
    before = ChangeLog.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_participant(kiosk.machine)
        raise RuntimeError("the rest of the change failed")
    assert ChangeLog.objects.count() == before
    assert not Participant.objects.exists()


def test_a_change_the_database_refuses_writes_no_log_row(kiosk: Kiosk) -> None:
    make_participant(kiosk.machine, "P-0001")
    before = ChangeLog.objects.count()
    with pytest.raises(IntegrityError):
        make_participant(kiosk.machine, "P-0001")  # the code is taken on this machine
    assert ChangeLog.objects.count() == before


def test_a_failed_log_write_undoes_the_change(
    kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    participant = make_participant(kiosk.machine)
    prescription = make_prescription(participant)
    before = ChangeLog.objects.count()

    def broken(*args: object, **kwargs: object) -> None:
        raise IntegrityError("log write failed")

    monkeypatch.setattr(changelog, "_write", broken)
    prescription.units_per_dose = 1
    with pytest.raises(IntegrityError):
        prescription.save()
    with pytest.raises(IntegrityError):
        participant.delete()

    assert ChangeLog.objects.count() == before
    assert Prescription.objects.get(pk=prescription.pk).units_per_dose == 2
    assert Participant.objects.filter(pk=participant.pk).exists()


def test_bulk_writers_that_bypass_the_log_are_refused(kiosk: Kiosk) -> None:
    make_participant(kiosk.machine)
    with pytest.raises(TypeError):
        Participant.objects.update(status="inactive")
    with pytest.raises(TypeError):
        Participant.objects.bulk_create([Participant(machine=kiosk.machine, code="X")])


def test_log_rows_are_never_written_outside_a_transaction(kiosk: Kiosk) -> None:
    from fleet.models import SyncEntry

    entry = SyncEntry("participant", "P-1", {}, kiosk.machine.site_id, kiosk.machine.pk)
    with pytest.raises(RuntimeError):
        changelog._write([("upsert", entry)])


def test_machines_are_not_change_logged(kiosk: Kiosk) -> None:
    before = ChangeLog.objects.count()
    Machine.objects.filter(pk=kiosk.machine.pk).update(revoked=True)
    assert ChangeLog.objects.count() == before


def test_log_rows_become_visible_in_seq_order(kiosk: Kiosk) -> None:
    """A writer holds the log lock from its first row to its commit: a later writer waits, so
    no reader can see seq N+1 while N is still uncommitted (it would skip N for ever)."""
    first_written = threading.Event()
    release_first = threading.Event()
    seqs: dict[str, int] = {}
    machine = kiosk.machine

    def first() -> None:
        try:
            with transaction.atomic():
                make_participant(machine, "P-FIRST")
                seqs["first"] = ChangeLog.objects.get(key="P-FIRST").seq
                first_written.set()
                release_first.wait(10)
        finally:
            connection.close()

    def second() -> None:
        try:
            make_participant(machine, "P-SECOND")
            seqs["second"] = ChangeLog.objects.get(key="P-SECOND").seq
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert first_written.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.5)
    assert "second" not in seqs  # waiting for the first writer's commit
    assert not ChangeLog.objects.filter(key__in=["P-FIRST", "P-SECOND"]).exists()
    release_first.set()
    one.join(10)
    two.join(10)
    assert seqs["first"] < seqs["second"]


def test_a_site_without_machines_can_be_deleted_with_its_staff() -> None:
    from fleet.models import Site, StaffAccount
    from fleet.pins import hash_pin

    site = Site(name="Closed")
    site.save()
    StaffAccount(site=site, name="Pat", role="nurse", pin_hash=hash_pin("246810")).save()
    site.delete()
    assert not Site.objects.filter(name="Closed").exists()
    assert not ChangeLog.objects.filter(site_id=site.pk).exists()


def test_a_site_with_machines_cannot_be_deleted(kiosk: Kiosk) -> None:
    from django.db.models import ProtectedError
    from fleet.models import Site

    with pytest.raises(ProtectedError):
        Site.objects.get(pk=kiosk.machine.site_id).delete()
