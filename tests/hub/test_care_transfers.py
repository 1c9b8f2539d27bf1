"""Transfers and guest days on the hub (fleet.moves, care/pages/transfers.py): a transfer moves
and copies and audits; a dose given anywhere reaches the participant's other machines; a guest
pass reaches the guest machine only after the home machine's ``guest.blocked``; cancel; expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from care.models import AuditAction, CareAudit, Membership
from care.roles import Role
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from fleet import moves
from fleet.models import DoseElsewhere, GuestPass, Participant, Prescription, Site

from tests.hub.helpers import (
    Kiosk,
    Provision,
    event,
    make_participant,
    make_prescription,
    reset_event_ids,
)

PASSWORD = "a-long-password-1"


def _wire(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dose(seq: int, vend: int, rx: Prescription, at: datetime, units: int = 2) -> list[Any]:
    """A vend as the kiosk pushes it: the intent naming the hub's prescription, the result."""
    intent = {"vend_id": vend, "prescription_hub_id": rx.pk, "units": units, "lane": 1}
    result = {"vend_id": vend, "dropped": units, "lane": 1, "outcome": "ok"}
    return [
        event(seq, "dispense.intent", intent, _wire(at)),
        event(seq + 1, "dispense.result", result, _wire(at)),
    ]


def signed_in(client: Client, role: Role, site: Site | None) -> User:
    user = User.objects.create_user(f"{role.value}-{site.pk if site else 'all'}", password=PASSWORD)
    Membership.objects.create(user=user, site=site, role=role)
    client.force_login(user)
    return user


def pull_moves(kiosk: Kiosk, cursor: int) -> tuple[int, list[dict[str, Any]], int]:
    """A machine's pull without the remote-approval records a clinician's new membership
    publishes (care.approvals): what a transfer or a guest pass sends, only."""
    cursor, changes, pages = kiosk.pull_all(cursor)
    approvals = {"approver_seed", "setting:remote_approval"}
    moves = [c for c in changes if c["kind"] not in approvals
             and f"{c['kind']}:{c['key']}" not in approvals]  # fmt: skip
    return cursor, moves, pages


def kinds(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["kind"], c["op"]) for c in changes]


@pytest.fixture
def two(provision: Provision) -> tuple[Kiosk, Kiosk]:
    return provision("Downtown", "kiosk-1"), provision("Downtown", "kiosk-2")


def test_a_transfer_moves_copies_sends_the_recent_doses_and_is_audited(
    two: tuple[Kiosk, Kiosk], client: Client
) -> None:
    a, b = two
    person = make_participant(a.machine, "P-0001")
    rx = make_prescription(person, start_date=date.today() - timedelta(days=5))
    assert a.push(dose(1, 10, rx, timezone.now() - timedelta(hours=1))).status_code == 200
    cursor_b, _, _ = b.pull_all(0)
    cursor_a, _, _ = a.pull_all(0)
    user = signed_in(client, Role.PRESCRIBER, a.machine.site)

    response = client.post(
        f"/transfers/participant/{person.pk}/",
        {"form": "move", "move-to_machine": b.machine.pk, "move-reason": "moved house"},
    )
    assert response.status_code == 302, response.content
    moved = Participant.objects.get(machine=b.machine, code="P-0001")
    assert moved.status == "active" and moved.display_name == person.display_name
    copy = Prescription.objects.get(participant=moved)
    assert (copy.units_per_dose, copy.daily_max_units, copy.windows, copy.status) == (
        rx.units_per_dose,
        rx.daily_max_units,
        rx.windows,
        "active",
    )
    person.refresh_from_db()
    rx.refresh_from_db()
    assert (person.status, rx.status) == ("inactive", "ended")
    sent = DoseElsewhere.objects.get(machine=b.machine)
    assert (sent.units, sent.prescription_hub_id, sent.source_machine_id) == (
        2,
        copy.pk,
        a.machine.pk,
    )
    # Audited at the old site with ids only, in the same transaction as the move.
    row = CareAudit.objects.get(action=AuditAction.PARTICIPANT_TRANSFERRED)
    assert row.user == user and row.reason == "moved house" and row.site == a.machine.site
    assert row.detail["to_participant"] == moved.pk
    assert row.detail["prescriptions"] == {str(rx.pk): copy.pk}
    # B pulls the participant, the copy and the dose; A pulls the end.
    _, changes, _ = pull_moves(b, cursor_b)
    assert {("participant", "upsert"), ("prescription", "upsert")} <= set(kinds(changes))
    dose_change = next(c for c in changes if c["kind"] == "dose_elsewhere")
    assert dose_change["data"]["prescription"] == str(copy.pk)
    assert dose_change["data"]["participant"] == "P-0001"
    _, changes, _ = pull_moves(a, cursor_a)
    statuses = {c["kind"]: c["data"]["status"] for c in changes if c["op"] == "upsert"}
    assert statuses == {"participant": "inactive", "prescription": "ended"}


def test_a_dose_the_old_machine_gives_before_it_syncs_reaches_the_new_one(
    two: tuple[Kiosk, Kiosk],
) -> None:
    a, b = two
    person = make_participant(a.machine, "P-0002")
    rx = make_prescription(person)
    from django.db import transaction

    with transaction.atomic():
        moved = moves.transfer(person, b.machine)
    assert not DoseElsewhere.objects.exists()
    # A had not synced: it gave a dose after the transfer, pushed later.
    a.push(dose(1, 20, rx, timezone.now()))
    told = DoseElsewhere.objects.get(machine=b.machine)
    assert told.prescription_hub_id == moved.prescriptions[rx.pk] and told.units == 2
    # Pushed again (a lost reply): told once.
    a.push(dose(1, 20, rx, timezone.now()))
    assert DoseElsewhere.objects.count() == 1


def test_a_transfer_is_refused_plainly_not_with_a_500(
    two: tuple[Kiosk, Kiosk], client: Client, provision: Provision
) -> None:
    a, b = two
    elsewhere = provision("Uptown", "kiosk-9")
    person = make_participant(a.machine, "P-0003")
    make_prescription(person)
    signed_in(client, Role.PRESCRIBER, a.machine.site)
    page = f"/transfers/participant/{person.pk}/"
    # No machine chosen, a machine of a site the user has no role at, no reason: the form says.
    for data in (
        {"form": "move", "move-reason": "x"},
        {"form": "move", "move-to_machine": elsewhere.machine.pk, "move-reason": "x"},
        {"form": "move", "move-to_machine": b.machine.pk, "move-reason": ""},
        {"form": "guest", "guest-day": "not a date"},
    ):
        response = client.post(page, data)
        assert response.status_code == 400, data
        assert b'aria-invalid="true"' in response.content
    assert Participant.objects.filter(code="P-0003").count() == 1
    assert not CareAudit.objects.filter(action=AuditAction.PARTICIPANT_TRANSFERRED).exists()


def test_only_transfer_roles_at_the_participants_site(
    two: tuple[Kiosk, Kiosk], client: Client, provision: Provision
) -> None:
    a, _ = two
    other = provision("Uptown", "kiosk-9")
    theirs = make_participant(other.machine, "P-0009")
    ours = make_participant(a.machine, "P-0004")
    signed_in(client, Role.NURSE, a.machine.site)
    assert client.get("/transfers/").status_code == 403
    client.logout()
    signed_in(client, Role.PHARMACIST, a.machine.site)
    assert client.get(f"/transfers/participant/{ours.pk}/").status_code == 200
    assert client.get(f"/transfers/participant/{theirs.pk}/").status_code == 404
    listing = client.get("/transfers/").content.decode()
    assert "P-0004" in listing and "P-0009" not in listing


def _pass(client: Client, person: Participant, machine_pk: int, day: date, rx: Prescription) -> Any:
    return client.post(
        f"/transfers/participant/{person.pk}/",
        {
            "form": "guest",
            "guest-guest_machine": machine_pk,
            "guest-day": day.isoformat(),
            "guest-prescriptions": [rx.pk],
            "guest-reason": "visiting family",
        },
    )


def test_a_guest_pass_reaches_the_guest_machine_only_after_the_home_machine_blocks(
    two: tuple[Kiosk, Kiosk], client: Client
) -> None:
    home, guest = two
    person = make_participant(home.machine, "P-0005")
    rx = make_prescription(person, start_date=date.today() - timedelta(days=3))
    site = home.machine.site
    day = moves.dosing_day(site)
    # A morning dose at home before the block arrives.
    home.push(dose(1, 30, rx, timezone.now() - timedelta(minutes=5)))
    cursor_g, _, _ = guest.pull_all(0)
    cursor_h, _, _ = home.pull_all(0)
    signed_in(client, Role.PRESCRIBER, site)

    assert _pass(client, person, guest.machine.pk, day, rx).status_code == 302
    guest_pass = GuestPass.objects.get()
    assert guest_pass.state == GuestPass.State.REQUESTED
    assert CareAudit.objects.filter(action=AuditAction.GUEST_PASS_REQUESTED).count() == 1
    # The guest machine has nothing to give; the home machine is told to block.
    cursor_g, changes, _ = pull_moves(guest, cursor_g)
    assert changes == []
    assert not Participant.objects.filter(machine=guest.machine).exists()
    cursor_h, changes, _ = pull_moves(home, cursor_h)
    block = next(c for c in changes if c["kind"] == "guest_block")
    assert block["key"] == str(guest_pass.pk)
    assert block["data"] == {
        "participant": "P-0005",
        "day": day.isoformat(),
        "prescriptions": [str(rx.pk)],
    }
    assert "waiting for the home machine" in client.get("/transfers/").content.decode().lower()

    # The home machine confirms (in a later push): now the guest machine gets the day.
    home.push([event(3, "guest.blocked", {"guest_pass": str(guest_pass.pk), "day": str(day)})])
    guest_pass.refresh_from_db()
    assert guest_pass.state == GuestPass.State.CONFIRMED
    _, changes, _ = pull_moves(guest, cursor_g)
    got = {c["kind"] for c in changes}
    assert got == {"participant", "prescription", "dose_elsewhere"}
    prescription = next(c for c in changes if c["kind"] == "prescription")["data"]
    assert (prescription["start_date"], prescription["end_date"]) == (str(day), str(day))
    morning = next(c for c in changes if c["kind"] == "dose_elsewhere")["data"]
    assert morning["units"] == 2 and morning["prescription"] == prescription["id"]
    assert "Usable at the guest machine" in client.get("/transfers/").content.decode()

    # A dose at the guest machine reaches home.
    guest_rx = Prescription.objects.get(pk=int(prescription["id"]))
    reset_event_ids()  # the helper's ids go by seq: the guest machine's own events
    guest.push(dose(1, 40, guest_rx, timezone.now()))
    back = DoseElsewhere.objects.get(machine=home.machine)
    assert (back.source_machine_id, back.prescription_hub_id) == (guest.machine.pk, rx.pk)


def test_a_guest_block_from_another_machine_confirms_nothing(
    two: tuple[Kiosk, Kiosk], client: Client
) -> None:
    home, guest = two
    person = make_participant(home.machine, "P-0006")
    rx = make_prescription(person)
    with_pass = moves.request_pass
    from django.db import transaction

    with transaction.atomic():
        guest_pass = with_pass(
            person, guest.machine, moves.dosing_day(home.machine.site), [rx], "x"
        )
    # Only the home machine's acknowledgement counts.
    guest.push([event(1, "guest.blocked", {"guest_pass": str(guest_pass.pk)})])
    guest_pass.refresh_from_db()
    assert guest_pass.state == GuestPass.State.REQUESTED


def test_cancel_before_confirmation_lifts_the_block_and_a_late_ack_changes_nothing(
    two: tuple[Kiosk, Kiosk], client: Client
) -> None:
    home, guest = two
    person = make_participant(home.machine, "P-0007")
    rx = make_prescription(person)
    signed_in(client, Role.PHARMACIST, home.machine.site)
    assert (
        _pass(client, person, guest.machine.pk, moves.dosing_day(home.machine.site), rx).status_code
        == 302
    )
    guest_pass = GuestPass.objects.get()
    cursor_h, _, _ = home.pull_all(0)
    assert client.post(f"/transfers/passes/{guest_pass.pk}/cancel/").status_code == 302
    guest_pass.refresh_from_db()
    assert guest_pass.state == GuestPass.State.CANCELLED
    assert CareAudit.objects.filter(action=AuditAction.GUEST_PASS_CANCELLED).count() == 1
    _, changes, _ = pull_moves(home, cursor_h)
    assert kinds(changes) == [("guest_block", "delete")]
    # The home machine had blocked before it heard of the cancel: its ack confirms nothing.
    home.push([event(1, "guest.blocked", {"guest_pass": str(guest_pass.pk)})])
    guest_pass.refresh_from_db()
    assert guest_pass.state == GuestPass.State.CANCELLED
    assert not Participant.objects.filter(machine=guest.machine).exists()
    # A confirmed pass cannot be cancelled (the guest machine may have given doses).
    assert client.post(f"/transfers/passes/{guest_pass.pk}/cancel/").status_code == 302
    assert CareAudit.objects.filter(action=AuditAction.GUEST_PASS_CANCELLED).count() == 1


def test_a_pass_expires_after_its_day_at_both_sites(two: tuple[Kiosk, Kiosk]) -> None:
    home, guest = two
    person = make_participant(home.machine, "P-0008")
    rx = make_prescription(person)
    day = moves.dosing_day(home.machine.site)
    from django.db import transaction

    with transaction.atomic():
        guest_pass = moves.request_pass(person, guest.machine, day, [rx], "x")
    home.push([event(1, "guest.blocked", {"guest_pass": str(guest_pass.pk)})])
    guest_pass.refresh_from_db()
    assert guest_pass.state == GuestPass.State.CONFIRMED
    cursor_h, _, _ = home.pull_all(0)
    cursor_g, _, _ = guest.pull_all(0)
    assert moves.expire_passes() == 0  # still its day
    assert moves.expire_passes(timezone.now() + timedelta(days=2)) == 1
    guest_pass.refresh_from_db()
    assert guest_pass.state == GuestPass.State.EXPIRED
    assert Participant.objects.get(machine=guest.machine).status == "inactive"
    assert Prescription.objects.get(participant__machine=guest.machine).status == "ended"
    _, changes, _ = pull_moves(home, cursor_h)
    assert kinds(changes) == [("guest_block", "delete")]
    _, changes, _ = pull_moves(guest, cursor_g)
    assert sorted(kinds(changes)) == [("participant", "upsert"), ("prescription", "upsert")]
    # A pass for a day already over is refused.
    with pytest.raises(moves.MoveRefused):
        moves.request_pass(person, guest.machine, day - timedelta(days=1), [rx], "x")
