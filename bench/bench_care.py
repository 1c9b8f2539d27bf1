"""`make bench` (care app part): render times of the care team's busiest pages on a big fleet.

500 machines over 50 sites, 30 participants each (15,000, with a prescription each), 4 lanes
each, some open alerts and silent machines, and a history of dispenses: every participant
1 or 2 a day (a ``dispense.intent`` and a ``dispense.result`` event each, ~33,000 events per
machine for a year). Seeded with SQL (``generate_series``) into its own database
(``bench_care_<pid>``, dropped at the end), newest days first in slices of days across every
machine, until the year is in or BENCH_CARE_SEED_SECONDS (default 300) have passed: what was
seeded is printed, exactly.

Then, through the real Django stack in this process (the test Client, a signed-in program
manager of every site, DEBUG off): p50/p95 of 50 renders each of ``/fleet/``, one machine's page
and ``/participants/?q=<code prefix>``, with the number of SQL queries of each. Goal: p95 under
200 ms. Figures only, never pass/fail. BENCH_CARE_DAYS=30 for a quick run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
PSQL = ("psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"])
DATABASE = f"bench_care_{os.getpid()}"

SITES = 50
MACHINES = 500
PARTICIPANTS = 30  # per machine
LANES = 4
DAYS = int(os.environ.get("BENCH_CARE_DAYS", "365"))
SEED_SECONDS = float(os.environ.get("BENCH_CARE_SEED_SECONDS", "300"))
DAYS_PER_SLICE = 15
RENDERS = 50
GOAL_MS = 200

_SEED_FLEET = f"""
INSERT INTO fleet_site (name, timezone, day_start_hour, missed_dose_days, updated_at)
SELECT 'Site ' || lpad(s::text, 2, '0'),
       (ARRAY['America/Vancouver', 'America/Edmonton', 'America/Toronto',
              'America/Halifax'])[1 + s % 4], 4, 3, now()
FROM generate_series(1, {SITES}) AS s;

INSERT INTO fleet_machine (site_id, name, device_id, secret_sealed, revoked, last_contact,
                           last_seq, created_at, software_version, anchor_head)
SELECT (SELECT min(id) FROM fleet_site) + (m - 1) % {SITES}, 'kiosk-' || m,
       'kiosk-bench-' || m, '', false,
       -- every 25th machine silent for hours, the rest heard from in the last few minutes
       now() - CASE WHEN m % 25 = 0 THEN interval '5 hours' ELSE (m % 7) * interval '1 minute'
               END,
       0, now(), CASE WHEN m % 10 = 0 THEN '' ELSE '0.1.0' END, ''
FROM generate_series(1, {MACHINES}) AS m ORDER BY m;

INSERT INTO fleet_participant (machine_id, code, display_name, language, status, updated_at)
SELECT mm.id, 'P-' || lpad(((mm.n - 1) * {PARTICIPANTS} + p)::text, 5, '0'),
       'Bench Person ' || ((mm.n - 1) * {PARTICIPANTS} + p), 'en', 'active', now()
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM fleet_machine) AS mm,
     generate_series(1, {PARTICIPANTS}) AS p
ORDER BY mm.n, p;

INSERT INTO fleet_prescription (participant_id, medication_name, medication_strength,
    medication_form, units_per_dose, windows, daily_max_units, start_date, accumulate, witnessed,
    status, hold_reason, hold_kind, updated_at)
SELECT id, 'hydromorphone', '8 mg', 'tablet', 2, '[["08:00", "11:00"], ["18:00", "21:00"]]',
       4, current_date - 400, false, false, 'active', '', '', now()
FROM fleet_participant ORDER BY id;

INSERT INTO fleet_lanestock (machine_id, lane, medication_id, stock, state, as_of_seq,
                             stock_seq, base_stock, dropped, state_seq)
SELECT id, l, 1, CASE WHEN id % 17 = 0 AND l = 2 THEN 8 ELSE 100 + (id * l) % 300 END,
       CASE WHEN id % 31 = 0 AND l = 1 THEN 'jammed' ELSE 'ready' END, 0, 0, NULL, 0, 0
FROM fleet_machine, generate_series(1, {LANES}) AS l;

INSERT INTO fleet_alert (machine_id, kind, message, created_at, acknowledged)
SELECT id, (ARRAY['kiosk:lane_jammed', 'kiosk:partial_dispense', 'event_gap'])[1 + id % 3],
       'bench alert', now() - interval '1 hour', id % 2 = 0
FROM fleet_machine WHERE id % 6 = 0;

-- Each machine's first prescription id (its 30 are consecutive), for the intents' payloads.
CREATE TABLE bench_first_prescription AS
SELECT q.machine_id AS id, min(r.id) AS first_prescription
FROM fleet_prescription r JOIN fleet_participant q ON q.id = r.participant_id
GROUP BY q.machine_id;
"""

# Days [first, last) before today, for every machine: participant p takes 1 + (p + day) % 2
# doses a day (1.5 on average); vend v = (day * 30 + p) * 2 + dose; seq 2v+1 intent, 2v+2
# result. Created across the day, the newest just before now.
_SEED_DAYS = f"""
INSERT INTO fleet_event (machine_id, seq, event_id, type, payload, created_at, received_at,
                         vend_id, lane)
SELECT mm.id, v.vend * 2 + e.kind + 1, gen_random_uuid(),
       CASE e.kind WHEN 0 THEN 'dispense.intent' ELSE 'dispense.result' END,
       CASE e.kind
         WHEN 0 THEN jsonb_build_object('vend_id', v.vend, 'lane', 1 + p % {LANES},
              'units', 2, 'prescription_hub_id', mm.first_prescription + p,
              'participant_id', p + 1, 'actor', 'participant:' || (p + 1))
         ELSE jsonb_build_object('vend_id', v.vend, 'lane', 1 + p % {LANES}, 'units', 2,
              'dropped', 2, 'outcome', 'complete')
       END,
       v.at, v.at, v.vend, 1 + p % {LANES}
FROM bench_first_prescription AS mm,
     generate_series({{first}}, {{last}} - 1) AS d,
     generate_series(0, {PARTICIPANTS} - 1) AS p,
     generate_series(0, 1) AS k,
     LATERAL (SELECT (d * {PARTICIPANTS} + p) * 2 + k AS vend,
                     now() - d * interval '1 day' - (p * 7 + k * 360 + 1) * interval '1 minute'
                     AS at) AS v,
     generate_series(0, 1) AS e(kind)
WHERE k < 1 + (p + d) % 2;
"""


def psql(sql: str, database: str = "postgres") -> str:
    done = subprocess.run(
        [*PSQL, "-d", database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql],
        check=False,  # the error below carries psql's message
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return done.stdout


def seed() -> tuple[int, int]:
    """The fleet, then slices of days until DAYS or the time budget: (days, events)."""
    started = time.perf_counter()
    psql(_SEED_FLEET, DATABASE)
    print(
        f"  fleet: {SITES} sites, {MACHINES} machines, {MACHINES * PARTICIPANTS:,}"
        f" participants and prescriptions, {MACHINES * LANES:,} lanes"
        f" ({time.perf_counter() - started:.0f} s)"
    )
    days = 0
    while days < DAYS and time.perf_counter() - started < SEED_SECONDS:
        last = min(days + DAYS_PER_SLICE, DAYS)
        psql(_SEED_DAYS.format(first=days, last=last), DATABASE)
        days = last
        print(f"  {days} days of dispenses ({time.perf_counter() - started:.0f} s)", flush=True)
    # Each machine's highest seq, as the push path keeps it.
    psql("DROP TABLE bench_first_prescription", DATABASE)
    psql(
        "UPDATE fleet_machine m SET last_seq = coalesce((SELECT max(seq) FROM fleet_event e"
        " WHERE e.machine_id = m.id), 0)",
        DATABASE,
    )
    psql("VACUUM ANALYZE", DATABASE)
    events = int(psql("SELECT count(*) FROM fleet_event", DATABASE))
    print(
        f"  seeded {days} of {DAYS} days: {events:,} events in"
        f" {time.perf_counter() - started:.0f} s (VACUUM ANALYZE included)"
    )
    return days, events


def setup_django() -> None:
    sys.path.insert(0, str(ROOT / "hub"))
    os.environ["HUB_DATABASE_URL"] = (
        f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{DATABASE}"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "hubsite.settings"
    os.environ.setdefault("HUB_SECRET_KEY", "bench-secret-key-" + "x" * 40)
    os.environ.setdefault("HUB_SECRET_WRAP_KEY", "bench-wrap-key-" + "y" * 40)
    os.environ["HUB_SECRETS_FILE"] = os.devnull
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # No collectstatic here: plain static names, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def measure(client: object, label: str, urls: list[str], **headers: str) -> None:
    from django.db import connection

    executed: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        first = client.get(urls[0], headers=headers)  # type: ignore[attr-defined]
    queries = executed
    if first.status_code != 200:
        print(f"  {label}: HTTP {first.status_code}, not measured")
        return
    times = []
    for n in range(RENDERS):
        started = time.perf_counter()
        response = client.get(urls[n % len(urls)], headers=headers)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (urls[n % len(urls)], response.status_code)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000
    print(
        f"  {label}: p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95:.0f} ms"
        f" ({'under' if p95 < GOAL_MS else 'OVER'} the {GOAL_MS} ms goal),"
        f" {len(queries)} queries, {len(first.content) // 1024} KiB"
    )


def bench() -> None:
    from care.models import Membership
    from care.roles import Role
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from fleet.models import Machine

    call_command("migrate", "--noinput", verbosity=0)
    days, events = seed()
    user = User.objects.create_user("bench-manager", password="not-used-" + "z" * 20)
    Membership.objects.create(user=user, role=Role.PROGRAM_MANAGER, site=None)
    client = Client()
    client.force_login(user)
    machine = Machine.objects.order_by("pk").values_list("pk", flat=True)[MACHINES // 2]
    print(f"renders ({RENDERS} each, {MACHINES} machines, {days} days, {events:,} events):")
    measure(client, "/fleet/ (first page, 50 of 500 machines)", ["/fleet/"])
    measure(client, "/fleet/ needs attention, by alerts", ["/fleet/?attention=on&sort=alerts"])
    measure(client, "/fleet/ htmx refresh (the table only)", ["/fleet/"], **{"HX-Request": "true"})
    measure(client, f"/fleet/{machine}/ (one machine)", [f"/fleet/{machine}/"])
    prefixes = [f"P-{n:03d}" for n in range(10, 150, 7)]  # ~10 participants each
    measure(
        client,
        "/participants/?q=<code prefix>",
        [f"/participants/?q={p}" for p in prefixes],
    )


def main() -> int:
    print(f"care app bench: database {DATABASE}")
    psql(f"CREATE DATABASE {DATABASE}")
    try:
        setup_django()
        bench()
    finally:
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
