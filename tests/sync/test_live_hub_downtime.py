"""A dose given by hand through the real hub (a subprocess on PostgreSQL) and the kiosk's real
sync service (issue 17 item 4): the kiosk's dose pushed twice is one on the hub; the hub's
dose pulled twice and again in a snapshot is one on the kiosk; both sides count each once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.domain.dosing import RefusalReason, Refused, decide, history_days
from kiosk.domain.manual_doses import StockSource
from kiosk.domain.model import SiteClock
from kiosk.services.clock import FixedClock, SystemClock
from kiosk.services.manual_doses import ManualDoseService
from kiosk.services.staff import StaffService, StaffSession
from kiosk.services.sync import HubClient, SyncService, provision
from kiosk.store import sync_repo
from kiosk.store.db import connect
from kiosk.store.keyfile import create_key_file
from kiosk.store.pins import hash_pin
from kiosk.store.repository import Store
from tests.sync.test_live_hub import Hub, hub  # noqa: F401 # the module's live hub fixture

SITE = SiteClock("America/Vancouver")


def test_a_dose_by_hand_is_kept_and_counted_once_on_both_sides(hub: Hub, tmp_path: Path) -> None:  # noqa: F811
    code = "P-0917"
    enrollment = hub.manage("enroll_machine", "--site", "Downtime site", "--machine", "kiosk-d")
    credentials = provision(hub.url, enrollment.strip().splitlines()[-1].strip(), tmp_path)
    made = hub.shell(
        "import json, datetime\n"
        "from fleet.models import Machine, Participant, Prescription\n"
        f"m = Machine.objects.get(device_id={credentials.device_id!r})\n"
        f"p = Participant(machine=m, code={code!r}, display_name='By Hand')\n"
        "p.save()\n"
        "r = Prescription(participant=p, medication_name='Hydromorphone',"
        " medication_strength='8 mg', medication_form='tablet', units_per_dose=2,"
        " windows=[], interval_minutes=60, daily_max_units=4, missed_dose_limit=30,"
        " start_date=datetime.date.today() - datetime.timedelta(days=1))\n"
        "r.save()\n"
        "print(json.dumps({'rx': r.pk}))"
    )
    rx_hub = int(json.loads(made.splitlines()[-1])["rx"])
    clock = SystemClock()
    conn = connect(tmp_path / "kiosk.db", create_key_file(tmp_path / "db.key"))
    client = HubClient(hub.url, credentials, clock.now)
    sync = SyncService(conn, client, clock)
    store = Store(conn)

    def count_at_hub() -> int:
        said = hub.shell("from fleet.models import ManualDose\nprint(ManualDose.objects.count())")
        return int(said.splitlines()[-1])

    def verdict() -> object:
        found = store.participant_by_code(code)
        assert found is not None
        [rx] = store.prescriptions(found.id)
        now = clock.now()
        return decide(
            rx, store.history(rx.id, now - timedelta(days=history_days(SITE, rx))), now, SITE
        )

    try:
        sync.run_once()
        now = datetime.now(UTC)
        nurse = store.add_staff("Nurse", "nurse", hash_pin("615243"), now, "test")
        session = StaffSession(nurse, "Nurse", "nurse", now)
        fixed = FixedClock(now)
        service = ManualDoseService(store, fixed, StaffService(store, fixed))
        [choice] = service.choices(session)
        mine = service.record(
            session,
            choice,
            units=2,
            given_at=now - timedelta(minutes=10),
            source=StockSource.PHARMACY,
        )
        sync.run_once()
        # The reply lost: the same events again.
        conn.execute("UPDATE outbox SET sent_at = NULL")
        sync.run_once()
        assert count_at_hub() == 1
        kept = (
            hub.shell(
                "from fleet.models import ManualDose\n"
                "d = ManualDose.objects.get()\nprint(d.uuid, d.origin, d.prescription_id)"
            )
            .splitlines()[-1]
            .split()
        )
        assert kept == [mine.uuid, "kiosk", str(rx_hub)]

        hub.shell(
            "import datetime\nfrom django.utils import timezone\n"
            "from fleet import downtime\nfrom fleet.models import Prescription\n"
            f"rx = Prescription.objects.get(pk={rx_hub})\n"
            "downtime.record_manual_dose(rx, units=2,"
            " given_at=timezone.now() - datetime.timedelta(minutes=5),"
            " source='pharmacy_stock', lane=None, recorded_by='hub_user:1')"
        )
        cursor = sync_repo.read_state(conn).cursor
        sync.run_once()
        with conn:
            sync_repo.set_cursor(conn, cursor)  # the same page again
        sync.run_once()
        with conn:
            sync_repo.set_cursor(conn, 10**12)  # beyond the log: a snapshot
        sync.run_once()
        rows = conn.execute("SELECT uuid, origin FROM manual_doses ORDER BY origin").fetchall()
        assert len(rows) == 2 and [r[1] for r in rows] == ["hub", "kiosk"]
        history = store.history(choice.prescription_id, datetime.now(UTC) - timedelta(days=1))
        assert sum(d.units for d in history) == 4  # each counted once
        refused = verdict()
        assert isinstance(refused, Refused) and refused.reason is not RefusalReason.MISSED_DOSES
        assert count_at_hub() == 2
    finally:
        client.close()
        conn.close()
