"""Production serving, with real parts: gunicorn (hub/gunicorn.conf.py, DEBUG off, keys from
the environment) on a free port against this run's PostgreSQL test database, whitenoise for
the static files, the refusal to start without keys, and a pg_dump/pg_restore round trip with
the scripts docs/HUB.md gives admins (deploy/hub-backup.sh, deploy/hub-restore.sh)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings
from fleet import signing
from fleet.models import Event, Machine

from tests.hub.helpers import enroll, event

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub"
GUNICORN = Path(sys.executable).with_name("gunicorn")
KEYS = {
    "HUB_SECRET_KEY": "serving-secret-" + "s" * 40,
    "HUB_SECRET_WRAP_KEY": "test-wrap-key-" + "y" * 40,
}


def _database_url(name: str | None = None) -> str:
    db = settings.DATABASES["default"]
    user = db["USER"] or "postgres"
    return f"postgresql://{user}@{db['HOST']}:{db['PORT'] or 5432}/{name or db['NAME']}"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=_database_url(), HUB_SECRETS_FILE=os.devnull, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gunicorn(transactional_db: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    static = tmp_path / "static"
    env = _env(**KEYS, HUB_STATIC_ROOT=str(static))
    subprocess.run(
        [sys.executable, str(HUB / "manage.py"), "collectstatic", "--noinput", "-v0"],
        env=env,
        check=True,
        timeout=120,
    )
    port = _free_port()
    env.update(HUB_BIND=f"127.0.0.1:{port}", HUB_WORKERS="1")
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [str(GUNICORN), "-c", str(HUB / "gunicorn.conf.py")],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError((tmp_path / "gunicorn.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("gunicorn did not listen") from None
                time.sleep(0.1)
        yield url, static
    finally:
        process.terminate()  # gunicorn's graceful stop: its connections to the database close
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_gunicorn_provisions_takes_a_signed_push_and_serves_static_files(
    gunicorn: tuple[str, Path],
) -> None:
    url, static = gunicorn
    code = enroll()
    with httpx.Client(base_url=url, timeout=10) as http:
        reply = http.post("/v1/provision", json={"code": code})
        assert reply.status_code == 200, reply.text
        device_id, secret = reply.json()["device_id"], reply.json()["secret"]

        body = json.dumps({"events": [event(1), event(2)]}).encode()
        headers = signing.signed_headers(
            device_id, secret, "POST", "/v1/sync/events", body, int(time.time())
        )
        pushed = http.post(
            "/v1/sync/events",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["stored_through"] == 2

        # The admin's CSS under its hashed name from collectstatic, cached for good.
        manifest = json.loads((static / "staticfiles.json").read_text())
        hashed = manifest["paths"]["admin/css/base.css"]
        css = http.get(f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})
        assert css.status_code == 200
        assert "immutable" in css.headers["cache-control"]
        assert css.headers.get("content-encoding") == "gzip"
        assert "body" in css.text
        assert http.get("/static/admin/css/no-such-file.css").status_code == 404

        login = http.get("/admin/login/")
        assert login.status_code == 200
        assert f"/static/{hashed}" in login.text  # the pages link the hashed names
    assert Event.objects.filter(machine__device_id=device_id).count() == 2


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, str(HUB / "manage.py"), "check"],
        [str(GUNICORN), "-c", str(HUB / "gunicorn.conf.py")],
    ],
    ids=["manage.py", "gunicorn"],
)
def test_without_keys_the_hub_does_not_start(command: list[str], tmp_path: Path) -> None:
    env = _env(HUB_BIND=f"127.0.0.1:{_free_port()}", HUB_SECRETS_FILE=str(tmp_path / "none.toml"))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "HUB_SECRET_KEY and HUB_SECRET_WRAP_KEY" in done.stderr
    assert "manage.py init_secrets" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_with_debug_on_the_demo_starts_without_keys(tmp_path: Path) -> None:
    env = _env(HUB_DEBUG="1", HUB_SECRETS_FILE=str(tmp_path / "none.toml"))
    done = subprocess.run(
        [sys.executable, str(HUB / "manage.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _counts(url: str) -> dict[str, int]:
    tables = [
        "fleet_site",
        "fleet_machine",
        "fleet_enrollmentcode",
        "fleet_event",
        "fleet_changelog",
    ]
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]


def _restore(dump: Path, target: str) -> subprocess.CompletedProcess[str]:
    script = str(ROOT / "deploy" / "hub-restore.sh")
    return subprocess.run(
        [script, str(dump), target],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_backup_and_restore_round_trip(transactional_db: None, tmp_path: Path) -> None:
    from django.test import Client

    from tests.hub.helpers import provision_kiosk

    kiosk = provision_kiosk(Client())
    assert kiosk.push([event(n) for n in range(1, 6)]).status_code == 200
    Machine.objects.create(site=kiosk.machine.site, name="spare")
    enroll(machine="spare")

    source = _database_url()
    backup = subprocess.run(
        [str(ROOT / "deploy" / "hub-backup.sh"), str(tmp_path / "backups")],
        env=_env(HUB_DATABASE_URL=source),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dump = Path(backup.stdout.strip())
    assert dump.is_file() and oct(dump.stat().st_mode & 0o777) == "0o600"

    name = f"restore_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = _database_url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        target = _database_url(name)
        assert _restore(dump, target).returncode == 0
        restored = _counts(target)
        assert restored == _counts(source)
        assert restored["fleet_event"] == 5 and restored["fleet_machine"] == 2
        # A second restore into the now full database is refused, nothing touched.
        again = _restore(dump, target)
        assert again.returncode == 1 and "empty" in again.stderr
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
