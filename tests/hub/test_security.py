"""Issue 13: the hub's keys, their rotation, rate limits on enrollment codes and the admin
login, and enrollment codes that cannot be used behind the admin's back."""

from __future__ import annotations

import logging
import stat
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from fleet import sealing
from fleet.models import Alert, EnrollmentCode, Machine, ProvisioningThrottle
from hubsite import keys

from tests.hub.helpers import Kiosk, enroll, event

OLD_WRAP = "test-wrap-key-" + "y" * 40  # tests/hub_django.py
NEW_WRAP = "rotated-wrap-key-" + "z" * 40


def _provision(client: Client, code: str, **extra: str) -> tuple[int, dict[str, object], object]:
    response = client.post(
        "/v1/provision", {"code": code}, content_type="application/json", **extra
    )
    return response.status_code, response.json(), response


# ---------------------------------------------------------------- keys


def test_without_keys_and_debug_off_the_settings_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_SECRET_KEY")
    monkeypatch.delenv("HUB_SECRET_WRAP_KEY")
    with pytest.raises(keys.MissingKeys) as refused:
        keys.load(debug=False)
    message = str(refused.value)
    assert "HUB_SECRET_KEY and HUB_SECRET_WRAP_KEY" in message
    assert "manage.py init_secrets" in message
    assert keys.load(debug=True).secret_key  # the `make hub` demo still starts


def test_the_wrap_key_may_not_be_the_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SECRET_WRAP_KEY", keys.os.environ["HUB_SECRET_KEY"])
    with pytest.raises(keys.MissingKeys, match="equals HUB_SECRET_KEY"):
        keys.load(debug=False)


def test_init_secrets_writes_a_private_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "etc" / "secrets.toml"
    monkeypatch.setenv("HUB_SECRETS_FILE", str(path))
    monkeypatch.delenv("HUB_SECRET_KEY")
    monkeypatch.delenv("HUB_SECRET_WRAP_KEY")

    assert keys.main([]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_bytes()
    loaded = keys.load(debug=False)
    assert loaded.secret_key != loaded.wrap_key and len(loaded.wrap_key) >= 64

    assert keys.main([]) == 1  # never overwritten
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == ["secrets.toml"]  # no temporary left

    # The environment wins over the file.
    monkeypatch.setenv("HUB_SECRET_KEY", "from-the-environment-" + "k" * 30)
    assert keys.load(debug=False).secret_key.startswith("from-the-environment-")
    monkeypatch.delenv("HUB_SECRET_KEY")

    assert keys.main(["--rotate", "wrap_key"]) == 0
    rotated = keys.load(debug=False)
    assert rotated.wrap_key != loaded.wrap_key
    assert rotated.wrap_key_fallbacks == [loaded.wrap_key]
    assert rotated.secret_key == loaded.secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.main(["--forget-fallbacks", "wrap_key"]) == 0
    assert keys.load(debug=False).wrap_key_fallbacks == []


@pytest.mark.django_db
def test_secret_key_rotation_keeps_admin_sessions(settings: object) -> None:
    admin = User.objects.create_superuser("admin", "admin@example.org", "not-a-real-password")
    active, idle = Client(), Client()
    for client in (active, idle):
        client.force_login(admin)
        assert client.get("/admin/").status_code == 200

    old = settings.SECRET_KEY  # type: ignore[attr-defined]
    settings.SECRET_KEY = "a-new-secret-key-" + "n" * 40  # type: ignore[attr-defined]
    settings.SECRET_KEY_FALLBACKS = [old]  # type: ignore[attr-defined]
    # Still logged in; Django re-signs the session under the new key on this request.
    assert active.get("/admin/").status_code == 200

    settings.SECRET_KEY_FALLBACKS = []  # type: ignore[attr-defined]
    assert active.get("/admin/").status_code == 200
    assert idle.get("/admin/").status_code == 302  # only the old key vouched for it


@pytest.mark.django_db
def test_wrap_key_rotation_reseals_every_machine(provision: object, settings: object) -> None:
    kiosks: list[Kiosk] = [provision(machine=f"kiosk-{n}") for n in range(3)]  # type: ignore[operator]

    settings.HUB_SECRET_WRAP_KEY = NEW_WRAP  # type: ignore[attr-defined]
    settings.HUB_SECRET_WRAP_KEY_FALLBACKS = [OLD_WRAP]  # type: ignore[attr-defined]
    assert kiosks[0].push([event(1)]).status_code == 200  # the fallback unseals meanwhile

    out = StringIO()
    call_command("rotate_wrap_key", stdout=out)
    assert out.getvalue().startswith("3 machine secret(s) re-sealed, 0 already")

    settings.HUB_SECRET_WRAP_KEY_FALLBACKS = []  # type: ignore[attr-defined]
    for kiosk in kiosks:
        assert kiosk.push([event(2)]).status_code == 200
        sealed = kiosk.machine.secret_sealed
        assert sealing.unseal(sealed, NEW_WRAP) == kiosk.secret
        with pytest.raises(sealing.SealError):
            sealing.unseal(sealed, OLD_WRAP)  # a dump plus the old key no longer unseals

    out = StringIO()
    call_command("rotate_wrap_key", stdout=out)
    assert out.getvalue().startswith("0 machine secret(s) re-sealed, 3 already")


@pytest.mark.django_db
def test_wrap_key_rotation_changes_nothing_when_a_secret_does_not_unseal(
    provision: object, settings: object
) -> None:
    kiosk: Kiosk = provision()  # type: ignore[operator]
    before = kiosk.machine.secret_sealed
    settings.HUB_SECRET_WRAP_KEY = NEW_WRAP  # type: ignore[attr-defined]
    settings.HUB_SECRET_WRAP_KEY_FALLBACKS = []  # type: ignore[attr-defined]  # forgotten
    with pytest.raises(Exception, match="no configured key"):
        call_command("rotate_wrap_key", stdout=StringIO())
    assert kiosk.machine.secret_sealed == before


# ---------------------------------------------------------------- provisioning rate limit


@pytest.mark.django_db
def test_wrong_codes_lock_the_client_out_then_the_lockout_ends(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    code = enroll()
    wrong = "AAAA-BBBB-CCCC-DDDD"
    caplog.set_level(logging.INFO, logger="fleet")
    for _ in range(5):
        assert _provision(client, wrong)[0] == 401

    status, body, response = _provision(client, code)  # the right code, all the same
    assert status == 429
    assert body["error"] == "too_many_attempts"
    assert 890 <= int(response["Retry-After"]) <= 900  # type: ignore[index]
    assert body["retry_after"] == int(response["Retry-After"])  # type: ignore[index]

    row = ProvisioningThrottle.objects.get(address="127.0.0.1")
    assert (row.lockouts, row.refused) == (1, 1)
    assert Alert.objects.filter(kind="provisioning_lockout").count() == 1
    assert "127.0.0.1" in caplog.text  # each refusal names the client ...
    assert code not in caplog.text and wrong not in caplog.text  # ... never the code
    assert code.replace("-", "") not in caplog.text

    # Another client is not affected.
    assert _provision(client, wrong, REMOTE_ADDR="10.1.2.3")[0] == 401

    later = timezone.now() + timedelta(seconds=901)
    monkeypatch.setattr(timezone, "now", lambda: later)
    status, body, _ = _provision(client, code)
    assert status == 200, body


@pytest.mark.django_db
def test_wrong_codes_outside_the_window_do_not_add_up(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = timezone.now()
    for n in range(8):
        moment = start + timedelta(seconds=n * 240)  # 4 in any 15 minutes at most
        monkeypatch.setattr(timezone, "now", lambda moment=moment: moment)
        assert _provision(client, "AAAA-BBBB-CCCC-DDDD")[0] == 401


@pytest.mark.django_db
def test_forwarded_for_counts_only_behind_a_trusted_proxy(client: Client, settings: object) -> None:
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for _ in range(5):
        _provision(client, "AAAA-BBBB-CCCC-DDDD", **forged)
    assert list(ProvisioningThrottle.objects.values_list("address", flat=True)) == ["127.0.0.1"]

    settings.HUB_TRUSTED_PROXIES = 1  # type: ignore[attr-defined]
    ProvisioningThrottle.objects.all().delete()
    # A client-written entry, then the one our proxy appended: the proxy's counts.
    hops = {"HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.9"}
    assert _provision(client, "AAAA-BBBB-CCCC-DDDD", **hops)[0] == 401
    assert list(ProvisioningThrottle.objects.values_list("address", flat=True)) == ["203.0.113.9"]


@pytest.mark.django_db
def test_the_rate_limits_are_in_the_admin(client: Client) -> None:
    for _ in range(5):
        _provision(client, "AAAA-BBBB-CCCC-DDDD")
    admin = User.objects.create_superuser("admin", "admin@example.org", "not-a-real-password")
    staff = Client()
    staff.force_login(admin)
    page = staff.get("/admin/fleet/provisioningthrottle/")
    assert page.status_code == 200
    assert "127.0.0.1" in page.content.decode()


# ---------------------------------------------------------------- admin login (django-axes)


def _staff_client() -> Client:
    staff = User.objects.create_superuser("staff", "staff@example.org", "another-password-2")
    client = Client(REMOTE_ADDR="10.9.9.9")
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_the_admin_login_locks_out_after_five_failures() -> None:
    User.objects.create_superuser("admin", "admin@example.org", "the-right-password-1")
    client = Client()

    def login(password: str) -> object:
        return client.post(
            "/admin/login/?next=/admin/", {"username": "admin", "password": password}
        )

    for _ in range(4):
        response = login("wrong-password")
        assert response.status_code == 200  # the form again, with its error
    assert login("wrong-password").status_code == 429  # the 5th locks the client out
    response = login("the-right-password-1")
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert client.get("/admin/").status_code == 302  # not logged in

    attempt = AccessAttempt.objects.get()
    assert attempt.failures_since_start >= 5
    assert attempt.ip_address == "127.0.0.1"
    assert AccessFailureLog.objects.filter(ip_address="127.0.0.1").count() >= 5
    page = _staff_client().get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "127.0.0.1" in page.content.decode()


@pytest.mark.django_db
def test_the_admin_login_works_again_after_the_cool_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    User.objects.create_superuser("admin", "admin@example.org", "the-right-password-1")
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"})
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "the-right-password-1"}
    )
    assert response.status_code == 302


# ---------------------------------------------------------------- enrollment codes


@pytest.mark.django_db
def test_a_new_code_revokes_the_older_unused_ones(client: Client) -> None:
    first = enroll()
    second = enroll()  # the same machine (enroll_machine), e.g. the first one was lost

    assert _provision(client, first)[:2] == (401, {"error": "invalid_code"})
    rows = EnrollmentCode.objects.order_by("created_at")
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None
    assert _provision(client, second)[0] == 200


@pytest.mark.django_db
def test_a_code_issued_in_the_admin_revokes_the_older_ones(client: Client) -> None:
    first = enroll()
    machine = Machine.objects.get()
    admin = User.objects.create_superuser("admin", "admin@example.org", "not-a-real-password")
    staff = Client()
    staff.force_login(admin)
    staff.post(
        "/admin/fleet/machine/",
        {"action": "issue_enrollment_code", "_selected_action": [machine.pk]},
    )
    assert EnrollmentCode.objects.filter(revoked_at=None).count() == 1
    assert _provision(client, first)[0] == 401


@pytest.mark.django_db
def test_reprovisioning_raises_an_alert_and_the_old_kiosk_stops(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    _, body, _ = _provision(client, enroll())
    old = Kiosk(client, str(body["device_id"]), str(body["secret"]))
    assert old.push([event(1)]).status_code == 200
    assert not Alert.objects.filter(kind="machine_reprovisioned").exists()

    caplog.set_level(logging.INFO, logger="fleet")
    status, again, _ = _provision(client, enroll())  # e.g. the kiosk's disk was replaced
    assert status == 200 and again["device_id"] == old.device_id

    alert = Alert.objects.get(kind="machine_reprovisioned")
    assert alert.machine == old.machine
    assert "previous kiosk's credentials stop working" in alert.message
    assert "re-provisioned" in caplog.text
    assert old.push([event(2)]).status_code == 401
