"""The review queues' rules without a browser (care/pages/queues.py, queue_lists.py,
queue_actions.py): each queue's query, the writes and their audit, the change log a release
reaches, two nurses at once, a viewer's 403 and another site's 404."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from care import demo
from care.models import AuditAction, CareAudit, OutreachContact, QueueReview
from care.pages import queue_actions, queue_lists
from django.db import connection
from django.test import Client
from fleet.models import ChangeLog, Event, Machine, Prescription, QuarantinedEvent, SyncException

from tests.hub.helpers import make_participant, make_prescription

PASSWORD = "a-demo-password-42"


@pytest.fixture
def seeded(db: None) -> demo.Seeded:
    seeded = demo.seed(PASSWORD)
    demo.seed_queues(seeded)
    return seeded


def _client(seeded: demo.Seeded, username: str) -> Client:
    client = Client()
    client.force_login(seeded.users[username])
    return client


def _held(seeded: demo.Seeded) -> Prescription:
    return Prescription.objects.get(
        participant__code="P-0005", participant__machine__site=seeded.site
    )


def _other_site_hold(seeded: demo.Seeded) -> Prescription:
    machine = Machine.objects.get(site=seeded.other_site)
    rx = make_prescription(make_participant(machine, "P-0900"))
    rx.status, rx.hold_kind, rx.hold_reason = "on_hold", "missed_doses", "needs prescriber review"
    rx.save()
    return rx


_vend = iter(range(1000, 100000))


def _pickup(machine: Machine, rx: Prescription, at: datetime, dropped: int = 2) -> None:
    seq = (
        Event.objects.filter(machine=machine).order_by("-seq").first() or SimpleNamespace(seq=0)
    ).seq
    vend = next(_vend)
    Event(
        machine=machine,
        seq=seq + 1,
        type="dispense.intent",
        created_at=at,
        payload={"vend_id": vend, "lane": 1, "units": 2, "prescription_hub_id": rx.pk},
    ).save()
    Event(
        machine=machine,
        seq=seq + 2,
        type="dispense.result",
        created_at=at,
        payload={"vend_id": vend, "lane": 1, "units": 2, "dropped": dropped, "outcome": "ok"},
    ).save()


# ---------------------------------------------------------------- missed-dose holds


def test_the_holds_queue_lists_missed_dose_holds_of_the_users_sites_only(
    seeded: demo.Seeded,
) -> None:
    _other_site_hold(seeded)
    staff_hold = Prescription.objects.get(
        participant__code="P-0001",
        participant__machine__name="kiosk-1",
        participant__machine__site=seeded.site,
    )
    staff_hold.status, staff_hold.hold_kind = "on_hold", "staff"
    staff_hold.save()
    page = _client(seeded, "nurse").get("/reviews/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "P-0005" in text and "P-0900" not in text
    assert [rx.participant.code for rx in page.context["page"].object_list] == ["P-0005"]
    # Held 20 hours ago after a pickup five days ago: four whole days without one.
    assert page.context["rows"][0]["missed"] == 4


def test_days_missed_follow_the_sites_day_start(seeded: demo.Seeded) -> None:
    site = seeded.site  # America/Vancouver, the day starts at 04:00 (UTC-7 in June)
    machine = Machine.objects.get(site=site, name="kiosk-1")
    rx = make_prescription(make_participant(machine, "P-0300"), start_date="2026-05-01")
    now = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)  # 12:00 local on the 10th
    # 03:00 local on the 7th belongs to the 6th's dosing day: 7, 8, 9 missed.
    _pickup(machine, rx, datetime(2026, 6, 7, 10, 0, tzinfo=UTC))
    rx = Prescription.objects.select_related("participant__machine__site").get(pk=rx.pk)
    assert queue_lists.days_missed([rx], now) == {rx.pk: 3}
    _pickup(machine, rx, datetime(2026, 6, 7, 12, 0, tzinfo=UTC), dropped=0)  # nothing dropped
    assert queue_lists.days_missed([rx], now) == {rx.pk: 3}
    rx.released_at = datetime(2026, 6, 9, 18, 0, tzinfo=UTC)  # released on the 9th
    assert queue_lists.days_missed([rx], now) == {rx.pk: 1}


def test_a_release_applies_is_audited_and_reaches_the_machines_change_log(
    seeded: demo.Seeded,
) -> None:
    rx = _held(seeded)
    before = ChangeLog.objects.order_by("-seq").first().seq
    response = _client(seeded, "nurse").post(
        f"/reviews/holds/{rx.pk}/", {"decision": "release", "reason": "called, picked up today"}
    )
    assert response.status_code == 302
    rx.refresh_from_db()
    assert (rx.status, rx.hold_kind, rx.hold_reason) == ("active", "", "")
    assert rx.released_at is not None
    logged = ChangeLog.objects.get(seq__gt=before, kind="prescription", key=str(rx.pk))
    assert logged.machine_id == rx.participant.machine_id
    assert logged.data["status"] == "active" and logged.data["released_at"]
    row = CareAudit.objects.get(action=AuditAction.HOLD_RELEASED)
    assert (row.object_id, row.reason, row.site) == (
        str(rx.pk),
        "called, picked up today",
        seeded.site,
    )
    assert row.detail["participant"] == "P-0005" and "Robin" not in str(row.detail)


def test_ending_the_prescription_applies_and_reaches_the_change_log(seeded: demo.Seeded) -> None:
    rx = _held(seeded)
    response = _client(seeded, "pharmacist").post(
        f"/reviews/holds/{rx.pk}/", {"decision": "end", "reason": "moved to another program"}
    )
    assert response.status_code == 302
    rx.refresh_from_db()
    assert rx.status == "ended"
    logged = ChangeLog.objects.filter(kind="prescription", key=str(rx.pk)).order_by("-seq").first()
    assert logged.data["status"] == "ended"
    assert CareAudit.objects.filter(action=AuditAction.HOLD_PRESCRIPTION_ENDED).count() == 1


def test_a_decision_without_a_reason_is_refused_in_the_form(seeded: demo.Seeded) -> None:
    rx = _held(seeded)
    client = _client(seeded, "nurse")
    page = client.post(f"/reviews/holds/{rx.pk}/", {"decision": "release", "reason": "  "})
    assert page.status_code == 400
    assert "Write a reason" in page.content.decode()
    htmx = client.post(f"/reviews/holds/{rx.pk}/", {"decision": "release"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and htmx["HX-Retarget"] == f"#hold-{rx.pk}"
    assert 'aria-invalid="true"' in htmx.content.decode()
    rx.refresh_from_db()
    assert rx.status == "on_hold"
    assert not CareAudit.objects.filter(action=AuditAction.HOLD_RELEASED).exists()


@pytest.mark.django_db(transaction=True)
def test_two_nurses_releasing_at_once_apply_it_once() -> None:
    seeded = demo.seed(PASSWORD)
    demo.seed_queues(seeded)
    rx = _held(seeded)
    before = ChangeLog.objects.order_by("-seq").first().seq
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def release(username: str) -> None:
        try:
            start.wait()
            queue_actions.decide_hold(
                SimpleNamespace(user=seeded.users[username]), rx.pk, "release", "seen today"
            )
            outcomes.append("applied")
        except queue_actions.NotApplied:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=release, args=(u,)) for u in ("nurse", "pharmacist")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["applied", "refused"]
    assert CareAudit.objects.filter(action=AuditAction.HOLD_RELEASED).count() == 1
    assert (
        ChangeLog.objects.filter(kind="prescription", key=str(rx.pk), seq__gt=before).count() == 1
    )


def test_a_viewer_may_not_post_and_another_sites_rows_are_404(seeded: demo.Seeded) -> None:
    rx = _held(seeded)
    viewer = _client(seeded, "viewer")
    assert viewer.get("/reviews/").status_code == 403
    assert (
        viewer.post(f"/reviews/holds/{rx.pk}/", {"decision": "release", "reason": "x"}).status_code
        == 403
    )
    other = _other_site_hold(seeded)
    nurse = _client(seeded, "nurse")
    for data in ({"decision": "release", "reason": "x"}, {}):
        assert nurse.post(f"/reviews/holds/{other.pk}/", data).status_code == 404
    other.refresh_from_db()
    assert other.status == "on_hold"
    q = QuarantinedEvent.objects.create(
        machine=other.participant.machine, seq=5, type="x", raw="{}", reason="r"
    )
    assert nurse.post(f"/reviews/quarantined/{q.pk}/reviewed/", {"note": "ok"}).status_code == 404
    assert (
        nurse.post(
            f"/reviews/absences/{seeded.other_site.pk}/P-0900/contacted/",
            {"note": "x", "until": "today"},
        ).status_code
        == 404
    )
    assert nurse.post("/reviews/nonsense/1/reviewed/", {"note": "x"}).status_code == 404


# ---------------------------------------------------------------- absences


def test_absences_count_pickups_on_any_machine_and_the_sites_day_start(seeded: demo.Seeded) -> None:
    site = seeded.site
    m1, m2 = (Machine.objects.get(site=site, name=n) for n in demo.MACHINES)
    sites = type(site).objects.filter(pk=site.pk)
    now = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)  # 12:00 local on the 10th
    Prescription.objects.filter(participant__machine__site=site)  # the demo's others start today
    for rx in Prescription.objects.filter(participant__machine__site=site, status="active"):
        rx.start_date = "2026-06-09"
        rx.save()
    # P-0400 on both machines; last pickup on kiosk-2 at 03:00 local on the 7th (the 6th's day).
    rx1 = make_prescription(make_participant(m1, "P-0400"), start_date="2026-05-01")
    rx2 = make_prescription(make_participant(m2, "P-0400"), start_date="2026-05-01")
    _pickup(m1, rx1, datetime(2026, 6, 4, 18, 0, tzinfo=UTC))
    _pickup(m2, rx2, datetime(2026, 6, 7, 10, 0, tzinfo=UTC))
    _pickup(m2, rx2, datetime(2026, 6, 9, 18, 0, tzinfo=UTC), dropped=0)  # nothing dropped
    # P-0401 picked up yesterday on kiosk-1 only.
    rx3 = make_prescription(make_participant(m1, "P-0401"), start_date="2026-05-01")
    _pickup(m1, rx3, datetime(2026, 6, 9, 18, 0, tzinfo=UTC))
    found = queue_lists.absences(sites, now, 3)
    assert [(a.code, a.days, a.machines) for a in found] == [("P-0400", 3, ["kiosk-1", "kiosk-2"])]
    # At 05:00 local on the 7th, the pickup is the 7th's: two days, under the threshold.
    _pickup(m2, rx2, datetime(2026, 6, 7, 12, 0, tzinfo=UTC))
    assert queue_lists.absences(sites, now, 3) == []
    assert [a.days for a in queue_lists.absences(sites, now, 2)] == [2]


def test_a_contact_note_hides_for_the_day_or_until_the_next_pickup(seeded: demo.Seeded) -> None:
    nurse = _client(seeded, "nurse")
    page = nurse.get("/reviews/absences/")
    codes = [a.code for a in page.context["page"].object_list]
    assert codes == ["P-0004"]
    assert "Not seen for 4 days — consider outreach" in page.content.decode()
    url = f"/reviews/absences/{seeded.site.pk}/P-0004/contacted/"
    assert nurse.post(url, {"note": "", "until": "today"}).status_code == 400
    response = nurse.post(
        url, {"note": "left a voicemail", "until": "today"}, HTTP_HX_REQUEST="true"
    )
    assert (
        response.status_code == 200
        and "off this list for the rest of today" in response.content.decode()
    )
    assert nurse.get("/reviews/absences/").context["page"].object_list == []
    audit_row = CareAudit.objects.get(action=AuditAction.OUTREACH_CONTACTED)
    assert audit_row.detail == {"participant": "P-0004", "until_pickup": False}
    # Tomorrow it is back; "until the next pickup" keeps it off until a pickup after the note.
    sites = type(seeded.site).objects.filter(pk=seeded.site.pk)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert [a.code for a in queue_lists.absences(sites, tomorrow, 3)] == ["P-0004"]
    OutreachContact.objects.create(
        site=seeded.site,
        participant_code="P-0004",
        until_pickup=True,
        note="n",
        user=seeded.users["nurse"],
    )
    assert queue_lists.absences(sites, tomorrow, 3) == []


def test_a_bad_days_filter_says_so_and_uses_the_default(seeded: demo.Seeded) -> None:
    page = _client(seeded, "nurse").get("/reviews/absences/?days=lots")
    assert page.status_code == 200
    assert "Enter a whole number of days" in page.content.decode()
    assert page.context["min_days"] == 3


# ---------------------------------------------------------------- stock, sync, set aside


def test_stock_counts_that_differ_and_open_exceptions_are_listed_and_reviewed(
    seeded: demo.Seeded,
) -> None:
    kiosk1 = Machine.objects.get(site=seeded.site, name="kiosk-1")
    Event(
        machine=kiosk1,
        seq=500,
        type="stock.counted",
        created_at=datetime.now(UTC),
        payload={"lane": 2, "expected": 10, "counted": 10},
    ).save()
    nurse = _client(seeded, "nurse")
    page = nurse.get("/reviews/stock/")
    counts = list(page.context["counts_page"].object_list)
    assert [(e.payload["expected"], e.payload["counted"]) for e in counts] == [(40, 38)]
    exceptions = list(page.context["exceptions_page"].object_list)
    assert len(exceptions) == 1
    response = nurse.post(f"/reviews/count/{counts[0].pk}/reviewed/", {"note": "recounted: 38"})
    assert response.status_code == 302
    again = nurse.post(
        f"/reviews/count/{counts[0].pk}/reviewed/", {"note": "again"}, HTTP_HX_REQUEST="true"
    )
    assert "already reviewed" in again.content.decode()
    nurse.post(f"/reviews/exception/{exceptions[0].pk}/reviewed/", {"note": "entered on the hub"})
    assert SyncException.objects.get(pk=exceptions[0].pk).resolved
    page = nurse.get("/reviews/stock/")
    assert (
        not page.context["counts_page"].object_list
        and not page.context["exceptions_page"].object_list
    )
    assert QueueReview.objects.count() == 2
    assert CareAudit.objects.filter(action=AuditAction.STOCK_COUNT_REVIEWED).count() == 1
    assert CareAudit.objects.filter(action=AuditAction.SYNC_EXCEPTION_REVIEWED).count() == 1


def test_set_aside_events_show_raw_escaped_and_leave_once_reviewed(seeded: demo.Seeded) -> None:
    kiosk2 = Machine.objects.get(site=seeded.site, name="kiosk-2")
    q = QuarantinedEvent.objects.create(
        machine=kiosk2,
        seq=900,
        type="audit.note",
        reason="payload: too long",
        raw='{"note": "<script>alert(1)</script>"}',
    )
    nurse = _client(seeded, "nurse")
    text = nurse.get("/reviews/set-aside/").content.decode()
    assert "#900" in text and "<script>alert(1)" not in text and "&lt;script&gt;" in text
    assert nurse.post(f"/reviews/quarantined/{q.pk}/reviewed/", {"note": ""}).status_code == 400
    nurse.post(f"/reviews/quarantined/{q.pk}/reviewed/", {"note": "kiosk bug, reported"})
    left = nurse.get("/reviews/set-aside/").context["page"].object_list
    assert q not in left and len(left) == 1  # the demo's own
    row = CareAudit.objects.get(action=AuditAction.QUARANTINED_EVENT_REVIEWED)
    assert row.detail == {"machine": kiosk2.pk, "seq": 900} and row.site == seeded.site


def test_the_pages_queries_do_not_grow_with_rows(
    seeded: demo.Seeded, django_assert_max_num_queries: Any
) -> None:
    machine = Machine.objects.get(site=seeded.site, name="kiosk-1")
    for i in range(15):
        rx = make_prescription(make_participant(machine, f"P-07{i:02d}"))
        rx.status, rx.hold_kind = "on_hold", "missed_doses"
        rx.save()
        QuarantinedEvent.objects.create(
            machine=machine, seq=2000 + i, type="x", raw="{}", reason="r"
        )
    nurse = _client(seeded, "nurse")
    for url in ("/reviews/", "/reviews/absences/", "/reviews/stock/", "/reviews/set-aside/"):
        with django_assert_max_num_queries(20):
            assert nurse.get(url).status_code == 200
