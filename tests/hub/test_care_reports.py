"""The reports' rules without a browser, on hand-made kiosk events in the real PostgreSQL:
reconciliation across the site's day start (and a DST change), the register's running
balance, a participant's dispense log, CSV quoting and the formula guard, the FHIR bundle
(validated, round-tripped, statuses mapped), other sites never included, 403 without
VIEW_REPORTS, every download audited without names."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from care.models import AuditAction, CareAudit, Membership
from care.reports import csvfile, days
from care.roles import Role
from django.contrib.auth.models import User
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fleet.models import Event, Machine, Participant, Prescription, Site

DAY = date(2025, 3, 9)  # Vancouver moves its clocks forward at 02:00 that day
PASSWORD = "a-long-password-1"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Events:
    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.seq = 0

    def add(self, type_: str, at: str, **payload: Any) -> None:
        self.seq += 1
        Event(
            machine=self.machine, seq=self.seq, type=type_, payload=payload, created_at=_at(at)
        ).save()


def _site(name: str) -> Site:
    site = Site(name=name, timezone="America/Vancouver", day_start_hour=4)
    site.save()
    return site


def _prescription(machine: Machine, code: str, status: str = "active") -> Prescription:
    person = Participant(machine=machine, code=code, display_name="Fictional Person")
    person.save()
    rx = Prescription(
        participant=person,
        medication_name="hydromorphone",
        medication_strength="8 mg",
        medication_form="tablet",
        units_per_dose=2,
        windows=[["08:00", "11:00"]],
        daily_max_units=4,
        start_date=date(2025, 3, 1),
        status=status,
    )
    rx.save()
    return rx


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    site = _site('=cmd, "Downtown"')  # a hostile name: quoting and the formula guard
    machine = Machine.objects.create(site=site, name="kiosk-1")
    rx = _prescription(machine, "P-0001")
    held = _prescription(machine, "P-0002", status="cancelled")
    e = Events(machine)
    common = {"lane": 1, "medication_id": 7}
    e.add("lane.configured", "2025-03-08T13:00:00", stock=20, actor="staff:3", **common)
    # Intent at 03:59 local (the day before DAY), result after the day start: counts on the 8th.
    e.add(
        "dispense.intent",
        "2025-03-09T10:59:00",
        vend_id=100,
        units=2,
        lane=1,
        prescription_hub_id=rx.pk,
        actor="participant:1",
    )
    e.add(
        "dispense.result",
        "2025-03-09T11:00:30",
        vend_id=100,
        lane=1,
        units=2,
        dropped=2,
        outcome="complete",
        actor="system",
    )
    e.add(
        "stock.restocked",
        "2025-03-09T12:00:00",
        kind="restock",
        expected=18,
        counted=18,
        added=10,
        stock=28,
        second_staff_id=4,
        actor="staff:3",
        **common,
    )
    for vend, at in ((101, "15"), (102, "16"), (103, "17")):
        e.add(
            "dispense.intent",
            f"2025-03-09T{at}:00:00",
            vend_id=vend,
            units=2,
            lane=1,
            prescription_hub_id=rx.pk,
            actor="participant:1",
        )
        if vend != 103:  # 103 never reports: unsettled
            e.add(
                "dispense.result",
                f"2025-03-09T{at}:00:20",
                vend_id=vend,
                lane=1,
                units=2,
                dropped=2 if vend == 101 else 0,
                outcome="complete" if vend == 101 else "jam",
                actor="system",
            )
    e.add("stock.returned", "2025-03-09T18:00:00", units=3, stock=23, actor="staff:3", **common)
    e.add(
        "stock.wasted",
        "2025-03-09T19:00:00",
        units=1,
        stock=22,
        second_staff_id=5,
        actor="staff:3",
        **common,
    )
    e.add(
        "stock.counted",
        "2025-03-09T20:00:00",
        kind="count",
        expected=22,
        counted=21,
        stock=21,
        actor="staff:6",
        **common,
    )
    e.add(
        "dispense.intent",
        "2025-03-10T12:00:00",
        vend_id=104,
        units=2,
        lane=1,
        prescription_hub_id=rx.pk,
        actor="participant:1",
    )
    e.add(
        "dispense.result",
        "2025-03-10T12:00:20",
        vend_id=104,
        lane=1,
        units=2,
        dropped=2,
        outcome="complete",
        actor="system",
    )
    # Another site, same day, same lane number: never in this site's users' reports.
    other = _site("Eastside")
    other_machine = Machine.objects.create(site=other, name="kiosk-9")
    other_rx = _prescription(other_machine, "P-0001")
    o = Events(other_machine)
    o.add("lane.configured", "2025-03-08T13:00:00", stock=500, actor="staff:99", **common)
    o.add(
        "dispense.intent",
        "2025-03-09T15:00:00",
        vend_id=900,
        units=2,
        lane=1,
        prescription_hub_id=other_rx.pk,
        actor="participant:1",
    )
    o.add(
        "dispense.result",
        "2025-03-09T15:00:20",
        vend_id=900,
        lane=1,
        units=2,
        dropped=2,
        outcome="complete",
        actor="system",
    )
    users = {}
    for name, role in (
        ("pharmacist", Role.PHARMACIST),
        ("nurse", Role.NURSE),
        ("viewer", Role.VIEWER),
    ):
        user = User.objects.create_user(name, password=PASSWORD)
        Membership.objects.create(user=user, site=site, role=role)
        users[name] = user
    return {
        "site": site,
        "machine": machine,
        "rx": rx,
        "held": held,
        "other": other,
        "users": users,
    }


def _client(name: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=name))
    return client


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(csvfile.BOM)
    return list(csv.reader(io.StringIO(body[1:])))


def test_dosing_days_follow_the_site_day_start_across_a_dst_change(db: None) -> None:
    site = _site("Tz")
    start, end = days.day_bounds(site, DAY)
    assert start == _at("2025-03-09T11:00:00")  # 04:00 PDT
    assert days.day_bounds(site, date(2025, 3, 8)) == (_at("2025-03-08T12:00:00"), start)
    assert end == _at("2025-03-10T11:00:00")
    assert days.dosing_day(site, _at("2025-03-09T10:59:00")) == date(2025, 3, 8)


def test_reconciliation_numbers_for_the_day(world: dict[str, Any]) -> None:
    response = _client("pharmacist").get(
        "/reports/reconciliation/", {"start": DAY.isoformat(), "download": "csv"}
    )
    assert response.status_code == 200
    rows = _csv(response)
    header, lane, machine_total, site_total = rows
    got = dict(zip(header, lane, strict=True))
    assert got["site"] == '\'=cmd, "Downtown"'  # guarded, and quoted by the csv module
    assert (got["lane"], got["medication_ids"]) == ("1", "7")
    expected = {
        "opening": "18",
        "received": "10",
        "dispensed": "2",
        "returned": "3",
        "wasted": "1",
        "expected_closing": "22",
        "counted_closing": "21",
        "difference": "-1",
        "counts": "2",
        "discrepancies": "1",
        "vends_started": "3",
        "vends_failed": "1",
        "vends_unsettled": "1",
    }
    assert {k: got[k] for k in expected} == expected
    for total in (machine_total, site_total):
        assert dict(zip(header, total, strict=True))["dispensed"] == "2"
    assert "Eastside" not in str(rows) and "500" not in str(rows)
    audit = CareAudit.objects.get(action=AuditAction.REPORT_DOWNLOADED)
    assert audit.detail == {
        "site_id": None,
        "machine_id": None,
        "start": "2025-03-09",
        "end": "2025-03-09",
        "report": "reconciliation",
    }
    # The day before: the vend whose intent was at 03:59 local counts there.
    before = _csv(
        _client("pharmacist").get(
            "/reports/reconciliation/", {"start": "2025-03-08", "download": "csv"}
        )
    )
    got = dict(zip(before[0], before[1], strict=True))
    assert (got["opening"], got["dispensed"], got["vends_started"]) == ("", "2", "1")


def test_reconciliation_page_shows_the_day(world: dict[str, Any]) -> None:
    response = _client("pharmacist").get("/reports/reconciliation/", {"start": DAY.isoformat()})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Dosing day 2025-03-09" in text and "1 count off" in text
    assert "Eastside" not in text


def test_register_running_balance_who_and_lot(world: dict[str, Any]) -> None:
    rows = _csv(
        _client("pharmacist").get(
            "/reports/register/", {"start": DAY.isoformat(), "download": "csv"}
        )
    )
    header, *body = rows
    lines = [dict(zip(header, r, strict=True)) for r in body]
    assert [(r["movement"], r["units_in"], r["units_out"], r["balance_after"]) for r in lines] == [
        ("received", "10", "0", "28"),
        ("dispensed", "0", "2", "26"),
        ("dispensed", "0", "0", "26"),
        ("returned", "0", "3", "23"),
        ("wasted", "0", "1", "22"),
        ("counted", "0", "0", "21"),
    ]
    assert lines[0]["who"] == "staff:3 + staff:4" and lines[0]["time_local"] == "2025-03-09 05:00"
    assert {r["lot"] for r in lines} == {"not recorded"}
    assert lines[5]["expected"] == "22" and lines[5]["counted"] == "21"


def test_dispense_log_of_one_participant(world: dict[str, Any]) -> None:
    client = _client("pharmacist")
    rows = _csv(
        client.get(
            "/reports/dispenses/",
            {"code": "p-0001", "start": DAY.isoformat(), "end": "2025-03-10", "download": "csv"},
        )
    )
    header, *body = rows
    lines = [dict(zip(header, r, strict=True)) for r in body]
    assert [(r["vend_id"], r["units_asked"], r["units_given"], r["result"]) for r in lines] == [
        ("101", "2", "2", "complete"),
        ("102", "2", "0", "jam"),
        ("103", "2", "", "no result yet (unsettled)"),
        ("104", "2", "2", "complete"),
    ]
    assert lines[0]["time_local"] == "2025-03-09 08:00" and lines[0]["machine"] == "kiosk-1"
    assert lines[0]["medication"] == "hydromorphone 8 mg tablet"
    detail = CareAudit.objects.get(action=AuditAction.REPORT_DOWNLOADED).detail
    assert detail["participant"] == "P-0001" and "Fictional" not in json.dumps(detail)
    # A code nobody at the user's sites has: a clear message, not a 500 or another site's log.
    page = client.get("/reports/dispenses/", {"code": "P-7777"})
    assert page.status_code == 400 and "No participant with that code" in page.content.decode()


def test_bad_filters_are_messages_in_the_form(world: dict[str, Any]) -> None:
    client = _client("pharmacist")
    for query, message in (
        ({"start": "yesterday"}, "year-month-day"),
        ({"start": "2025-03-09", "end": "2025-03-01"}, "on or after the first day"),
        ({"site": str(world["other"].pk)}, "Choose one of your sites"),
        ({"machine": "999999"}, "Choose one of your sites"),
    ):
        response = client.get("/reports/register/", query)
        assert response.status_code == 400, query
        assert message in response.content.decode(), query


def test_csv_cells_are_quoted_and_guarded() -> None:
    assert [csvfile.safe_cell(v) for v in ("=1+1", "+1", "-x", "@a", "\tx", "ok", -2, None)] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@a",
        "'\tx",
        "ok",
        -2,
        "",
    ]
    text = "".join(csvfile.lines(("a", "b"), [("x,y", 'say "hi"\nbye')]))
    assert text == '\ufeffa,b\r\n"x,y","say ""hi""\nbye"\r\n'


def test_fhir_bundle_validates_round_trips_and_maps_statuses(world: dict[str, Any]) -> None:
    response = _client("pharmacist").get(
        "/reports/fhir/", {"start": DAY.isoformat(), "end": DAY.isoformat()}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    bundle = Bundle.model_validate_json(response.content)  # the models validate the JSON
    assert bundle.type == "collection"
    resources = [entry.resource for entry in bundle.entry]
    requests = {r.id: r for r in resources if r.get_resource_type() == "MedicationRequest"}
    assert requests[f"rx-{world['rx'].pk}"].status == "active"
    assert requests[f"rx-{world['held'].pk}"].status == "stopped"
    request = requests[f"rx-{world['rx'].pk}"]
    assert request.subject.identifier.value == "P-0001" and request.subject.display is None
    assert request.dosageInstruction[0].doseAndRate[0].doseQuantity.value == 2
    dispenses = {
        r.identifier[0].value: r for r in resources if r.get_resource_type() == "MedicationDispense"
    }
    assert {k: d.status for k, d in dispenses.items()} == {
        "101": "completed",
        "102": "declined",
        "103": "unknown",
    }
    assert dispenses["101"].quantity.value == 2 and dispenses["101"].whenHandedOver is not None
    assert dispenses["101"].authorizingPrescription[0].reference == next(
        e.fullUrl for e in bundle.entry if e.resource.id == f"rx-{world['rx'].pk}"
    )
    body = response.content.decode()
    assert "Fictional" not in body and "Eastside" not in body and "900" not in body
    assert Bundle.model_validate_json(bundle.model_dump_json()) == bundle
    audit = CareAudit.objects.get(action=AuditAction.REPORT_FHIR_EXPORTED)
    assert audit.detail["dispenses"] == 3 and audit.detail["requests"] == 2


def test_without_view_reports_every_report_is_403(world: dict[str, Any]) -> None:
    for name in ("viewer", "nurse"):
        client = _client(name)
        for path in (
            "/reports/",
            "/reports/reconciliation/",
            "/reports/register/",
            "/reports/dispenses/",
            "/reports/fhir/?start=2025-03-09",
        ):
            assert client.get(path).status_code == 403, (name, path)


def test_queries_stay_few_whatever_the_rows(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    client = _client("pharmacist")
    client.get("/reports/")  # warm the session
    with django_assert_max_num_queries(20):
        assert (
            client.get(
                "/reports/register/", {"start": "2025-03-01", "end": "2025-03-31"}
            ).status_code
            == 200
        )
    with django_assert_max_num_queries(20):
        assert client.get("/reports/reconciliation/", {"start": DAY.isoformat()}).status_code == 200
