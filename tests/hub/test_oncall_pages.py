"""The on-call pages' rules (care/pages/oncall.py): who may see and change what, other sites
invisible, every change audited, never a 500."""

from __future__ import annotations

import pytest
from care.models import CareAudit, Membership
from care.roles import Role
from django.contrib.auth.models import User
from django.test import Client
from fleet.models import (
    Alert,
    EscalationStep,
    Machine,
    OnCallContact,
    Site,
)

pytestmark = pytest.mark.django_db


def _user(name: str, role: Role, site: Site | None) -> Client:
    user = User.objects.create_user(name, password="x", first_name=name.title(), last_name="Lee")
    Membership.objects.create(user=user, role=role, site=site)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sites() -> tuple[Site, Site]:
    here, there = Site(name="Here"), Site(name="There")
    here.save()
    there.save()
    Machine.objects.create(site=here, name="m-here")
    Machine.objects.create(site=there, name="m-there")
    return here, there


def test_only_a_program_manager_manages_the_roster(sites: tuple[Site, Site]) -> None:
    here, there = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    for role in (Role.NURSE, Role.PHARMACIST, Role.PRESCRIBER, Role.VIEWER):
        other = _user(role.value, role, here)
        assert other.get(f"/oncall/{here.pk}/").status_code == 403
        assert other.post(f"/oncall/{here.pk}/contacts/", {"name": "X"}).status_code == 403
    assert manager.get(f"/oncall/{here.pk}/").status_code == 200
    assert manager.get(f"/oncall/{there.pk}/").status_code == 404  # another site's
    response = manager.post(
        f"/oncall/{here.pk}/contacts/",
        {"name": "Maria Lopez", "role": "pharmacist", "email": "m@example.org",
         "hours": "nights", "phone": "", "timezone": ""},
    )  # fmt: skip
    assert response.status_code == 302
    contact = OnCallContact.objects.get()
    row = CareAudit.objects.get(action="oncall_contact_added")
    assert row.detail == {"contact": contact.pk, "role": "pharmacist", "hours": "nights"}
    assert "Maria" not in str(row.detail) and "m@example.org" not in str(row.detail)
    bad = manager.post(f"/oncall/{here.pk}/contacts/", {"name": "", "role": "nurse"})
    assert bad.status_code == 400
    chain = {"role_0": "site_staff", "minutes_0": "0", "role_1": "pharmacist", "minutes_1": "5"}
    assert manager.post(f"/oncall/{here.pk}/chains/door_tamper/", chain).status_code == 302
    assert list(EscalationStep.objects.values_list("role", "after_minutes")) == [
        ("site_staff", 0), ("pharmacist", 5)
    ]  # fmt: skip
    assert manager.post(f"/oncall/{here.pk}/chains/nonsense/", chain).status_code == 404
    assert manager.post(f"/oncall/{here.pk}/chains/jam/", {"role_0": "x"}).status_code == 400
    settings_form = {"offline_after_minutes": "45", "webhook_url": "https://gw.example.org/h",
                     "webhook_secret": "s" * 20}  # fmt: skip
    assert manager.post(f"/oncall/{here.pk}/settings/", settings_form).status_code == 302
    here.refresh_from_db()
    assert here.offline_after_minutes == 45 and here.webhook_secret() == "s" * 20
    assert CareAudit.objects.filter(action="oncall_site_changed").count() == 1
    assert manager.post(f"/oncall/{here.pk}/contacts/{contact.pk}/remove/").status_code == 302
    contact.refresh_from_db()
    assert not contact.active


def test_the_alerts_page_shows_my_sites_and_acknowledges(sites: tuple[Site, Site]) -> None:
    here, _ = sites
    mine = Alert.objects.create(machine=Machine.objects.get(name="m-here"), kind="kiosk:door",
                                message="free text")  # fmt: skip
    theirs = Alert.objects.create(machine=Machine.objects.get(name="m-there"), kind="kiosk:door",
                                  message="x")  # fmt: skip
    nurse = _user("nurse", Role.NURSE, here)
    page = nurse.get("/alerts/")
    assert page.status_code == 200
    assert b"m-here" in page.content and b"m-there" not in page.content
    assert b"free text" not in page.content
    assert nurse.post(f"/alerts/{theirs.pk}/acknowledge/").status_code == 404
    assert nurse.get(f"/alerts/{mine.pk}/acknowledge/").status_code == 405
    assert nurse.post(f"/alerts/{mine.pk}/acknowledge/").status_code == 302
    mine.refresh_from_db()
    assert mine.acknowledged and mine.escalation == Alert.Escalation.STOPPED
    assert CareAudit.objects.filter(action="alert_acknowledged", object_id=str(mine.pk)).exists()
    viewer = _user("viewer", Role.VIEWER, here)
    assert viewer.get("/alerts/").status_code == 403


def test_a_nonsense_ack_link_is_refused_not_a_500(client: Client) -> None:
    assert client.get("/ack/nonsense/").status_code == 400
    assert client.post("/ack/nonsense/").status_code == 400
    assert client.put("/ack/nonsense/").status_code == 405


def test_a_chain_gets_a_step_loses_one_and_goes_back_to_the_default(
    sites: tuple[Site, Site],
) -> None:
    here, _ = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    url = f"/oncall/{here.pk}/chains/jam/"
    page = manager.get(f"/oncall/{here.pk}/").content.decode()
    assert 'id="role-jam-3"' in page  # the default jam chain has 3 steps: a 4th row adds one
    assert "— no new step —" in page
    added = {"role_0": "site_staff", "minutes_0": "0", "role_1": "nurse", "minutes_1": "15",
             "role_2": "program_manager", "minutes_2": "30", "role_3": "pharmacist",
             "minutes_3": "20"}  # fmt: skip
    assert manager.post(url, added).status_code == 302
    steps = EscalationStep.objects.filter(site=here, kind="jam").order_by("position")
    assert list(steps.values_list("role", "after_minutes")) == [
        ("site_staff", 0), ("nurse", 15), ("program_manager", 30), ("pharmacist", 20)
    ]  # fmt: skip
    page = manager.get(f"/oncall/{here.pk}/").content.decode()
    assert 'name="remove_1"' in page and "to the default chain" in page

    assert manager.post(url, {**added, "remove_1": "1"}).status_code == 302
    assert list(steps.values_list("role", flat=True)) == [
        "site_staff", "program_manager", "pharmacist"
    ]  # fmt: skip
    everything = {**added, **{f"remove_{i}": "1" for i in range(4)}}
    refused = manager.post(url, everything)
    assert refused.status_code == 400 and b"one step at least" in refused.content
    assert steps.all().count() == 3

    assert manager.post(f"{url}reset/").status_code == 302
    assert not steps.all().exists()
    changes = CareAudit.objects.filter(action="oncall_chain_changed").order_by("pk")
    assert [c.detail.get("reset", False) for c in changes] == [False, False, True]
    assert changes.last().detail["steps"][0] == ["site_staff", 0]  # type: ignore[union-attr]
    assert manager.post(f"/oncall/{here.pk}/chains/nonsense/reset/").status_code == 404
    nurse = _user("nurse", Role.NURSE, here)
    assert nurse.post(f"{url}reset/").status_code == 403


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://gw.example.org/hook", True),
        ("http://127.0.0.1:8025/hook", True),
        ("http://localhost/hook", True),
        ("http://gw.example.org/hook", False),
        ("http://10.0.0.5/hook", False),
        ("ftp://gw.example.org/hook", False),
    ],
)
def test_a_webhook_url_must_be_https_except_to_this_machine(
    sites: tuple[Site, Site], url: str, accepted: bool
) -> None:
    here, _ = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    form = {"offline_after_minutes": "30", "webhook_url": url, "webhook_secret": ""}
    response = manager.post(f"/oncall/{here.pk}/settings/", form)
    here.refresh_from_db()
    if accepted:
        assert response.status_code == 302 and here.webhook_url == url
    else:
        assert response.status_code == 400 and here.webhook_url == ""
        assert b"must start with https://" in response.content
