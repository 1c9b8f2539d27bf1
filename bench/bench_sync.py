"""`make bench` (sync part): push a 30-day backlog to a hub on PostgreSQL.

50 participants x 4 dispenses a day x 30 days, each dispense an intent and a result with their
audit entries and outbox events, pushed by the real SyncService over HTTP to the real Django hub
(runserver on loopback) backed by PostgreSQL on 127.0.0.1:5432. Prints figures only.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.services.clock import SystemClock
from kiosk.services.seed import ALL_DAY
from kiosk.services.sync import HubClient, SyncService, provision
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.repository import Intent, Store
from tests.sync.test_live_hub import Hub, psql

PARTICIPANTS = 50
PER_DAY = 4
DAYS = 30


def build_backlog(store: Store) -> int:
    start = datetime.now(UTC) - timedelta(days=DAYS)
    med = store.add_medication("hydromorphone", "8 mg", "tablet", start)
    store.set_lane(1, med, 10**6, start, "bench")
    rxs = []
    for n in range(PARTICIPANTS):
        pid = store.add_participant(f"P-{n:04d}", f"Person {n}", "en", start, "bench")
        rxs.append(
            (
                pid,
                store.add_prescription(pid, med, 2, ALL_DAY, 8, start.date(), None, start, "bench"),
            )
        )
    vend = 1
    for day in range(DAYS):
        for dose in range(PER_DAY):
            at = start + timedelta(days=day, hours=5 * dose + 1)
            for pid, rx in rxs:
                store.record_intent(Intent(vend, pid, rx, 1, 2, at))
                store.record_result(vend, 2, "complete", None, at)
                vend += 1
    return int(store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kiosk-sync-bench-") as tmp:
        folder = Path(tmp)
        database = f"kiosk_bench_{secrets.token_hex(4)}"
        psql(f"CREATE DATABASE {database}")
        hub = Hub(database, folder)
        try:
            hub.manage("migrate", "--noinput")
            hub.start()
            code = hub.manage("enroll_machine", "--site", "Bench", "--machine", "kiosk-b")
            credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), folder)
            conn = connect(folder / "kiosk.db", create_key_file(folder / "db.key"))
            started = time.perf_counter()
            events = build_backlog(Store(conn))
            built = time.perf_counter() - started
            clock = SystemClock()
            service = SyncService(conn, HubClient(hub.url, credentials, clock.now), clock)
            started = time.perf_counter()
            acknowledged, rounds = 0, 0
            while True:  # a round pushes a bounded number of batches; repeat until empty
                report = service.run_once()
                acknowledged += report.pushed
                rounds += 1
                if report.waiting == 0 and not report.more:
                    break
            pushed = time.perf_counter() - started
            conn.close()
            print(
                f"sync backlog: {PARTICIPANTS} participants x {PER_DAY} dispenses x {DAYS} days "
                f"= {PARTICIPANTS * PER_DAY * DAYS:,} dispenses, {events:,} outbox events "
                f"(built in {built:.0f} s)"
            )
            print(
                f"push of the whole backlog to the hub on PostgreSQL: {pushed:.1f} s "
                f"({acknowledged:,} events acknowledged in {rounds} rounds); hub ingest rate "
                f"{acknowledged / pushed:,.0f} events/s (Django runserver, 2 cores)"
            )
        finally:
            hub.stop()
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
