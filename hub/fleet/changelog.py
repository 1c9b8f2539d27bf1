"""The change log kiosks pull (docs/SYNC.md, "Pull").

Written in the transaction of each change to a hub-owned record (``Synced.save``, and a
``pre_delete`` receiver for deletions, cascades included). Readers must never skip a row: a
row with a smaller seq that commits after one with a larger seq was read would be lost to a
cursor. So every writer takes one transaction-scoped advisory lock (PostgreSQL) before it
allocates a seq and keeps it until commit: rows become visible in seq order. SQLite serialises
writers anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.signals import pre_delete
from django.utils import timezone

from fleet.models import (
    ChangeLog,
    DoseElsewhere,
    GuestPass,
    LogState,
    Machine,
    ManualDose,
    Notice,
    Participant,
    Prescription,
    Site,
    StaffAccount,
    Synced,
    SyncEntry,
)

_LOCK_KEY = 0x6875625F6C6F67  # "hub_log"

# Records another app owns that a machine's snapshot must carry too (a callable per app,
# registered in its AppConfig.ready: care's remote-approval policy and approver seeds).
SNAPSHOT_SOURCES: list[Callable[[Machine], list[SyncEntry]]] = []


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _write(rows: list[tuple[str, SyncEntry]]) -> None:
    if not rows:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("change-log rows are written inside the change's transaction")
    _lock()
    at = timezone.now()
    for op, entry in rows:
        ChangeLog.objects.create(
            site_id=entry.site_id,
            machine_id=entry.machine_id,
            kind=entry.kind,
            key=entry.key,
            op=op,
            data=entry.data if op == "upsert" else None,
            at=at,
        )


def publish(rows: list[tuple[str, SyncEntry]]) -> None:
    """Write change-log rows for records that are not ``Synced`` models (an app's own
    records that kiosks pull); inside the change's transaction, like every writer."""
    _write(rows)


def _diff(before: list[SyncEntry], after: list[SyncEntry]) -> list[tuple[str, SyncEntry]]:
    """Tombstones for what left a place (another machine, a renamed key), upserts for what is
    new or different."""
    old = {e.ident(): e for e in before}
    new = {e.ident(): e for e in after}
    rows = [("delete", e) for ident, e in old.items() if ident not in new]
    rows += [
        ("upsert", e) for ident, e in new.items() if ident not in old or old[ident].data != e.data
    ]
    return rows


def record_save(instance: Synced, before: Synced | None) -> None:
    """Called by ``Synced.save`` inside its transaction, after the row is written."""
    rows = _diff(before.sync_entries() if before is not None else [], instance.sync_entries())
    # A participant's prescriptions follow it (to another machine) and name its code.
    if (
        isinstance(instance, Participant)
        and isinstance(before, Participant)
        and (before.machine_id, before.code) != (instance.machine_id, instance.code)
    ):
        rows += _moved_prescriptions(before, instance)
    _write(rows)


def record_upserts(entries: list[SyncEntry]) -> None:
    """Upserts of records no ``Synced`` model owns (fleet.oncall's ``alert_notice``), inside
    the caller's transaction."""
    _write([("upsert", entry) for entry in entries])


def _moved_prescriptions(before: Participant, after: Participant) -> list[tuple[str, SyncEntry]]:
    sites = dict(
        Machine.objects.filter(pk__in=[before.machine_id, after.machine_id]).values_list(
            "pk", "site_id"
        )
    )
    rows: list[tuple[str, SyncEntry]] = []
    for prescription in after.prescriptions.all():
        key = str(prescription.pk)
        old = SyncEntry(
            "prescription",
            key,
            prescription.sync_data(before),
            sites[before.machine_id],
            before.machine_id,
        )
        new = SyncEntry(
            "prescription",
            key,
            prescription.sync_data(after),
            sites[after.machine_id],
            after.machine_id,
        )
        rows += _diff([old], [new])
    return rows


def _tombstones(sender: type[Synced], instance: Synced, **kwargs: Any) -> None:
    origin = kwargs.get("origin")
    if isinstance(origin, Site) or (isinstance(origin, QuerySet) and origin.model is Site):
        # A site goes only without machines (PROTECT): nobody to tell, and its log goes too.
        return
    _write([("delete", entry) for entry in instance.sync_entries()])


def connect_signals() -> None:
    models = (Site, Participant, Prescription, StaffAccount, DoseElsewhere, GuestPass, Notice)
    for model in (*models, ManualDose):
        pre_delete.connect(_tombstones, sender=model, dispatch_uid=f"changelog-{model.__name__}")


# ---------------------------------------------------------------- reading


def trimmed_through() -> int:
    state = LogState.objects.filter(pk=1).first()
    return state.trimmed_through if state else 0


def head() -> int:
    """The newest seq issued (0 for an empty log)."""
    newest = ChangeLog.objects.aggregate(m=Max("seq"))["m"] or 0
    return max(newest, trimmed_through())


def _change(kind: str, key: str, op: str, data: Any) -> dict[str, Any]:
    return {"kind": kind, "op": op, "key": key, "data": data}


def changes_for(machine: Machine, cursor: int, limit: int) -> dict[str, Any]:
    """One pull page for a machine after ``cursor`` (docs/SYNC.md, "Pull")."""
    if cursor < trimmed_through() or cursor > head():
        return snapshot_for(machine)
    rows = list(
        ChangeLog.objects.filter(
            Q(machine=machine) | Q(machine__isnull=True, site_id=machine.site_id),
            seq__gt=cursor,
        ).order_by("seq")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "cursor": rows[-1].seq if rows else cursor,
        "snapshot": False,
        "more": more,
        "changes": [_change(r.kind, r.key, r.op, r.data) for r in rows],
    }


def snapshot_for(machine: Machine) -> dict[str, Any]:
    """Every current record of a machine, in one page. The cursor is read first: a change
    committed meanwhile may show in the records and comes again in the next page (upserts are
    idempotent); none can be missed."""
    with transaction.atomic():
        cursor = head()
        entries: list[SyncEntry] = list(machine.site.sync_entries())
        staff = StaffAccount.objects.filter(
            Q(machine=machine) | Q(site_id=machine.site_id)
        ).order_by("pk")
        for account in staff:
            entries += account.sync_entries()
        participants = list(Participant.objects.filter(machine=machine).order_by("pk"))
        for participant in participants:
            entries.append(
                SyncEntry("participant", participant.code, participant.sync_data(), 0, machine.pk)
            )
        by_id = {p.pk: p for p in participants}
        prescriptions = Prescription.objects.filter(participant__machine=machine).order_by("pk")
        for prescription in prescriptions:
            data = prescription.sync_data(by_id[prescription.participant_id])
            entries.append(SyncEntry("prescription", str(prescription.pk), data, 0, machine.pk))
        entries += _moves_for(machine)
        entries += _downtime_for(machine)
        for source in SNAPSHOT_SOURCES:
            entries += source(machine)
    return {
        "cursor": cursor,
        "snapshot": True,
        "more": False,
        "changes": [_change(e.kind, e.key, "upsert", e.data) for e in entries],
    }


# Doses elsewhere older than this are left out of a snapshot: the rules look back a few days
# (kiosk.domain.dosing.history_days), a kiosk that needs a snapshot needs no more.
SNAPSHOT_DOSES_DAYS = 31


def _moves_for(machine: Machine) -> list[SyncEntry]:
    """The recent doses elsewhere and the open guest blocks of a machine (fleet.moves)."""
    since = timezone.now() - timedelta(days=SNAPSHOT_DOSES_DAYS)
    entries: list[SyncEntry] = []
    doses = DoseElsewhere.objects.filter(machine=machine, taken_at__gte=since)
    for dose in doses.select_related("manual_dose").order_by("pk"):
        entries.append(SyncEntry(dose.sync_kind, str(dose.pk), dose.sync_data(), 0, machine.pk))
    passes = GuestPass.objects.filter(home__machine=machine, state__in=GuestPass.BLOCKING)
    for guest_pass in passes.order_by("pk"):
        entries += guest_pass.sync_entries()
    return entries


def _downtime_for(machine: Machine) -> list[SyncEntry]:
    """The machine's notices not withdrawn nor over (its site's and its participants'), and
    its manual doses of the last ``SNAPSHOT_DOSES_DAYS`` (kept once per uuid by the kiosk)."""
    today = timezone.now().date()
    entries: list[SyncEntry] = []
    notices = Notice.objects.filter(
        Q(participant__machine=machine) | Q(participant__isnull=True, site_id=machine.site_id),
        withdrawn_at__isnull=True,
        ends_on__gte=today - timedelta(days=1),
    ).select_related("participant")
    for notice in notices.order_by("pk"):
        entries.append(
            SyncEntry(notice.sync_kind, str(notice.uuid), notice.sync_data(), 0, machine.pk)
        )
    since = timezone.now() - timedelta(days=SNAPSHOT_DOSES_DAYS)
    for dose in ManualDose.objects.filter(machine=machine, given_at__gte=since).order_by("pk"):
        entries.append(SyncEntry(dose.sync_kind, str(dose.uuid), dose.sync_data(), 0, machine.pk))
    return entries


def trim(now: datetime | None = None, days: int | None = None) -> int:
    """Delete log rows older than the retention; returns the new trimmed-through seq."""
    from django.conf import settings

    days = settings.HUB_CHANGELOG_RETAIN if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        _lock()
        last = ChangeLog.objects.filter(at__lt=cutoff).aggregate(m=Max("seq"))["m"]
        state, _ = LogState.objects.select_for_update().get_or_create(pk=1)
        if last is not None and last > state.trimmed_through:
            ChangeLog.objects.filter(seq__lte=last).delete()
            state.trimmed_through = last
            state.save()
        return state.trimmed_through
