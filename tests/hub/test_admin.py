"""The staff admin: the fleet page and the records render; PINs are hashed, secrets hidden."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from fleet.models import (
    Alert,
    EnrollmentCode,
    Event,
    Machine,
    QuarantinedEvent,
    StaffAccount,
    SyncException,
)

from tests.hub.helpers import Kiosk, event, make_participant, make_prescription

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(kiosk: Kiosk) -> Client:
    admin = User.objects.create_superuser("admin", "admin@example.org", "not-a-real-password")
    client = Client()
    client.force_login(admin)
    return client


def test_the_fleet_page_shows_contact_events_alerts_and_stock(
    kiosk: Kiosk, staff_client: Client
) -> None:
    kiosk.push(
        [
            event(1, "lane.configured", {"lane": 1, "medication_id": 4, "stock": 40}),
            event(2, "dispense.result", {"vend_id": 1, "lane": 1, "dropped": 2}),
            event(4, "lane.state", {"lane": 2, "from": "ready", "to": "jammed"}),
        ]
    )
    assert Alert.objects.filter(kind="event_gap").exists()

    page = staff_client.get("/admin/fleet/machine/")

    assert page.status_code == 200
    html = page.content.decode()
    assert kiosk.device_id in html
    assert "1: 38" in html  # lane 1 stock from the latest events
    assert "2: ? (jammed)" in html


def test_a_machine_page_never_shows_its_secret(kiosk: Kiosk, staff_client: Client) -> None:
    machine = kiosk.machine
    html = staff_client.get(f"/admin/fleet/machine/{machine.pk}/change/").content.decode()
    assert kiosk.secret not in html
    assert machine.secret_sealed not in html


def test_the_admin_issues_enrollment_codes(kiosk: Kiosk, staff_client: Client) -> None:
    machine = kiosk.machine
    before = EnrollmentCode.objects.count()
    response = staff_client.post(
        "/admin/fleet/machine/",
        {"action": "issue_enrollment_code", "_selected_action": [machine.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert EnrollmentCode.objects.count() == before + 1
    assert "shown once" in response.content.decode()


def test_a_staff_pin_is_stored_as_the_kiosks_scrypt_hash(
    kiosk: Kiosk, staff_client: Client
) -> None:
    import hashlib

    response = staff_client.post(
        "/admin/fleet/staffaccount/add/",
        {
            "name": "Pat",
            "role": "nurse",
            "machine": kiosk.machine.pk,
            "active": "on",
            "new_pin": "246810",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account = StaffAccount.objects.get(name="Pat")
    scheme, n, r, p, salt, digest = account.pin_hash.split("$")
    assert scheme == "scrypt"
    again = hashlib.scrypt(
        b"246810", salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    assert again.hex() == digest
    assert "246810" not in account.pin_hash


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/fleet/site/",
        "/admin/fleet/participant/",
        "/admin/fleet/prescription/",
        "/admin/fleet/staffaccount/",
        "/admin/fleet/event/",
        "/admin/fleet/changelog/",
        "/admin/fleet/alert/",
        "/admin/fleet/syncexception/",
        "/admin/fleet/lanestock/",
        "/admin/fleet/enrollmentcode/",
        "/admin/fleet/logstate/",
    ],
)
def test_every_admin_page_renders(kiosk: Kiosk, staff_client: Client, path: str) -> None:
    participant = make_participant(kiosk.machine)
    make_prescription(participant)
    assert staff_client.get(path).status_code == 200
    assert staff_client.get(f"/admin/fleet/participant/{participant.pk}/change/").status_code == 200


def test_revoking_from_the_admin(kiosk: Kiosk, staff_client: Client) -> None:
    staff_client.post(
        "/admin/fleet/machine/",
        {"action": "revoke", "_selected_action": [kiosk.machine.pk]},
    )
    assert Machine.objects.get(pk=kiosk.machine.pk).revoked
    assert kiosk.pull(0).status_code == 403


def test_the_fleet_shows_the_audit_anchor_and_its_break(kiosk: Kiosk, staff_client: Client) -> None:
    kiosk.push(anchor={"entries": 40, "head": "a" * 64})
    machine = kiosk.machine
    assert "entry 40 (" in staff_client.get("/admin/fleet/machine/").content.decode()

    kiosk.push(anchor={"entries": 31, "head": "b" * 64})  # the kiosk's records went back

    assert "BREAK · entry 40" in staff_client.get("/admin/fleet/machine/").content.decode()
    html = staff_client.get(f"/admin/fleet/machine/{machine.pk}/change/").content.decode()
    assert "now ends at entry 31" in html
    assert "a" * 64 not in html  # the head is not shown, only entries


def test_resetting_the_audit_anchor_from_the_admin(kiosk: Kiosk, staff_client: Client) -> None:
    kiosk.push(anchor={"entries": 40, "head": "a" * 64})
    staff_client.post(
        "/admin/fleet/machine/",
        {"action": "reset_anchor", "_selected_action": [kiosk.machine.pk]},
    )
    assert kiosk.machine.anchor_entries is None
    # A replaced database starts again from its own anchor, without a break.
    kiosk.push(anchor={"entries": 2, "head": "c" * 64})
    assert (kiosk.machine.anchor_entries, kiosk.machine.anchor_head) == (2, "c" * 64)
    assert not Alert.objects.filter(kind="records_missing").exists()


# ---------------------------------------------------------------- whatever dates are stored

EXTREMES = [
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("instant", EXTREMES, ids=["year 9999", "year 1"])
def test_the_sync_pages_render_any_stored_date(
    kiosk: Kiosk, staff_client: Client, instant: datetime
) -> None:
    machine = kiosk.machine
    stored = Event.objects.create(
        machine=machine, seq=1, type="audit.note", payload={}, created_at=instant
    )
    Event.objects.filter(pk=stored.pk).update(received_at=instant)
    alert = Alert.objects.create(
        machine=machine, kind="k", message="m", created_at=instant, acknowledged_at=instant
    )
    exception = SyncException.objects.create(
        machine=machine, event=stored, reason="r", created_at=instant
    )
    quarantined = QuarantinedEvent.objects.create(
        machine=machine,
        seq=2,
        raw='{"seq":2,"x":"\\u0000\\ud800"}',
        reason="r",
        received_at=instant,
    )
    pages = ["/admin/fleet/machine/", f"/admin/fleet/machine/{machine.pk}/change/"]
    for model, row in (
        ("event", stored),
        ("alert", alert),
        ("syncexception", exception),
        ("quarantinedevent", quarantined),
    ):
        pages += [f"/admin/fleet/{model}/", f"/admin/fleet/{model}/{row.pk}/change/"]
    pages += ["/admin/fleet/event/?created_at__gte=2026-01-01+00%3A00%3A00%2B00%3A00"]
    for page in pages:
        response = staff_client.get(page)
        assert response.status_code == 200, page


def test_rows_stored_before_the_schema_with_unreadable_dates_are_moved_aside(
    kiosk: Kiosk, staff_client: Client
) -> None:
    """Finding 3's own row, stored the way the hub used to store it: year 10000 in UTC, which
    PostgreSQL keeps and no Python datetime can read back. The repair (migration 0006) moves it
    to the quarantined events with SQL alone; then every page renders again."""
    from django.db import connection
    from fleet.repair import move_out_of_range_dates

    machine = kiosk.machine
    kept = Event.objects.create(
        machine=machine, seq=1, type="audit.note", payload={}, created_at=EXTREMES[0]
    )
    exception = SyncException.objects.create(machine=machine, event=kept, reason="review")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE fleet_event SET created_at = '9999-12-31T23:59:59-14:00' WHERE id = %s",
            [kept.pk],
        )
        cursor.execute(
            "INSERT INTO fleet_alert (machine_id, kind, message, created_at, acknowledged)"
            " VALUES (%s, 'kiosk:jam', 'lane 1', '9999-12-31T23:59:59-14:00', false)",
            [machine.pk],
        )
    staff_client.raise_request_exception = False
    assert staff_client.get("/admin/fleet/event/").status_code == 500  # the finding, as it was

    assert move_out_of_range_dates(connection) == (1, 1)

    for page in ("/admin/fleet/event/", "/admin/fleet/alert/", "/admin/fleet/syncexception/"):
        assert staff_client.get(page).status_code == 200, page
    moved = QuarantinedEvent.objects.get(machine=machine, seq=1)
    assert '"created_at" : "10000-01-01T13:59:59Z"' in moved.raw.replace('":"', '" : "')
    exception.refresh_from_db()
    assert exception.event is None and "moved to the quarantined events" in exception.reason
    assert move_out_of_range_dates(connection) == (0, 0)  # idempotent
