"""The care app's rules without a browser: the permission table (every role x action), can and
sites_for across sites, the audit, the sign-in through django-axes, 403/404 pages, the demo."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from care import audit, demo, permissions
from care.models import AuditAction, CareAudit, Membership
from care.permissions import PERMISSIONS, WRITES, Action, can, sites_for
from care.roles import Role
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from fleet.models import Site

# The table restated by hand: a change to PERMISSIONS must change this too, on purpose.
P, V, W, R, T, F, REP = (
    Action.VIEW_PARTICIPANTS,
    Action.VIEW_PRESCRIPTIONS,
    Action.WRITE_PRESCRIPTION,
    Action.REVIEW_QUEUES,
    Action.MANAGE_TRANSFERS,
    Action.VIEW_FLEET,
    Action.VIEW_REPORTS,
)
PAUSE = Action.PAUSE_PRESCRIPTION
ACK, ONCALL, APP = Action.ACKNOWLEDGE_ALERTS, Action.MANAGE_ONCALL, Action.APPROVE_REMOTE
UPDATES = Action.MANAGE_UPDATES
NOTE, BY_HAND = Action.MANAGE_NOTICES, Action.RECORD_MANUAL_DOSE
EXPECTED = {
    Role.PRESCRIBER: {P, V, W, PAUSE, T, REP, APP},
    Role.PHARMACIST: {
        *(P, V, Action.VERIFY_PRESCRIPTION, PAUSE, R, T, F, REP, ACK, APP),
        *(NOTE, BY_HAND),
    },
    Role.NURSE: {P, V, R, F, ACK, APP, NOTE, BY_HAND},
    Role.PROGRAM_MANAGER: {P, V, F, REP, ACK, ONCALL, UPDATES, NOTE},
    Role.VIEWER: {P, V},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_the_permission_table(role: Role, action: Action) -> None:
    assert (action in PERMISSIONS[role]) == (action in EXPECTED[role])


def test_a_viewer_never_writes_and_only_a_pharmacist_verifies() -> None:
    assert not PERMISSIONS[Role.VIEWER] & WRITES
    assert [r for r in Role if Action.VERIFY_PRESCRIPTION in PERMISSIONS[r]] == [Role.PHARMACIST]


def _user(name: str, *roles: tuple[Role, Site | None], superuser: bool = False) -> User:
    user = User.objects.create_user(name, password="a-long-password-1", is_superuser=superuser)
    for role, site in roles:
        Membership.objects.create(user=user, role=role, site=site)
    return User.objects.get(pk=user.pk)  # no cached memberships


@pytest.mark.django_db
def test_can_and_sites_for_follow_the_memberships_site_by_site() -> None:
    a, b, c = (Site(name=n) for n in ("A", "B", "C"))
    for site in (a, b, c):
        site.save()
    nurse = _user("nurse", (Role.NURSE, a), (Role.PRESCRIBER, b))
    assert can(nurse, Action.REVIEW_QUEUES, a) and not can(nurse, Action.REVIEW_QUEUES, b)
    assert can(nurse, Action.WRITE_PRESCRIPTION, b.pk)
    assert not can(nurse, Action.WRITE_PRESCRIPTION, a)
    assert can(nurse, Action.WRITE_PRESCRIPTION)  # at some site
    assert list(sites_for(nurse, Action.VIEW_PARTICIPANTS)) == [a, b]
    assert list(sites_for(nurse, Action.VIEW_FLEET)) == [a]
    assert not sites_for(nurse, Action.VERIFY_PRESCRIPTION).exists()

    manager = _user("manager", (Role.PROGRAM_MANAGER, None))
    assert list(sites_for(manager, Action.VIEW_FLEET)) == [a, b, c]
    assert can(manager, Action.VIEW_FLEET, c)
    assert not can(manager, Action.WRITE_PRESCRIPTION, c)

    root = _user("root", superuser=True)  # manages accounts; no clinical rights by itself
    assert not any(can(root, action) for action in Action)
    assert permissions.start_url(root) is None
    inactive = _user("gone", (Role.NURSE, None))
    inactive.is_active = False
    assert not can(inactive, Action.VIEW_PARTICIPANTS, a)


@pytest.mark.django_db
def test_audit_records_ids_and_refuses_names_and_unknown_actions() -> None:
    site = Site(name="A")
    site.save()
    user = _user("nurse", (Role.NURSE, site))
    row = audit.record(user, AuditAction.ACCESS_DENIED, obj=site, reason="why", refused="x")
    row.refresh_from_db()
    assert (row.user, row.site, row.object_type, row.object_id) == (
        user,
        site,
        "fleet.site",
        str(site.pk),
    )
    assert row.detail == {"refused": "x"} and row.reason == "why"
    with pytest.raises(ValueError, match="never names"):
        audit.record(user, AuditAction.ACCESS_DENIED, display_name="Alex")
    with pytest.raises(ValueError):
        audit.record(user, "made_up")


@pytest.mark.django_db
def test_signing_in_and_out_are_audited_and_land_on_the_start_page() -> None:
    seeded = demo.seed("a-demo-password-42")
    client = Client()
    response = client.post("/", {"username": "pharmacist", "password": "a-demo-password-42"})
    assert response.status_code == 302 and response["Location"] == "/home/"
    assert client.get("/home/")["Location"] == "/verify/"
    assert client.get("/verify/").status_code == 200
    client.post("/sign-out/")
    actions = list(CareAudit.objects.order_by("id").values_list("action", "user", "detail"))
    user = seeded.users["pharmacist"].pk
    assert actions == [("sign_in", user, {"via": "care"}), ("sign_out", user, {"via": "care"})]
    assert client.get("/verify/")["Location"] == "/?next=/verify/"


@pytest.mark.django_db
def test_the_care_sign_in_locks_out_after_five_failures_through_axes() -> None:
    demo.seed("a-demo-password-42")
    client = Client()

    def sign_in(password: str) -> Any:
        return client.post("/", {"username": "nurse", "password": password})

    for _ in range(4):
        response = sign_in("wrong")
        assert response.status_code == 200
        assert "do not match" in response.content.decode()
    response = sign_in("wrong")
    assert response.status_code == 429
    assert "Signing in is locked" in response.content.decode()
    assert sign_in("a-demo-password-42").status_code == 429  # even the right password
    assert client.get("/home/")["Location"] == "/"
    assert not CareAudit.objects.filter(action=AuditAction.SIGN_IN).exists()


@pytest.mark.django_db
def test_a_refused_page_is_a_friendly_audited_403_and_unknown_pages_a_404() -> None:
    seeded = demo.seed("a-demo-password-42")
    client = Client()
    client.force_login(seeded.users["viewer"])
    response = client.get("/prescriptions/new/")
    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()
    denied = CareAudit.objects.get(action=AuditAction.ACCESS_DENIED)
    assert denied.detail == {"path": "/prescriptions/new/", "refused": "write_prescription"}
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_a_session_ends_after_the_shift_length(settings: Any) -> None:
    seeded = demo.seed("a-demo-password-42")
    client = Client()
    client.force_login(seeded.users["nurse"])
    assert client.get("/reviews/").status_code == 200
    settings.CARE_SESSION_MAX_SECONDS = -1
    response = client.get("/reviews/")
    assert response["Location"] == "/?next=/reviews/"
    ended = CareAudit.objects.get(action=AuditAction.SESSION_ENDED)
    assert ended.reason == "shift"


@pytest.mark.django_db
def test_seed_care_demo_is_idempotent_and_prints_the_password_once(settings: Any) -> None:
    out = StringIO()
    call_command("seed_care_demo", "--force", stdout=out)
    assert "shown once" in out.getvalue()
    call_command("seed_care_demo", "--force", "--password", "another-password-7", stdout=StringIO())
    assert Membership.objects.count() == len(demo.USERS)
    assert User.objects.get(username="viewer").check_password("another-password-7")
