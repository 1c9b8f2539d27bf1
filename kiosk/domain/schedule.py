"""Dosing days and dose windows as concrete UTC intervals.

The dosing day starts at a site hour (04:00 by default), so a 02:00 pickup belongs to the
previous day: people up all night must not lose a dose at midnight. All arithmetic is done
on aware datetimes; ``zoneinfo`` handles 23- and 25-hour days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.domain.model import SiteClock, Window


@dataclass(frozen=True)
class Interval:
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def _to_utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


def dosing_day(instant: datetime, site: SiteClock) -> date:
    """The dosing day an instant belongs to."""
    zone = ZoneInfo(site.timezone)
    local = instant.astimezone(zone)
    if local.hour < site.day_start_hour:
        return local.date() - timedelta(days=1)
    return local.date()


def dosing_day_bounds(day: date, site: SiteClock) -> Interval:
    zone = ZoneInfo(site.timezone)
    start = _local(day, time(site.day_start_hour), zone)
    end = _local(day + timedelta(days=1), time(site.day_start_hour), zone)
    return Interval(_to_utc(start), _to_utc(end))


def window_interval(day: date, window: Window, site: SiteClock) -> Interval:
    """The concrete interval of a window within a dosing day.

    A window starts at the first occurrence of its start time at or after the day start,
    and ends at the first occurrence of its end time after that.
    """
    zone = ZoneInfo(site.timezone)
    start_day = day if window.start.hour >= site.day_start_hour else day + timedelta(days=1)
    start = _local(start_day, window.start, zone)
    end_day = start_day if window.end > window.start else start_day + timedelta(days=1)
    end = _local(end_day, window.end, zone)
    return Interval(_to_utc(start), _to_utc(end))


def windows_of_day(day: date, windows: tuple[Window, ...], site: SiteClock) -> list[Interval]:
    bounds = dosing_day_bounds(day, site)
    found = []
    for window in windows:
        interval = window_interval(day, window, site)
        # Clip to the dosing day: a window never spans two dosing days.
        clipped = Interval(max(interval.start, bounds.start), min(interval.end, bounds.end))
        if clipped.start < clipped.end:
            found.append(clipped)
    return sorted(found, key=lambda i: i.start)
