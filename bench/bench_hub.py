"""`make bench` (hub part): the hub's push path under gunicorn + PostgreSQL on loopback.

(a) p50/p99 of a signed 20-event push for a machine with 1,000 and with 1,000,000 prior events
    (seeded with SQL, lane stock row consistent), and EXPLAIN ANALYZE of the push path's look-ups
    on the 1M machine;
(b) the ingest rate: several machines pushing 1,000-event batches at once;
(c) a bounded load run: 20 signed pushers for BENCH_HUB_SECONDS (default 60) s, small batches,
    some re-sent (a lost reply); then the database is checked: nothing acknowledged is missing,
    nothing is stored twice, no 5xx.

Its own database (bench_hub_<pid>, dropped at the end). The pushers run in this process on the
same cores as the hub: figures, never pass/fail. BENCH_HUB_SECONDS=10 for a quick run;
BENCH_HUB_PRIOR=100000 seeds fewer events for (a).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from kiosk.services.sync.signing import signed_headers
from tests.sync.test_live_hub import MANAGE, PG, PSQL, Hub, psql

SECONDS = float(os.environ.get("BENCH_HUB_SECONDS", "60"))
PRIOR = int(os.environ.get("BENCH_HUB_PRIOR", "1000000"))
WORKERS = int(os.environ.get("BENCH_HUB_WORKERS", "3"))
PATH = "/v1/sync/events"

# The seeded history, one machine: #1 configures lane 1, then per vend an intent, a result
# (2 units dropped), an audit note; every 500th a lane.state. Columns as the hub fills them.
_SEED = """
INSERT INTO fleet_event (machine_id, seq, event_id, type, payload, created_at, received_at,
                         vend_id, lane)
SELECT {machine}, g, gen_random_uuid(), t.type, t.payload, now() - interval '1 day',
       now() - interval '1 day', (t.payload->>'vend_id')::bigint, (t.payload->>'lane')::int
FROM generate_series(1, {count}) AS g,
LATERAL (SELECT CASE
  WHEN g = 1 THEN 'lane.configured'
  WHEN g % 500 = 0 THEN 'lane.state'
  WHEN g % 3 = 2 THEN 'dispense.intent'
  WHEN g % 3 = 0 THEN 'dispense.result'
  ELSE 'audit.note' END AS type) AS k,
LATERAL (SELECT k.type, CASE k.type
  WHEN 'lane.configured' THEN jsonb_build_object('lane', 1, 'medication_id', 4, 'stock',
                                                 1000000000, 'actor', 'system')
  WHEN 'lane.state' THEN jsonb_build_object('lane', 1, 'from', 'ready', 'to', 'ready')
  WHEN 'dispense.intent' THEN jsonb_build_object('vend_id', g / 3, 'lane', 1, 'units', 2,
       'prescription_id', 7, 'participant_id', 3, 'actor', 'participant:3')
  WHEN 'dispense.result' THEN jsonb_build_object('vend_id', g / 3, 'lane', 1, 'units', 2,
       'dropped', 2, 'outcome', 'complete', 'fault', null)
  ELSE jsonb_build_object('actor', 'system', 'subject', 'audit:' || g, 'action', 'note')
  END AS payload) AS t;
INSERT INTO fleet_lanestock (machine_id, lane, medication_id, stock, state, as_of_seq, stock_seq,
                             base_stock, dropped, state_seq)
SELECT {machine}, 1, 4, greatest(1000000000 - sum(CASE WHEN type = 'dispense.result' THEN 2
       ELSE 0 END), 0), 'ready', max(seq), 1, 1000000000,
       sum(CASE WHEN type = 'dispense.result' THEN 2 ELSE 0 END),
       coalesce(max(seq) FILTER (WHERE type = 'lane.state'), 0)
FROM fleet_event WHERE machine_id = {machine} AND lane = 1;
UPDATE fleet_machine SET last_seq = {count} WHERE id = {machine};
"""


class Pusher:
    """A provisioned machine that signs its pushes like a kiosk (docs/SYNC.md)."""

    def __init__(self, url: str, device_id: str, secret: str, next_seq: int = 1) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        self.device_id = device_id
        self.secret = secret
        self.next_seq = next_seq
        self.vend = next_seq

    def events(self, count: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            seq = self.next_seq
            self.next_seq += 1
            kind = seq % 4
            if kind == 0:
                payload: dict[str, Any] = {"vend_id": self.vend, "lane": 1, "units": 2}
                type_ = "dispense.intent"
            elif kind == 1:
                payload = {"vend_id": self.vend, "lane": 1, "dropped": 2, "outcome": "complete"}
                type_ = "dispense.result"
                self.vend += 1
            else:
                payload = {"actor": "system", "subject": f"audit:{seq}", "action": "note"}
                type_ = "audit.note"
            out.append(
                {
                    "seq": seq,
                    "id": str(uuid.uuid4()),
                    "type": type_,
                    "created_at": "2026-06-10T19:00:00.000000Z",
                    "payload": payload,
                }
            )
        return out

    def push(self, events: list[dict[str, Any]]) -> tuple[int, float, int | None]:
        """(status, seconds, stored_through)."""
        body = json.dumps({"events": events}).encode()
        headers = signed_headers(self.device_id, self.secret, "POST", PATH, body, int(time.time()))
        started = time.perf_counter()
        response = self.http.post(
            PATH, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        took = time.perf_counter() - started
        through = response.json().get("stored_through") if response.status_code == 200 else None
        return response.status_code, took, through


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(values: list[float]) -> str:
    return f"p50 {_pct(values, 0.5) * 1000:.1f} ms, p99 {_pct(values, 0.99) * 1000:.1f} ms"


@contextmanager
def gunicorn(hub: Hub, workers: int) -> Iterator[None]:
    log = hub.log_path.open("ab")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--chdir",
            str(MANAGE.parent),
            "--bind",
            f"127.0.0.1:{hub.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "hubsite.wsgi",
        ],
        env=hub.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{hub.url}/v1/sync/changes", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(hub.log_path.read_text()) from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def provision_machines(hub: Hub, names: list[str]) -> list[tuple[str, str, int]]:
    """(device_id, secret, machine pk) per name: enrolled in one shell, provisioned over HTTP."""
    out = hub.shell(
        "import json\n"
        "from fleet.models import EnrollmentCode, Machine, Site\n"
        "site, _ = Site.objects.get_or_create(name='Bench')\n"
        "codes = []\n"
        f"for name in {names!r}:\n"
        "    m = Machine.objects.create(site=site, name=name)\n"
        "    codes.append((EnrollmentCode.issue(m)[1], m.pk))\n"
        "print(json.dumps(codes))"
    )
    machines = []
    for code, pk in json.loads(out.splitlines()[-1]):
        body = httpx.post(f"{hub.url}/v1/provision", json={"code": code}, timeout=30).json()
        machines.append((body["device_id"], body["secret"], pk))
    return machines


def _psql_long(sql: str, database: str) -> None:
    """psql without the 60 s limit of tests.sync's helper (seeding 1M events takes minutes)."""
    subprocess.run(
        [*PSQL, "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        timeout=3600,
        stdout=subprocess.DEVNULL,
    )


def bench_latency(hub: Hub, database: str) -> None:
    machines = provision_machines(hub, ["prior-1k", "prior-big"])
    for (_, _, pk), count in zip(machines, (1000, PRIOR), strict=True):
        started = time.perf_counter()
        _psql_long(_SEED.format(machine=pk, count=count), database)
        print(f"  seeded {count:,} events in {time.perf_counter() - started:.0f} s")
    _psql_long("VACUUM ANALYZE fleet_event", database)
    for (device, secret, _), count in zip(machines, (1000, PRIOR), strict=True):
        pusher = Pusher(hub.url, device, secret, next_seq=count + 1)
        times = []
        for n in range(120):
            status, took, _ = pusher.push(pusher.events(20))
            assert status == 200, status
            if n >= 20:  # the first ones warm the workers' connections and caches
                times.append(took)
        print(f"(a) 20-event push, machine with {count:>9,} prior events: {_ms(times)}")
    explain(database, machines[1][2])


def explain(database: str, machine: int) -> None:
    """EXPLAIN ANALYZE of the push path's look-ups on the big machine."""
    queries = {
        "intent of a vend": "SELECT vend_id, payload FROM fleet_event WHERE machine_id = {m}"
        " AND type = 'dispense.intent' AND vend_id IN (1000, 2000, 300000) ORDER BY seq",
        "review item of a vend": "SELECT e.vend_id FROM fleet_syncexception x JOIN fleet_event e"
        " ON e.id = x.event_id WHERE x.machine_id = {m} AND e.type LIKE 'dispense.%'"
        " AND e.vend_id IN (1000, 2000, 300000)",
        "lane results after a seq": "SELECT payload FROM fleet_event WHERE machine_id = {m}"
        " AND lane = 1 AND seq > (SELECT last_seq - 50 FROM fleet_machine WHERE id = {m})"
        " AND type = 'dispense.result'",
        "_advance": "SELECT seq FROM fleet_event WHERE machine_id = {m} AND seq >"
        " (SELECT last_seq FROM fleet_machine WHERE id = {m}) ORDER BY seq",
        "events by seq (re-send check)": "SELECT seq, event_id FROM fleet_event WHERE"
        " machine_id = {m} AND seq IN (5, 500000, 999999)",
        "nonce purge": "DELETE FROM fleet_nonce WHERE seen_at < now() - interval '15 minutes'",
        "last contact": "UPDATE fleet_machine SET last_contact = now() WHERE id = {m}",
    }
    for name, sql in queries.items():
        plan = psql(f"EXPLAIN (ANALYZE, COSTS OFF) {sql.format(m=machine)}", database)
        lines = plan.splitlines()
        scans = [
            line.strip().lstrip("-> ").split(" (actual")[0] for line in lines if "Scan" in line
        ]
        total = next((line for line in lines if line.startswith("Execution Time")), "")
        print(f"    EXPLAIN {name}: {'; '.join(scans)}; {total}")


def _concurrently(target: Callable[..., None], args: list[Any]) -> float:
    """Run ``target(*a)`` for each ``a`` in its own thread; the seconds until all are done."""
    threads = [threading.Thread(target=target, args=a) for a in args]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def bench_rate(hub: Hub, machines: int = 4, batches: int = 8) -> None:
    pushers = [
        Pusher(hub.url, d, s)
        for d, s, _ in provision_machines(hub, [f"rate-{n}" for n in range(machines)])
    ]
    bodies = [[p.events(1000) for _ in range(batches)] for p in pushers]
    statuses: list[int] = []

    def run(pusher: Pusher, work: list[list[dict[str, Any]]]) -> None:
        for events in work:
            statuses.append(pusher.push(events)[0])

    took = _concurrently(run, list(zip(pushers, bodies, strict=True)))
    total = machines * batches * 1000
    print(
        f"(b) ingest: {machines} machines x {batches} pushes of 1,000 events at once:"
        f" {total:,} events in {took:.1f} s = {total / took:,.0f} events/s"
        f" (statuses {sorted(set(statuses))})"
    )


def bench_load(hub: Hub, database: str, pushers_count: int = 20) -> None:
    creds = provision_machines(hub, [f"load-{n}" for n in range(pushers_count)])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acked: dict[int, int] = {}
    sent: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def run(device: str, secret: str, pk: int) -> None:
        pusher = Pusher(hub.url, device, secret)
        rng = random.Random(pk)
        high = 0
        while time.monotonic() < deadline:
            events = pusher.events(rng.randint(1, 20))
            for _ in range(2 if rng.random() < 0.1 else 1):  # a lost reply: sent again
                status, took, through = pusher.push(events)
                with lock:
                    latencies.append(took)
                    statuses[status] = statuses.get(status, 0) + 1
                if through is not None:
                    high = max(high, through)
        with lock:
            acked[pk] = high
            sent[pk] = pusher.next_seq - 1

    took = _concurrently(run, creds)
    ids = ",".join(str(pk) for _, _, pk in creds)
    rows = psql(
        "SELECT machine_id, count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM"
        f" fleet_event WHERE machine_id IN ({ids}) GROUP BY machine_id",
        database,
    )
    stored = {int(r.split("|")[0]): [int(x) for x in r.split("|")[1:]] for r in rows.splitlines()}
    lost = sum(max(acked[pk] - stored.get(pk, [0, 0, 0])[1], 0) for pk in acked)
    duplicated = sum(count - distinct for count, distinct, _ in stored.values())
    missing = sum(sent[pk] - stored.get(pk, [0, 0, 0])[1] for pk in sent)
    errors = sum(n for status, n in statuses.items() if status >= 500)
    requests = sum(statuses.values())
    print(
        f"(c) load: {pushers_count} pushers for {took:.0f} s: {requests:,} requests"
        f" ({requests / took:,.0f}/s), {_ms(latencies)}; statuses {dict(sorted(statuses.items()))}"
    )
    print(
        f"    database: {sum(s[0] for s in stored.values()):,} events stored of"
        f" {sum(sent.values()):,} sent; lost (acknowledged, not stored) {lost},"
        f" duplicated {duplicated}, sent but not stored {missing}, 5xx {errors}"
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        database = f"bench_hub_{os.getpid()}_{secrets.token_hex(2)}"
        psql(f"CREATE DATABASE {database}")
        hub = Hub(database, Path(tmp))
        try:
            hub.manage("migrate", "--noinput")
            print(
                f"hub bench: gunicorn {WORKERS} gthread workers x 4 threads, PostgreSQL on"
                f" {PG['host']}:{PG['port']}, pushers in this process, {os.cpu_count()} cores"
            )
            with gunicorn(hub, WORKERS):
                bench_latency(hub, database)
                bench_rate(hub)
                bench_load(hub, database)
        finally:
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
