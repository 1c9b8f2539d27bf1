"""`make bench` (remote approval): seconds from a clinician's Approve on the hub to the kiosk
carrying the action out, with the sync thread's polling while a request waits
(``APPROVAL_POLL_INTERVAL``, 2 s).

The real hub (runserver on PostgreSQL, the care pages as served), the real kiosk store, sync
thread and approvals service: a door lockout is raised, a worker asks, a nurse signed in to
the care app approves on /approvals/, and the clock stops when the lockout is cleared at the
kiosk. Repeated ``TRIALS`` times, each Approve at a random moment of the polling cycle.
Prints figures only.
"""

from __future__ import annotations

import random
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from kiosk.domain import remote_approval as ra
from kiosk.domain.remote_approval import ApprovalAction
from kiosk.services.approvals import ApprovalsService
from kiosk.services.clock import SystemClock
from kiosk.services.health import HealthService
from kiosk.services.sync import HubClient, provision
from kiosk.services.sync.thread import APPROVAL_POLL_INTERVAL, SyncThread
from kiosk.store.approvals_repo import ApprovalRequest
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.sync.test_live_hub import Hub, psql
from tests.sync.test_live_hub_approvals import PASSWORD, Controller, NoEvents, sign_in

TRIALS = 20


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kiosk-approval-bench-") as tmp:
        folder = Path(tmp)
        database = f"kiosk_bench_{secrets.token_hex(4)}"
        psql(f"CREATE DATABASE {database}")
        hub = Hub(database, folder)
        hub.env["HUB_STATIC_ROOT"] = str(folder / "static")
        try:
            hub.manage("migrate", "--noinput")
            hub.manage("collectstatic", "--noinput", "-v0")
            hub.start()
            seconds = run(hub, folder)
        finally:
            hub.stop()
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    print(
        f"approval to kiosk in service: p50 {statistics.median(seconds):.2f} s,"
        f" max {max(seconds):.2f} s over {len(seconds)} approvals"
        f" (polling every {APPROVAL_POLL_INTERVAL:.0f} s while a request waits)"
    )
    return 0


def run(hub: Hub, folder: Path) -> list[float]:
    code = hub.manage("enroll_machine", "--site", "Bench site", "--machine", "kiosk-b")
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), folder)
    hub.shell(
        "from django.contrib.auth.models import User\n"
        "from care.models import Membership\n"
        "from fleet.models import Site\n"
        f"u = User.objects.create_user('nurse', password={PASSWORD!r}, first_name='N')\n"
        "Membership.objects.create(user=u, site=Site.objects.get(name='Bench site'), role='nurse')"
    )
    key = create_key_file(folder / "db.key")
    path = folder / "kiosk.db"
    conn = connect(path, key)
    store = Store(conn)
    clock = SystemClock()
    worker = store.add_staff("Worker", "staff", hash_pin("735204"), clock.now(), "bench")
    health = HealthService(store, None, Controller(), clock, None, NoEvents())  # type: ignore[arg-type]
    rounds = threading.Event()
    thread = SyncThread(
        lambda: connect(path, key, migrate=False),
        lambda: HubClient(hub.url, credentials, clock.now),
        clock=clock,
        interval=3600.0,
        on_report=lambda report, error: rounds.set(),
    )

    def clear(request: ApprovalRequest, actor: str) -> None:
        health.clear_lockout(actor)

    service = ApprovalsService(
        store,
        clock,
        credentials.device_id,
        performers={ApprovalAction.CLEAR_DOOR_LOCKOUT: clear},
        wake=thread.sync_now,
    )
    thread.start()
    nurse = sign_in(hub, "nurse")
    seconds: list[float] = []
    try:
        for _ in range(TRIALS):
            store.raise_flag("door_opened", "bench", clock.now())
            asked = service.request(ApprovalAction.CLEAR_DOOR_LOCKOUT, "machine", worker)
            assert isinstance(asked, ra.Requested)
            pk = None
            deadline = time.monotonic() + 30
            while pk is None and time.monotonic() < deadline:  # the request reaches the hub
                rounds.clear()
                page = nurse.get("/approvals/").text
                found = re.findall(r"/approvals/(\d+)/decide/", page)
                if found:
                    pk = found[0]
                    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
                    assert token is not None
                else:
                    rounds.wait(5)
            assert pk is not None, "the request did not reach the hub"
            # A person clicks at any moment of the polling cycle, not just after a round.
            time.sleep(random.uniform(0, APPROVAL_POLL_INTERVAL))
            answer = nurse.post(
                f"/approvals/{pk}/decide/",
                data={"decision": "approve", "csrfmiddlewaretoken": token.group(1)},
            )
            approved_at = time.monotonic()
            assert answer.status_code == 302
            while service.decision(asked.request_id) is None:
                rounds.clear()
                if not rounds.wait(30):
                    raise AssertionError("no decision within 30 s")
            assert service.act_online(asked.request_id) == ra.Performed(True)
            seconds.append(time.monotonic() - approved_at)
    finally:
        nurse.close()
        thread.stop()
        conn.close()
    return seconds


if __name__ == "__main__":
    sys.exit(main())
