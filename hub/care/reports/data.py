"""The reports' queries: a bounded number of queries per report, whatever the number of rows
(events by the (machine, lane, seq) and (machine, type, seq) indexes; prescriptions and
participants fetched once by id). Every query is limited to the machines the caller passes,
which the pages take from the user's sites only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Max, Min, Q
from fleet.models import Event, Machine, Participant, Prescription, Site

from care.reports import days, ledger
from care.reports.ledger import LaneDay, LaneEvent, Movement

INTENT, RESULT = "dispense.intent", "dispense.result"
# A result is stored a few seconds after its intent; one that arrives later than this after the
# end of the range is left to the next run (the kiosk settles a vend within minutes).
RESULT_MARGIN = timedelta(days=1)
LOT_NOT_RECORDED = "not recorded"  # the kiosk records no lot numbers (docs/CARE.md, Reports)


@dataclass(frozen=True)
class Scope:
    """What a report covers: machines (already limited to the user's sites), dosing days."""

    machines: tuple[Machine, ...]
    first: date
    last: date

    def bounds(self, machine: Machine) -> tuple[datetime, datetime]:
        return days.range_bounds(machine.site, self.first, self.last)

    def in_range(self) -> Q:
        """Events of these machines within each one's own site's days."""
        q = Q(pk__in=[])
        for machine in self.machines:
            start, end = self.bounds(machine)
            q |= Q(machine=machine, created_at__gte=start, created_at__lt=end)
        return q


def medication_labels(prescription_ids: Iterable[int]) -> dict[int, Prescription]:
    ids = {i for i in prescription_ids if type(i) is int}
    rows = Prescription.objects.filter(pk__in=ids).select_related("participant")
    return {p.pk: p for p in rows}


def medication_text(p: Prescription | None) -> str:
    if p is None:
        return "unknown medication"
    return f"{p.medication_name} {p.medication_strength} {p.medication_form}"


# ---------------------------------------------------------------- lane ledgers


@dataclass
class LaneHistory:
    machine: Machine
    lane: int
    moves: list[Movement]
    intents: list[tuple[datetime, dict[str, Any], bool]] = field(default_factory=list)


def lane_histories(scope: Scope) -> list[LaneHistory]:
    """Each lane's movements from its last stock statement before the range up to the end of
    the range (what the opening balance needs, never the whole history), with its intents."""
    if not scope.machines:
        return []
    starts = {m.pk: scope.bounds(m)[0] for m in scope.machines}
    ends = {m.pk: scope.bounds(m)[1] for m in scope.machines}
    # Per machine: the oldest of its lanes' newest statements before the range.
    first_seq: dict[int, int] = {}
    for machine in scope.machines:
        newest = (
            Event.objects.filter(
                machine=machine, lane__isnull=False, created_at__lt=starts[machine.pk]
            )
            .filter(payload__has_key="stock")
            .values("lane")
            .annotate(seq=Max("seq"))
            .aggregate(oldest=Min("seq"))
        )
        first_seq[machine.pk] = newest["oldest"] or 0
    q = Q(pk__in=[])
    for machine in scope.machines:
        q |= Q(
            machine=machine,
            seq__gte=first_seq[machine.pk],
            created_at__lt=ends[machine.pk] + RESULT_MARGIN,
        )
    rows = (
        Event.objects.filter(q, lane__isnull=False, type__in=(*ledger.MOVEMENT_TYPES, INTENT))
        .order_by("machine_id", "seq")
        .values_list("machine_id", "lane", "seq", "type", "payload", "created_at", "vend_id")
    )
    intent_at: dict[tuple[int, int], datetime] = {}
    per_lane: dict[tuple[int, int], list[LaneEvent]] = defaultdict(list)
    intents: dict[tuple[int, int], list[tuple[int, datetime, dict[str, Any]]]] = defaultdict(list)
    results: set[tuple[int, int]] = set()
    for machine_id, lane, seq, type_, payload, created_at, vend_id in rows:
        if type_ == INTENT:
            if vend_id is not None:
                intent_at[(machine_id, vend_id)] = created_at
                intents[(machine_id, lane)].append((vend_id, created_at, payload))
            continue
        at = created_at
        if type_ == RESULT and vend_id is not None:
            results.add((machine_id, vend_id))
            at = intent_at.get((machine_id, vend_id), created_at)
        per_lane[(machine_id, lane)].append(LaneEvent(at, seq, type_, payload))
    # Results not yet read (a late one): asked for by vend id, so "unsettled" is true.
    pending = [
        (m, v) for (m, _), rows_ in intents.items() for v, _, _ in rows_ if (m, v) not in results
    ]
    if pending:
        late = Q(pk__in=[])
        for machine_id in {m for m, _ in pending}:
            late |= Q(machine_id=machine_id, vend_id__in=[v for m, v in pending if m == machine_id])
        results.update(Event.objects.filter(late, type=RESULT).values_list("machine_id", "vend_id"))
    by_pk = {m.pk: m for m in scope.machines}
    out = []
    for key in sorted(set(per_lane) | set(intents)):
        machine_id, lane = key
        history = LaneHistory(by_pk[machine_id], lane, ledger.movements(per_lane.get(key, [])))
        history.intents = [
            (at, payload, (machine_id, vend) in results) for vend, at, payload in intents[key]
        ]
        out.append(history)
    return out


# ---------------------------------------------------------------- daily reconciliation


@dataclass
class ReconciliationRow:
    site: Site
    machine: Machine | None  # None: the site's total
    lane: int | None  # None: the machine's (or site's) total
    day: LaneDay


def reconciliation(scope: Scope) -> list[ReconciliationRow]:
    """One dosing day (scope.first): per lane, then each machine's total, then each site's."""
    rows: list[ReconciliationRow] = []
    machine_totals: dict[int, LaneDay] = {}
    site_totals: dict[int, LaneDay] = {}
    for history in lane_histories(scope):
        machine = history.machine
        start, end = days.day_bounds(machine.site, scope.first)
        day = ledger.lane_day(history.moves, start, end)
        for at, _payload, settled in history.intents:
            if start <= at < end:
                day.vends_started += 1
                day.vends_unsettled += not settled
        day.vends_failed = sum(
            1
            for m in history.moves
            if m.kind == ledger.DISPENSED
            and start <= m.at < end
            and m.payload.get("outcome") != ledger.COMPLETE
        )
        if day.opening is None and not (day.counts or day.vends_started or day.received):
            continue  # a lane with nothing known and nothing done that day
        rows.append(ReconciliationRow(machine.site, machine, history.lane, day))
        machine_totals.setdefault(machine.pk, LaneDay(opening=0, closing=0)).add(day)
    out: list[ReconciliationRow] = []
    for machine in scope.machines:
        lanes = [r for r in rows if r.machine is machine]
        if not lanes:
            continue
        out.extend(lanes)
        total = machine_totals[machine.pk]
        out.append(ReconciliationRow(machine.site, machine, None, total))
        site_totals.setdefault(machine.site_id, LaneDay(opening=0, closing=0)).add(total)
    sites = {m.site_id: m.site for m in scope.machines}
    out.extend(ReconciliationRow(sites[s], None, None, t) for s, t in site_totals.items())
    return out


# ---------------------------------------------------------------- the register


@dataclass(frozen=True)
class RegisterRow:
    at: datetime
    site: Site
    machine: Machine
    lane: int
    medication_id: int | None
    kind: str
    units_in: int
    units_out: int
    expected: int | None
    counted: int | None
    balance: int | None
    who: str  # the kiosk's actor (staff:12, system) and the second signer's staff id
    vend_id: int | None
    lot: str = LOT_NOT_RECORDED


def register(scope: Scope) -> list[RegisterRow]:
    """Every movement within the range, by time, with each lane's running balance."""
    out = []
    for history in lane_histories(scope):
        start, end = scope.bounds(history.machine)
        for move in history.moves:
            if not start <= move.at < end or move.kind == ledger.ASSIGNED:
                continue
            p = move.payload
            who = str(p.get("actor") or "")
            if p.get("second_staff_id") is not None:
                who += f" + staff:{p['second_staff_id']}"
            out.append(
                RegisterRow(
                    move.at,
                    history.machine.site,
                    history.machine,
                    history.lane,
                    move.medication_id,
                    move.kind,
                    move.units_in,
                    move.units_out,
                    move.expected,
                    move.counted,
                    move.balance,
                    who,
                    p.get("vend_id") if type(p.get("vend_id")) is int else None,
                )
            )
    out.sort(key=lambda r: (r.at, r.machine.pk, r.lane))
    return out


# ---------------------------------------------------------------- dispenses


@dataclass(frozen=True)
class DispenseRow:
    at: datetime
    machine: Machine
    vend_id: int
    lane: int | None
    prescription: Prescription | None
    units: int | None
    dropped: int | None  # None: no result yet (unsettled)
    outcome: str
    result_at: datetime | None

    @property
    def participant_code(self) -> str:
        return self.prescription.participant.code if self.prescription else ""


def dispenses(scope: Scope, prescription_ids: Iterable[int] | None = None) -> list[DispenseRow]:
    """The vends started in the range (by their intent), with their result when there is one;
    only those of ``prescription_ids`` when given (one participant's log)."""
    intents = Event.objects.filter(scope.in_range(), type=INTENT, vend_id__isnull=False)
    if prescription_ids is not None:
        intents = intents.filter(payload__prescription_hub_id__in=list(prescription_ids))
    intent_rows = list(
        intents.order_by("created_at", "seq").values_list(
            "machine_id", "vend_id", "created_at", "payload"
        )
    )
    q = Q(pk__in=[])
    for machine_id in {r[0] for r in intent_rows}:
        q |= Q(machine_id=machine_id, vend_id__in=[r[1] for r in intent_rows if r[0] == machine_id])
    results = {
        (m, v): (p, at)
        for m, v, p, at in Event.objects.filter(q, type=RESULT).values_list(
            "machine_id", "vend_id", "payload", "created_at"
        )
    }
    labels = medication_labels(r[3].get("prescription_hub_id") for r in intent_rows)
    machines = {m.pk: m for m in scope.machines}
    out = []
    for machine_id, vend_id, created_at, payload in intent_rows:
        result, result_at = results.get((machine_id, vend_id), (None, None))
        out.append(
            DispenseRow(
                at=created_at,
                machine=machines[machine_id],
                vend_id=vend_id,
                lane=payload.get("lane") if type(payload.get("lane")) is int else None,
                prescription=labels.get(payload.get("prescription_hub_id")),
                units=payload.get("units") if type(payload.get("units")) is int else None,
                dropped=(
                    result.get("dropped") if result and type(result.get("dropped")) is int else None
                ),
                outcome=str(result.get("outcome") or "") if result else "",
                result_at=result_at,
            )
        )
    return out


def participant_prescriptions(machines: Iterable[Machine], code: str) -> list[int]:
    """The hub ids of the prescriptions of every participant row with this code on these
    machines (a participant has one row per machine)."""
    return list(
        Prescription.objects.filter(
            participant__machine__in=list(machines), participant__code=code
        ).values_list("pk", flat=True)
    )


def participant_exists(machines: Iterable[Machine], code: str) -> bool:
    return Participant.objects.filter(machine__in=list(machines), code=code).exists()
