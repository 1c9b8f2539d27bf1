"""The updates pages (care/pages/updates.py) and commands: only program managers, only their
sites' campaigns, every action audited, bad input a clear 400 (never a 500); releases registered
from a repository written here as plain files."""

from __future__ import annotations

import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from care.models import CareAudit, Membership
from care.roles import Role
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from fleet.models import Campaign, ChangeLog, Machine, Release, Site

from tests.hub.helpers import Kiosk, event
from tools import release

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
    for site in (here, there):
        for i in range(3):
            Machine.objects.create(site=site, name=f"m{i}", secret_sealed="sealed")
    return here, there


def _bundle(where: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_bytes(content)
    return where


@pytest.fixture
def repository(tmp_path: Path, settings: Any) -> Path:
    """An update repository written by the real tools/release.py: 0.2.0 (two files, 5300
    bytes), then 0.3.0 (one file changed: 310 new bytes)."""
    repo, keys = tmp_path / "updates", tmp_path / "keys"
    release.init(repo, keys)
    first = {"kiosk": b"k" * 300, "_internal/libQt.so": b"q" * 5000}
    release.publish_release(_bundle(tmp_path / "v2", first), "0.2.0", repo, keys)
    second = {**first, "kiosk": b"K" * 310}
    release.publish_release(_bundle(tmp_path / "v3", second), "0.3.0", repo, keys)
    settings.UPDATES_REPOSITORY = repo
    settings.UPDATES_KEYS = keys
    return repo


def test_only_a_program_manager_sees_the_updates_pages(sites: tuple[Site, Site]) -> None:
    here, _ = sites
    for role in (Role.NURSE, Role.PHARMACIST, Role.PRESCRIBER, Role.VIEWER):
        other = _user(role.value, role, here)
        assert other.get("/updates/").status_code == 403
        assert other.post("/updates/releases/", {"version": "0.2.0"}).status_code == 403
        assert other.get(f"/updates/sites/{here.pk}/hours/").status_code == 403
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    page = manager.get("/updates/")
    assert page.status_code == 200 and b'href="/updates/"' in page.content  # in the nav
    assert manager.get("/updates/campaigns/new/").status_code == 200


def test_registering_releases_from_the_repository(
    sites: tuple[Site, Site], repository: Path
) -> None:
    here, _ = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    response = manager.post("/updates/releases/", {"version": "0.2.0", "notes": "printer fix"})
    assert response.status_code == 302
    registered = Release.objects.get()
    assert (registered.bundle_bytes, registered.file_count) == (5300, 2)  # from its manifest
    assert registered.manifest == "releases/0.2.0.json"
    audit = CareAudit.objects.get(action="release_registered")
    assert audit.detail == {"release": registered.pk, "version": "0.2.0"}
    for version, words in [
        ("0.2.0", "not newer than 0.2.0"),
        ("0.1.0", "not newer than 0.2.0"),
        ("0.4.0", "has no manifest"),
        ("not a version", "not a release version"),
        ("1.0", "not a release version"),
    ]:
        refused = manager.post("/updates/releases/", {"version": version})
        assert refused.status_code == 400 and words in refused.content.decode()
    out = StringIO()
    call_command("register_release", "--version", "0.3.0", stdout=out)
    assert (
        "release 0.3.0: 2 files, 5310 bytes (releases/0.3.0.json); 310 bytes new since 0.2.0"
        in out.getvalue()
    )
    with pytest.raises(CommandError, match="not newer"):
        call_command("register_release", "--version", "0.3.0")


def test_a_manifest_that_does_not_match_its_signed_hash_is_refused(
    repository: Path, db: None
) -> None:
    [manifest] = (repository / "targets" / "releases").glob("*.0.2.0.json")
    manifest.write_text(manifest.read_text().replace("5000", "5001"))
    with pytest.raises(CommandError, match="does not match its signed hash"):
        call_command("register_release", "--version", "0.2.0", stdout=StringIO())
    manifest.unlink()
    with pytest.raises(CommandError, match="its file is not in"):
        call_command("register_release", "--version", "0.2.0", stdout=StringIO())


def test_publish_release_signs_real_builds_and_says_what_is_new(
    repository: Path, tmp_path: Path
) -> None:
    """manage.py publish_release with the real tools/release.py: the bundle size from the
    manifest, the bytes new since the release before; a refusal is a clear CommandError."""
    third = {"kiosk": b"3" * 320, "_internal/libQt.so": b"q" * 5000}
    out = StringIO()
    call_command(
        "publish_release", str(_bundle(tmp_path / "v4", third)), "--version", "0.4.0", stdout=out
    )
    assert "release 0.4.0 published and registered: 2 files, 5320 bytes" in out.getvalue()
    assert "320 bytes new since 0.3.0" in out.getvalue()
    assert Release.objects.get(version="0.4.0").manifest == "releases/0.4.0.json"
    with pytest.raises(CommandError, match=r"refused: version 0\.3\.1 is not above"):
        call_command("publish_release", str(tmp_path / "v4"), "--version", "0.3.1")


def test_publish_release_says_clearly_when_the_tooling_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: None
) -> None:
    monkeypatch.setitem(sys.modules, "tools.release", None)  # importing it raises ImportError
    with pytest.raises(CommandError, match="register_release"):
        call_command("publish_release", str(tmp_path), "--version", "0.2.0")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("publish_release", str(tmp_path / "nope"), "--version", "0.2.0")
    with pytest.raises(CommandError, match="not a release version"):
        call_command("publish_release", str(tmp_path), "--version", "two")


def _campaign_form(here: Site, **changes: Any) -> dict[str, Any]:
    release = Release.objects.first() or Release.objects.create(version="0.2.0")
    form: dict[str, Any] = {
        "release": release.pk,
        "sites": [here.pk],
        "pilot_machines": [Machine.objects.filter(site=here).first().pk],  # type: ignore[union-attr]
        "pilot_site": "",
        "stages": "10, 50, 100",
        "failure_count": 1,
        "failure_percent": "",
        "soak_minutes": 60,
    }
    form.update(changes)
    return form


def test_a_campaign_from_creation_to_cancel_is_audited(sites: tuple[Site, Site]) -> None:
    here, there = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    response = manager.post("/updates/campaigns/new/", _campaign_form(here))
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.state, campaign.percents) == ("draft", [10, 50, 100])
    page = manager.get(f"/updates/campaigns/{campaign.pk}/")
    assert page.status_code == 200 and b"Start the pilot" in page.content

    for action, state in [
        ("start", "running"),
        ("pause", "paused"),
        ("resume", "running"),
        ("cancel", "cancelled"),
    ]:
        assert manager.post(f"/updates/campaigns/{campaign.pk}/{action}/").status_code == 302
        campaign.refresh_from_db()
        assert campaign.state == state
    assert list(
        CareAudit.objects.filter(action__startswith="campaign_")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "campaign_created",
        "campaign_started",
        "campaign_paused",
        "campaign_resumed",
        "campaign_cancelled",
    ]
    page = manager.get(f"/updates/campaigns/{campaign.pk}/").content.decode()
    assert "Cancelled" in page and "by Manager Lee" in page
    stale = manager.post(f"/updates/campaigns/{campaign.pk}/resume/", follow=True)
    assert "Nothing was changed" in stale.content.decode()
    assert manager.post(f"/updates/campaigns/{campaign.pk}/explode/").status_code == 404

    # Another site's manager does not see it.
    elsewhere = _user("other", Role.PROGRAM_MANAGER, there)
    assert elsewhere.get(f"/updates/campaigns/{campaign.pk}/").status_code == 404
    assert elsewhere.post(f"/updates/campaigns/{campaign.pk}/pause/").status_code == 404


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"stages": "50, 10, 100"}, "larger than the one before"),
        ({"stages": "10, 50"}, "the last stage must be 100"),
        ({"stages": "ten"}, "Whole numbers"),
        ({"pilot_machines": []}, "Choose pilot machines or a pilot site"),
        ({"failure_count": 0}, "greater than or equal to 1"),
    ],
)
def test_a_campaign_form_says_what_is_wrong(
    sites: tuple[Site, Site], changes: dict[str, Any], words: str
) -> None:
    here, _ = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    response = manager.post("/updates/campaigns/new/", _campaign_form(here, **changes))
    assert response.status_code == 400 and words in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_pilot_outside_the_campaign_sites_is_refused(sites: tuple[Site, Site]) -> None:
    here, there = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, None)  # every site
    form = _campaign_form(here, pilot_machines=[], pilot_site=there.pk)
    response = manager.post("/updates/campaigns/new/", form)
    assert response.status_code == 400 and "among the campaign" in response.content.decode()


def test_maintenance_hours_reach_the_site_machines(sites: tuple[Site, Site]) -> None:
    here, _ = sites
    manager = _user("manager", Role.PROGRAM_MANAGER, here)
    url = f"/updates/sites/{here.pk}/hours/"
    assert manager.get(url).status_code == 200
    assert manager.post(url, {"start": "23:00", "end": "05:00"}).status_code == 302

    def newest() -> Any:
        row = ChangeLog.objects.filter(kind="setting", key="maintenance_hours").last()
        assert row is not None and row.machine_id is None and row.site_id == here.pk
        return row.data

    assert newest() == {"value": {"start": "23:00", "end": "05:00"}}  # wraps midnight
    assert manager.post(url, {"any_time": "on"}).status_code == 302
    assert newest() == {"value": None}
    for bad in ({"start": "02:00"}, {"start": "02:00", "end": "02:00"}, {"start": "25:00"}):
        assert manager.post(url, bad).status_code == 400
    assert CareAudit.objects.filter(action="maintenance_hours_changed").count() == 2


def test_the_machine_page_shows_its_last_update_attempt(kiosk: Kiosk) -> None:
    payload = {"running": "0.1.0", "target": "0.2.0", "state": "rolled_back",
               "campaign_id": None, "detail": "self-test: printer", "bytes": None}  # fmt: skip
    assert kiosk.push([event(1, "update.state", payload)]).status_code == 200
    manager = _user("manager", Role.PROGRAM_MANAGER, None)
    page = manager.get(f"/fleet/{kiosk.machine.pk}/").content.decode()
    assert "Last update attempt" in page and "Rolled back (target 0.2.0)" in page
    assert "self-test: printer" in page
    assert "Software update" in page and "rolled back, running 0.1.0, target 0.2.0" in page
