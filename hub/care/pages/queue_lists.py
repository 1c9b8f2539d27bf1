"""What the review queues list (care/pages/queues.py): each queue's query, limited to the sites
given, aggregated in SQL so a page costs a fixed number of queries whatever the history.

A pickup is a ``dispense.result`` whose ``dropped`` is a number above 0. Results carry no
participant: they are joined to their machine's ``dispense.intent`` of the same vend, whose
``prescription_hub_id`` names the hub's prescription, hence the participant. A person enrolled
on two machines of a site has one Participant row per machine with the same code: absences are
counted per (site, code), so a pickup on either machine counts.

Dosing days follow the site's clock (``timezone``, ``day_start_hour``) as the kiosk's
``dosing_day`` does: a pickup at 02:00 with the day starting at 04:00 belongs to the day before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.fields.json import KeyTransform
from fleet.models import Event, Prescription, QuarantinedEvent, Site, SyncException

from care.models import QueueReview

DEFAULT_ABSENT_DAYS = 3
COUNT_EVENTS = ("stock.counted", "stock.restocked")  # kiosk/services/stock.py record_count


def dosing_day(instant: datetime, site: Site) -> date:
    """The site's dosing day of an instant (``Site.dosing_day``; the SQL below states the same
    rule for PostgreSQL)."""
    return site.dosing_day(instant)


# ---------------------------------------------------------------- missed-dose holds


def holds(sites: QuerySet[Site]) -> QuerySet[Prescription]:
    """Prescriptions a kiosk held for missed doses, oldest hold first. ``updated_at`` is when
    the kiosk held it (ingest saves the hold with the event's time)."""
    return (
        Prescription.objects.filter(
            status="on_hold", hold_kind="missed_doses", participant__machine__site__in=sites
        )
        .select_related("participant__machine__site")
        .order_by("updated_at", "pk")
    )


_LAST_PICKUP_OF_PRESCRIPTIONS = """
SELECT (i.payload ->> 'prescription_hub_id') AS rx, max(r.created_at)
FROM fleet_event r
JOIN fleet_event i
  ON i.machine_id = r.machine_id AND i.vend_id = r.vend_id AND i.type = 'dispense.intent'
WHERE r.type = 'dispense.result'
  AND r.machine_id = ANY(%(machines)s)
  AND jsonb_typeof(r.payload -> 'dropped') = 'number' AND (r.payload ->> 'dropped')::numeric > 0
  AND (i.payload ->> 'prescription_hub_id') = ANY(%(ids)s)
GROUP BY 1
"""


def days_missed(rows: list[Prescription], now: datetime) -> dict[int, int]:
    """Whole dosing days, ending yesterday, without a pickup for each held prescription (the
    kiosk's missed-dose count: from the later of the start, the last release and the day after
    the last pickup). One query for the whole page."""
    if not rows:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _LAST_PICKUP_OF_PRESCRIPTIONS,
            {
                "machines": sorted({rx.participant.machine_id for rx in rows}),
                "ids": [str(rx.pk) for rx in rows],
            },
        )
        last = {int(rx): at for rx, at in cursor.fetchall()}
    missed = {}
    for rx in rows:
        site = rx.participant.machine.site
        anchor = rx.start_date
        if rx.released_at is not None:
            anchor = max(anchor, dosing_day(rx.released_at, site))
        if rx.pk in last:
            anchor = max(anchor, dosing_day(last[rx.pk], site) + timedelta(days=1))
        missed[rx.pk] = max(0, (dosing_day(now, site) - anchor).days)
    return missed


# ---------------------------------------------------------------- absences


@dataclass(frozen=True)
class Absence:
    site_id: int
    site_name: str
    site_timezone: str
    code: str
    machines: list[str]
    last_pickup: datetime | None
    days: int


# One row per (site, participant code) with an active prescription, whose whole dosing days
# without a pickup (ending yesterday) reach ``min_days``; hidden by an outreach note made the
# same dosing day, or one "until the next pickup" made after the last pickup.
_ABSENCES = """
WITH people AS (
  SELECT m.site_id, p.code, array_agg(DISTINCT m.name) AS machines,
         min(rx.start_date) AS start_date
  FROM fleet_participant p
  JOIN fleet_machine m ON m.id = p.machine_id
  JOIN fleet_prescription rx ON rx.participant_id = p.id AND rx.status = 'active'
  WHERE m.site_id = ANY(%(sites)s) AND p.status = 'active'
  GROUP BY m.site_id, p.code
),
pickups AS (
  SELECT m.site_id, p.code, max(r.created_at) AS last_at
  FROM fleet_event r
  JOIN fleet_machine m ON m.id = r.machine_id
  JOIN fleet_event i
    ON i.machine_id = r.machine_id AND i.vend_id = r.vend_id AND i.type = 'dispense.intent'
  JOIN fleet_prescription rx ON rx.id::text = (i.payload ->> 'prescription_hub_id')
  JOIN fleet_participant p ON p.id = rx.participant_id AND p.machine_id = r.machine_id
  WHERE r.type = 'dispense.result' AND m.site_id = ANY(%(sites)s)
    AND jsonb_typeof(r.payload -> 'dropped') = 'number' AND (r.payload ->> 'dropped')::numeric > 0
  GROUP BY m.site_id, p.code
),
counted AS (
  SELECT people.site_id, s.name AS site_name, people.code, people.machines, pickups.last_at,
         today - GREATEST(people.start_date, last_day + 1) AS days, today, s.timezone,
         s.day_start_hour
  FROM people
  JOIN fleet_site s ON s.id = people.site_id
  LEFT JOIN pickups ON pickups.site_id = people.site_id AND pickups.code = people.code
  CROSS JOIN LATERAL (
    SELECT (timezone(s.timezone, %(now)s::timestamptz)
              - make_interval(hours => s.day_start_hour))::date AS today,
           (timezone(s.timezone, pickups.last_at)
              - make_interval(hours => s.day_start_hour))::date AS last_day
  ) d
)
SELECT site_id, site_name, timezone, code, machines, last_at, days
FROM counted
WHERE days >= %(min_days)s
  AND NOT EXISTS (
    SELECT 1 FROM care_outreachcontact c
    WHERE c.site_id = counted.site_id AND c.participant_code = counted.code
      AND ((timezone(counted.timezone, c.at) - make_interval(hours => counted.day_start_hour))::date
             = counted.today
           OR (c.until_pickup AND (counted.last_at IS NULL OR c.at > counted.last_at))))
ORDER BY days DESC, site_name, code
"""


def absences(sites: QuerySet[Site], now: datetime, min_days: int) -> list[Absence]:
    """Participants not seen for ``min_days`` whole dosing days or more, longest first: a list
    for outreach, not a penalty."""
    site_ids = list(sites.values_list("pk", flat=True))
    if not site_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_ABSENCES, {"sites": site_ids, "now": now, "min_days": min_days})
        return [
            Absence(site_id, site_name, zone, code, sorted(machines), last_at, days)
            for site_id, site_name, zone, code, machines, last_at, days in cursor.fetchall()
        ]


# ---------------------------------------------------------------- stock and sync


def _reviewed(kind: QueueReview.Kind) -> Exists:
    return Exists(QueueReview.objects.filter(kind=kind, object_id=OuterRef("pk")))


def count_mismatches(sites: QuerySet[Site]) -> QuerySet[Event]:
    """Kiosk stock counts where the count differed from what the kiosk expected, not yet
    reviewed here, newest first."""
    return (
        Event.objects.filter(type__in=COUNT_EVENTS, machine__site__in=sites)
        .filter(payload__has_key="counted")
        .alias(
            counted=KeyTransform("counted", "payload"),
            expected=KeyTransform("expected", "payload"),
        )
        .exclude(counted=F("expected"))
        .exclude(_reviewed(QueueReview.Kind.STOCK_COUNT))
        .select_related("machine__site")
        .order_by("-created_at", "-pk")
    )


def sync_exceptions(sites: QuerySet[Site]) -> QuerySet[SyncException]:
    """Open exceptions and conflicts, newest first."""
    return (
        SyncException.objects.filter(
            resolved=False, kind__in=("exception", "conflict"), machine__site__in=sites
        )
        .select_related("machine__site", "event")
        .order_by("-created_at", "-pk")
    )


def quarantined(sites: QuerySet[Site]) -> QuerySet[QuarantinedEvent]:
    """Events set aside and not yet reviewed, grouped by machine (the page regroups them)."""
    return (
        QuarantinedEvent.objects.filter(machine__site__in=sites)
        .exclude(_reviewed(QueueReview.Kind.QUARANTINED_EVENT))
        .select_related("machine__site")
        .order_by("machine__site__name", "machine__name", "seq")
    )


def counts(sites: QuerySet[Site], now: datetime, min_days: int) -> dict[str, Any]:
    """The number of open items of each queue, for the tabs."""
    return {
        "holds": holds(sites).count(),
        "absences": len(absences(sites, now, min_days)),
        "stock": count_mismatches(sites).count() + sync_exceptions(sites).count(),
        "quarantined": quarantined(sites).count(),
    }
