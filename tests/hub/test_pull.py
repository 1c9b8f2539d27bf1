"""GET /v1/sync/changes: the change log for this machine, pages, tombstones, snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from fleet import changelog
from fleet.models import ChangeLog, Participant, Site, StaffAccount
from fleet.pins import hash_pin

from tests.hub.helpers import Kiosk, Provision, make_participant, make_prescription

pytestmark = pytest.mark.django_db

SETTINGS = {
    "setting:site_name",
    "setting:timezone",
    "setting:day_start_hour",
    "setting:missed_dose_days",
    "setting:maintenance_hours",  # None until the site sets a window (docs/SYNC.md, issue 16)
    "setting:assisted_id",
}


def _keys(changes: list[dict[str, Any]]) -> list[str]:
    return [f"{c['kind']}:{c['key']}" for c in changes]


def _records(changes: list[dict[str, Any]]) -> set[str]:
    return {k for k in _keys(changes) if not k.startswith("setting:")}


def test_a_new_machine_pulls_its_site_settings(kiosk: Kiosk) -> None:
    response = kiosk.pull(0)
    page = response.json()
    assert response.status_code == 200
    assert (page["snapshot"], page["more"]) == (False, False)
    assert set(_keys(page["changes"])) == SETTINGS
    by_key = {c["key"]: c for c in page["changes"]}
    assert by_key["timezone"] == {
        "kind": "setting",
        "op": "upsert",
        "key": "timezone",
        "data": {"value": "America/Vancouver"},
    }
    assert by_key["site_name"]["data"] == {"value": "Downtown"}
    assert page["cursor"] > 0


def test_changes_after_the_cursor_in_order(kiosk: Kiosk) -> None:
    cursor, _, _ = kiosk.pull_all(0)
    participant = make_participant(kiosk.machine, "P-0007")
    prescription = make_prescription(participant)

    page = kiosk.pull(cursor).json()

    assert _keys(page["changes"]) == ["participant:P-0007", f"prescription:{prescription.pk}"]
    person, script = page["changes"]
    assert person["data"] == {
        "code": "P-0007",
        "display_name": "Alex",
        "language": "en",
        "status": "active",
    }
    assert script["op"] == "upsert"
    assert script["data"]["participant"] == "P-0007"
    assert script["data"]["medication"] == {
        "name": "hydromorphone",
        "strength": "8 mg",
        "form": "tablet",
    }
    assert script["data"]["windows"] == [["08:00", "11:00"], ["18:00", "21:00"]]
    assert script["data"]["start_date"] == "2026-06-01"
    assert script["data"]["end_date"] is None
    assert script["data"]["id"] == str(prescription.pk)
    # Nothing more after the new cursor.
    assert kiosk.pull(page["cursor"]).json()["changes"] == []


def test_each_machine_sees_its_own_records_and_its_sites(provision: Provision) -> None:
    a = provision(machine="a")
    b = provision(machine="b")
    elsewhere = provision(site="Uptown", machine="c")
    make_participant(a.machine, "P-A")
    make_participant(b.machine, "P-B")
    site = Site.objects.get(name="Downtown")
    everyone = StaffAccount(site=site, name="Pat", role="nurse", pin_hash=hash_pin("246810"))
    everyone.save()
    only_b = StaffAccount(machine=b.machine, name="Sam", role="admin", pin_hash=hash_pin("135791"))
    only_b.save()

    assert _records(a.pull_all(0)[1]) == {"participant:P-A", f"staff:{everyone.pk}"}
    assert _records(b.pull_all(0)[1]) == {
        "participant:P-B",
        f"staff:{everyone.pk}",
        f"staff:{only_b.pk}",
    }
    assert _records(elsewhere.pull_all(0)[1]) == set()


def test_staff_records_carry_the_scrypt_hash(kiosk: Kiosk) -> None:
    cursor, _, _ = kiosk.pull_all(0)
    account = StaffAccount(
        machine=kiosk.machine, name="Pat", role="pharmacist", pin_hash=hash_pin("246810")
    )
    account.save()
    (change,) = kiosk.pull(cursor).json()["changes"]
    assert change["data"] == {
        "id": str(account.pk),
        "name": "Pat",
        "role": "pharmacist",
        "pin_hash": account.pin_hash,
        "active": True,
    }
    assert change["data"]["pin_hash"].startswith("scrypt$16384$8$1$")


def test_pages_of_at_most_500(kiosk: Kiosk) -> None:
    cursor, _, _ = kiosk.pull_all(0)
    for number in range(1203):
        make_participant(kiosk.machine, f"P-{number:04d}")

    first = kiosk.pull(cursor).json()
    assert (len(first["changes"]), first["more"]) == (500, True)
    final_cursor, changes, pages = kiosk.pull_all(cursor)
    assert pages == 3
    assert [c["key"] for c in changes] == [f"P-{n:04d}" for n in range(1203)]
    assert kiosk.pull(final_cursor).json() == {
        "cursor": final_cursor,
        "snapshot": False,
        "more": False,
        "changes": [],
    }


def test_a_deletion_is_a_tombstone_cascades_included(kiosk: Kiosk) -> None:
    participant = make_participant(kiosk.machine)
    prescription = make_prescription(participant)
    cursor, _, _ = kiosk.pull_all(0)

    participant.delete()

    changes = kiosk.pull(cursor).json()["changes"]
    assert {(c["kind"], c["key"], c["op"], c["data"]) for c in changes} == {
        ("prescription", str(prescription.pk), "delete", None),
        ("participant", "P-0001", "delete", None),
    }


def test_a_participant_moved_to_another_machine(provision: Provision) -> None:
    a = provision(machine="a")
    b = provision(machine="b")
    participant = make_participant(a.machine)
    prescription = make_prescription(participant)
    cursor_a, _, _ = a.pull_all(0)
    cursor_b, _, _ = b.pull_all(0)

    participant.machine = b.machine
    participant.save()

    left = {(c["kind"], c["op"]) for c in a.pull(cursor_a).json()["changes"]}
    arrived = b.pull(cursor_b).json()["changes"]
    assert left == {("participant", "delete"), ("prescription", "delete")}
    assert {(c["kind"], c["op"]) for c in arrived} == {
        ("participant", "upsert"),
        ("prescription", "upsert"),
    }
    assert {c["key"] for c in arrived} == {"P-0001", str(prescription.pk)}


def test_a_renamed_participant_code_tombstones_the_old_key(kiosk: Kiosk) -> None:
    participant = make_participant(kiosk.machine, "P-0001")
    make_prescription(participant)
    cursor, _, _ = kiosk.pull_all(0)
    participant.code = "P-0100"
    participant.save()
    changes = kiosk.pull(cursor).json()["changes"]
    assert ("participant", "P-0001", "delete") in {(c["kind"], c["key"], c["op"]) for c in changes}
    script = next(c for c in changes if c["kind"] == "prescription")
    assert script["data"]["participant"] == "P-0100"


def test_a_site_that_forbids_staff_assisted_identification_tells_its_machines(
    kiosk: Kiosk,
) -> None:
    cursor, _, _ = kiosk.pull_all(0)
    site = Site.objects.get(name="Downtown")
    site.assisted_id = False
    site.save()
    changes = kiosk.pull(cursor).json()["changes"]
    [change] = [c for c in changes if c["key"] == "assisted_id"]
    assert (change["kind"], change["op"], change["data"]) == ("setting", "upsert", {"value": False})


def test_the_kiosks_help_and_re_enrol_alerts_have_a_hub_kind() -> None:
    from fleet.alert_kinds import AlertKind, hub_kind

    assert hub_kind("kiosk:help") is AlertKind.HELP_REQUESTED
    assert hub_kind("kiosk:reenrol") is AlertKind.HOLD_REVIEW


def test_a_save_that_changes_nothing_logs_nothing(kiosk: Kiosk) -> None:
    site = Site.objects.get(name="Downtown")
    before = ChangeLog.objects.count()
    site.save()
    assert ChangeLog.objects.count() == before
    site.day_start_hour = 5
    site.save()
    (change,) = ChangeLog.objects.filter(seq__gt=0).order_by("-seq")[:1]
    assert (change.kind, change.key, change.data) == ("setting", "day_start_hour", {"value": 5})


def test_a_stale_cursor_gets_a_snapshot(kiosk: Kiosk) -> None:
    kept = make_participant(kiosk.machine, "P-KEEP")
    make_prescription(kept)
    gone = make_participant(kiosk.machine, "P-GONE")
    old_cursor = 1
    gone.delete()
    ChangeLog.objects.update(at=timezone.now() - timedelta(days=400))
    trimmed = changelog.trim(days=90)
    assert trimmed > old_cursor
    assert not ChangeLog.objects.exists()
    make_participant(kiosk.machine, "P-NEW")  # after the trim

    page = kiosk.pull(old_cursor).json()

    assert (page["snapshot"], page["more"]) == (True, False)
    assert {c["op"] for c in page["changes"]} == {"upsert"}
    assert _records(page["changes"]) == {
        "participant:P-KEEP",
        "participant:P-NEW",
        f"prescription:{kept.prescriptions.get().pk}",
    }
    assert set(_keys(page["changes"])) >= SETTINGS
    # From the snapshot's cursor on, ordinary pages again.
    after = kiosk.pull(page["cursor"]).json()
    assert after["snapshot"] is False
    # The cursor exactly at the trim point is still served from the log.
    assert kiosk.pull(trimmed).json()["snapshot"] is False


def test_a_cursor_the_hub_never_issued_gets_a_snapshot(kiosk: Kiosk) -> None:
    page = kiosk.pull(10**12).json()
    assert page["snapshot"] is True


@pytest.mark.parametrize("query", ["", "?cursor=", "?cursor=-1", "?cursor=abc", "?cursor=1.5"])
def test_a_bad_cursor_is_400(kiosk: Kiosk, query: str) -> None:
    path = f"/v1/sync/changes{query}"
    response = kiosk.client.get(path, **kiosk.headers("GET", path, b""))
    assert response.status_code == 400


def test_pull_is_get_only(kiosk: Kiosk) -> None:
    assert kiosk.post("/v1/sync/changes?cursor=0", b"").status_code == 405


def test_a_hold_applied_from_a_kiosk_comes_back_to_it(kiosk: Kiosk) -> None:
    from tests.hub.helpers import event

    prescription = make_prescription(make_participant(kiosk.machine))
    cursor, _, _ = kiosk.pull_all(0)
    payload = {"prescription_hub_id": str(prescription.pk), "reason": "staff", "kind": "staff"}
    held_at = (prescription.updated_at + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    kiosk.push([event(1, "prescription.held", payload, held_at)])
    (change,) = kiosk.pull(cursor).json()["changes"]
    assert (change["kind"], change["data"]["status"]) == ("prescription", "on_hold")


def test_participant_records_are_personal_data_free_in_str() -> None:
    participant = Participant(code="P-0001", display_name="Secret Name")
    assert "Secret" not in str(participant)
