"""Dosing days in a site's own time zone, as the kiosk counts them (kiosk/domain/schedule.py,
``dosing_day_bounds``; the hub does not import the kiosk, so the rule is restated here and
tests/hub/test_care_reports.py checks it across a day start and a DST change)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fleet.models import Site


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: in a repeated hour (DST ends) the first of the two instants, as the kiosk does.
    return datetime.combine(day, at, tzinfo=zone)


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the dosing day ``day`` at ``site``: it starts at the site's
    ``day_start_hour`` (4 by default), local time, and ends at the next day's start."""
    zone = ZoneInfo(site.timezone)
    start = _local(day, time(site.day_start_hour), zone)
    end = _local(day + timedelta(days=1), time(site.day_start_hour), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def range_bounds(site: Site, first: date, last: date) -> tuple[datetime, datetime]:
    """From the start of dosing day ``first`` to the end of dosing day ``last`` (inclusive)."""
    return day_bounds(site, first)[0], day_bounds(site, last)[1]


def dosing_day(site: Site, instant: datetime) -> date:
    """The dosing day an instant belongs to at ``site``."""
    local = instant.astimezone(ZoneInfo(site.timezone))
    return (local - timedelta(hours=site.day_start_hour)).date()


def local_text(site: Site, instant: datetime) -> str:
    """An instant as the site's staff read it: 2025-03-09 08:15 (in the site's zone)."""
    return instant.astimezone(ZoneInfo(site.timezone)).strftime("%Y-%m-%d %H:%M")
