"""The fleet pages' rules (care/pages/fleet.py): the numbers shown (today's dispenses from each
site's day start in its own time zone, stock, alerts, last contact, version), a constant number
of queries however many machines, other sites invisible (404), no fleet action → 403."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from care.models import Membership
from care.pages.fleet import MACHINES_PER_PAGE
from care.pages.fleet_status import day_start, statuses
from care.roles import Role
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fleet.models import Alert, Event, LaneStock, Machine, QuarantinedEvent, Site

from tests.hub.helpers import Kiosk, event, make_participant, make_prescription

pytestmark = pytest.mark.django_db

NOON_UTC = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 05:00 in Vancouver (PDT), 21:00 in Tokyo


def _site(name: str, zone: str = "America/Vancouver", hour: int = 4) -> Site:
    site = Site(name=name, timezone=zone, day_start_hour=hour)
    site.save()
    return site


def _user(name: str, role: Role, site: Site | None) -> User:
    user = User.objects.create_user(name, password="a-long-password-1")
    Membership.objects.create(user=user, role=role, site=site)
    return user


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


_seq: dict[int, int] = {}


def _event(machine: Machine, type_: str, at: datetime, **payload: Any) -> Event:
    seq = _seq[machine.pk] = _seq.get(machine.pk, 0) + 1
    made = Event(
        machine=machine, seq=seq, event_id=uuid.uuid4(), type=type_, payload=payload, created_at=at
    )
    made.save()
    return made


def test_the_day_starts_at_the_sites_hour_in_its_own_time_zone() -> None:
    vancouver = Site(name="V", timezone="America/Vancouver", day_start_hour=4)
    tokyo = Site(name="T", timezone="Asia/Tokyo", day_start_hour=0)
    assert day_start(vancouver, NOON_UTC) == datetime(2026, 6, 10, 11, 0, tzinfo=UTC)
    # 03:30 in Vancouver is still yesterday's dosing day.
    early = datetime(2026, 6, 10, 10, 30, tzinfo=UTC)
    assert day_start(vancouver, early) == datetime(2026, 6, 9, 11, 0, tzinfo=UTC)
    assert day_start(tokyo, NOON_UTC) == datetime(2026, 6, 9, 15, 0, tzinfo=UTC)


def test_todays_dispenses_count_results_that_dropped_units_since_the_sites_day_start() -> None:
    vancouver = Machine.objects.create(site=_site("Vancouver"), name="k1")
    tokyo = Machine.objects.create(site=_site("Tokyo", "Asia/Tokyo", 0), name="k1")
    for machine in (vancouver, tokyo):
        _event(machine, "dispense.result", NOON_UTC - timedelta(minutes=30), dropped=2)
        _event(machine, "dispense.result", NOON_UTC - timedelta(minutes=90), dropped=1)
        _event(machine, "dispense.result", NOON_UTC - timedelta(minutes=20), dropped=0)
        _event(machine, "dispense.result", NOON_UTC - timedelta(minutes=15), dropped=None)
        _event(machine, "dispense.intent", NOON_UTC - timedelta(minutes=10), units=2)
        _event(machine, "dispense.result", NOON_UTC - timedelta(hours=22), dropped=2)
    found = {s.machine.site.name: s for s in statuses(Machine.objects.all(), NOON_UTC)}
    # Vancouver's day began 11:00 UTC: only the 11:30 result. Tokyo's began 15:00 UTC the day
    # before: 11:30 and 10:30 UTC, not 14:00 UTC yesterday (22 h before noon).
    assert found["Vancouver"].dispensed_today == 1
    assert found["Tokyo"].dispensed_today == 2


def test_the_list_shows_stock_alerts_contact_and_version() -> None:
    site = _site("Downtown")
    quiet = Machine.objects.create(
        site=site, name="quiet", last_contact=timezone.now() - timedelta(hours=3, minutes=5)
    )
    fine = Machine.objects.create(
        site=site,
        name="fine",
        last_contact=timezone.now() - timedelta(minutes=2),
        software_version="0.1.0",
    )
    LaneStock.objects.create(machine=quiet, lane=1, stock=5, state="ready")
    LaneStock.objects.create(machine=quiet, lane=2, stock=0, state="empty")
    LaneStock.objects.create(machine=fine, lane=1, stock=150, state="ready")
    Alert.objects.create(machine=quiet, kind="kiosk:partial_dispense", message="m")
    Alert.objects.create(machine=quiet, kind="kiosk:tamper", message="m")
    Alert.objects.create(machine=quiet, kind="kiosk:door", message="m", acknowledged=True)
    _event(fine, "dispense.result", timezone.now() - timedelta(seconds=5), dropped=2)

    page = _client(_user("manager", Role.PROGRAM_MANAGER, None)).get("/fleet/")
    assert page.status_code == 200
    by_name = {s.machine.name: s for g in page.context["groups"] for s in g["rows"]}
    assert by_name["quiet"].open_alerts == 2  # the acknowledged one is not open
    assert by_name["quiet"].worst_alert == "Tamper switch tripped"
    assert [lane.problem for lane in by_name["quiet"].lanes] == ["low", "empty"]
    assert by_name["quiet"].reasons == ["silent", "open alerts", "stock low", "lane stopped"]
    assert by_name["fine"].reasons == []
    assert by_name["fine"].dispensed_today == (
        1 if timezone.now() - timedelta(seconds=5) >= day_start(site, timezone.now()) else 0
    )
    html = page.content.decode()
    assert "Silent for 3 h" in html
    assert "2 min ago" in html
    assert "Tamper switch tripped" in html
    assert "Lane 1: 5, low" in html
    assert "Lane 2: 0, empty" in html
    assert "0.1.0" in html and "unknown" in html
    assert page.context["needing"] == 1

    only = _client(User.objects.get(username="manager")).get("/fleet/?attention=on&sort=alerts")
    assert [s.machine.name for g in only.context["groups"] for s in g["rows"]] == ["quiet"]


def _fleet(machines: int) -> None:
    """``machines`` machines over up to five sites, each with lanes, alerts and dispenses."""
    sites = [s for s in Site.objects.all()] or [_site(f"Site {n}") for n in range(5)]
    now = timezone.now()
    for n in range(Machine.objects.count(), machines):
        machine = Machine.objects.create(site=sites[n % len(sites)], name=f"m{n}", last_contact=now)
        LaneStock.objects.create(machine=machine, lane=1, stock=n, state="ready")
        LaneStock.objects.create(machine=machine, lane=2, stock=50, state="jammed")
        Alert.objects.create(machine=machine, kind="kiosk:lane_jammed", message="m")
        _event(machine, "dispense.result", now, dropped=2)


def test_the_number_of_queries_does_not_grow_with_the_machines() -> None:
    client = _client(_user("manager", Role.PROGRAM_MANAGER, None))
    urls = ("/fleet/", "/fleet/?sort=dispenses&attention=on")
    counts: dict[str, list[int]] = {url: [] for url in urls}
    for machines in (5, 50):
        _fleet(machines)
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                page = client.get(url)
            assert page.status_code == 200
            assert sum(len(g["rows"]) for g in page.context["groups"]) == machines
            counts[url].append(len(queries))
    for url, (few, many) in counts.items():
        assert few == many > 5, (url, few, many)  # > 5: the capture saw the page's queries


def test_a_long_fleet_is_paginated() -> None:
    _fleet(70)
    client = _client(_user("manager", Role.PROGRAM_MANAGER, None))
    first = client.get("/fleet/")
    second = client.get("/fleet/?page=2")
    assert sum(len(g["rows"]) for g in first.context["groups"]) == MACHINES_PER_PAGE == 50
    assert sum(len(g["rows"]) for g in second.context["groups"]) == 20
    assert "Page 1 of 2" in first.content.decode()
    assert client.get("/fleet/?page=banana").status_code == 200


def test_htmx_gets_the_table_alone() -> None:
    _fleet(3)
    client = _client(_user("nurse", Role.NURSE, None))
    partial = client.get("/fleet/", headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert partial.status_code == 200
    assert html.lstrip().startswith('<div id="fleet-table"') or 'id="fleet-table"' in html
    assert "<html" not in html and 'hx-trigger="every 60s"' in html
    assert "HX-Request" in partial["Vary"]


def test_other_sites_are_invisible_and_a_bad_filter_is_a_message() -> None:
    mine, theirs = _site("Mine"), _site("Theirs")
    Machine.objects.create(site=mine, name="here")
    there = Machine.objects.create(site=theirs, name="there")
    client = _client(_user("nurse", Role.NURSE, mine))
    page = client.get("/fleet/")
    assert [s.machine.name for g in page.context["groups"] for s in g["rows"]] == ["here"]
    assert client.get(f"/fleet/{there.pk}/").status_code == 404
    assert client.get("/fleet/999999/").status_code == 404
    for query in (f"site={theirs.pk}", "site=x", "sort=nonsense"):
        refused = client.get(f"/fleet/?{query}")
        assert refused.status_code == 200
        assert 'class="error-summary" role="alert"' in refused.content.decode()
        assert [s.machine.name for g in refused.context["groups"] for s in g["rows"]] == ["here"]


def test_roles_without_the_fleet_get_403() -> None:
    site = _site("Downtown")
    machine = Machine.objects.create(site=site, name="k1")
    for role in (Role.VIEWER, Role.PRESCRIBER):
        client = _client(_user(role.value, role, site))
        assert client.get("/fleet/").status_code == 403
        assert client.get(f"/fleet/{machine.pk}/").status_code == 403
    for role in (Role.PHARMACIST, Role.NURSE, Role.PROGRAM_MANAGER):
        client = _client(_user(f"{role.value}-ok", role, site))
        assert client.get("/fleet/").status_code == 200
        assert client.get(f"/fleet/{machine.pk}/").status_code == 200


def test_the_machine_page_shows_codes_not_names_and_pages_events() -> None:
    site = _site("Downtown")
    machine = Machine.objects.create(site=site, name="k1", last_seq=30, anchor_entries=812)
    participant = make_participant(machine, "P-0042", display_name="Alexandra Quill")
    prescription = make_prescription(participant)
    now = timezone.now()
    for vend in range(1, 16):
        _event(
            machine,
            "dispense.intent",
            now,
            vend_id=vend,
            lane=1,
            units=2,
            prescription_hub_id=prescription.pk,
            participant_id=7,
        )
        _event(
            machine,
            "dispense.result",
            now,
            vend_id=vend,
            lane=1,
            dropped=2,
            outcome="complete",
            message="Alexandra Quill was here",
        )
    QuarantinedEvent.objects.create(machine=machine, seq=31, raw="{}", reason="r")
    Alert.objects.create(machine=machine, kind="records_missing", message="gap in the books")
    client = _client(_user("pharmacist", Role.PHARMACIST, site))

    page = client.get(f"/fleet/{machine.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    seqs = [row["event"].seq for row in page.context["events"]]
    assert seqs == list(range(30, 5, -1))  # newest first, 25 of them
    assert "P-0042" in html and "Dispense started" in html and "Dispense finished" in html
    assert "Alexandra" not in html  # neither the participant's name nor a free-text field
    assert "2 dropped, complete" in html
    assert page.context["quarantined"] == 1
    assert page.context["anchor_break"]
    assert "Records missing (audit anchor)" in html and "#812" in html

    older = client.get(f"/fleet/{machine.pk}/?before={page.context['older']}")
    assert [row["event"].seq for row in older.context["events"]] == list(range(5, 0, -1))
    assert older.context["older"] is None
    bad = client.get(f"/fleet/{machine.pk}/?before=-3")
    assert bad.status_code == 200
    assert "That page of events does not exist" in bad.content.decode()


def test_a_kiosk_reports_its_version_with_its_requests(
    provision: Callable[..., Kiosk],
) -> None:
    kiosk = provision()
    assert kiosk.machine.software_version == ""
    body = b'{"events": []}'
    assert kiosk.post("/v1/sync/events", body, **{"X-Kiosk-Version": "0.2.1"}).status_code == 200
    assert kiosk.machine.software_version == "0.2.1"
    # Anything that does not look like a version is not kept; the last good one stays.
    assert kiosk.post("/v1/sync/events", body, **{"X-Kiosk-Version": "<b>x</b>"}).status_code == 200
    assert kiosk.machine.software_version == "0.2.1"
    assert kiosk.push([event(1)]).status_code == 200  # no header: nothing changes
    assert kiosk.machine.software_version == "0.2.1"
