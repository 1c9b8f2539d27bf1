"""End to end against the real Django hub on PostgreSQL (docs/SYNC.md).

Starts ``hub/manage.py runserver`` on a free loopback port against a fresh PostgreSQL
database (created and dropped here), enrolls a machine with ``enroll_machine``, provisions,
pulls a participant and prescription made on the hub, pushes a day of dispenses made while the
hub was down (all arrive once, also when an acknowledgement is lost) and pulls a prescription
change; a kiosk whose audit anchor goes back, or whose database is replaced, is alerted on.
Skipped when the hub, Django or PostgreSQL is not there.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.app import start_sync
from kiosk.domain.model import Window
from kiosk.services.clock import SystemClock
from kiosk.services.config import Config
from kiosk.services.sync import HubClient, HubRefused, HubUnreachable, SyncService, provision
from kiosk.store import sync_repo
from kiosk.store.anchor import Anchor, anchor_path, chain_head, hash_at, write_anchor
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.repository import Intent, Store

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "hub" / "manage.py"
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}

PSQL = ("psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"])

pytestmark = pytest.mark.slow


def _pg_ready() -> bool:
    if shutil.which("psql") is None:
        return False
    try:
        with socket.create_connection((PG["host"], int(PG["port"])), timeout=1):
            return True
    except OSError:
        return False


def _django_ready() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import django, psycopg"], capture_output=True, check=False
    )
    return probe.returncode == 0


# The kiosk-to-hub tests run against a real PostgreSQL. They fail, never skip, when it is
# missing: `.ci/run` installs and starts it, and a green run must mean they ran.
if not (MANAGE.exists() and _pg_ready() and _django_ready()):
    pytest.fail(
        "the hub, Django/psycopg or PostgreSQL on 127.0.0.1:5432 is not available", pytrace=False
    )


def psql(sql: str, database: str = "postgres") -> str:
    out = subprocess.run(
        [*PSQL, "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hub:
    def __init__(self, database: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HUB_DATABASE_URL": f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{database}",
            "HUB_SECRET_KEY": secrets.token_hex(32),
            # DEBUG off: the hub refuses to start without both keys (hub/hubsite/keys.py).
            "HUB_SECRET_WRAP_KEY": secrets.token_hex(32),
            "PYTHONUNBUFFERED": "1",
        }
        self.log_path = workdir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, str(MANAGE), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if out.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code).strip()

    def start(self) -> None:
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # an external process: poll its port
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited:\n{self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the hub did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    database = f"kiosk_sync_{secrets.token_hex(4)}"
    psql(f"CREATE DATABASE {database}")
    server = Hub(database, tmp_path_factory.mktemp("hub"))
    try:
        server.manage("migrate", "--noinput")
        server.start()
        yield server
    finally:
        server.stop()
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def hub_events(hub: Hub, device_id: str) -> tuple[int, int, int]:
    """(events, distinct seqs, highest seq) the hub holds for a device."""
    database = hub.env["HUB_DATABASE_URL"].rsplit("/", 1)[1]
    row = psql(
        "SELECT count(*), count(DISTINCT e.seq), coalesce(max(e.seq), 0) FROM fleet_event e"
        f" JOIN fleet_machine m ON m.id = e.machine_id WHERE m.device_id = '{device_id}'",
        database,
    )
    a, b, c = row.split("|")
    return int(a), int(b), int(c)


def test_kiosk_and_hub_end_to_end(hub: Hub, tmp_path: Path) -> None:
    code = hub.manage("enroll_machine", "--site", "Live site", "--machine", "kiosk-1")
    code = code.strip().splitlines()[-1].strip()
    credentials = provision(hub.url, code, tmp_path)
    with pytest.raises(HubRefused):  # a code works once
        provision(hub.url, code, tmp_path / "again")

    # The hub's staff put a participant and a prescription on this machine.
    made = hub.shell(
        "import json, datetime\n"
        "from fleet.models import Machine, Participant, Prescription\n"
        f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
        "p = Participant(machine=m, code='P-0001', display_name='Live Person')\n"
        "p.save()\n"
        "r = Prescription(participant=p, medication_name='Hydromorphone',"
        " medication_strength='8 mg', medication_form='tablet', units_per_dose=2,"
        " windows=[['00:00', '23:59']], daily_max_units=40,"
        " start_date=datetime.date(2026, 1, 1))\n"
        "r.save()\n"
        "print(json.dumps({'rx': r.pk}))"
    )
    hub_rx = str(json.loads(made.splitlines()[-1])["rx"])

    key = create_key_file(tmp_path / "db.key")
    conn = connect(tmp_path / "kiosk.db", key)
    store = Store(conn)
    clock = SystemClock()
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, client, clock)
    try:
        report = sync.run_once()
        assert report.pulled >= 2
        participant = store.participant_by_code("P-0001")
        assert participant is not None and participant.display_name == "Live Person"
        [rx] = store.prescriptions(participant.id)
        assert rx.units_per_dose == 2 and rx.windows == (
            Window(*[datetime.strptime(t, "%H:%M").time() for t in ("00:00", "23:59")]),
        )
        local_rx = rx.id
        assert conn.execute(
            "SELECT hub_id FROM prescriptions WHERE id = ?", (local_rx,)
        ).fetchone() == (hub_rx,)

        # A day of dispenses while the hub is down: nothing is lost, nothing waits on it.
        hub.stop()
        now = clock.now()
        store.set_lane(1, rx.medication.id, 500, now, "staff:1")
        vend = store.new_vend_id()
        for i in range(24):
            at = now - timedelta(hours=24 - i)
            store.record_intent(Intent(vend + i, participant.id, local_rx, 1, 2, at))
            store.record_result(vend + i, 2, "complete", None, at + timedelta(seconds=5))
        waiting = sync_repo.pending_count(conn)
        assert waiting >= 49
        with pytest.raises(HubUnreachable):
            sync.run_once()
        assert sync_repo.pending_count(conn) >= waiting  # nothing sent, nothing lost (+ the alert)
        assert "cannot be reached" in sync_repo.read_state(conn).last_error

        hub.start()
        report = sync.run_once()
        assert report.waiting == 0
        total = int(conn.execute("SELECT max(seq) FROM outbox").fetchone()[0])
        assert hub_events(hub, credentials.device_id) == (total, total, total)

        # A lost acknowledgement: the same events go again and are stored once.
        conn.execute("UPDATE outbox SET sent_at = NULL WHERE seq > ?", (total - 10,))
        sync.run_once()
        assert sync_repo.pending_count(conn) == 0
        assert hub_events(hub, credentials.device_id) == (total, total, total)

        # The prescription changes on the hub; the kiosk pulls it onto the same local id.
        hub.shell(
            "from fleet.models import Prescription\n"
            f"r = Prescription.objects.get(pk={hub_rx})\n"
            "r.units_per_dose = 3\n"
            "r.save()"
        )
        sync.run_once()
        [rx] = store.prescriptions(participant.id)
        assert (rx.id, rx.units_per_dose) == (local_rx, 3)
        assert sync_repo.read_state(conn).last_error == ""
        assert sync_repo.open_conflict_count(conn) == 0
    finally:
        client.close()
        conn.close()


def test_the_app_starts_the_sync_thread_which_provisions_itself(hub: Hub, tmp_path: Path) -> None:
    code = hub.manage("enroll_machine", "--site", "Live site", "--machine", "kiosk-2")
    code = code.strip().splitlines()[-1].strip()
    key = create_key_file(tmp_path / "db.key")
    conn = connect(tmp_path / "kiosk.db", key)
    store = Store(conn)
    store.note(datetime.now(UTC), "system", "test.event", "boot")
    config = Config(data_dir=tmp_path, hub_url=hub.url, hub_enrollment_code=code)
    thread = start_sync(config, SystemClock())
    try:
        assert thread is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the thread's first round, over real HTTP
            if sync_repo.read_state(conn).last_success_at is not None:
                break
            time.sleep(0.1)
        state = sync_repo.read_state(conn)
        assert state.last_success_at is not None, state.last_error
        assert sync_repo.pending_count(conn) == 0
        assert (tmp_path / "hub-credentials.json").exists()
    finally:
        if thread is not None:
            thread.stop(timeout=30)
        conn.close()


def machine_with_a_prescription(
    hub: Hub, tmp_path: Path, site: str, machine: str, code: str
) -> tuple[Any, int]:
    """Enroll and provision a machine; the hub's staff give it a participant with one
    prescription. Returns the kiosk's credentials and the hub's prescription id."""
    enrollment = hub.manage("enroll_machine", "--site", site, "--machine", machine)
    credentials = provision(hub.url, enrollment.strip().splitlines()[-1].strip(), tmp_path)
    made = hub.shell(
        "import json, datetime\n"
        "from fleet.models import Machine, Participant, Prescription\n"
        f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
        f"p = Participant(machine=m, code={code!r}, display_name='Hub Person')\n"
        "p.save()\n"
        "r = Prescription(participant=p, medication_name='Hydromorphone',"
        " medication_strength='8 mg', medication_form='tablet', units_per_dose=2,"
        " windows=[['08:00', '20:00']], daily_max_units=8,"
        " start_date=datetime.date(2026, 1, 1))\n"
        "r.save()\n"
        "print(json.dumps({'rx': r.pk}))"
    )
    return credentials, int(json.loads(made.splitlines()[-1])["rx"])


def test_a_missed_dose_hold_decided_by_the_kiosk_is_respected_by_the_hub(
    hub: Hub, tmp_path: Path
) -> None:
    credentials, hub_rx = machine_with_a_prescription(
        hub, tmp_path, "Hold site", "kiosk-h", "P-0009"
    )
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    store = Store(conn)
    clock = SystemClock()
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, client, clock)
    try:
        sync.run_once()
        local = conn.execute(
            "SELECT id FROM prescriptions WHERE hub_id = ?", (str(hub_rx),)
        ).fetchone()[0]
        # Days without a pickup: the kiosk's rules put the prescription on hold.
        assert store.hold_prescription(
            local, "needs prescriber review", "missed_doses", clock.now(), "system:rules"
        )
        sync.run_once()
        status = hub.shell(
            "from fleet.models import Prescription\n"
            f"r = Prescription.objects.get(pk={hub_rx})\n"
            "print(r.status, r.hold_kind)"
        )
        assert status.splitlines()[-1] == "on_hold missed_doses"
    finally:
        client.close()
        conn.close()


@pytest.mark.parametrize("offset_hours", [1, -1])
def test_a_kiosk_clock_an_hour_off_is_refused_clearly_and_loses_nothing(
    hub: Hub, tmp_path: Path, offset_hours: int
) -> None:
    from kiosk.services.sync import ClockSkew

    code = hub.manage(
        "enroll_machine", "--site", "Skew site", "--machine", f"kiosk-skew{offset_hours}"
    )
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), tmp_path)
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    store = Store(conn)
    clock = SystemClock()
    store.add_participant("P-0001", "Person", "en", clock.now(), "test")
    waiting = sync_repo.pending_count(conn)
    wrong = lambda: clock.now() + timedelta(hours=offset_hours)  # noqa: E731
    skewed = HubClient(hub.url, credentials, wrong)
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, skewed, clock)
    try:
        with pytest.raises(ClockSkew, match="differs from the hub's by 60 minutes"):
            sync.run_once()
        assert sync_repo.pending_count(conn) >= waiting  # nothing sent, nothing lost (+ the alert)
        assert "differs from the hub's by 60 minutes" in (
            sync_repo.read_state(conn).last_error or ""
        )
        right = SyncService(conn, client, clock)
        right.run_once()  # the clock fixed: everything arrives
        assert sync_repo.pending_count(conn) == 0
    finally:
        skewed.close()
        client.close()
        conn.close()


def test_a_kiosk_edit_of_a_hub_prescription_becomes_a_conflict_for_staff(
    hub: Hub, tmp_path: Path
) -> None:
    credentials, hub_rx = machine_with_a_prescription(
        hub, tmp_path, "Edit site", "kiosk-e", "P-0010"
    )
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    store = Store(conn)
    clock = SystemClock()
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, client, clock)
    try:
        sync.run_once()
        local = conn.execute(
            "SELECT id FROM prescriptions WHERE hub_id = ?", (str(hub_rx),)
        ).fetchone()[0]
        spec = {
            "medication_id": 1,
            "units_per_dose": 3,
            "windows": [["08:00", "20:00"]],
            "daily_max_units": 9,
            "start_date": "2026-01-01",
            "end_date": None,
            "interval_minutes": None,
            "max_doses_per_day": None,
            "accumulate": False,
            "witnessed": False,
            "missed_dose_limit": None,
        }
        store.update_prescription(local, spec, "dose raised by phone order", clock.now(), "staff:1")
        sync.run_once()
        reasons = hub.shell(
            "from fleet.models import SyncException\n"
            "for e in SyncException.objects.filter(kind='conflict'):\n"
            "    print(e.reason)"
        )
        assert "prescription.changed" in reasons
        assert f"prescription {hub_rx}" in reasons
        assert "dose raised by phone order" in reasons
    finally:
        client.close()
        conn.close()


def hub_anchor_state(hub: Hub, device_id: str) -> tuple[int | None, list[str]]:
    """(the anchor entries the hub holds, the kinds of its open alerts) for a device."""
    out = hub.shell(
        "import json\n"
        "from fleet.models import Machine\n"
        f"m = Machine.objects.get(device_id={device_id!r})\n"
        "kinds = sorted(m.alerts.filter(acknowledged=False).values_list('kind', flat=True))\n"
        "print(json.dumps([m.anchor_entries, kinds]))"
    )
    entries, kinds = json.loads(out.splitlines()[-1])
    return entries, kinds


def test_a_kiosk_whose_records_go_back_or_are_replaced_is_alerted_on_the_hub(
    hub: Hub, tmp_path: Path
) -> None:
    code = hub.manage("enroll_machine", "--site", "Anchor site", "--machine", "kiosk-a")
    credentials = provision(hub.url, code.strip().splitlines()[-1].strip(), tmp_path)
    database = tmp_path / "kiosk.db"
    clock = SystemClock()
    client = HubClient(hub.url, credentials, clock.now)

    def record(conn: Any, n: int) -> Anchor:
        """n audited events, then what the store writes after a dispense: the anchor."""
        for i in range(n):
            Store(conn).note(clock.now(), "system", "test.event", f"thing:{i}")
        head = chain_head(conn)
        assert head is not None
        write_anchor(anchor_path(database), head)
        return head

    conn = connect(database, create_key_file(tmp_path / "db.key"))
    try:
        sync = SyncService(conn, client, clock)
        first = record(conn, 5)
        older = Anchor(3, str(hash_at(conn, 3)))
        sync.run_once()
        assert hub_anchor_state(hub, credentials.device_id) == (first.entries, [])

        # The records go back (an old copy put back): the next push raises the alert.
        write_anchor(anchor_path(database), older)
        sync.run_once()
        assert hub_anchor_state(hub, credentials.device_id) == (first.entries, ["records_missing"])
    finally:
        conn.close()

    # The database replaced by another one that has grown past what the hub held: its count is
    # higher, but its entry 5 is not the one the hub acknowledged (``prior``).
    for leftover in (
        database,
        database.with_name("kiosk.db-wal"),
        database.with_name("kiosk.db-shm"),
    ):
        leftover.unlink(missing_ok=True)
    conn = connect(database, create_key_file(tmp_path / "db2.key"))
    try:
        sync = SyncService(conn, client, clock)
        replaced = record(conn, 8)
        sync.run_once()
        entries, kinds = hub_anchor_state(hub, credentials.device_id)
        assert entries == replaced.entries
        assert "records_changed" in kinds
    finally:
        client.close()
        conn.close()


def test_an_event_the_hub_cannot_accept_is_set_aside_and_sync_goes_on_both_ways(
    hub: Hub, tmp_path: Path
) -> None:
    """Issue 13, finding 2, end to end: an event that breaks the hub's schema (a negative
    count, as an older kiosk could send) is quarantined on the hub, acknowledged, shown on the
    kiosk, and neither the events after it nor the hub's changes are held up."""
    from kiosk.domain.alerts import AlertKind
    from kiosk.store import outbox

    credentials, _ = machine_with_a_prescription(hub, tmp_path, "Quarantine site", "kiosk-q", "P-1")
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    store = Store(conn)
    clock = SystemClock()
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, client, clock)
    try:
        sync.run_once()
        bad = outbox.add(conn, clock.now(), "dispense.result", {"lane": 1, "dropped": -3})
        store.add_participant("P-0002", "Kiosk Person", "en", clock.now(), "test")
        hub.shell(
            "from fleet.models import Machine, Participant\n"
            f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
            "Participant(machine=m, code='P-0003', display_name='Later Person').save()"
        )
        sync.run_once()
        assert sync_repo.pending_count(conn) == 0  # acknowledged, the later events too
        [held] = sync_repo.quarantined_events(conn)
        assert held.seq == bad and "dropped" in held.reason
        assert [(kind, subject) for _, kind, subject, _ in store.open_alerts()] == [
            (AlertKind.SYNC_EVENT_QUARANTINED.value, f"event:{bad}")
        ]
        assert conn.execute("SELECT count(*) FROM participants WHERE code = 'P-0003'").fetchone()[
            0
        ]  # the pull came through
        on_hub = hub.shell(
            "from fleet.models import Alert, Machine, QuarantinedEvent\n"
            f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
            "q = list(QuarantinedEvent.objects.filter(machine=m).values_list('seq', flat=True))\n"
            "a = Alert.objects.filter(machine=m, kind='event_quarantined').count()\n"
            "print(q, a, m.last_seq)"
        ).splitlines()[-1]
        _, _, highest = hub_events(hub, credentials.device_id)
        assert on_hub == f"[{bad}] 1 {highest}"
        assert highest > bad
    finally:
        client.close()
        conn.close()


def test_a_dose_given_at_one_machine_counts_at_the_other_once_synced(
    hub: Hub, tmp_path: Path
) -> None:
    """Issue 14, transfers and guest doses (docs/SYNC.md): the same participant on two machines;
    a dose at one reaches the other through the real hub as a dose elsewhere, and the other
    machine's own rules then refuse a second dose of the day."""
    from kiosk.domain.dosing import Allowed, Refused, decide, history_days
    from kiosk.domain.model import SiteClock

    site, code = "Two-machine site", "P-0700"
    clock = SystemClock()
    kiosks = []
    for name in ("kiosk-a", "kiosk-b"):
        enrollment = hub.manage("enroll_machine", "--site", site, "--machine", name)
        folder = tmp_path / name
        folder.mkdir()
        credentials = provision(hub.url, enrollment.strip().splitlines()[-1].strip(), folder)
        hub.shell(
            "import datetime\n"
            "from fleet.models import Machine, Participant, Prescription\n"
            f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
            f"p = Participant(machine=m, code={code!r}, display_name='Two Places')\n"
            "p.save()\n"
            "Prescription(participant=p, medication_name='Hydromorphone',"
            " medication_strength='8 mg', medication_form='tablet', units_per_dose=2,"
            " windows=[], interval_minutes=60, daily_max_units=2,"
            " start_date=datetime.date.today()).save()"
        )
        conn = connect(folder / "kiosk.db", create_key_file(folder / "db.key"))
        client = HubClient(hub.url, credentials, clock.now)
        kiosks.append((conn, Store(conn), client, SyncService(conn, client, clock)))
    (_, store_a, _, sync_a), (_, store_b, _, sync_b) = kiosks
    site_clock = SiteClock("America/Vancouver")

    def verdict(store: Store) -> Allowed | Refused:
        found = store.participant_by_code(code)
        assert found is not None
        [rx] = store.prescriptions(found.id)
        now = clock.now()
        return decide(
            rx,
            store.history(rx.id, now - timedelta(days=history_days(site_clock, rx))),
            now,
            site_clock,
        )

    try:
        sync_a.run_once()
        sync_b.run_once()
        assert isinstance(verdict(store_b), Allowed)
        found = store_a.participant_by_code(code)
        assert found is not None
        [rx_a] = store_a.prescriptions(found.id)
        now = clock.now()
        store_a.set_lane(1, rx_a.medication.id, 50, now, "staff:1")
        vend = store_a.new_vend_id()
        store_a.record_intent(Intent(vend, found.id, rx_a.id, 1, 2, now))
        store_a.record_result(vend, 2, "complete", None, now + timedelta(seconds=5))
        assert isinstance(verdict(store_a), Refused)  # the day's 2 units are given

        sync_a.run_once()  # the dose reaches the hub...
        assert isinstance(verdict(store_b), Allowed)  # ...not yet kiosk-b: offline window
        sync_b.run_once()  # ...and now kiosk-b
        refused = verdict(store_b)
        assert isinstance(refused, Refused), refused
    finally:
        for conn, _, client, _ in kiosks:
            client.close()
            conn.close()


def test_an_alert_raised_at_the_kiosk_is_escalated_and_the_kiosk_learns_who_was_told(
    hub: Hub, tmp_path: Path
) -> None:
    """Issue 15 end to end across both sides: a door alert raised in the kiosk's store reaches
    the hub with the next push, the escalation engine tells the site's on-call person, and the
    kiosk's next pull brings back who was told (an ``alert_notice`` linked to its own alert)."""
    from kiosk.domain.alerts import AlertKind
    from kiosk.store.sync_repo import alert_notices

    credentials, _ = machine_with_a_prescription(hub, tmp_path, "Night site", "kiosk-n", "P-9")
    hub.shell(
        "from fleet.models import Machine, OnCallContact\n"
        f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
        "OnCallContact(site=m.site, name='Maria Lopez', role='site_staff',"
        " email='night@example.org').save()"
    )
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    store = Store(conn)
    clock = SystemClock()
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, client, clock)
    try:
        sync.run_once()
        assert store.raise_alert(AlertKind.DOOR, "machine", "service door opened", clock.now())
        [(alert_id, *_)] = store.open_alerts()
        sync.run_once()  # the alert reaches the hub
        hub.manage("run_escalations", "--once")
        sync.run_once()  # who was told comes back
        [notice] = alert_notices(conn)
        assert notice.kiosk_alert_id == alert_id
        assert [(p.label, p.role.value) for p in notice.told] == [("Maria L.", "site_staff")]
    finally:
        client.close()
        conn.close()


def test_i_need_help_reaches_the_hubs_chain_and_its_acknowledgement_comes_back(
    hub: Hub, tmp_path: Path
) -> None:
    """Issue 17: "I need help" raised at the kiosk is pushed (the service wakes the sync
    thread), becomes the hub's help_requested alert and tells the site's staff; the screen's
    news follows: not told before the push, told after it, then whom the hub told, and
    "someone is coming" once the hub's acknowledgement is pulled back."""
    from kiosk.domain.told import AlertRecord, NoticeRole
    from kiosk.services.help import HelpService

    credentials, _ = machine_with_a_prescription(hub, tmp_path, "Help site", "kiosk-h", "P-7")
    hub.shell(
        "from fleet.models import Machine, OnCallContact\n"
        f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
        "OnCallContact(site=m.site, name='Ana Silva', role='site_staff',"
        " email='help@example.org').save()"
    )
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    store = Store(conn)
    clock = SystemClock()
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, client, clock)
    woken: list[bool] = []
    service = HelpService(store, clock, wake=lambda: woken.append(True), hub=True)
    try:
        sync.run_once()
        asked = service.ask(None)
        assert woken and asked.told.record is AlertRecord.NONE  # nothing claimed yet
        sync.run_once()  # the push the wake asked for
        assert service.news(asked.alert_id).told.record is AlertRecord.RECORDED
        kind = hub.shell(
            "from fleet.models import Alert\n"
            "from fleet.alert_kinds import hub_kind\n"
            f"a = Alert.objects.get(kiosk_alert_id={asked.alert_id}, machine__device_id="
            f"{credentials.device_id!r})\n"
            "print(a.kind, hub_kind(a.kind).value)"
        )
        # The shell may first say what it imported: the answer is the last line.
        assert kind.splitlines()[-1].split() == ["kiosk:help", "help_requested"]
        hub.manage("run_escalations", "--once")
        sync.run_once()
        news = service.news(asked.alert_id)
        assert news.told.role is NoticeRole.SITE_STAFF and not news.coming
        hub.shell(
            "from django.utils import timezone\n"
            "from fleet import oncall\n"
            "from fleet.models import Alert\n"
            f"a = Alert.objects.get(kiosk_alert_id={asked.alert_id}, machine__device_id="
            f"{credentials.device_id!r})\n"
            "oncall.acknowledge(a, timezone.now(), role='site_staff', label='Ana S.', via='page')"
        )
        sync.run_once()
        assert service.news(asked.alert_id).coming
    finally:
        client.close()
        conn.close()
