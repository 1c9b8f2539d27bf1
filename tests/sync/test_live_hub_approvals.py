"""Remote approval end to end against the real hub (runserver on PostgreSQL) and the real
kiosk store, sync thread and approvals service.

Online: a night worker asks to clear a door lockout; the request reaches the hub on the sync
thread's immediate round; a nurse signs in to the care app, approves it on /approvals/; the
kiosk's sync thread, polling every half second while the request waits, pulls the decision;
the service clears the lockout (STATUS: door closed) and the hub learns it was used.
Offline: with the nurse's seed synced earlier, the kiosk (sync stopped) shows a challenge;
the nurse types it into "Approve by phone" and the response read back clears a tamper
lockout without a network; the next sync tells the hub, whose audit names both people.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from hardware.ports import ControllerStatus, LaneState
from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction, Verdict
from kiosk.services.approvals import ApprovalsService
from kiosk.services.clock import SystemClock
from kiosk.services.health import HealthService
from kiosk.services.sync import HubClient, SyncService, provision
from kiosk.services.sync.thread import SyncThread
from kiosk.store import approvals_repo
from kiosk.store.approvals_repo import ApprovalRequest
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.sync.test_live_hub import Hub, psql

pytestmark = pytest.mark.slow

PASSWORD = "night-shift-password-1"
WAIT = 30.0  # seconds: an upper bound for a condition, never a sleep


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    database = f"kiosk_approve_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {database}")
    workdir = tmp_path_factory.mktemp("hub")
    server = Hub(database, workdir)
    # The care pages need their static files' manifest (served as in production).
    server.env["HUB_STATIC_ROOT"] = str(workdir / "static")
    try:
        server.manage("migrate", "--noinput")
        server.manage("collectstatic", "--noinput", "-v0")
        server.start()
        yield server
    finally:
        server.stop()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


class Controller:
    def status(self) -> ControllerStatus:
        return ControllerStatus(False, False, (LaneState.READY,))


class NoEvents:
    def subscribe(self, handler: Callable[[object], None]) -> None:
        pass


def sign_in(hub: Hub, username: str) -> httpx.Client:
    client = httpx.Client(base_url=hub.url, follow_redirects=False, timeout=20)
    response = post_form(client, "/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.text[:500]
    return client


def post_form(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    """POST a form as the browser does: the CSRF token from the page's own form."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, path
    return client.post(path, data={**data, "csrfmiddlewaretoken": token.group(1)})


def wait_for(condition: Callable[[], bool], rounds: threading.Event, what: str) -> None:
    """Wait on the sync thread's rounds (its report callback) until ``condition`` holds."""
    deadline = WAIT
    while not condition():
        rounds.clear()
        if not rounds.wait(deadline):
            raise AssertionError(f"{what}: not within {WAIT:.0f} s")


def test_online_and_offline_approval_through_the_live_hub(hub: Hub, tmp_path: Path) -> None:
    code = hub.manage("enroll_machine", "--site", "Night site", "--machine", "kiosk-n")
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), tmp_path)
    made = hub.shell(
        "from django.contrib.auth.models import User\n"
        "from care.models import Membership\n"
        "from care import approvals\n"
        "from fleet.models import Site\n"
        "site = Site.objects.get(name='Night site')\n"
        f"u = User.objects.create_user('nurse', password={PASSWORD!r},"
        " first_name='Maria', last_name='Lopez')\n"
        "Membership.objects.create(user=u, site=site, role='nurse')\n"
        "approvals.publish_site(site)\n"
        "print(u.pk)"
    )
    nurse_id = int(made.splitlines()[-1])

    key = create_key_file(tmp_path / "db.key")
    database = tmp_path / "kiosk.db"
    conn = connect(database, key)
    store = Store(conn)
    clock = SystemClock()
    worker = store.add_staff("Night Worker", "staff", hash_pin("735204"), clock.now(), "test")
    store.raise_flag("door_opened", "the service door opened", clock.now())
    health = HealthService(store, None, Controller(), clock, None, NoEvents())  # type: ignore[arg-type]

    def clear(request: ApprovalRequest, actor: str) -> None:
        health.clear_lockout(actor)

    rounds = threading.Event()
    thread = SyncThread(
        lambda: connect(database, key, migrate=False),
        lambda: HubClient(hub.url, credentials, clock.now),
        clock=clock,
        interval=3600.0,  # only the approval polling and the wake-up can bring a round
        approval_interval=0.5,
        on_report=lambda report, error: rounds.set(),
    )
    service = ApprovalsService(
        store,
        clock,
        credentials.device_id,
        performers={
            ApprovalAction.CLEAR_DOOR_LOCKOUT: clear,
            ApprovalAction.CLEAR_TAMPER_LOCKOUT: clear,
        },
        wake=thread.sync_now,
    )
    thread.start()
    try:
        # The first round pulls the site's policy and the nurse's seed.
        wait_for(lambda: bool(approvals_repo.seeds(conn)), rounds, "the nurse's seed")
        (seed,) = approvals_repo.seeds(conn)
        assert (seed.user_id, seed.role, seed.label) == (nurse_id, "nurse", "Maria L.")

        # ---- online
        asked = service.request(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine", worker)
        assert isinstance(asked, ra.Requested)
        nurse = sign_in(hub, "nurse")
        pk: list[int] = []

        def listed() -> bool:
            found = re.findall(r"/approvals/(\d+)/decide/", nurse.get("/approvals/").text)
            pk[:] = [int(n) for n in found]
            return bool(pk)

        wait_for(listed, rounds, "the request on /approvals/")
        page = nurse.get("/approvals/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        response = nurse.post(
            f"/approvals/{pk[0]}/decide/",
            data={"decision": "approve", "csrfmiddlewaretoken": token.group(1)},
        )
        assert response.status_code == 302
        wait_for(lambda: service.decision(asked.request_id) is not None, rounds, "the decision")
        assert service.decision(asked.request_id) == ra.Decided(True, "Maria L.", "")
        assert service.act_online(asked.request_id) == ra.Performed(True)
        assert "door_opened" not in store.flags()

        # ---- offline: the kiosk cannot reach the hub; the seed was synced before.
        thread.stop()
        store.raise_flag("tamper", "the tamper switch tripped", clock.now())
        asked = service.request(ApprovalAction.CLEAR_TAMPER_LOCKOUT, "machine", worker)
        assert isinstance(asked, ra.Requested)
        page = post_form(
            nurse,
            "/approvals/phone/",
            {
                "machine": _machine_pk(hub, credentials.device_id),
                "action": "clear_tamper_lockout",
                "challenge": asked.challenge,
            },
        )
        assert page.status_code == 200
        (response_code,) = re.findall(r'class="approval-code">(\d{4}) (\d{4})<', page.text)
        checked, performed = service.check_code(asked.request_id, "".join(response_code))
        assert checked == ra.CodeChecked(Verdict.ACCEPTED, "Maria L.")
        assert performed == ra.Performed(True)
        assert "tamper" not in store.flags()
        again = service.check_code(asked.request_id, "".join(response_code))[0]
        assert again.verdict is Verdict.USED

        # Back online: the hub learns both uses, and its audit names both people.
        client = HubClient(hub.url, credentials, clock.now)
        try:
            SyncService(conn, client, clock).run_once()
        finally:
            client.close()
        nurse.close()
        states = hub.shell(
            "from care.models import ApprovalRequest, CareAudit\n"
            "for r in ApprovalRequest.objects.order_by('requested_at'):\n"
            "    print(r.state, r.used_how, r.used_by_id, r.requested_by)\n"
            "for a in CareAudit.objects.filter(action='approval_used').order_by('at'):\n"
            "    print('audit', a.user_id, a.detail['requested_by'], a.detail['how'])"
        ).splitlines()[-4:]  # after the shell's own banner
        assert states == [
            f"used online {nurse_id} staff:{worker}",
            f"used offline {nurse_id} staff:{worker}",
            f"audit {nurse_id} staff:{worker} online",
            f"audit {nurse_id} staff:{worker} offline",
        ]
    finally:
        thread.stop()
        conn.close()


def _machine_pk(hub: Hub, device_id: str) -> str:
    return hub.shell(
        f"from fleet.models import Machine\nprint(Machine.objects.get(device_id={device_id!r}).pk)"
    ).splitlines()[-1]


def test_an_authenticator_app_enrolled_on_the_hub_approves_at_the_kiosk(
    hub: Hub, tmp_path: Path
) -> None:
    """The nurse sets up an app on "My authenticator"; its seed reaches the kiosk by sync
    (stored in the encrypted store); the code the app shows approves the request offline."""
    code = hub.manage("enroll_machine", "--site", "App site", "--machine", "kiosk-a")
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), tmp_path)
    made = hub.shell(
        "from django.contrib.auth.models import User\n"
        "from care.models import Membership\n"
        "from fleet.models import Site\n"
        "site = Site.objects.get(name='App site')\n"
        f"u = User.objects.create_user('appnurse', password={PASSWORD!r},"
        " first_name='Ana', last_name='Silva')\n"
        "Membership.objects.create(user=u, site=site, role='nurse')\n"
        "print(u.pk)"
    )
    nurse_id = int(made.splitlines()[-1])
    nurse = sign_in(hub, "appnurse")
    started = post_form(nurse, "/approvals/authenticator/", {"step": "start"})
    assert started.status_code == 302
    page = nurse.get("/approvals/authenticator/").text
    assert "<svg" in page
    found = re.search(r'id="authenticator-key">([A-Z2-7]+)<', page)
    assert found is not None
    app_seed = found.group(1)
    confirmed = post_form(
        nurse,
        "/approvals/authenticator/",
        {"step": "confirm", "code": pyotp.TOTP(app_seed).now()},
    )
    assert confirmed.status_code == 302, confirmed.text[:300]

    key = create_key_file(tmp_path / "db.key")
    conn = connect(tmp_path / "kiosk.db", key)
    store = Store(conn)
    clock = SystemClock()
    worker = store.add_staff("Night Worker", "staff", hash_pin("735204"), clock.now(), "test")
    store.raise_flag("door_opened", "the service door opened", clock.now())
    health = HealthService(store, None, Controller(), clock, None, NoEvents())  # type: ignore[arg-type]

    def clear(request: ApprovalRequest, actor: str) -> None:
        health.clear_lockout(actor)

    client = HubClient(hub.url, credentials, clock.now)
    try:
        SyncService(conn, client, clock).run_once()
        (seed,) = approvals_repo.seeds(conn)
        assert (seed.user_id, seed.totp) == (nurse_id, app_seed)
        service = ApprovalsService(
            store,
            clock,
            credentials.device_id,
            performers={ApprovalAction.CLEAR_DOOR_LOCKOUT: clear},
        )
        assert service.app_codes_offered()
        asked = service.request(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine", worker)
        assert isinstance(asked, ra.Requested)
        checked, performed = service.check_app_code(asked.request_id, pyotp.TOTP(app_seed).now())
        assert checked == ra.CodeChecked(Verdict.ACCEPTED, "Ana S.")
        assert performed == ra.Performed(True)
        assert "door_opened" not in store.flags()
        SyncService(conn, client, clock).run_once()
    finally:
        client.close()
        nurse.close()
        conn.close()
    used = hub.shell(
        "from care.models import ApprovalRequest\n"
        "r = ApprovalRequest.objects.get(machine__site__name='App site')\n"
        "print(r.state, r.used_how, r.used_by_id, r.requested_by)"
    ).splitlines()[-1]
    assert used == f"used app {nurse_id} staff:{worker}"
