"""The night shift end to end (issue 15, "Done means"), every part real: the hub (runserver on
PostgreSQL) with its escalation engine (``manage.py run_escalations --once --at``: a compressed
clock), an SMTP server (aiosmtpd) and an HTTP webhook receiver on loopback, and a real kiosk
(``start_demo``: the encrypted store, the drivers on the controller and sensor emulators' ptys,
the health service, the sync thread, remote approvals as ``kiosk.app`` wires them).

The site's time zone is chosen so that it is 03:xx there now: the service door opens at night.
The door alert reaches the hub with the kiosk's next sync; the engine e-mails the site staff on
duty; nobody acknowledges; ten minutes later (the clock compressed) the on-call pharmacist gets
the e-mail and the signed webhook; she approves the night worker's request on the hub's
/approvals/ page (a signed-in session over HTTP); the kiosk clears the lockout and is back in
service, and the alert resolves on the hub. Then the same offline: the kiosk's sync is stopped,
it shows a challenge, the pharmacist reads the code from "Approve by phone"; forged, wrong
machine, expired and replayed responses are refused first and after. Last, the silent machine
raises "machine offline" on the hub, and "back" when it syncs again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk.app import DEMO_STAFF_HOURS, DEMO_STAFF_LOCATION, Runtime, start_demo, start_sync
from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction, Verdict
from kiosk.services.approvals import ApprovalsService, standard_performers
from kiosk.services.clock import Clock, SystemClock
from kiosk.services.config import Config, write_config
from kiosk.services.health import Fault
from kiosk.services.holds import HoldService
from kiosk.services.sync import credentials_path, provision
from kiosk.services.sync.credentials import load_credentials
from kiosk.store import approvals_repo
from kiosk.store.pins import hash_pin
from tests.hub.oncall_parts import Mailbox, Receiver, http_receiver, smtp_server
from tests.sync.test_live_hub import Hub, psql
from tests.sync.test_live_hub_approvals import PASSWORD, post_form, sign_in

pytestmark = pytest.mark.slow

WAIT = 30.0  # seconds: an upper bound for a condition, never a sleep
SECRET = "night-webhook-secret-0123456789"
STAFF_NAME = "Sam Nightly"
PHARMACIST_NAME = "Maria Lopez"


@dataclass
class Night:
    hub: Hub
    database: str
    mailbox: Mailbox
    receiver: Receiver
    hook_url: str


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    database = f"kiosk_night_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {database}")
    workdir = tmp_path_factory.mktemp("hub")
    with smtp_server() as (mailbox, smtp_port), http_receiver() as (receiver, hook_url):
        server = Hub(database, workdir)
        server.env.update(
            HUB_STATIC_ROOT=str(workdir / "static"),  # the care pages' manifest
            HUB_EMAIL_HOST="127.0.0.1",
            HUB_EMAIL_PORT=str(smtp_port),
            HUB_PUBLIC_URL="https://hub.example.org",
            HUB_ALLOW_CLOCK_OVERRIDE="1",  # run_escalations --at: the compressed clock
        )
        try:
            server.manage("migrate", "--noinput")
            server.manage("collectstatic", "--noinput", "-v0")
            server.start()
            yield Night(server, database, mailbox, receiver, hook_url)
        finally:
            server.stop()
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Poll a condition (another process or thread makes it true) up to a deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


def three_am_zone() -> str:
    """An Etc/GMT zone where it is 03:xx now (Etc/GMT-6 is UTC+6)."""
    offset = (3 - datetime.now(UTC).hour) % 24
    offset = offset if offset <= 14 else offset - 24
    return "Etc/GMT" + ("+" if offset <= 0 else "-") + str(abs(offset))


def verified(secret: str, headers: dict[str, str], body: bytes, max_skew: int = 300) -> bool:
    """The receiver's check, as docs/ON-CALL.md gives it to a gateway."""
    stamp = headers["X-Hub-Timestamp"]
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > max_skew:
        return False
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + mac, headers["X-Hub-Signature"])


def escalate(hub: Hub, at: datetime) -> None:
    hub.manage("run_escalations", "--once", "--at", at.isoformat())


class Shifted:
    """A clock off the real one by ``by`` (a challenge shown ten minutes ago, without waiting)."""

    def __init__(self, by: timedelta) -> None:
        self._by = by

    def now(self) -> datetime:
        return SystemClock().now() + self._by


def start_kiosk(data_dir: Path, hub_url: str, code: str) -> Runtime:
    config = Config(
        site_name="Night site",
        data_dir=data_dir,
        staff_location=DEMO_STAFF_LOCATION,
        staff_hours=DEMO_STAFF_HOURS,
    )
    config = replace(config, hub_url=hub_url, hub_interval_seconds=3600)
    data_dir.mkdir(parents=True)
    provision(hub_url, code, data_dir)  # as `kiosk enroll` does
    write_config(config, data_dir / "kiosk.toml")
    return start_demo(data_dir, realistic_timing=False)


def approvals_for(runtime: Runtime, clock: Clock) -> ApprovalsService:
    """As kiosk.app.build_approvals wires it (with the clock given)."""
    assert runtime.sync is not None
    device_id = load_credentials(credentials_path(runtime.config.data_dir)).device_id
    holds = HoldService(runtime.store, clock)
    performers = standard_performers(
        runtime.store, clock, runtime.health, runtime.controller, holds
    )
    return ApprovalsService(
        runtime.store, clock, device_id, performers=performers, wake=runtime.sync.sync_now
    )


def test_a_night_door_alert_reaches_the_pharmacist_whose_approval_restores_service(
    night: Night, tmp_path: Path
) -> None:
    hub, mailbox, receiver = night.hub, night.mailbox, night.receiver
    enrolled = hub.manage("enroll_machine", "--site", "Night site", "--machine", "kiosk-n")
    other = hub.manage("enroll_machine", "--site", "Night site", "--machine", "kiosk-other")
    made = hub.shell(
        "from django.contrib.auth.models import User\n"
        "from care.models import Membership\n"
        "from fleet.models import Machine, OnCallContact, Site\n"
        "site = Site.objects.get(name='Night site')\n"
        f"site.timezone = {three_am_zone()!r}\n"
        f"site.webhook_url = {night.hook_url!r}\n"
        f"site.set_webhook_secret({SECRET!r})\n"
        "site.save()\n"
        f"u = User.objects.create_user('pharm', password={PASSWORD!r},"
        " first_name='Maria', last_name='Lopez')\n"
        "Membership.objects.create(user=u, site=site, role='pharmacist')\n"
        f"OnCallContact(site=site, name={STAFF_NAME!r}, role='site_staff',"
        " email='sam@example.org', phone='+15550001', hours='nights').save()\n"
        f"OnCallContact(site=site, name={PHARMACIST_NAME!r}, role='pharmacist', user=u,"
        " email='maria@example.org', phone='+15550002', hours='nights').save()\n"
        "OnCallContact(site=site, name='Dana Day', role='site_staff',"
        " email='dana@example.org', hours='weekdays').save()\n"
        "print(u.pk, Machine.objects.get(name='kiosk-n').pk,"
        " Machine.objects.get(name='kiosk-other').pk)"
    )
    pharmacist_id, machine_pk, other_pk = (int(n) for n in made.splitlines()[-1].split())
    del other

    def hub_row(sql: str) -> str:
        return psql(sql, night.database)

    runtime = start_kiosk(tmp_path / "kiosk", hub.url, enrolled.strip().splitlines()[-1].strip())
    pharmacist: httpx.Client | None = None
    try:
        assert runtime.sync is not None and runtime.demo is not None
        emulator, health, store = runtime.demo.controller, runtime.health, runtime.store
        clock = SystemClock()
        # The sync thread's first round brings the pharmacist's seed.
        until(lambda: approvals_repo.seeds(store.conn), "the pharmacist's seed")
        assert health.check().ok
        approvals = approvals_for(runtime, clock)
        worker = store.add_staff("Night Worker", "staff", hash_pin("735204"), clock.now(), "t")

        # ---- 03:xx: the service door opens outside a staff session.
        emulator.open_door()
        until(lambda: Fault.DOOR_OPENED in health.check().faults, "the door lockout")
        [(kiosk_alert, *_)] = [a for a in store.open_alerts() if a[1] == "door"]
        runtime.sync.sync_now()
        alert_sql = (
            f"FROM fleet_alert WHERE machine_id = {machine_pk} AND kiosk_alert_id = {kiosk_alert}"
        )
        until(lambda: hub_row(f"SELECT count(*) {alert_sql}") == "1", "the alert on the hub")
        door_seen = datetime.now(UTC)

        # The engine's first pass: the site staff on duty at night (not the day staff).
        escalate(hub, door_seen)
        assert mailbox.wait_for(1)
        assert [m[0] for m in mailbox.messages] == [["sam@example.org"]]
        escalate(hub, door_seen + timedelta(minutes=9))  # before the door chain's 10 min
        assert len(mailbox.messages) == 1
        # No acknowledgement: after 10 minutes the on-call pharmacist, by e-mail and webhook.
        escalate(hub, door_seen + timedelta(minutes=11))
        assert mailbox.wait_for(2)
        assert [m[0] for m in mailbox.messages][1:] == [["maria@example.org"]]
        assert not mailbox.to("dana@example.org")
        until(lambda: len(receiver.requests) >= 2, "both webhooks")
        for _, message, body in mailbox.messages:
            text = body + str(message["Subject"])
            for private in (STAFF_NAME, PHARMACIST_NAME, "Lopez", "Night Worker"):
                assert private not in text
            assert "kiosk-n" in text
        for headers, body in receiver.requests:
            assert verified(SECRET, headers, body)
            assert not verified("not-the-secret-0123", headers, body)
            assert PHARMACIST_NAME not in body.decode() and STAFF_NAME not in body.decode()
        hooks = [json.loads(body) for _, body in receiver.requests]
        assert [(h["kind"], h["to"]["role"]) for h in hooks] == [
            ("door_tamper", "site_staff"),
            ("door_tamper", "pharmacist"),
        ]
        assert hooks[1]["to"]["phone"] == "+15550002"

        # ---- online approval: the door is shut again, the worker asks; she approves.
        emulator.close_door()
        asked = approvals.request(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine", worker)
        assert isinstance(asked, ra.Requested)
        pharmacist = sign_in(hub, "pharm")
        decide = re.compile(r"/approvals/(\d+)/decide/")
        until(lambda: decide.search(pharmacist.get("/approvals/").text), "the request listed")
        page = pharmacist.get("/approvals/").text
        [pk] = decide.findall(page)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        answer = pharmacist.post(
            f"/approvals/{pk}/decide/",
            data={"decision": "approve", "csrfmiddlewaretoken": token.group(1)},
        )
        assert answer.status_code == 302
        until(lambda: approvals.decision(asked.request_id) is not None, "the decision")
        assert approvals.decision(asked.request_id) == ra.Decided(True, "Maria L.", "")
        assert approvals.act_online(asked.request_id) == ra.Performed(True)
        assert health.check().ok  # back in service
        runtime.sync.sync_now()
        until(
            lambda: hub_row(f"SELECT count(*) {alert_sql} AND resolved_at IS NOT NULL") == "1",
            "the alert resolved on the hub",
        )
        # Resolved: escalation stopped, the program manager is never told. (Within the site's
        # 30 min: a pass later than that would rightly find the machine silent.)
        escalate(hub, door_seen + timedelta(minutes=29))
        assert len(mailbox.messages) == 2
        assert hub_row(f"SELECT escalation {alert_sql}") == "stopped"

        # ---- offline: the kiosk cannot reach the hub (its sync stopped); tamper at 03:xx.
        runtime.sync.stop()
        emulator.trip_tamper()
        until(lambda: Fault.TAMPER in health.check().faults, "the tamper lockout")
        emulator.clear_tamper()
        asked = approvals.request(ApprovalAction.CLEAR_TAMPER_LOCKOUT, "machine", worker)
        assert isinstance(asked, ra.Requested)

        def phone_code(machine: int, challenge: str) -> str:
            assert pharmacist is not None
            fields = {"machine": str(machine), "action": "clear_tamper_lockout"}
            page = post_form(pharmacist, "/approvals/phone/", {**fields, "challenge": challenge})
            assert page.status_code == 200
            (digits,) = re.findall(r'class="approval-code">(\d{4}) (\d{4})<', page.text)
            return "".join(digits)

        code = phone_code(machine_pk, asked.challenge)
        forged = f"{(int(code) + 1) % 10**8:08d}"
        assert approvals.check_code(asked.request_id, forged)[0].verdict is Verdict.WRONG
        wrong_machine = phone_code(other_pk, asked.challenge)
        assert approvals.check_code(asked.request_id, wrong_machine)[0].verdict is Verdict.WRONG
        # A request whose challenge was shown 11 minutes ago: its code is refused as expired.
        earlier = approvals_for(runtime, Shifted(-ra.VALIDITY - timedelta(minutes=1)))
        stale = earlier.request(ApprovalAction.CLEAR_TAMPER_LOCKOUT, "machine", worker)
        assert isinstance(stale, ra.Requested)
        stale_code = phone_code(machine_pk, stale.challenge)
        assert approvals.check_code(stale.request_id, stale_code)[0].verdict is Verdict.EXPIRED
        assert Fault.TAMPER in health.check().faults  # none of them cleared anything
        checked, performed = approvals.check_code(asked.request_id, code)
        assert checked == ra.CodeChecked(Verdict.ACCEPTED, "Maria L.")
        assert performed == ra.Performed(True)
        assert health.check().ok  # back in service without a network
        assert approvals.check_code(asked.request_id, code)[0].verdict is Verdict.USED

        # ---- the silent machine: "offline" on the hub, then "back" when it syncs again.
        silent = "UPDATE fleet_machine SET last_contact = now() - interval '40 minutes'"
        hub_row(f"{silent} WHERE id = {machine_pk}")
        offline_sql = (
            f"FROM fleet_alert WHERE machine_id = {machine_pk} AND kind = 'machine_offline'"
        )
        escalate(hub, datetime.now(UTC))
        assert hub_row(f"SELECT count(*) {offline_sql} AND resolved_at IS NULL") == "1"
        runtime.sync = start_sync(runtime.config, runtime.clock)
        assert runtime.sync is not None
        until(
            lambda: (
                hub_row("SELECT count(*) FROM care_approvalrequest WHERE used_how = 'offline'")
                == "1"
            ),
            "the offline use told to the hub",
        )
        escalate(hub, datetime.now(UTC))
        assert hub_row(f"SELECT count(*) {offline_sql} AND resolved_at IS NOT NULL") == "1"
        assert (
            hub_row(
                "SELECT count(*) FROM fleet_alertlog l JOIN fleet_alert a ON a.id = l.alert_id"
                f" WHERE a.machine_id = {machine_pk} AND l.what = 'back'"
            )
            == "1"
        )
        used = hub_row(
            "SELECT string_agg(used_how || ':' || used_by_id, ',' ORDER BY requested_at)"
            " FROM care_approvalrequest"
        )
        assert used == f"online:{pharmacist_id},offline:{pharmacist_id}"
    finally:
        if pharmacist is not None:
            pharmacist.close()
        runtime.close()
