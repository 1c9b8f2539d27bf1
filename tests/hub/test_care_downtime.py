"""Notices and doses given by hand between a real kiosk store and the hub (issue 17 items 3
and 4; docs/SYNC.md "Notices", "Manual doses"): the hub's views on PostgreSQL, the kiosk's
SQLCipher store and its own apply code. A dose is kept once per uuid on both sides, whatever
is re-sent, pulled again or carried by a snapshot, and both sides' rules count it once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from care.models import AuditAction, CareAudit, Membership
from care.roles import Role
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from fleet.models import ManualDose, Notice, Prescription, Site

from kiosk.domain.dosing import Allowed, RefusalReason, Refused, decide, history_days
from kiosk.domain.manual_doses import StockSource
from kiosk.domain.model import SiteClock
from kiosk.services.clock import FixedClock
from kiosk.services.manual_doses import ManualDoseService
from kiosk.services.notices import NoticeService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.sync.apply import apply_page
from kiosk.services.sync.client import Change, ChangesPage
from kiosk.store import sync_repo
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.hub.helpers import Kiosk, Provision, make_participant, make_prescription

PASSWORD = "a-long-password-1"
SITE = SiteClock("America/Vancouver")


def signed_in(client: Client, role: Role, site: Site | None, name: str = "") -> User:
    user = User.objects.create_user(name or f"{role.value}-x", password=PASSWORD)
    Membership.objects.create(user=user, site=site, role=role)
    client.force_login(user)
    return user


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    yield Store(conn)
    conn.close()


def apply_all(store: Store, kiosk: Kiosk, cursor: int) -> int:
    """Pull every page from ``cursor`` and apply it with the kiosk's own code."""
    while True:
        page = kiosk.pull(cursor).json()
        changes = [Change(c["kind"], c["op"], c["key"], c["data"] or {}) for c in page["changes"]]
        apply_page(
            store.conn,
            ChangesPage(page["cursor"], page["snapshot"], page["more"], changes),
            datetime.now(UTC),
        )
        cursor = page["cursor"]
        if not page["more"]:
            return cursor


def push_outbox(store: Store, kiosk: Kiosk) -> list[dict[str, Any]]:
    """Push the kiosk's whole outbox as the sync client does (re-sendable)."""
    events = [e.wire() for e in sync_repo.unsent(store.conn, 1000)]
    response = kiosk.push(events)
    assert response.status_code == 200, response.content
    return events


def verdict(store: Store, code: str) -> Any:
    found = store.participant_by_code(code)
    assert found is not None
    [rx] = store.prescriptions(found.id)
    now = datetime.now(UTC)
    return decide(rx, store.history(rx.id, now - timedelta(days=history_days(SITE, rx))), now, SITE)


def refused_for_the_dose(store: Store) -> bool:
    found = verdict(store, "P-0001")
    return isinstance(found, Refused) and found.reason is not RefusalReason.MISSED_DOSES


def dose_rows(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM manual_doses").fetchone()[0])


def one_a_day(kiosk: Kiosk, code: str = "P-0001") -> Prescription:
    person = make_participant(kiosk.machine, code, language="fr_CA")
    return make_prescription(
        person,
        windows=[],
        interval_minutes=60,
        daily_max_units=2,
        start_date=date.today() - timedelta(days=1),
        missed_dose_limit=30,
    )


def test_a_dose_recorded_at_the_kiosk_is_kept_once_on_both_sides(
    provision: Provision, store: Store
) -> None:
    kiosk = provision()
    one_a_day(kiosk)
    cursor = apply_all(store, kiosk, 0)
    assert isinstance(verdict(store, "P-0001"), Allowed)
    now = datetime.now(UTC)
    clock = FixedClock(now)
    nurse = store.add_staff("Nurse", "nurse", hash_pin("615243"), now, "test")
    session = StaffSession(nurse, "Nurse", "nurse", now)
    service = ManualDoseService(store, clock, StaffService(store, clock))
    [choice] = service.choices(session)
    made = service.record(
        session,
        choice,
        units=2,
        given_at=now - timedelta(minutes=5),
        source=StockSource.PHARMACY,
    )
    assert refused_for_the_dose(store)

    events = push_outbox(store, kiosk)
    push_outbox(store, kiosk)  # the reply was lost: the same batch again
    again = [dict(e, seq=e["seq"] + 100, id=f"{e['id'][:-4]}beef") for e in events]
    assert kiosk.push(again).status_code == 200  # the same dose under other events
    [held] = ManualDose.objects.all()
    assert (str(held.uuid), held.origin, held.units, held.source) == (
        made.uuid,
        "kiosk",
        2,
        "pharmacy_stock",
    )
    assert held.prescription is not None and held.witness == ""

    cursor = apply_all(store, kiosk, cursor)  # the hub's copy comes back: the same uuid
    apply_all(store, kiosk, 10**9)  # a snapshot lists it again
    assert dose_rows(store) == 1
    assert refused_for_the_dose(store)


def test_a_dose_recorded_on_the_hub_is_pulled_once_and_counted(
    provision: Provision, store: Store, client: Client
) -> None:
    kiosk = provision()
    rx = one_a_day(kiosk)
    rx.witnessed = True
    rx.save()
    cursor = apply_all(store, kiosk, 0)
    assert isinstance(verdict(store, "P-0001"), Allowed)
    site = kiosk.machine.site
    witness = User.objects.create_user("second-nurse", password=PASSWORD)
    Membership.objects.create(user=witness, site=site, role=Role.NURSE)
    nurse = signed_in(client, Role.NURSE, site)
    given = timezone.localtime(timezone.now() - timedelta(minutes=10)).astimezone(
        __import__("zoneinfo").ZoneInfo(site.timezone)
    )
    form = {
        "units": 2,
        "given_at": given.strftime("%Y-%m-%dT%H:%M"),
        "source": "machine_lane",
        "lane": 1,
    }
    refused = client.post(f"/doses-by-hand/{rx.pk}/", form)
    assert refused.status_code == 400 and b"witnessed" in refused.content
    wrong = client.post(
        f"/doses-by-hand/{rx.pk}/",
        {**form, "witness_username": "second-nurse", "witness_password": "wrong"},
    )
    assert wrong.status_code == 400 and not ManualDose.objects.exists()
    done = client.post(
        f"/doses-by-hand/{rx.pk}/",
        {**form, "witness_username": "second-nurse", "witness_password": PASSWORD},
    )
    assert done.status_code == 302, done.content
    [dose] = ManualDose.objects.all()
    assert (dose.recorded_by, dose.witness, dose.lane) == (
        f"hub_user:{nurse.pk}",
        f"hub_user:{witness.pk}",
        1,
    )
    row = CareAudit.objects.get(action=AuditAction.MANUAL_DOSE_RECORDED)
    assert row.detail["witness"] == f"hub_user:{witness.pk}" and row.user == nurse

    store.set_lane(
        1,
        store.prescriptions(store.participant_by_code("P-0001").id)[0].medication.id,
        30,
        datetime.now(UTC),
        "test",
    )  # type: ignore[union-attr]
    apply_all(store, kiosk, cursor)
    apply_all(store, kiosk, cursor)  # the same page again (the cursor was not stored)
    apply_all(store, kiosk, 10**9)  # and a snapshot
    assert dose_rows(store) == 1
    assert store.lanes()[0].stock == 28  # from the machine's lane: taken off once
    assert refused_for_the_dose(store)
    push_outbox(store, kiosk)  # nothing of the dose goes back as a new record
    assert ManualDose.objects.count() == 1


def test_notices_both_ways_shown_once_in_the_participants_language(
    provision: Provision, store: Store, client: Client
) -> None:
    kiosk = provision()
    one_a_day(kiosk)
    site = kiosk.machine.site
    signed_in(client, Role.NURSE, site)
    today = date.today()
    response = client.post(
        "/notices/",
        {
            "site": site.pk,
            "participant": "P-0001",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=7)).isoformat(),
            "text_en": "The nurse is here Tuesdays 2-4 pm.",
            "text_fr_CA": "L'infirmière est ici le mardi de 14 h à 16 h.",
        },
    )
    assert response.status_code == 302, response.content
    [notice] = Notice.objects.all()
    audit = CareAudit.objects.get(action=AuditAction.NOTICE_CREATED)
    assert "infirmi" not in str(audit.detail) and audit.detail["code"] == "P-0001"

    cursor = apply_all(store, kiosk, 0)
    clock = FixedClock(datetime.now(UTC))
    notices = NoticeService(store, clock, SITE, StaffService(store, clock))
    pid = store.participant_by_code("P-0001").id  # type: ignore[union-attr]
    [shown] = notices.for_participant(pid)
    assert shown.text_for("fr_CA")[0].startswith("L'infirmière")
    notices.acknowledge(pid, shown.uuid)
    assert notices.for_participant(pid) == ()
    push_outbox(store, kiosk)
    notice.refresh_from_db()
    assert notice.acknowledged_at is not None
    apply_all(store, kiosk, 10**9)  # a snapshot does not bring it back
    assert notices.for_participant(pid) == ()

    # A site notice made at the kiosk becomes a hub record the hub can withdraw.
    now = datetime.now(UTC)
    admin = store.add_staff("Admin", "admin", hash_pin("918273"), now, "test")
    from kiosk.domain.notices import NoticeScope
    from kiosk.services.notices import NoticeDraft

    made = notices.create(
        StaffSession(admin, "Admin", "admin", now),
        NoticeDraft(NoticeScope.SITE, None, today, today, {"en": "Closed at 5 today."}),
    )
    push_outbox(store, kiosk)
    push_outbox(store, kiosk)
    kept = Notice.objects.get(uuid=made.uuid)
    assert (kept.origin, kept.scope, kept.origin_machine) == ("kiosk", "site", kiosk.machine)
    assert client.post(f"/notices/{kept.pk}/withdraw/").status_code == 302
    apply_all(store, kiosk, cursor)
    assert notices.at_idle() == ()


@pytest.mark.parametrize(
    ("role", "notices", "doses"),
    [
        (Role.VIEWER, 403, 403),
        (Role.PRESCRIBER, 403, 403),
        (Role.PROGRAM_MANAGER, 200, 403),
        (Role.NURSE, 200, 200),
        (Role.PHARMACIST, 200, 200),
    ],
)
def test_the_pages_follow_the_permission_table(
    provision: Provision, client: Client, role: Role, notices: int, doses: int
) -> None:
    kiosk = provision()
    signed_in(client, role, kiosk.machine.site)
    assert client.get("/notices/").status_code == notices
    assert client.get("/doses-by-hand/").status_code == doses


def test_the_hub_page_asks_for_an_override_when_the_rules_would_refuse(
    provision: Provision, client: Client
) -> None:
    kiosk = provision()
    rx = one_a_day(kiosk)  # every 60 minutes, at most 2 units a day
    site = kiosk.machine.site
    nurse = signed_in(client, Role.NURSE, site)
    zone = __import__("zoneinfo").ZoneInfo(site.timezone)

    def form(minutes_ago: int, **more: Any) -> dict[str, Any]:
        given = (timezone.now() - timedelta(minutes=minutes_ago)).astimezone(zone)
        return {
            "units": 2,
            "given_at": given.strftime("%Y-%m-%dT%H:%M"),
            "source": "pharmacy_stock",
            **more,
        }

    assert client.post(f"/doses-by-hand/{rx.pk}/", form(30)).status_code == 302  # allowed
    again = client.post(f"/doses-by-hand/{rx.pk}/", form(5))  # too soon, daily maximum
    assert again.status_code == 400 and ManualDose.objects.count() == 1
    assert b"The machine&#x27;s rules would refuse this dose" in again.content
    assert b"It was not recorded" in again.content and b"id_override_reason" in again.content
    done = client.post(
        f"/doses-by-hand/{rx.pk}/", form(5, override_reason="Spat out the first dose")
    )
    assert done.status_code == 302 and ManualDose.objects.count() == 2
    rows = CareAudit.objects.filter(action=AuditAction.MANUAL_DOSE_RECORDED).order_by("pk")
    assert rows[0].detail.get("rules_override") is None and rows[1].user == nurse
    override = rows[1].detail["rules_override"]
    assert override["reason"] == "Spat out the first dose" and override["refusal"] in (
        "too_early",
        "daily_maximum",
    )
    # A prescription on hold: said plainly, nothing recorded without an override.
    rx.status = "on_hold"
    rx.save()
    held = client.post(f"/doses-by-hand/{rx.pk}/", form(1))
    assert held.status_code == 400 and b"on hold" in held.content
