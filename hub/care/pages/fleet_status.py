"""What the fleet pages know about each machine, read in a constant number of queries however
many machines there are: the machines, their open alerts by kind, their dispenses since each
site's day start and their lanes are four grouped queries, joined here in Python.

"Today" is the site's dosing day: from its ``day_start_hour`` in its own time zone (a dose at
03:00 counts for yesterday at a site whose day starts at 04:00), as on the kiosks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from django.db import connection
from django.db.models import Count, QuerySet
from fleet.models import Alert, LaneStock, Machine, Site

from care.pages import fleet_wording

# Kiosks push every few minutes when they have a network; an hour without a word is worth a
# look (a cable, a power cut), well before a day of dispenses waits to reach the hub.
SILENT_AFTER = timedelta(hours=1)
# The kiosk keeps no "low" threshold of its own: a lane with this few units or fewer is
# flagged so someone restocks it before it runs empty (about a day at a busy machine).
LOW_STOCK = 20
# Lane states that stop the lane dispensing.
LANE_STOPPED = frozenset({"jammed", "empty", "fault", "discrepancy"})


def day_start(site: Site, at: datetime) -> datetime:
    """When the site's current dosing day began, as an aware instant (``Site``'s rule)."""
    return site.day_bounds(site.dosing_day(at))[0]


@dataclass
class Lane:
    number: int
    stock: int | None
    state: str

    @property
    def state_words(self) -> str:
        return fleet_wording.LANE_STATES.get(self.state, self.state.capitalize())

    @property
    def problem(self) -> str:
        """Empty when the lane is fine; else "empty", "stopped" (jammed, fault, a count that
        differs: no dose until someone comes) or "low"."""
        if self.state == "empty" or self.stock == 0:
            return "empty"
        if self.state in LANE_STOPPED:
            return "stopped"
        if self.stock is not None and self.stock <= LOW_STOCK:
            return "low"
        return ""


@dataclass
class MachineStatus:
    machine: Machine
    now: datetime
    day_started: datetime
    alerts_by_kind: dict[str, int] = field(default_factory=dict)
    dispensed_today: int = 0
    lanes: list[Lane] = field(default_factory=list)

    @property
    def silent_for(self) -> timedelta | None:
        """Time since the last contact; None when the machine never called."""
        last = self.machine.last_contact
        return None if last is None else max(self.now - last, timedelta(0))

    @property
    def silent(self) -> bool:
        since = self.silent_for
        return since is None or since > SILENT_AFTER

    @property
    def silent_words(self) -> str:
        since = self.silent_for
        return "" if since is None else duration_words(since)

    @property
    def open_alerts(self) -> int:
        return sum(self.alerts_by_kind.values())

    @property
    def worst_alert(self) -> str:
        if not self.alerts_by_kind:
            return ""
        worst = max(self.alerts_by_kind, key=lambda k: (fleet_wording.alert_rank(k), k))
        return fleet_wording.alert_words(worst)

    @property
    def alert_rank(self) -> int:
        return max((fleet_wording.alert_rank(k) for k in self.alerts_by_kind), default=0)

    @property
    def lane_problems(self) -> list[Lane]:
        return [lane for lane in self.lanes if lane.problem]

    @property
    def version(self) -> str:
        return self.machine.software_version or "unknown"

    @cached_property
    def reasons(self) -> list[str]:
        """Why the machine needs attention; empty when it does not."""
        out = []
        if self.machine.revoked:
            out.append("access revoked")
        elif self.machine.last_contact is None:
            out.append("never connected")
        elif self.silent:
            out.append("silent")
        if self.open_alerts:
            out.append("open alerts")
        if any(lane.problem == "low" for lane in self.lanes):
            out.append("stock low")
        if any(lane.problem in ("empty", "stopped") for lane in self.lanes):
            out.append("lane stopped")
        return out


def statuses(
    machines: QuerySet[Machine], at: datetime, dispenses: bool = True
) -> list[MachineStatus]:
    """Each machine of ``machines`` (site loaded with it) with its alerts, lanes and (unless
    ``dispenses`` is False: then ``count_dispenses`` later, for the page shown) today's
    dispenses: four queries, whatever the number of machines."""
    rows = list(machines.select_related("site"))
    if not rows:
        return []
    starts = {m.site_id: day_start(m.site, at) for m in rows}
    found = {m.pk: MachineStatus(m, at, starts[m.site_id]) for m in rows}
    ids = list(found)

    for machine_id, kind, count in (
        Alert.objects.filter(machine_id__in=ids, acknowledged=False)
        .values_list("machine_id", "kind")
        .annotate(n=Count("id"))
        .order_by()
    ):
        found[machine_id].alerts_by_kind[kind] = count

    if dispenses:
        count_dispenses(list(found.values()))

    for machine_id, number, stock, state in LaneStock.objects.filter(
        machine_id__in=ids
    ).values_list("machine_id", "lane", "stock", "state"):
        found[machine_id].lanes.append(Lane(number, stock, state))
    for status in found.values():
        status.lanes.sort(key=lambda lane: lane.number)
    return [found[m.pk] for m in rows]


# One index range per machine (the partial index event_dispense_result_at, migration 0008):
# the machines and their day starts go in as two arrays. Written in SQL because an ORM filter
# ORing one condition per day start made PostgreSQL scan the whole event table.
_DISPENSED_SINCE = """
SELECT s.machine_id,
       (SELECT count(*) FROM fleet_event e
        WHERE e.machine_id = s.machine_id AND e.type = 'dispense.result'
          AND e.created_at >= s.since AND (e.payload -> 'dropped') > '0'::jsonb)
FROM unnest(%s::bigint[], %s::timestamptz[]) AS s(machine_id, since)
"""


def count_dispenses(shown: list[MachineStatus]) -> None:
    """Set each one's dispense results that dropped units since its site's day start (one
    query). ``dropped`` is a JSON integer or null (fleet.schema); null never compares above 0."""
    if not shown:
        return
    by_id = {s.machine.pk: s for s in shown}
    with connection.cursor() as cursor:
        cursor.execute(_DISPENSED_SINCE, [list(by_id), [s.day_started for s in shown]])
        for machine_id, count in cursor.fetchall():
            by_id[machine_id].dispensed_today = count


def duration_words(delta: timedelta) -> str:
    """A short, rounded-down duration for people reading fast: "4 min", "3 h", "2 days"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"
