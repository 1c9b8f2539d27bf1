"""Software updates (issue 16, docs/UPDATES.md): the states an update goes through and the rule
for the one moment a kiosk may switch versions. Pure: the services feed in what they see.

A switch restarts the program, so it may only happen at a quiet moment: the screen idle, nobody
mid-flow, no vend open (an intent without its outcome), a trusted clock (the maintenance window
is a time-of-day decision) and inside the site's maintenance hours when the site set some.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from enum import Enum


class UpdateState(Enum):
    """The ``state`` of an ``update.state`` event (docs/SYNC.md, "Software updates")."""

    RUNNING = "running"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    REFUSED = "refused"
    STAGED = "staged"
    SWITCHED = "switched"
    HEALTHY = "healthy"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


# Which state may follow which. RUNNING/HEALTHY/ROLLED_BACK start a program's life; a refusal or
# a failure ends an attempt (a later offer starts a new one).
_NEXT: dict[UpdateState, frozenset[UpdateState]] = {
    UpdateState.RUNNING: frozenset({UpdateState.DOWNLOADING}),
    UpdateState.HEALTHY: frozenset({UpdateState.DOWNLOADING}),
    UpdateState.ROLLED_BACK: frozenset({UpdateState.DOWNLOADING}),
    UpdateState.REFUSED: frozenset({UpdateState.DOWNLOADING}),
    UpdateState.FAILED: frozenset({UpdateState.DOWNLOADING}),
    UpdateState.DOWNLOADING: frozenset(
        {UpdateState.DOWNLOADED, UpdateState.REFUSED, UpdateState.FAILED}
    ),
    UpdateState.DOWNLOADED: frozenset({UpdateState.STAGED, UpdateState.FAILED}),
    UpdateState.STAGED: frozenset({UpdateState.SWITCHED, UpdateState.FAILED}),
    UpdateState.SWITCHED: frozenset({UpdateState.HEALTHY, UpdateState.ROLLED_BACK}),
}


def may_follow(before: UpdateState, after: UpdateState) -> bool:
    return after in _NEXT.get(before, frozenset())


class NotQuiet(Enum):
    """Why a switch waits (None from ``switch_blocker``: it may happen now)."""

    SCREEN_BUSY = "screen_busy"
    MID_FLOW = "participant_mid_flow"
    VEND_OPEN = "vend_open"
    CLOCK_UNTRUSTED = "clock_untrusted"
    OUTSIDE_HOURS = "outside_maintenance_hours"


@dataclass(frozen=True)
class MaintenanceHours:
    """Site local time; ``end`` before ``start`` wraps midnight. Half-open: [start, end)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_hours(value: object) -> MaintenanceHours | None:
    """``{"start": "02:00", "end": "05:00"}`` → hours; None → any quiet moment. Anything else
    raises ValueError (the sync apply quarantines it)."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise ValueError("maintenance hours must be {start, end}")
    parts = []
    for key in ("start", "end"):
        text = value[key]
        match = _HHMM.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError("maintenance hours must be HH:MM")
        parts.append(time(int(match.group(1)), int(match.group(2))))
    if parts[0] == parts[1]:
        raise ValueError("maintenance hours must not be empty")
    return MaintenanceHours(parts[0], parts[1])


@dataclass(frozen=True)
class Moment:
    """What the kiosk sees when it considers a switch."""

    screen_idle: bool
    participant_mid_flow: bool
    vend_open: bool
    clock_trusted: bool
    local_time: time | None  # None when the clock is not trusted
    hours: MaintenanceHours | None  # None: the site set none


def switch_blocker(moment: Moment) -> NotQuiet | None:
    """The first reason to wait, most serious first; None when the switch may happen now."""
    if moment.vend_open:
        return NotQuiet.VEND_OPEN
    if moment.participant_mid_flow:
        return NotQuiet.MID_FLOW
    if not moment.screen_idle:
        return NotQuiet.SCREEN_BUSY
    if not moment.clock_trusted or moment.local_time is None:
        return NotQuiet.CLOCK_UNTRUSTED
    if moment.hours is not None and not moment.hours.contains(moment.local_time):
        return NotQuiet.OUTSIDE_HOURS
    return None


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_SAFE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")


def safe_version_text(text: object) -> bool:
    """What the contract allows in ``running``/``target``: ≤ 64 chars of ``0-9A-Za-z.+-``."""
    return isinstance(text, str) and _SAFE.match(text) is not None


def version_key(text: str) -> tuple[int, int, int]:
    """Release versions are X.Y.Z: tools/release.py signs and the hub registers no other kind;
    the kiosk compares only that kind. ValueError for anything else."""
    match = _VERSION.match(text)
    if match is None:
        raise ValueError("not a release version (X.Y.Z)")
    major, minor, patch = (int(group) for group in match.groups())
    return major, minor, patch


def is_upgrade(offered: str, running: str) -> bool:
    """True only for a strictly newer X.Y.Z: an offer of an older or equal release is a
    rollback attempt (or a stale offer) and is refused."""
    try:
        return version_key(offered) > version_key(running)
    except ValueError:
        return False
