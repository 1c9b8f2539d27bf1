"""Dosing days in a site's own time zone for the reports: the rule is ``fleet.models.Site``'s
(``dosing_day``, ``day_bounds``), as the kiosk counts them (kiosk/domain/schedule.py);
tests/hub/test_care_reports.py checks it across a day start and a DST change."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fleet.models import Site


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the dosing day ``day`` at ``site`` (``Site.day_bounds``)."""
    return site.day_bounds(day)


def range_bounds(site: Site, first: date, last: date) -> tuple[datetime, datetime]:
    """From the start of dosing day ``first`` to the end of dosing day ``last`` (inclusive)."""
    return day_bounds(site, first)[0], day_bounds(site, last)[1]


def dosing_day(site: Site, instant: datetime) -> date:
    """The dosing day an instant belongs to at ``site`` (``Site.dosing_day``)."""
    return site.dosing_day(instant)


def local_text(site: Site, instant: datetime) -> str:
    """An instant as the site's staff read it: 2025-03-09 08:15 (in the site's zone)."""
    return instant.astimezone(ZoneInfo(site.timezone)).strftime("%Y-%m-%d %H:%M")
