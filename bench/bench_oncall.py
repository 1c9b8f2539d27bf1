"""`make bench` (on-call part): door event to first message.

A live hub (runserver on loopback, PostgreSQL), its on-call engine as a separate process
(``manage.py run_escalations --every N``), an SMTP server (aiosmtpd) on loopback, and a real
kiosk store: the kiosk raises a door alert and pushes it with the real SyncService; the figure
is the seconds from the start of that push to the e-mail arriving at the SMTP server. Figures
only; a few rounds, quick.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kiosk.domain.alerts import AlertKind
from kiosk.services.clock import SystemClock
from kiosk.services.sync import HubClient, SyncService, provision
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.repository import Store
from tests.hub.oncall_parts import smtp_server
from tests.sync.test_live_hub import MANAGE, Hub, psql

EVERY_SECONDS = float(os.environ.get("BENCH_ONCALL_EVERY", "2"))
ROUNDS = 5


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="kiosk-oncall-bench-") as tmp,
        smtp_server() as (
            mailbox,
            port,
        ),
    ):
        folder = Path(tmp)
        database = f"kiosk_bench_{secrets.token_hex(4)}"
        psql(f"CREATE DATABASE {database}")
        hub = Hub(database, folder)
        hub.env.update({"HUB_EMAIL_HOST": "127.0.0.1", "HUB_EMAIL_PORT": str(port)})
        engine = None
        try:
            hub.manage("migrate", "--noinput")
            hub.start()
            code = hub.manage("enroll_machine", "--site", "Bench", "--machine", "kiosk-b")
            credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), folder)
            hub.shell(
                "from fleet.models import OnCallContact, Site;"
                "OnCallContact(site=Site.objects.get(name='Bench'), name='Bench Person',"
                " role='site_staff', email='staff@example.org', hours='always').save()"
            )
            engine = subprocess.Popen(
                [sys.executable, str(MANAGE), "run_escalations", "--every", str(EVERY_SECONDS)],
                env=hub.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            conn = connect(folder / "kiosk.db", create_key_file(folder / "db.key"))
            store = Store(conn)
            clock = SystemClock()
            service = SyncService(conn, HubClient(hub.url, credentials, clock.now), clock)
            service.run_once()
            figures = []
            for n in range(ROUNDS):
                store.raise_alert(AlertKind.DOOR, f"bench:{n}", "bench", datetime.now(UTC))
                started = time.perf_counter()
                service.run_once()
                if not mailbox.wait_for(n + 1, timeout=EVERY_SECONDS * 5 + 30):
                    print("on-call bench: no e-mail arrived", file=sys.stderr)
                    return 1
                figures.append(time.perf_counter() - started)
            conn.close()
            figures.sort()
            print(
                f"door event to first message (push -> e-mail at the SMTP server), engine every"
                f" {EVERY_SECONDS:g} s, {ROUNDS} alerts: median {figures[len(figures) // 2]:.2f}"
                f" s, min {figures[0]:.2f} s, max {figures[-1]:.2f} s"
            )
        finally:
            if engine is not None:
                engine.terminate()
                engine.wait(timeout=15)
            hub.stop()
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
